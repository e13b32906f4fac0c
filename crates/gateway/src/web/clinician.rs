//! A clinician's pages: find a patient (account id or a photo of their
//! QR code), ask for access with a purpose and a justification, read the
//! records the patient shared, and see the grants held and until when.

use std::sync::Arc;

use axum::{
    Form,
    extract::{Multipart, Path, Query, State},
    response::{Html, Redirect},
};
use maud::html;
use medigate_access_policy::Category;
use medigate_chain_client::{
    medigate::runtime_types::medigate_access_policy::terms::Scope, subxt::utils::AccountId32,
};

use crate::{
    Gateway,
    consent::{GrantView, parse_account, parse_categories},
    error::GatewayError,
    web::{
        WebError,
        layout::{Section, page, short_account, when},
        patient::{
            Notice, TimelineQuery, category_label, form_fields, provenance, purpose_label,
            record_view, rows_of, timeline_view,
        },
        qr,
        session::SignedIn,
    },
};

/// The purposes a clinician may ask for.
const PURPOSES: [&str; 4] = ["TREAT", "HPAYMT", "HOPERAT", "HRESCH"];

/// `GET /app/patients`: find a patient; the grants held and requests made.
pub async fn patients(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, WebError> {
    gateway.sync_index().await?;
    let view = gateway.access_view().await?;
    let me = hex::encode(user.account);
    let held: Vec<&GrantView> = view
        .grants
        .iter()
        .filter(|grant| grant.grantee == me)
        .collect();
    let asked: Vec<_> = view
        .requests
        .iter()
        .filter(|request| request.requester == me)
        .collect();
    let body = html! {
        (notice.view())
        section aria-labelledby="find" {
            h2 #find { "Find a patient" }
            form.stack method="post" action="/app/patients" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="account" { "The patient's account id" }
                input #account type="text" name="account" inputmode="latin" autocomplete="off" spellcheck="false" placeholder="64 hex digits";
                label for="qr" { "or a photo of the QR code on their card" }
                input #qr type="file" name="qr" accept="image/png,image/jpeg" capture="environment";
                button type="submit" { "Find" }
            }
        }
        section aria-labelledby="enrol" {
            h2 #enrol { "Enrol a new patient" }
            p { "A patient new to MediGate cannot pay the chain's registration fee. Enrol their account id (as their gateway shows it) and they can register without a fee for a day; their keys stay with them." }
            form.stack method="post" action="/app/patients/enrol" {
                input type="hidden" name="csrf" value=(user.csrf);
                label for="newcomer" { "The new patient's account id" }
                input #newcomer type="text" name="account" inputmode="latin" autocomplete="off" spellcheck="false" placeholder="64 hex digits";
                button type="submit" { "Enrol" }
            }
        }
        section aria-labelledby="held" {
            h2 #held { "Grants you hold" }
            @if held.is_empty() { p.empty { "You hold no grants." } }
            @else {
                div.scroll { table #grants-held {
                    thead { tr { th scope="col" { "Patient" } th scope="col" { "Purpose" } th scope="col" { "Until" } th scope="col" { "Status" } } }
                    tbody { @for grant in &held { tr {
                        td { a.account href=(format!("/app/patients/{}", grant.patient)) title=(grant.patient) { (short_account(&grant.patient)) } }
                        td { (purpose_label(&grant.purpose)) }
                        td { (when(grant.expires_ms)) }
                        td { (grant.status) }
                    } } }
                } }
            }
        }
        section aria-labelledby="asked" {
            h2 #asked { "Your requests" }
            @if asked.is_empty() { p.empty { "You have asked no one yet." } }
            @else {
                ul { @for request in &asked { li {
                    "Request " (request.request) " to "
                    a.account href=(format!("/app/patients/{}", request.patient)) title=(request.patient) { (short_account(&request.patient)) }
                    " for " (purpose_label(&request.purpose)) ": " strong { (request.status) }
                    @if request.status == "pending" {
                        form.inline method="post" action=(format!("/app/access/requests/{}/withdraw", request.request)) {
                            input type="hidden" name="csrf" value=(user.csrf);
                            button type="submit" { "Withdraw" }
                        }
                    }
                } } }
            }
        }
    };
    Ok(Html(
        page("Patients", &user, Section::Patients, body).into_string(),
    ))
}

