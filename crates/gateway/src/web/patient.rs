//! The patient's pages: the timeline of their records, one record with its
//! provenance, uploads, access requests and grants, the audit trail with its
//! on-chain proof, and the card a clinician scans.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Form,
    body::Bytes,
    extract::{Multipart, Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use base64::Engine;
use maud::{Markup, html};
use medigate_access_policy::Category;
use medigate_chain_client::subxt::utils::H256;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    Gateway,
    consent::{GrantView, RequestView},
    error::GatewayError,
    records::VisibleRecord,
    web::{
        WebError,
        layout::{Section, button_form, page, short_account, when},
        readable::{Field, fields, headline},
        session::SignedIn,
    },
};

/// Timeline rows per page.
pub const PER_PAGE: usize = 100;
/// The largest document (PDF or image) an upload takes, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;

/// A category in words.
pub fn category_label(category: Category) -> &'static str {
    match category {
        Category::Summary => "Summary",
        Category::Allergies => "Allergies",
        Category::Medications => "Medications",
        Category::Problems => "Problems",
        Category::Labs => "Lab results",
        Category::Vitals => "Vital signs",
        Category::Imaging => "Imaging",
        Category::Notes => "Clinical notes",
        Category::Immunizations => "Immunizations",
        Category::Procedures => "Procedures",
        Category::Encounters => "Visits",
        Category::Documents => "Documents",
        Category::Billing => "Billing",
        Category::Other => "Other",
    }
}

/// A purpose of use in words.
pub fn purpose_label(code: &str) -> String {
    let words = match code {
        "TREAT" => "treatment",
        "ETREAT" => "emergency treatment",
        "BTG" => "break-the-glass emergency",
        "HPAYMT" => "payment",
        "HOPERAT" => "operations",
        "HRESCH" => "research",
        other => return other.to_string(),
    };
    format!("{words} ({code})")
}

/// One row of a timeline.
pub struct Row {
    /// Its clinical date, if any.
    pub date: Option<String>,
    /// Its category.
    pub category: Category,
    /// Its title, value and date.
    pub title: String,
    /// Its value or status.
    pub value: Option<String>,
    /// Where its page is.
    pub href: String,
}

