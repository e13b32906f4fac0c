//! Emergency access in the web app.
//!
//! - For a patient: the emergency settings (enabled, who may break the
//!   glass, guardians, the grant's window), the state of the summary and of
//!   the custodians' shares, the printable emergency card, and the review
//!   queue: every break-glass on the patient's records (or on those of a
//!   patient they are a guardian of), to mark justified or flag.
//! - For a responder (an attested emergency responder or provider): the
//!   patient's id (typed, or a photo of their QR code) or their emergency
//!   card, the purpose and the reason; then the patient's emergency summary.

use std::sync::Arc;

use axum::{
    Form,
    extract::{Multipart, Path, State},
    http::header,
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use medigate_chain_client::{
    holds_role, medigate::runtime_types::medigate_access_policy::terms::Role,
    subxt::utils::AccountId32,
};
use qrcode::{QrCode, render::svg};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    Gateway,
    emergency::{EmergencyRead, EmergencySettings, EmergencyStatus, RESPONDER_ROLES},
    error::GatewayError,
    web::{
        WebError,
        layout::{Section, button_form, page, short_account, when},
        patient::{CsrfOnly, purpose_label},
        qr,
        readable::headline,
        session::SignedIn,
    },
};

/// Whether the user may break the glass on someone's records (an attested
/// emergency responder or provider; the patient's policy decides in the
/// end).
async fn may_respond(gateway: &Gateway, account: [u8; 32]) -> Result<bool, GatewayError> {
    let account = AccountId32(account);
    Ok(
        holds_role(&gateway.reads, &account, Role::EmergencyResponder).await?
            || holds_role(&gateway.reads, &account, Role::Provider).await?,
    )
}

fn review_label(review: &str) -> &'static str {
    match review {
        "justified" => "justified",
        "flagged" => "flagged to the authorities",
        _ => "waiting for review",
    }
}

fn settings_form(user: &SignedIn, status: &EmergencyStatus) -> Markup {
    html! {
        form.stack method="post" action="/app/emergency/policy" {
            input type="hidden" name="csrf" value=(user.csrf);
            div.check {
                input #enabled type="checkbox" name="enabled" value="on" checked[status.enabled];
                label for="enabled" { "Allow emergency access to my summary" }
            }
            fieldset {
                legend { "Who may break the glass" }
                @for (code, _) in RESPONDER_ROLES {
                    div.check {
                        input id=(format!("role-{code}")) type="checkbox" name="roles" value=(code)
                            checked[status.roles.iter().any(|role| role == code) || (status.roles.is_empty() && code == "responder")];
                        label for=(format!("role-{code}")) { @if code == "responder" { "Attested emergency responders" } @else { "Attested clinicians" } }
                    }
                }
            }
            label for="guardians" { "Guardians to notify, who may also review (one account id per line)" }
            textarea #guardians name="guardians" rows="3" spellcheck="false" { (status.guardians.join("\n")) }
            label for="window" { "How long an emergency grant lasts (minutes, 1 to 1440)" }
            input #window type="number" name="window_minutes" min="1" max="1440" value=(status.window_minutes);
            label for="full-access" { "Let the responder read every record after a veto window of (minutes; empty: the summary only)" }
            input #full-access type="number" name="full_access_after_minutes" min="1" max="1439"
                value=[status.full_access_after_seconds.map(|seconds| seconds.div_ceil(60))];
            p { "During the veto window you and your guardians are told of the break-glass and may veto it." }
            button type="submit" { "Save" }
        }
    }
}