/// `POST /app/access/requests/{id}/withdraw`: withdraws the user's own
/// request, which waits for an answer.
pub async fn withdraw(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(request): Path<u64>,
    Form(form): Form<super::patient::CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    gateway.withdraw_request(request).await?;
    Ok(Redirect::to(&format!(
        "/app/patients?notice=withdrawn-{request}"
    )))
}

/// The form enrolling a new patient.
#[derive(serde::Deserialize)]
pub struct EnrolForm {
    csrf: String,
    account: String,
}

/// `POST /app/patients/enrol` (`csrf`, `account`): sponsors a newcomer's
/// registration, as a hospital.
pub async fn enrol(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Form(form): Form<EnrolForm>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    let account = qr::account_in(&form.account).ok_or_else(|| {
        WebError::BadInput(format!(
            "{:?} is not an account id: it has 64 hex digits (0-9, a-f).",
            form.account.trim()
        ))
    })?;
    let sponsored = gateway.sponsor(account).await?;
    Ok(Redirect::to(&format!(
        "/app/patients?notice=enrolled-{}",
        sponsored.until_block
    )))
}

/// `POST /app/patients` (multipart: `csrf`, `account` or `qr`): goes to the
/// patient's page.
pub async fn find(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    mut form: Multipart,
) -> Result<Redirect, WebError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        WebError::BadInput(format!("The form could not be read: {error}."))
    };
    let (mut csrf, mut typed, mut photo) = (String::new(), String::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(unreadable)?,
            Some("account") => typed = field.text().await.map_err(unreadable)?,
            Some("qr") => photo = field.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    user.check(&csrf)?;
    let account = if !typed.trim().is_empty() {
        qr::account_in(&typed).ok_or_else(|| {
            WebError::BadInput(format!(
                "{:?} is not an account id: it has 64 hex digits (0-9, a-f).",
                typed.trim()
            ))
        })?
    } else if !photo.is_empty() {
        qr::read_account_apart(photo)
            .await
            .map_err(|error| WebError::BadInput(error.to_string()))?
    } else {
        return Err(WebError::BadInput(
            "Type the patient's account id or choose a photo of their QR code.".into(),
        ));
    };
    if !medigate_chain_client::is_registered(&gateway.reads, &AccountId32(account))
        .await
        .map_err(GatewayError::from)?
    {
        return Err(GatewayError::NotFound(format!(
            "a registered patient with the account id {}",
            hex::encode(account)
        ))
        .into());
    }
    Ok(Redirect::to(&format!(
        "/app/patients/{}",
        hex::encode(account)
    )))
}