/// Timeline rows for `records`, newest first, each linked by `href`.
pub fn rows_of(records: &[VisibleRecord], href: impl Fn(&VisibleRecord) -> String) -> Vec<Row> {
    let mut rows: Vec<Row> = records
        .iter()
        .filter(|record| record.resource_type != "Patient")
        .map(|record| {
            let line = headline(&record.parsed());
            Row {
                date: line.date,
                category: record.category,
                title: line.title,
                value: line.value,
                href: href(record),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.date.cmp(&a.date));
    rows
}

/// The timeline: rows grouped by day, with category filters and pages.
pub fn timeline_view(
    rows: &[Row],
    base: &str,
    category: Option<Category>,
    page_number: usize,
) -> Markup {
    let mut counts: BTreeMap<u8, usize> = BTreeMap::new();
    for row in rows {
        *counts.entry(row.category as u8).or_default() += 1;
    }
    let shown: Vec<&Row> = rows
        .iter()
        .filter(|row| category.is_none_or(|wanted| row.category == wanted))
        .collect();
    let pages = shown.len().div_ceil(PER_PAGE).max(1);
    let page_number = page_number.clamp(1, pages);
    let on_page = shown
        .iter()
        .skip((page_number - 1) * PER_PAGE)
        .take(PER_PAGE);
    let mut days: Vec<(String, Vec<&Row>)> = Vec::new();
    for row in on_page {
        let day = row
            .date
            .as_deref()
            .map(|date| date.get(..10).unwrap_or(date).to_string())
            .unwrap_or_else(|| "Undated".into());
        match days.last_mut() {
            Some((last, group)) if *last == day => group.push(row),
            _ => days.push((day, vec![row])),
        }
    }
    let filter_href = |code: Option<&str>| match code {
        Some(code) => format!("{base}?category={code}"),
        None => base.to_string(),
    };
    html! {
        nav.filters aria-label="Categories" {
            ul {
                li { a href=(filter_href(None)) aria-current=[category.is_none().then_some("true")] { "All (" (rows.len()) ")" } }
                @for (code, count) in &counts {
                    @let this = Category::ALL[*code as usize];
                    li { a href=(filter_href(Some(this.code()))) aria-current=[(category == Some(this)).then_some("true")] { (category_label(this)) " (" (count) ")" } }
                }
            }
        }
        @if shown.is_empty() {
            p.empty { "No records here yet." }
        }
        ol.timeline {
            @for (day, group) in &days {
                li {
                    h2.day { time datetime=(day) { (day) } }
                    ul.records {
                        @for row in group {
                            li.record {
                                a href=(row.href) { (row.title) }
                                span.badge { (category_label(row.category)) }
                                @if let Some(value) = &row.value { span.value { (value) } }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page_number > 1 {
                    a rel="prev" href=(pager_href(base, category, page_number - 1)) { "Newer" }
                }
                span { "Page " (page_number) " of " (pages) }
                @if page_number < pages {
                    a rel="next" href=(pager_href(base, category, page_number + 1)) { "Older" }
                }
            }
        }
    }
}

fn pager_href(base: &str, category: Option<Category>, page: usize) -> String {
    match category {
        Some(category) => format!("{base}?category={}&page={page}", category.code()),
        None => format!("{base}?page={page}"),
    }
}

/// The query of a timeline.
#[derive(Deserialize)]
pub struct TimelineQuery {
    category: Option<String>,
    page: Option<usize>,
}

impl TimelineQuery {
    /// The category asked for.
    pub fn category(&self) -> Result<Option<Category>, WebError> {
        self.category
            .as_deref()
            .filter(|code| !code.is_empty())
            .map(|code| {
                Category::from_code(code)
                    .ok_or_else(|| WebError::BadInput(format!("There is no category {code:?}.")))
            })
            .transpose()
    }

    /// The page asked for (from 1).
    pub fn page(&self) -> usize {
        self.page.unwrap_or(1)
    }
}

/// `GET /app`: the user's own records as a timeline.
pub async fn timeline(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Query(query): Query<TimelineQuery>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, WebError> {
    let account = medigate_chain_client::subxt::utils::AccountId32(user.account);
    if !medigate_chain_client::is_registered(&gateway.reads, &account)
        .await
        .map_err(GatewayError::from)?
    {
        return Ok(Html(
            page(
                "Join MediGate",
                &user,
                Section::Records,
                registration_view(&user),
            )
            .into_string(),
        ));
    }
    let records = gateway.own_visible(&user.identity, None).await?;
    let rows = rows_of(&records, |record| {
        format!("/app/records/{}/{}", record.resource_type, record.id)
    });
    let body = html! {
        (notice.view())
        @if records.is_empty() {
            p { "You have no records yet. " a href="/app/upload" { "Upload a FHIR Bundle or a document" } "." }
        }
        (timeline_view(&rows, "/app", query.category()?, query.page()))
    };
    Ok(Html(
        page("Your records", &user, Section::Records, body).into_string(),
    ))
}

/// The page of a user whose account is not on the chain yet: what to ask a
/// hospital, and the button that registers.
fn registration_view(user: &SignedIn) -> Markup {
    let account = hex::encode(user.account);
    html! {
        section aria-labelledby="join" {
            h2 #join { "Your account is not on the MediGate chain yet" }
            p { "Ask your hospital to enrol your account id (they need it once, as text or from the QR code of your card):" }
            p { code #account-id { (account) } }
            p { "Once they have, register: it costs you nothing, and your keys stay in this gateway." }
            form method="post" action="/app/register" {
                input type="hidden" name="csrf" value=(user.csrf);
                button type="submit" { "Register" }
            }
        }
    }
}

/// `POST /app/register` (`csrf`): registers the user's account.
pub async fn register(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    gateway.register().await?;
    Ok(Redirect::to("/app?notice=registered-0"))
}

/// Where a record came from, from its anchor on chain.
pub struct Provenance {
    /// Who anchored it (hex account).
    pub author: String,
    /// The block it was anchored in.
    pub anchored_at: u32,
    /// Its version.
    pub version: u32,
    /// Its ciphertext's size.
    pub size: u64,
    /// Its content id (hex).
    pub content_id: String,
    /// The vault holding it.
    pub vault: String,
}

/// The provenance of `patient`'s record `content_id` from its anchor.
pub async fn provenance(
    gateway: &Gateway,
    patient: [u8; 32],
    content_id: [u8; 32],
) -> Result<Provenance, WebError> {
    let anchor = medigate_chain_client::anchor(
        &gateway.reads,
        &medigate_chain_client::subxt::utils::AccountId32(patient),
        H256(content_id),
    )
    .await
    .map_err(GatewayError::from)?
    .ok_or_else(|| {
        GatewayError::NotFound(format!("the anchor of record {}", hex::encode(content_id)))
    })?;
    Ok(Provenance {
        author: hex::encode(anchor.author.0),
        anchored_at: anchor.anchored_at,
        version: anchor.version,
        size: anchor.size,
        content_id: hex::encode(content_id),
        vault: gateway.vault.base().to_string(),
    })
}

fn field_list(fields: &[Field]) -> Markup {
    html! {
        dl.fields {
            @for field in fields {
                dt { (field.label) }
                dd {
                    @if let Some(text) = &field.text { (text) }
                    @if !field.parts.is_empty() { (field_list(&field.parts)) }
                }
            }
        }
    }
}

/// A record's page body: what it says, in words; where it came from; the
/// resource as imported.
pub fn record_view(
    record: &VisibleRecord,
    origin: &Provenance,
    me: &[u8; 32],
    attachment_href: Option<String>,
) -> Markup {
    let resource = record.parsed();
    let line = headline(&resource);
    let author = if origin.author == hex::encode(me) {
        "you".to_string()
    } else {
        origin.author.clone()
    };
    html! {
        p.lead {
            span.badge { (category_label(record.category)) }
            @if let Some(date) = &line.date { " " time datetime=(date) { (date) } }
            @if let Some(value) = &line.value { " · " strong { (value) } }
        }
        @if let Some(href) = attachment_href {
            p { a.button href=(href) download { "Download the document" } }
        }
        section aria-labelledby="details" {
            h2 #details { "Details" }
            (field_list(&fields(&resource)))
        }
        section aria-labelledby="provenance" {
            h2 #provenance { "Provenance" }
            dl.fields {
                dt { "Kind" } dd { (record.resource_type) " " code { (record.id) } }
                dt { "Author" } dd.account { (author) }
                dt { "Anchored" } dd { "in block " (origin.anchored_at) ", version " (origin.version) }
                dt { "Content id" } dd.account { code { (origin.content_id) } }
                dt { "Stored" } dd { "encrypted (" (origin.size) " bytes) in the vault at " (origin.vault) }
            }
        }
        details {
            summary { "The FHIR resource as imported" }
            pre.json { (serde_json::to_string_pretty(&resource).unwrap_or_default()) }
        }
    }
}

/// `GET /app/records/{type}/{id}`: one of the user's records.
pub async fn record(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path((resource_type, id)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let own = gateway
        .index
        .own_record(&resource_type, &id)
        .await?
        .ok_or_else(|| GatewayError::NotFound(format!("{resource_type}/{id}")))?;
    let visible = gateway.open_own(&user.identity, &own).await?;
    let origin = provenance(&gateway, user.account, own.content_id).await?;
    let attachment = attachment_of(&visible.parsed())
        .is_some()
        .then(|| format!("/app/records/{resource_type}/{id}/attachment"));
    let title = headline(&visible.parsed()).title;
    let body = record_view(&visible, &origin, &user.account, attachment);
    Ok(Html(
        page(&title, &user, Section::Records, body).into_string(),
    ))
}

/// The first attachment's media type, title and bytes.
fn attachment_of(resource: &Value) -> Option<(String, String, Vec<u8>)> {
    let attachment = resource.pointer("/content/0/attachment")?;
    let data = attachment.get("data")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    let media_type = attachment
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or("application/octet-stream");
    let title = attachment
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("document");
    Some((media_type.to_string(), title.to_string(), bytes))
}

/// `GET /app/records/{type}/{id}/attachment`: a document's file, as a
/// download (never shown inside the app's origin).
pub async fn attachment(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path((resource_type, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let own = gateway
        .index
        .own_record(&resource_type, &id)
        .await?
        .ok_or_else(|| GatewayError::NotFound(format!("{resource_type}/{id}")))?;
    let visible = gateway.open_own(&user.identity, &own).await?;
    let (media_type, title, bytes) = attachment_of(&visible.parsed())
        .ok_or_else(|| GatewayError::NotFound(format!("a document in {resource_type}/{id}")))?;
    let media_type = match media_type.as_str() {
        "application/pdf" | "image/png" | "image/jpeg" => media_type,
        _ => "application/octet-stream".into(),
    };
    let safe_name: String = title
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media_type).expect("an allowed media type"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{safe_name}\""))
            .expect("an ASCII file name"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

/// `GET /app/upload`.
pub async fn upload_form(user: SignedIn) -> Html<String> {
    let body = html! {
        p { "Upload a FHIR R4 Bundle of your records (JSON), or a document: a PDF, a PNG or a JPEG image. "
            "It is encrypted in this gateway, anchored on the chain (a hash, never its content) and stored in your vault." }
        form.stack #upload method="post" action="/app/upload" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(user.csrf);
            label for="file" { "File" }
            input #file type="file" name="file" required accept=".json,application/json,application/fhir+json,application/pdf,image/png,image/jpeg";
            label for="title" { "Title (for a document)" }
            input #title type="text" name="title" maxlength="200" placeholder="Discharge letter, March 2026";
            button type="submit" { "Upload" }
        }
        div #upload-status aria-live="polite" hidden {
            label for="upload-progress" #upload-phase { "Uploading" }
            progress #upload-progress max="100" value="0" {}
        }
    };
    Html(page("Upload", &user, Section::Upload, body).into_string())
}

/// What an upload holds.
#[derive(Debug, PartialEq, Eq)]
pub enum UploadKind {
    /// A FHIR Bundle.
    Bundle,
    /// A document of this media type.
    Document(&'static str),
}

/// What `bytes` are, by their first bytes (not their name).
pub fn kind_of(bytes: &[u8]) -> Option<UploadKind> {
    if bytes.starts_with(b"%PDF-") {
        Some(UploadKind::Document("application/pdf"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(UploadKind::Document("image/png"))
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Some(UploadKind::Document("image/jpeg"))
    } else if bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'{')
    {
        Some(UploadKind::Bundle)
    } else {
        None
    }
}

/// A Bundle holding the patient's `patient` resource (exact text) and a
/// DocumentReference for `bytes`.
pub fn document_bundle(
    patient_text: &str,
    patient_id: &str,
    title: &str,
    file_name: &str,
    media_type: &str,
    bytes: &[u8],
    now_ms: i64,
) -> String {
    let id = hex::encode(&blake3::hash(bytes).as_bytes()[..16]);
    let now = crate::utc_instant(now_ms);
    let title = if title.trim().is_empty() {
        file_name
    } else {
        title.trim()
    };
    let document = json!({
        "resourceType": "DocumentReference",
        "id": id,
        "status": "current",
        "type": {"text": "Uploaded document"},
        "subject": {"reference": format!("Patient/{patient_id}")},
        "date": now,
        "description": title,
        "content": [{"attachment": {
            "contentType": media_type,
            "title": file_name,
            "size": bytes.len(),
            "creation": now,
            "data": base64::engine::general_purpose::STANDARD.encode(bytes),
        }}]
    });
    format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"fullUrl":"urn:uuid:{patient_id}","resource":{patient_text}}},{{"resource":{document}}}]}}"#
    )
}

/// `POST /app/upload` (multipart: `csrf`, `file`, `title`): imports a
/// Bundle, or a document as a DocumentReference. With
/// `x-medigate-progress: ndjson` it answers progress lines as
/// `POST /api/import` does; otherwise a page once done.
pub async fn upload(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let mut csrf = String::new();
    let mut title = String::new();
    let mut file: Option<(String, Bytes)> = None;
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        WebError::BadInput(format!("The upload could not be read: {error}."))
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(unreadable)?,
            Some("title") => title = field.text().await.map_err(unreadable)?,
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                file = Some((name, field.bytes().await.map_err(unreadable)?));
            }
            _ => {}
        }
    }
    user.check(&csrf)?;
    let (file_name, bytes) = file
        .filter(|(_, bytes)| !bytes.is_empty())
        .ok_or_else(|| WebError::BadInput("Choose a file to upload.".into()))?;
    let bundle = match kind_of(&bytes) {
        Some(UploadKind::Bundle) => bytes,
        Some(UploadKind::Document(media_type)) => {
            if bytes.len() > MAX_DOCUMENT_BYTES {
                return Err(WebError::BadInput(format!(
                    "The document is {} MiB; documents can be up to {} MiB.",
                    bytes.len() >> 20,
                    MAX_DOCUMENT_BYTES >> 20
                )));
            }
            let patient = gateway
                .index
                .own_records(Some("Patient"))
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    WebError::BadInput(
                        "Upload a FHIR Bundle with your Patient record first; documents are filed under it."
                            .into(),
                    )
                })?;
            let patient = gateway.open_own(&user.identity, &patient).await?;
            Bytes::from(document_bundle(
                &patient.text,
                &patient.id,
                &title,
                &file_name,
                media_type,
                &bytes,
                crate::now_ms(),
            ))
        }
        None => {
            return Err(WebError::BadInput(
                "MediGate takes FHIR Bundles (JSON), PDF documents and PNG or JPEG images; this file is none of them."
                    .into(),
            ));
        }
    };
    if headers
        .get("x-medigate-progress")
        .is_some_and(|value| value == "ndjson")
    {
        return Ok(crate::api::import_stream(gateway, bundle));
    }
    let report = gateway.import_bundle(&bundle, Arc::new(|_| {})).await?;
    let body = html! {
        p role="status" {
            @if report.already_imported { "This file was imported before; nothing changed." }
            @else { "Imported " (report.records) " records." }
        }
        p { a href="/app" { "See your records" } }
    };
    Ok(Html(page("Upload", &user, Section::Upload, body).into_string()).into_response())
}