fn review_queue(user: &SignedIn, status: &EmergencyStatus) -> Markup {
    let me = hex::encode(user.account);
    let concerning: Vec<_> = status
        .break_glasses
        .iter()
        .filter(|glass| glass.responder != me)
        .collect();
    html! {
        @if concerning.is_empty() { p.empty { "Nobody has broken the glass on your records." } }
        @else {
            ul.cards {
                @for glass in concerning {
                    li.card #(format!("break-glass-{}", glass.id)) {
                        p {
                            strong { "Break-glass " (glass.id) } ": "
                            span.account title=(glass.responder) { (short_account(&glass.responder)) }
                            @if glass.patient == me { " read your emergency summary" }
                            @else { " read the emergency summary of " span.account title=(glass.patient) { (short_account(&glass.patient)) } }
                            " for " (purpose_label(&glass.purpose))
                            ", with a grant until " (when(glass.expires_ms)) " (block " (glass.block) ")."
                        }
                        @if let (Some(opens), Some(state)) = (glass.full_access_ms, glass.full_access.as_deref()) {
                            p {
                                @match state {
                                    "vetoed" => { "Full-record access: vetoed." }
                                    "shared" => { "Full-record access: every record opened " (when(opens)) "." }
                                    _ => { "Full-record access: every record opens " (when(opens)) " unless vetoed." }
                                }
                            }
                            @if state != "vetoed" && glass.expires_ms > crate::now_ms() {
                                div.actions {
                                    (button_form(&format!("/app/emergency/{}/veto", glass.id), &user.csrf, "Veto full-record access", "danger"))
                                }
                            }
                        }
                        p { "Review: " strong.review { (review_label(&glass.review)) } }
                        @if glass.review == "pending" {
                            div.actions {
                                (button_form(&format!("/app/emergency/{}/review/justified", glass.id), &user.csrf, "It was justified", "primary"))
                                (button_form(&format!("/app/emergency/{}/review/flagged", glass.id), &user.csrf, "Flag it to the authorities", "danger"))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn responder_form(user: &SignedIn) -> Markup {
    html! {
        form.stack method="post" action="/app/emergency/break-glass" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(user.csrf);
            label for="patient" { "The patient's account id" }
            input #patient type="text" name="patient" inputmode="latin" autocomplete="off" spellcheck="false" placeholder="64 hex digits";
            label for="qr" { "or a photo of the QR code on their card or emergency card" }
            input #qr type="file" name="qr" accept="image/png,image/jpeg" capture="environment";
            label for="card" { "or the text of their emergency card (when the custodians cannot be reached)" }
            input #card type="text" name="card" autocomplete="off" spellcheck="false" placeholder="MGEC1.…";
            label for="purpose" { "Purpose" }
            select #purpose name="purpose" {
                option value="ETREAT" selected { "Emergency treatment" }
                option value="BTG" { "Break the glass" }
            }
            label for="reason" { "Reason (kept by you; its hash goes on the chain, and the patient reviews it)" }
            textarea #reason name="reason" rows="2" required minlength="3" {}
            button.danger type="submit" { "Break the glass and show the summary" }
        }
    }
}

/// `GET /app/emergency`.
pub async fn overview(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
) -> Result<Html<String>, WebError> {
    gateway.sync_index().await?;
    let status = gateway.emergency_status().await?;
    let responder = may_respond(&gateway, user.account).await?;
    let holding = status
        .custodians
        .iter()
        .filter(|custodian| custodian.holds_share)
        .count();
    let body = html! {
        @if responder {
            section aria-labelledby="respond" {
                h2 #respond { "Break the glass" }
                p { "In an emergency, read a patient's emergency summary now. The chain records who, when and why; "
                    "the patient and their guardians are told and review it afterwards." }
                (responder_form(&user))
            }
        }
        section aria-labelledby="mine" {
            h2 #mine { "Your emergency access" }
            p #emergency-state {
                @if status.enabled {
                    "Enabled. "
                    @match &status.summary {
                        Some(summary) => { "Your emergency summary was prepared " (when(summary.prepared_ms)) ". " },
                        None => "Your emergency summary is not prepared yet. ",
                    }
                    (holding) " of " (status.custodians.len()) " custodians hold a share of its key; "
                    (status.threshold) " are needed to open it."
                } @else {
                    "Disabled: nobody can break the glass on your records."
                }
            }
            (settings_form(&user, &status))
            @if let Some(summary) = &status.summary {
                p { a href="/app/emergency/card" { "Print your emergency card" } }
                p.explain { "Lost your card? A new emergency key makes every earlier card and share open nothing newer (key generation " (summary.generation) " now)." }
                (button_form("/app/emergency/new-key", &user.csrf, "Make a new emergency key", "secondary"))
            }
        }
        section aria-labelledby="reviews" {
            h2 #reviews { "Break-glass reviews" }
            (review_queue(&user, &status))
        }
    };
    Ok(Html(
        page("Emergency access", &user, Section::Emergency, body).into_string(),
    ))
}

/// The settings form's fields.
#[derive(Deserialize)]
pub struct PolicyForm {
    csrf: String,
    enabled: Option<String>,
    #[serde(default)]
    guardians: String,
    window_minutes: Option<String>,
    full_access_after_minutes: Option<String>,
}

/// A number of minutes from a form field (`None` when left empty).
fn minutes(field: Option<&str>) -> Result<Option<u64>, WebError> {
    match field.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| WebError::BadInput(format!("{text:?} is not a number of minutes."))),
    }
}

/// `POST /app/emergency/policy` (the roles come as repeated `roles` fields,
/// read from the raw form).
pub async fn set_policy(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.clone())
    };
    let form = PolicyForm {
        csrf: value("csrf").unwrap_or_default(),
        enabled: value("enabled"),
        guardians: value("guardians").unwrap_or_default(),
        window_minutes: value("window_minutes"),
        full_access_after_minutes: value("full_access_after_minutes"),
    };
    user.check(&form.csrf)?;
    let window_minutes = minutes(form.window_minutes.as_deref())?;
    let full_access_after_minutes = minutes(form.full_access_after_minutes.as_deref())?;
    let settings = EmergencySettings {
        enabled: form.enabled.is_some(),
        roles: fields
            .iter()
            .filter(|(field, _)| field == "roles")
            .map(|(_, value)| value.clone())
            .collect(),
        guardians: form
            .guardians
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        window_minutes,
        full_access_after_seconds: full_access_after_minutes
            .map(|minutes| {
                minutes.checked_mul(60).ok_or_else(|| {
                    WebError::BadInput(format!(
                        "{minutes} minutes is longer than any emergency window."
                    ))
                })
            })
            .transpose()?,
    };
    gateway.set_emergency_policy(&settings).await?;
    Ok(Redirect::to("/app/emergency"))
}