/// `GET /app/patients/{account}`: the grants held for a patient, the
/// records they shared, and a form to ask for access.
pub async fn patient(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(account): Path<String>,
    Query(notice): Query<Notice>,
    Query(query): Query<TimelineQuery>,
) -> Result<Html<String>, WebError> {
    let patient = parse_account(&account)?;
    let account = hex::encode(patient);
    gateway.sync_index().await?;
    let view = gateway.access_view().await?;
    let me = hex::encode(user.account);
    let held: Vec<&GrantView> = view
        .grants
        .iter()
        .filter(|grant| grant.grantee == me && grant.patient == account)
        .collect();
    let active = held.iter().find(|grant| grant.status == "active");
    let mut writable = Vec::new();
    for grant in held.iter().filter(|grant| grant.status == "active") {
        if let Some(terms) = medigate_chain_client::grant(&gateway.reads, grant.grant as u64)
            .await
            .map_err(GatewayError::from)?
        {
            if terms.actions.0 & 1 << medigate_access_policy::Action::Write as u8 != 0 {
                writable.push(terms.scope);
            }
        }
    }
    let may_add = |category: Category| {
        writable.iter().any(|scope| match scope {
            Scope::All => true,
            Scope::Categories(set) => set.0 & 1 << category as u16 != 0,
            Scope::Records(_) => false,
        })
    };
    let (add_notes, add_labs) = (may_add(Category::Notes), may_add(Category::Labs));
    // Without a grant, a running break-glass of the user's whose veto
    // window passed opens the records for its purpose.
    let now = crate::now_ms();
    let emergency = gateway
        .index
        .break_glasses()
        .await?
        .into_iter()
        .find(|glass| {
            glass.responder == me
                && glass.patient == account
                && glass.expires_ms > now
                && glass.full_access.as_deref() != Some("vetoed")
                && glass.full_access_ms.is_some_and(|opens| opens <= now)
        })
        .map(|glass| glass.purpose);
    let records = match active.map(|grant| &grant.purpose).or(emergency.as_ref()) {
        Some(purpose) => {
            let purpose = crate::chain::purpose_from_code(purpose)?;
            match gateway
                .shared_visible(&user.identity, Some(patient), None, &purpose)
                .await
            {
                Ok(records) => Ok(records),
                Err(GatewayError::Denied(reason)) => Err(reason),
                Err(error) => return Err(error.into()),
            }
        }
        None => Err("you hold no active grant from this patient".to_string()),
    };
    let base = format!("/app/patients/{account}");
    let body = html! {
        (notice.view())
        p { "Account " code.account { (account) } }
        section aria-labelledby="records" {
            h2 #records { "Shared records" }
            @match &records {
                Ok(records) => {
                    @let rows = rows_of(records, |record| format!("{base}/records/{}", hex::encode(record.content_id)));
                    p { "Each record shown was read from the vault under your grant; the patient's audit trail lists every read." }
                    (timeline_view(&rows, &base, query.category()?, query.page()))
                }
                Err(reason) => p.empty { "No records to show: " (reason) "." }
            }
        }
        @if add_notes || add_labs {
            section aria-labelledby="add" {
                h2 #add { "Add to their record" }
                form.stack method="post" action=(format!("{base}/records")) {
                    input type="hidden" name="csrf" value=(user.csrf);
                    label for="kind" { "Kind" }
                    select #kind name="kind" {
                        @if add_notes { option value="note" { "Clinical note" } }
                        @if add_labs { option value="lab" { "Lab result" } }
                    }
                    label for="title" { "Title, or what was measured" }
                    input #title type="text" name="title" required maxlength="200";
                    label for="note" { "Note (for a note)" }
                    textarea #note name="note" rows="4" maxlength="10000" {}
                    label for="value" { "Value (for a lab result)" }
                    input #value type="text" name="value" inputmode="decimal";
                    label for="unit" { "Unit (for a lab result)" }
                    input #unit type="text" name="unit" maxlength="40";
                    button type="submit" { "Add the record" }
                }
            }
        }
        section aria-labelledby="grants" {
            h2 #grants { "Your grants from this patient" }
            @if held.is_empty() { p.empty { "None." } }
            ul { @for grant in &held { li {
                "Grant " (grant.grant) ", for " (purpose_label(&grant.purpose)) ", until " (when(grant.expires_ms)) ": " strong { (grant.status) }
            } } }
        }
        section aria-labelledby="ask" {
            h2 #ask { "Ask for access" }
            form.stack method="post" action=(format!("{base}/request")) {
                input type="hidden" name="csrf" value=(user.csrf);
                fieldset {
                    legend { "Categories" }
                    @for category in Category::ALL {
                        @let id = format!("ask-{}", category.code());
                        div.check {
                            input type="checkbox" id=(id) name="category" value=(category.code());
                            label for=(id) { (category_label(category)) }
                        }
                    }
                }
                div.check {
                    input #write type="checkbox" name="write" value="yes";
                    label for="write" { "Also ask to add records (notes, results) to their record" }
                }
                label for="purpose" { "Purpose" }
                select #purpose name="purpose" {
                    @for code in PURPOSES { option value=(code) { (purpose_label(code)) } }
                }
                label for="justification" { "Justification (it stays with you; the chain records only a salted hash of it)" }
                textarea #justification name="justification" rows="3" required maxlength="1000" {}
                button type="submit" { "Send the request" }
            }
        }
    };
    Ok(Html(
        page("Patient", &user, Section::Patients, body).into_string(),
    ))
}