/// A notice after an action, by its code in `?notice=`.
#[derive(Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

impl Notice {
    fn text(&self) -> Option<String> {
        let notice = self.notice.as_deref()?;
        let (kind, number) = notice.split_once('-').unwrap_or((notice, ""));
        let number: u64 = number.parse().ok()?;
        Some(match kind {
            "approved" => {
                format!("Approved: grant {number} is active and the records it covers were shared.")
            }
            "denied" => format!("Request {number} was denied."),
            "withdrawn" => format!("Request {number} was withdrawn."),
            "revoked" => format!(
                "Grant {number} is revoked: vaults refuse its reads from the next block on."
            ),
            "requested" => format!("Request {number} was sent to the patient."),
            "added" => "The record was added to the patient's record.".into(),
            "delegated" => "The delegate was added: they can now answer requests for you.".into(),
            "undelegated" => "The delegate was removed.".into(),
            "registered" => "Your account is registered on the MediGate chain.".into(),
            "enrolled" => {
                format!("Enrolled: the account may register without a fee until block {number}.")
            }
            _ => return None,
        })
    }

    /// The notice as a status paragraph, if any.
    pub fn view(&self) -> Markup {
        html! { @if let Some(text) = self.text() { p.notice role="status" { (text) } } }
    }
}

/// What revocation does and does not do, in plain words.
pub const REVOCATION: &str = "Revoking a grant stops every vault from serving its holder from the next block on, and records you add later are not shared with them. It cannot take back what they already read: copies they made stay with them. The audit trail keeps every read they made.";