/// `POST /app/emergency/new-key`.
pub async fn new_key(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    gateway.new_emergency_key().await?;
    Ok(Redirect::to("/app/emergency/card"))
}

/// `POST /app/emergency/{id}/review/{verdict}`.
pub async fn review(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path((id, verdict)): Path<(u64, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    gateway.review_break_glass(id, &verdict).await?;
    Ok(Redirect::to(&format!("/app/emergency#break-glass-{id}")))
}

/// `POST /app/emergency/{id}/veto`.
pub async fn veto(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    Path(id): Path<u64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check(&form.csrf)?;
    gateway.veto_break_glass(id).await?;
    Ok(Redirect::to(&format!("/app/emergency#break-glass-{id}")))
}

/// `GET /app/emergency/card`: the printable offline emergency card.
pub async fn card(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
) -> Result<Html<String>, WebError> {
    let card = gateway.emergency_card().await?;
    let text = card.text();
    let code = QrCode::new(text.as_bytes())
        .map_err(|error| WebError::BadInput(format!("The card cannot be drawn: {error}.")))?
        .render::<svg::Color<'_>>()
        .min_dimensions(260, 260)
        .quiet_zone(true)
        .build();
    let body = html! {
        div.card.printable #emergency-card {
            h2 { "MediGate emergency card" }
            // The SVG is drawn here from the card's text; it holds no script.
            div.qr role="img" aria-label="QR code of your emergency card" { (maud::PreEscaped(code)) }
            p { "Patient " span.account { code { (hex::encode(card.patient)) } } }
            p.account #card-text { code { (text.as_str()) } }
            p { "For emergency responders: scan this code in a MediGate gateway (Emergency, break the glass). "
                "It opens this patient's emergency summary only under a break-glass recorded on the chain, "
                "and every read is audited." }
        }
        p.warning { "Keep this card with you and private, like a key: with a break-glass on the chain it opens your emergency summary. "
            "If it is lost, make a new emergency key on the Emergency page: this card then opens nothing newer." }
    };
    Ok(Html(
        page("Your emergency card", &user, Section::Emergency, body).into_string(),
    ))
}