/// `POST /app/patients/{account}/request` (`csrf`, `category`…, `purpose`,
/// `justification`).
pub async fn request(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(account): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    let (csrf, codes, others) = form_fields(&fields);
    user.check(&csrf)?;
    let patient = parse_account(&account)?;
    if codes.is_empty() {
        return Err(WebError::BadInput("Tick the categories you need.".into()));
    }
    let categories = parse_categories(&codes)?;
    let purpose = others.get("purpose").map(String::as_str).unwrap_or("TREAT");
    if !PURPOSES.contains(&purpose) {
        return Err(WebError::BadInput(format!(
            "{purpose:?} is not a purpose you can ask for."
        )));
    }
    let justification = others
        .get("justification")
        .map(|text| text.trim())
        .unwrap_or("");
    if justification.is_empty() {
        return Err(WebError::BadInput(
            "Say why you need access: the justification is required.".into(),
        ));
    }
    let write = others.get("write").is_some_and(|value| value == "yes");
    let request = gateway
        .request_access(patient, &categories, purpose, justification, write)
        .await?;
    Ok(Redirect::to(&format!(
        "/app/patients/{}?notice=requested-{request}",
        hex::encode(patient)
    )))
}

/// `GET /app/patients/{account}/records/{content_id}`: one shared record
/// (one audited read).
pub async fn record(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path((account, content_id)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let patient = parse_account(&account)?;
    let content_id = parse_account(&content_id).map_err(|_| {
        WebError::BadInput(
            "That record link is malformed: it ends in a 64-hex-digit content id.".into(),
        )
    })?;
    let view = gateway.access_view().await?;
    let me = hex::encode(user.account);
    let purpose = view
        .grants
        .iter()
        .find(|grant| {
            grant.grantee == me && grant.patient == hex::encode(patient) && grant.status == "active"
        })
        .map(|grant| grant.purpose.clone())
        .unwrap_or_else(|| gateway.default_purpose.clone());
    let purpose = crate::chain::purpose_from_code(&purpose)?;
    let visible = gateway
        .shared_record(&user.identity, patient, content_id, &purpose)
        .await?;
    if visible.patient != patient {
        return Err(GatewayError::NotFound(format!(
            "record {} of this patient",
            hex::encode(content_id)
        ))
        .into());
    }
    let origin = provenance(&gateway, patient, content_id).await?;
    let title = crate::web::readable::headline(&visible.parsed()).title;
    let body = html! {
        p { a href=(format!("/app/patients/{}", hex::encode(patient))) { "Back to the patient" } }
        (record_view(&visible, &origin, &user.account, None))
    };
    Ok(Html(
        page(&title, &user, Section::Patients, body).into_string(),
    ))
}

/// A FHIR resource for what a clinician adds: a note (a Composition, in
/// the patient's clinical notes) or a lab result (an Observation). Both
/// name the patient and the author by their MediGate accounts.
pub fn authored_resource(
    kind: &str,
    fields: &std::collections::BTreeMap<String, String>,
    patient: &[u8; 32],
    author: &[u8; 32],
    now_ms: i64,
) -> Result<serde_json::Value, WebError> {
    let text = |name: &str| fields.get(name).map(|value| value.trim()).unwrap_or("");
    let title = text("title");
    if title.is_empty() {
        return Err(WebError::BadInput("Give the record a title.".into()));
    }
    let now = crate::utc_instant(now_ms);
    let id = hex::encode(
        &blake3::hash(format!("{}{title}{now_ms}", hex::encode(author)).as_bytes()).as_bytes()
            [..16],
    );
    let account = |account: &[u8; 32]| serde_json::json!({"identifier": {"system": ACCOUNT_SYSTEM, "value": hex::encode(account)}});
    match kind {
        "note" => {
            let note = text("note");
            if note.is_empty() {
                return Err(WebError::BadInput("Write the note.".into()));
            }
            let escaped = maud::html! { (note) }.into_string();
            Ok(serde_json::json!({
                "resourceType": "Composition",
                "id": id,
                "status": "final",
                "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}], "text": "Progress note"},
                "subject": account(patient),
                "date": now,
                "author": [account(author)],
                "title": title,
                "section": [{"title": title, "text": {"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{escaped}</div>")}}]
            }))
        }
        "lab" => {
            let value: f64 = text("value").replace(',', ".").parse().map_err(|_| {
                WebError::BadInput(format!(
                    "{:?} is not a number: a lab result needs its value.",
                    text("value")
                ))
            })?;
            let unit = text("unit");
            let mut quantity = serde_json::json!({"value": value});
            if !unit.is_empty() {
                quantity["unit"] = unit.into();
            }
            Ok(serde_json::json!({
                "resourceType": "Observation",
                "id": id,
                "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "Laboratory"}]}],
                "code": {"text": title},
                "subject": account(patient),
                "effectiveDateTime": now,
                "issued": now,
                "performer": [account(author)],
                "valueQuantity": quantity
            }))
        }
        other => Err(WebError::BadInput(format!(
            "{other:?} is not a kind of record you can add."
        ))),
    }
}