/// A pending request with its approve (narrowed categories, validity) and
/// deny forms.
fn request_card(request: &RequestView, csrf: &str) -> Markup {
    let asked: Vec<Category> = if request.categories.iter().any(|code| code == "all") {
        Category::ALL.to_vec()
    } else {
        request
            .categories
            .iter()
            .filter_map(|code| Category::from_code(code))
            .collect()
    };
    let id = request.request;
    html! {
        article.card aria-labelledby=(format!("request-{id}")) {
            h3 id=(format!("request-{id}")) { "Request " (id) }
            p { "From " span.account title=(request.requester) { (short_account(&request.requester)) }
                ", for " (purpose_label(&request.purpose)) ". "
                @if request.writes { strong { "They also ask to add records to yours." } }
                @else { "To read only." } }
            form.stack method="post" action=(format!("/app/access/requests/{id}/approve")) {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { "Share these categories (untick to narrow)" }
                    @for category in &asked {
                        @let field = format!("r{id}-{}", category.code());
                        div.check {
                            input type="checkbox" id=(field) name="category" value=(category.code()) checked;
                            label for=(field) { (category_label(*category)) }
                        }
                    }
                }
                p { "Purpose: " (purpose_label(&request.purpose)) " (set by the request)" }
                label for=(format!("days-{id}")) { "For how long" }
                select id=(format!("days-{id}")) name="days" {
                    option value="1" { "1 day" }
                    option value="7" { "1 week" }
                    option value="30" selected { "30 days" }
                    option value="90" { "90 days" }
                    option value="365" { "1 year" }
                }
                button type="submit" { "Approve" }
            }
            (button_form(&format!("/app/access/requests/{id}/deny"), csrf, "Deny", "secondary"))
        }
    }
}