/// A patient's contact as a name (given names, then family).
fn contact_name(contact: &Value) -> String {
    let name = &contact["name"];
    let mut parts: Vec<&str> = name["given"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    parts.extend(name["family"].as_str());
    if parts.is_empty() {
        name["text"].as_str().unwrap_or("(no name)").to_string()
    } else {
        parts.join(" ")
    }
}

fn summary_view(read: &EmergencyRead) -> Markup {
    let entries: Vec<&Value> = read.summary["entry"]
        .as_array()
        .map(|entries| entries.iter().map(|entry| &entry["resource"]).collect())
        .unwrap_or_default();
    let by_url = |reference: &str| {
        read.summary["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|entry| entry["fullUrl"] == reference)
            .map(|entry| &entry["resource"])
    };
    // Entries a clinician wrote carry a Provenance naming them; the rest
    // are the patient's own.
    let author_of = |url: &str| {
        entries
            .iter()
            .filter(|resource| resource["resourceType"] == "Provenance")
            .find(|provenance| provenance["target"][0]["reference"] == url)
            .and_then(|provenance| provenance["agent"][0]["who"]["identifier"]["value"].as_str())
    };
    let composition = entries
        .iter()
        .find(|resource| resource["resourceType"] == "Composition");
    let patient = entries
        .iter()
        .find(|resource| resource["resourceType"] == "Patient");
    let name = patient
        .map(|patient| headline(patient).title)
        .unwrap_or_else(|| "The patient".into());
    html! {
        p.notice role="status" #emergency-result {
            "Break-glass " (read.break_glass) " for " (short_account(&read.patient)) ": the key was rebuilt from "
            @if read.key_from == "card" { "the patient's emergency card" } @else { (read.shares_used) " custodian shares" }
            "; the summary was decrypted " (read.timings.after_inclusion_ms) " ms after the break-glass was in a block. "
            "Your emergency grant ends " (when(read.expires_ms as i64)) "."
        }
        @if let Some(opens) = read.full_access_ms {
            p.notice #full-access {
                "Every record of the patient opens to you " (when(opens as i64))
                ", unless the patient or a guardian vetoes it: "
                a href=(format!("/app/patients/{}", read.patient)) { "the patient's records" } "."
            }
        }
        section aria-labelledby="who" {
            h2 #who { (name) }
            @if let Some(patient) = patient {
                dl.fields {
                    @if let Some(birth) = patient["birthDate"].as_str() { dt { "Born" } dd { (birth) } }
                    @if let Some(gender) = patient["gender"].as_str() { dt { "Gender" } dd { (gender) } }
                    @for contact in patient["contact"].as_array().into_iter().flatten() {
                        dt { "Emergency contact" }
                        dd { (contact_name(contact)) @for telecom in contact["telecom"].as_array().into_iter().flatten() { " · " (telecom["value"].as_str().unwrap_or_default()) } }
                    }
                }
            }
        }
        @if let Some(composition) = composition {
            @for section in composition["section"].as_array().into_iter().flatten() {
                @let title = section["title"].as_str().unwrap_or("Section");
                section.summary-section {
                    h2 { (title) }
                    @let items: Vec<(&str, &Value)> = section["entry"].as_array().into_iter().flatten()
                        .filter_map(|entry| entry["reference"].as_str().and_then(|url| Some((url, by_url(url)?)))).collect();
                    @if items.is_empty() { p.empty { "Nothing recorded." } }
                    @else {
                        ul.summary-items {
                            @for (url, item) in items {
                                @let line = headline(item);
                                li { strong { (line.title) }
                                    @if let Some(value) = &line.value { " · " (value) }
                                    @if let Some(date) = &line.date { " · " (date) }
                                    @if let Some(author) = author_of(url) {
                                        " · " span.recorded-by { "recorded by clinician " (short_account(author)) }
                                    } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /app/emergency/break-glass` (multipart: `csrf`, `patient`, `qr`,
/// `card`, `purpose`, `reason`).
pub async fn break_glass(
    State(gateway): State<Arc<Gateway>>,
    user: SignedIn,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        WebError::BadInput(format!("The form could not be read: {error}."))
    };
    let (mut csrf, mut typed, mut card, mut photo) =
        (String::new(), String::new(), String::new(), Vec::new());
    let (mut purpose, mut reason) = ("ETREAT".to_string(), String::new());
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(unreadable)?,
            Some("patient") => typed = field.text().await.map_err(unreadable)?,
            Some("card") => card = field.text().await.map_err(unreadable)?,
            Some("qr") => photo = field.bytes().await.map_err(unreadable)?.to_vec(),
            Some("purpose") => purpose = field.text().await.map_err(unreadable)?,
            Some("reason") => reason = field.text().await.map_err(unreadable)?,
            _ => {}
        }
    }
    user.check(&csrf)?;
    let read = if !card.trim().is_empty() {
        gateway
            .break_glass_with_card(&card, &purpose, &reason)
            .await?
    } else if !typed.trim().is_empty() {
        let patient = qr::account_in(&typed).ok_or_else(|| {
            WebError::BadInput(format!(
                "{:?} is not an account id: it has 64 hex digits (0-9, a-f).",
                typed.trim()
            ))
        })?;
        gateway.break_glass(patient, &purpose, &reason).await?
    } else if !photo.is_empty() {
        match qr::read_text_apart(photo)
            .await
            .map_err(|error| WebError::BadInput(error.to_string()))?
        {
            text if text.starts_with(medigate_crypto::card::CARD_TAG) => {
                gateway
                    .break_glass_with_card(&text, &purpose, &reason)
                    .await?
            }
            text => {
                let patient = qr::account_in(&text).ok_or_else(|| {
                    WebError::BadInput(
                        "The QR code holds neither a MediGate account id nor an emergency card."
                            .into(),
                    )
                })?;
                gateway.break_glass(patient, &purpose, &reason).await?
            }
        }
    } else {
        return Err(WebError::BadInput(
            "Type the patient's account id, choose a photo of their QR code, or give their emergency card.".into(),
        ));
    };
    let body = summary_view(&read);
    let mut response =
        Html(page("Emergency summary", &user, Section::Emergency, body).into_string())
            .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("a header value"),
    );
    Ok(response)
}