/// The identifier system of MediGate accounts in FHIR references.
pub const ACCOUNT_SYSTEM: &str = "urn:medigate:account";

/// `POST /app/patients/{account}/records` (`csrf`, `kind`, `title`,
/// `note` or `value` and `unit`): adds a record to the patient's record
/// under a write grant.
pub async fn add_record(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(account): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    let (csrf, _, others) = form_fields(&fields);
    user.check(&csrf)?;
    let patient = parse_account(&account)?;
    let kind = others.get("kind").map(String::as_str).unwrap_or_default();
    let resource = authored_resource(kind, &others, &patient, &user.account, crate::now_ms())?;
    gateway
        .author_record(patient, &resource.to_string())
        .await?;
    Ok(Redirect::to(&format!(
        "/app/patients/{}?notice=added-1",
        hex::encode(patient)
    )))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn notes_and_lab_results_are_valid_r4_in_their_categories() {
        let note = authored_resource(
            "note",
            &form(&[("title", "Visit"), ("note", "Stable <b>ok</b>")]),
            &[1; 32],
            &[2; 32],
            0,
        )
        .unwrap();
        medigate_fhir::validate::validate(&note).unwrap();
        assert_eq!(medigate_fhir::category_of(&note), Category::Notes);
        assert!(
            note.to_string().contains("&lt;b&gt;"),
            "the note's text is escaped in its narrative"
        );
        let lab = authored_resource(
            "lab",
            &form(&[("title", "Potassium"), ("value", "4,1"), ("unit", "mmol/L")]),
            &[1; 32],
            &[2; 32],
            0,
        )
        .unwrap();
        medigate_fhir::validate::validate(&lab).unwrap();
        assert_eq!(medigate_fhir::category_of(&lab), Category::Labs);
        assert_eq!(lab["valueQuantity"]["value"], 4.1);
    }

    #[test]
    fn incomplete_forms_are_refused_in_words() {
        let refused = |kind: &str, pairs: &[(&str, &str)]| {
            authored_resource(kind, &form(pairs), &[1; 32], &[2; 32], 0)
                .unwrap_err()
                .to_string()
        };
        assert!(refused("note", &[("title", "")]).contains("title"));
        assert!(refused("note", &[("title", "Visit")]).contains("Write the note"));
        assert!(refused("lab", &[("title", "K"), ("value", "high")]).contains("not a number"));
        assert!(refused("x-ray", &[("title", "K")]).contains("not a kind"));
    }
}