/// Grants given, with a revoke button on each active one.
fn grants_table(grants: &[&GrantView], csrf: &str) -> Markup {
    html! {
        div.scroll {
            table.grants {
                thead { tr { th scope="col" { "Grant" } th scope="col" { "To" } th scope="col" { "Purpose" } th scope="col" { "Until" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Action" } } } }
                tbody {
                    @for grant in grants {
                        tr {
                            td { (grant.grant) }
                            td.account title=(grant.grantee) { (short_account(&grant.grantee)) }
                            td { (purpose_label(&grant.purpose)) }
                            td { (when(grant.expires_ms)) }
                            td { (grant.status) }
                            td { @if grant.status == "active" {
                                (button_form(&format!("/app/access/grants/{}/revoke", grant.grant), csrf, "Revoke", "danger"))
                            } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /app/access`: requests waiting for an answer, grants given, the
/// user's delegates, and the patients the user manages consent for.
pub async fn access(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, WebError> {
    gateway.sync_index().await?;
    let view = gateway.access_view().await?;
    let me = hex::encode(user.account);
    let pending_of = |patient: &str| -> Vec<&RequestView> {
        view.requests
            .iter()
            .filter(|request| request.patient == patient && request.status == "pending")
            .collect()
    };
    let grants_of = |patient: &str| -> Vec<&GrantView> {
        view.grants
            .iter()
            .filter(|grant| grant.patient == patient)
            .collect()
    };
    let pending = pending_of(&me);
    let given = grants_of(&me);
    let delegates = gateway.index.delegates(&me).await?;
    let wards = gateway.index.wards(&me).await?;
    let body = html! {
        (notice.view())
        section aria-labelledby="pending" {
            h2 #pending { "Requests waiting for you" }
            @if pending.is_empty() { p.empty { "No requests are waiting." } }
            @for request in &pending { (request_card(request, &user.csrf)) }
        }
        section aria-labelledby="grants" {
            h2 #grants { "Grants you gave" }
            p.explain { (REVOCATION) }
            @if given.is_empty() { p.empty { "You have given no grants." } }
            @else { (grants_table(&given, &user.csrf)) }
        }
        section aria-labelledby="delegates" {
            h2 #delegates { "People who manage your consent" }
            p.explain { "A delegate or guardian may approve, deny and revoke for you. Your keys stay in this gateway: it shares your records when it sees their approvals." }
            @if delegates.is_empty() { p.empty { "Nobody manages your consent but you." } }
            ul { @for delegate in &delegates { li {
                span.account title=(delegate) { (short_account(delegate)) } " "
                (button_form(&format!("/app/access/delegates/{delegate}/remove"), &user.csrf, "Remove", "secondary"))
            } } }
            form.stack method="post" action="/app/access/delegates" {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="delegate" { "Add a delegate (their account id)" }
                input #delegate type="text" name="account" autocomplete="off" spellcheck="false" placeholder="64 hex digits";
                button type="submit" { "Add the delegate" }
            }
        }
        @for ward in &wards {
            @let their_pending = pending_of(ward);
            @let their_grants = grants_of(ward);
            section.ward aria-labelledby=(format!("ward-{ward}")) {
                h2 id=(format!("ward-{ward}")) { "Acting for " span.account title=(ward) { (short_account(ward)) } }
                @if their_pending.is_empty() { p.empty { "No requests are waiting for them." } }
                @for request in &their_pending { (request_card(request, &user.csrf)) }
                @if !their_grants.is_empty() { (grants_table(&their_grants, &user.csrf)) }
            }
        }
    };
    Ok(Html(
        page("Access to your records", &user, Section::Access, body).into_string(),
    ))
}

/// The form adding a delegate.
#[derive(Deserialize)]
pub struct DelegateForm {
    csrf: String,
    account: String,
}

/// `POST /app/access/delegates` (`csrf`, `account`).
pub async fn add_delegate(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Form(form): Form<DelegateForm>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    let delegate = crate::consent::parse_account(&form.account)?;
    if delegate == user.account {
        return Err(WebError::BadInput(
            "You manage your consent already; name someone else.".into(),
        ));
    }
    gateway.add_delegate(delegate).await?;
    Ok(Redirect::to("/app/access?notice=delegated-1"))
}

/// `POST /app/access/delegates/{account}/remove`.
pub async fn remove_delegate(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(account): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    let delegate = crate::consent::parse_account(&account)?;
    gateway.remove_delegate(delegate).await?;
    Ok(Redirect::to("/app/access?notice=undelegated-1"))
}

/// Reads `csrf` and the repeated `category` fields of a form.
pub fn form_fields(fields: &[(String, String)]) -> (String, Vec<String>, BTreeMap<String, String>) {
    let mut csrf = String::new();
    let mut categories = Vec::new();
    let mut others = BTreeMap::new();
    for (name, value) in fields {
        match name.as_str() {
            "csrf" => csrf = value.clone(),
            "category" => categories.push(value.clone()),
            _ => {
                others.insert(name.clone(), value.clone());
            }
        }
    }
    (csrf, categories, others)
}

/// `POST /app/access/requests/{id}/approve` (`csrf`, `category`…, `days`).
pub async fn approve(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(request): Path<u64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    let (csrf, codes, others) = form_fields(&fields);
    user.check(&csrf)?;
    if codes.is_empty() {
        return Err(WebError::BadInput(
            "Tick at least one category to share, or deny the request.".into(),
        ));
    }
    let categories = crate::consent::parse_categories(&codes)?;
    let days: u64 = others
        .get("days")
        .and_then(|days| days.parse().ok())
        .filter(|days| (1..=3650).contains(days))
        .ok_or_else(|| {
            WebError::BadInput("Choose how long the grant lasts: 1 to 3650 days.".into())
        })?;
    let (grant, _) = gateway
        .approve_request(request, &categories, days * 86_400_000)
        .await?;
    Ok(Redirect::to(&format!(
        "/app/access?notice=approved-{grant}"
    )))
}

/// A form with only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    /// The session's CSRF token.
    pub csrf: String,
}

/// `POST /app/access/requests/{id}/deny`.
pub async fn deny(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(request): Path<u64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    gateway.deny_request(request).await?;
    Ok(Redirect::to(&format!(
        "/app/access?notice=denied-{request}"
    )))
}

/// `POST /app/access/grants/{id}/revoke`.
pub async fn revoke(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(grant): Path<u64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    gateway.revoke_grant(grant).await?;
    Ok(Redirect::to(&format!("/app/access?notice=revoked-{grant}")))
}

/// `GET /app/audit`: every receipted read of the user's records and by the
/// user, newest first, each with its proof on chain.
pub async fn audit(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
) -> Result<Html<String>, WebError> {
    gateway.sync_index().await?;
    let mut reads = gateway.audit_trail().await?;
    reads.reverse();
    let me = hex::encode(user.account);
    let mut described = Vec::with_capacity(reads.len());
    for read in &reads {
        let record = match read
            .record
            .as_deref()
            .and_then(|text| crate::consent::parse_account(text).ok())
        {
            Some(content_id) => gateway.index.record_by_content_id(&content_id).await?,
            None => None,
        };
        described.push((read, record));
    }
    let body = html! {
        p { "Each row is an access receipt that the vault which served the record wrote on the chain. "
            "The proof link shows the block and event that hold it. "
            "A row marked forged names a reader who did not sign that read: the vault made it up, "
            "and anyone can prove it on the chain, which ends the vault's attestation." }
        @if reads.is_empty() { p.empty { "Nobody has read your records through a vault yet." } }
        @else {
            div.scroll {
                table #audit {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Purpose" } th scope="col" { "Proof" } } }
                    tbody {
                        @for (read, record) in &described {
                            @let who = read.counterparty.clone().unwrap_or_default();
                            tr {
                                td { (read.at_ms.map(when).unwrap_or_default()) }
                                td.account title=(who) { @if who == me { "you" } @else { (short_account(&who)) } }
                                td { @match record {
                                    Some(record) => a href=(format!("/app/records/{}/{}", record.resource_type, record.resource_id)) { (record.resource_type) "/" (record.resource_id) },
                                    None => span.account { (short_account(read.record.as_deref().unwrap_or_default())) },
                                } }
                                td { (purpose_label(read.purpose.as_deref().unwrap_or_default())) }
                                td {
                                    a href=(format!("/app/audit/{}/{}", read.block, read.position)) { "block " (read.block) }
                                    @if read.kind == "forged" { " " strong.error { "forged: not signed by the reader" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        page("Audit trail", &user, Section::Audit, body).into_string(),
    ))
}

/// `GET /app/audit/{block}/{position}`: the chain's own record of one
/// receipt: the block's hash and the event, read again from a node.
pub async fn proof(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path((block, position)): Path<(u64, u32)>,
) -> Result<Html<String>, WebError> {
    let indexed = gateway
        .audit_trail()
        .await?
        .into_iter()
        .find(|event| event.block == block as i64 && event.position == i64::from(position))
        .ok_or_else(|| {
            GatewayError::NotFound(format!(
                "an access receipt at block {block}, event {position}"
            ))
        })?;
    let found = crate::chain::event_at(&gateway, block, position).await?;
    let body = html! {
        p { "This receipt is event " (position) " of block " (block) " of the MediGate chain. "
            "Any node of the network gives the same block hash and event." }
        dl.fields {
            dt { "Block" } dd { (block) }
            dt { "Block hash" } dd.account { code { (found.block_hash) } }
            dt { "Event" } dd { code { (found.pallet) "." (found.variant) } }
            dt { "Event data (SCALE, hex)" } dd.account { code { (found.data) } }
            dt { "Reader" } dd.account { code { (indexed.counterparty.clone().unwrap_or_default()) } }
            dt { "Signed by the reader" } dd {
                @if indexed.kind == "forged" { strong.error { "No: the reader did not sign this read; the vault made it up" } }
                @else { "Yes: the receipt holds the reader's signature of this read" }
            }
            dt { "Record" } dd.account { code { (indexed.record.clone().unwrap_or_default()) } }
            dt { "Purpose" } dd { (purpose_label(indexed.purpose.as_deref().unwrap_or_default())) }
            dt { "Vault" } dd.account { code { (indexed.vault.clone().unwrap_or_default()) } }
            dt { "When" } dd { (indexed.at_ms.map(when).unwrap_or_default()) }
        }
        p { a href="/app/audit" { "Back to the audit trail" } }
    };
    Ok(Html(
        page("Proof of an access", &user, Section::Audit, body).into_string(),
    ))
}

/// `GET /app/card`: the account id and its QR code, to show a clinician.
pub async fn card(user: SignedIn) -> Html<String> {
    let account = hex::encode(user.account);
    let body = html! {
        div.card.printable {
            img.qr src="/app/card/qr.svg" alt="QR code of your MediGate account id" width="240" height="240";
            p { "Account id" }
            p.account #account-id { code { (account) } }
        }
        p { "Show this code to a clinician, or read them the account id: it lets them find you and ask for access. "
            "It gives nobody access by itself: you approve or deny each request." }
    };
    Html(page("Your card", &user, Section::Card, body).into_string())
}

/// `GET /app/card/qr.svg`.
pub async fn qr_code(user: SignedIn) -> Response {
    let svg = crate::web::qr::account_svg(&user.account);
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_known_by_their_first_bytes() {
        assert_eq!(
            kind_of(b"%PDF-1.7 ..."),
            Some(UploadKind::Document("application/pdf"))
        );
        assert_eq!(
            kind_of(b"\x89PNG\r\n\x1a\n..."),
            Some(UploadKind::Document("image/png"))
        );
        assert_eq!(
            kind_of(b"\xFF\xD8\xFF\xE0"),
            Some(UploadKind::Document("image/jpeg"))
        );
        assert_eq!(kind_of(b"  \n{\"resourceType\"}"), Some(UploadKind::Bundle));
        assert_eq!(kind_of(b"GIF89a"), None);
        assert_eq!(kind_of(b""), None);
    }

    #[test]
    fn a_document_becomes_a_valid_bundle_of_the_patient_and_a_document_reference() {
        let patient = r#"{"resourceType":"Patient","id":"p1","gender":"female"}"#;
        let bundle = document_bundle(
            patient,
            "p1",
            " Scan ",
            "scan.pdf",
            "application/pdf",
            b"%PDF-1.7",
            0,
        );
        let taken = medigate_fhir::raw::take_apart(bundle.as_bytes(), "import").expect("valid");
        assert_eq!(taken.patient_id, "p1");
        assert_eq!(
            taken.resources[0].text, patient,
            "the patient's text is kept exactly"
        );
        let document: Value = serde_json::from_str(&taken.resources[1].text).unwrap();
        assert_eq!(document["description"], "Scan");
        assert_eq!(document["subject"]["reference"], "Patient/p1");
        assert_eq!(attachment_of(&document).unwrap().2, b"%PDF-1.7");
    }

    #[test]
    fn the_timeline_groups_by_day_filters_and_pages() {
        let rows: Vec<Row> = (0..250)
            .map(|n| Row {
                date: Some(format!("2026-01-{:02}T10:00:00Z", 1 + n % 28)),
                category: if n % 2 == 0 {
                    Category::Labs
                } else {
                    Category::Vitals
                },
                title: format!("row {n}"),
                value: None,
                href: format!("/app/records/Observation/{n}"),
            })
            .collect();
        let all = timeline_view(&rows, "/app", None, 1).into_string();
        assert_eq!(all.matches("class=\"record\"").count(), PER_PAGE);
        assert!(all.contains("Page 1 of 3"));
        assert!(all.contains("Lab results (125)"));
        let labs = timeline_view(&rows, "/app", Some(Category::Labs), 2).into_string();
        assert_eq!(labs.matches("class=\"record\"").count(), 25);
        assert!(!labs.contains("row 1<"), "a vitals row is filtered out");
    }

    #[test]
    fn notices_read_as_sentences_and_unknown_ones_are_dropped() {
        let notice = |text: &str| {
            Notice {
                notice: Some(text.into()),
            }
            .text()
        };
        assert!(notice("approved-7").unwrap().contains("grant 7"));
        assert_eq!(notice("<script>-1"), None);
        assert_eq!(notice("approved-x"), None);
    }
}
