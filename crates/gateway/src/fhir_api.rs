//! The FHIR R4 REST facade at `/fhir`, over exactly the records the user may
//! see: their own, and those patients shared with them (each read asked of
//! the chain and receipted by the vault).
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /fhir/metadata` | the CapabilityStatement |
//! | `GET /fhir/{type}/{id}` | the resource, as imported |
//! | `GET /fhir/{type}?patient=&date=&code=&_count=&_offset=` | a searchset Bundle |
//! | `GET /fhir?_type=A,B&patient=...` | the same over several types |
//! | `GET /fhir/Patient/{id}/$everything` | every record of the patient the user may see |
//! | `GET /fhir/Patient/{id}/$summary` | an International Patient Summary document of them |
//! | `POST /fhir` (a transaction Bundle) | imports it; a transaction-response Bundle |
//!
//! `patient` is a patient's account id (64 hex digits) or, for the user's
//! own records, their Patient id. The purpose of use is the gateway's
//! default or the `x-medigate-purpose` header. Failures are
//! OperationOutcomes.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use medigate_crypto::keys::Identity;
use serde_json::{Value, json};

use medigate_fhir::{
    person::PersonReferences,
    raw::{Entry, searchset},
};

use crate::{
    Gateway, chain,
    consent::parse_account,
    error::{FhirFailure, GatewayError},
    import::ProgressSink,
    records::VisibleRecord,
};

/// The FHIR JSON media type.
pub const FHIR_JSON: &str = "application/fhir+json";
/// The header naming the purpose of use of a read (an HL7 code).
pub const PURPOSE_HEADER: &str = "x-medigate-purpose";
/// Matches per page unless `_count` says otherwise.
pub const DEFAULT_COUNT: usize = 100;
/// The most matches per page.
pub const MAX_COUNT: usize = 1000;

/// The resource types the facade serves (what Synthea emits, what an
/// International Patient Summary holds, and more; `Bundle` for the
/// documents imported whole).
pub const RESOURCE_TYPES: [&str; 31] = [
    "Patient",
    "AllergyIntolerance",
    "Binary",
    "Bundle",
    "CarePlan",
    "CareTeam",
    "Claim",
    "Composition",
    "Condition",
    "Coverage",
    "Device",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "ExplanationOfBenefit",
    "Goal",
    "ImagingStudy",
    "Immunization",
    "Location",
    "Media",
    "Medication",
    "MedicationAdministration",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "Specimen",
];

/// The facade's routes.
pub fn router() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/fhir", get(search_system).post(transaction))
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/{resource_type}", get(search_type))
        .route("/fhir/{resource_type}/{id}", get(read))
        .route("/fhir/Patient/{id}/{operation}", get(everything))
}

fn fhir(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

/// The CapabilityStatement: what this facade does.
pub fn capability_statement() -> Value {
    let search_params = json!([
        {"name": "patient", "type": "reference",
         "documentation": "The patient: an account id (64 hex digits) or the user's own Patient id"},
        {"name": "date", "type": "date",
         "documentation": "The resource's clinical date, with prefixes eq, ge, gt, le, lt"},
        {"name": "code", "type": "token", "documentation": "[system|]code, commas for any of several"},
        {"name": "_count", "type": "number", "documentation": "Matches per page (at most 1000)"}
    ]);
    let resources: Vec<Value> = RESOURCE_TYPES
        .iter()
        .map(|resource_type| {
            let mut resource = json!({
                "type": resource_type,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": search_params,
            });
            if *resource_type == "Patient" {
                resource["operation"] = json!([
                    {"name": "everything",
                     "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"},
                    {"name": "summary",
                     "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"}
                ]);
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-24",
        "kind": "instance",
        "software": {"name": "MediGate gateway", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "A MediGate gateway: the records its user may see, decrypted at the gateway"},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Reads are allowed by the patient's consent on the MediGate chain and receipted on chain by the vault that serves them.",
            "security": {"description": "Send the gateway's API token as a bearer token."},
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "search-system"}]
        }]
    })
}

async fn metadata() -> Response {
    fhir(StatusCode::OK, capability_statement().to_string())
}

/// The purpose of a request: its header, or the gateway's default.
fn purpose_of(
    gateway: &Gateway,
    headers: &HeaderMap,
) -> Result<
    medigate_chain_client::medigate::runtime_types::medigate_access_policy::terms::Purpose,
    GatewayError,
> {
    let code = headers
        .get(PURPOSE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or(&gateway.default_purpose);
    chain::purpose_from_code(code)
}

/// Whose records a `patient` parameter means.
enum PatientFilter {
    /// Anyone's the user may see.
    Any,
    /// The user's own.
    Own,
    /// A patient who shared with the user.
    Shared([u8; 32]),
}

async fn patient_filter(
    gateway: &Gateway,
    identity: &Identity,
    patient: Option<&str>,
) -> Result<PatientFilter, GatewayError> {
    let Some(patient) = patient else {
        return Ok(PatientFilter::Any);
    };
    let patient = patient.strip_prefix("Patient/").unwrap_or(patient);
    let me = identity.signing_keypair().public_key().0;
    if let Ok(account) = parse_account(patient) {
        return Ok(if account == me {
            PatientFilter::Own
        } else {
            PatientFilter::Shared(account)
        });
    }
    if gateway
        .index
        .own_record("Patient", patient)
        .await?
        .is_some()
    {
        return Ok(PatientFilter::Own);
    }
    if let Some((_, account)) = gateway.seen_shared("Patient", patient) {
        return Ok(PatientFilter::Shared(account));
    }
    Err(GatewayError::NotFound(format!("Patient/{patient}")))
}

/// The records of `filter` of `resource_type` (any when `None`) the user
/// may see for `purpose`.
async fn gather(
    gateway: &Gateway,
    identity: &Identity,
    filter: &PatientFilter,
    resource_type: Option<&str>,
    purpose: &medigate_chain_client::medigate::runtime_types::medigate_access_policy::terms::Purpose,
) -> Result<Vec<VisibleRecord>, GatewayError> {
    let mut records = Vec::new();
    if matches!(filter, PatientFilter::Any | PatientFilter::Own) {
        records.extend(gateway.own_visible(identity, resource_type).await?);
    }
    let shared_patient = match filter {
        PatientFilter::Own => return Ok(records),
        PatientFilter::Any => None,
        PatientFilter::Shared(account) => Some(*account),
    };
    match gateway
        .shared_visible(identity, shared_patient, resource_type, purpose)
        .await
    {
        Ok(shared) => records.extend(
            shared
                .into_iter()
                .filter(|record| resource_type.is_none_or(|wanted| record.resource_type == wanted)),
        ),
        // Denied shared records do not hide the user's own.
        Err(GatewayError::Denied(_)) if matches!(filter, PatientFilter::Any) => {}
        Err(error) => return Err(error),
    }
    Ok(records)
}

use crate::web::readable::clinical_date;

/// Whether `date` matches a FHIR date search value (`ge2020-01`, `2020`).
/// Dates compare on the precision of the search value.
fn date_matches(date: &str, wanted: &str) -> Result<bool, GatewayError> {
    let (prefix, value) = match wanted.get(..2) {
        Some(prefix @ ("eq" | "ne" | "ge" | "gt" | "le" | "lt")) => (prefix, &wanted[2..]),
        _ => ("eq", wanted),
    };
    // A FHIR date is ASCII; anything else is refused before it is cut.
    let year = value.get(..4).filter(|_| value.is_ascii());
    if !year.is_some_and(|year| year.bytes().all(|byte| byte.is_ascii_digit())) {
        return Err(GatewayError::BadRequest {
            what: format!("the date parameter {wanted:?}"),
            expected: "a FHIR date such as 2020, 2020-05, 2020-05-17 or ge2020-05-17".into(),
        });
    }
    let date = date.get(..value.len()).unwrap_or(date);
    Ok(match prefix {
        "eq" => date == value,
        "ne" => date != value,
        "ge" => date >= value,
        "gt" => date > value,
        "le" => date <= value,
        _ => date < value,
    })
}

/// Whether any coding of the resource's code matches `wanted`
/// (`system|code` or `code`, comma-separated alternatives).
fn code_matches(resource: &Value, wanted: &str) -> bool {
    let concepts = ["code", "vaccineCode", "medicationCodeableConcept", "type"];
    let codings: Vec<&Value> = concepts
        .iter()
        .filter_map(|element| resource.get(element))
        .flat_map(|concept| match concept {
            Value::Array(concepts) => concepts.iter().collect::<Vec<_>>(),
            single => vec![single],
        })
        .filter_map(|concept| concept.get("coding").and_then(Value::as_array))
        .flatten()
        .collect();
    wanted.split(',').any(|token| {
        let (system, code) = match token.split_once('|') {
            Some((system, code)) => (Some(system), code),
            None => (None, token),
        };
        codings.iter().any(|coding| {
            coding["code"].as_str() == Some(code)
                && system.is_none_or(|system| {
                    system.is_empty() || coding["system"].as_str() == Some(system)
                })
        })
    })
}

/// The search parameters the facade takes.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchQuery {
    patient: Option<String>,
    subject: Option<String>,
    #[serde(rename = "_type")]
    types: Option<String>,
    date: Option<String>,
    code: Option<String>,
    #[serde(rename = "_count")]
    count: Option<usize>,
    #[serde(rename = "_offset")]
    offset: Option<usize>,
}

async fn search(
    gateway: &Gateway,
    headers: &HeaderMap,
    base: &str,
    types: Vec<String>,
    query: &SearchQuery,
    raw_query: Option<&str>,
) -> Result<Response, GatewayError> {
    let identity = gateway.keyring.identity()?;
    let purpose = purpose_of(gateway, headers)?;
    let filter = patient_filter(
        gateway,
        &identity,
        query.patient.as_deref().or(query.subject.as_deref()),
    )
    .await?;
    for resource_type in &types {
        if !RESOURCE_TYPES.contains(&resource_type.as_str()) {
            return Err(GatewayError::BadRequest {
                what: format!("the resource type {resource_type:?}"),
                expected: format!("one of {}", RESOURCE_TYPES.join(", ")),
            });
        }
    }
    let mut records = Vec::new();
    if types.is_empty() {
        records = gather(gateway, &identity, &filter, None, &purpose).await?;
    } else {
        for resource_type in &types {
            records
                .extend(gather(gateway, &identity, &filter, Some(resource_type), &purpose).await?);
        }
    }
    let mut matches = Vec::with_capacity(records.len());
    for record in records {
        if query.date.is_some() || query.code.is_some() {
            let parsed = record.parsed();
            if let Some(wanted) = &query.date {
                match clinical_date(&parsed) {
                    Some(date) if date_matches(date, wanted)? => {}
                    _ => continue,
                }
            }
            if let Some(wanted) = &query.code
                && !code_matches(&parsed, wanted)
            {
                continue;
            }
        }
        matches.push(record);
    }
    let count = query.count.unwrap_or(DEFAULT_COUNT).min(MAX_COUNT);
    let offset = query.offset.unwrap_or(0);
    let page: Vec<Entry<'_>> = matches
        .iter()
        .skip(offset)
        .take(count)
        .map(|record| Entry {
            resource_type: &record.resource_type,
            id: &record.id,
            text: &record.text,
        })
        .collect();
    let path = if types.len() == 1 {
        format!("{base}/{}", types[0])
    } else {
        base.to_string()
    };
    let others: Vec<&str> = raw_query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            !pair.is_empty() && !pair.starts_with("_offset=") && !pair.starts_with("_count=")
        })
        .collect();
    let link = |offset: usize| {
        let mut parts = others.clone();
        let paging = format!("_count={count}&_offset={offset}");
        parts.push(&paging);
        format!("{path}?{}", parts.join("&"))
    };
    let mut links = vec![("self", link(offset))];
    if offset + count < matches.len() {
        links.push(("next", link(offset + count)));
    }
    Ok(fhir(
        StatusCode::OK,
        searchset(base, &page, matches.len(), &links),
    ))
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/fhir")
}

async fn search_system(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirFailure> {
    let types: Vec<String> = query
        .types
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    Ok(search(
        &gateway,
        &headers,
        &base_url(&headers),
        types,
        &query,
        raw.as_deref(),
    )
    .await?)
}

async fn search_type(
    State(gateway): State<Arc<Gateway>>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirFailure> {
    Ok(search(
        &gateway,
        &headers,
        &base_url(&headers),
        vec![resource_type],
        &query,
        raw.as_deref(),
    )
    .await?)
}

async fn read(
    State(gateway): State<Arc<Gateway>>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let identity = gateway.keyring.identity()?;
    let purpose = purpose_of(&gateway, &headers)?;
    if !RESOURCE_TYPES.contains(&resource_type.as_str()) {
        return Err(GatewayError::NotFound(format!("{resource_type}/{id}")).into());
    }
    if let Some(own) = gateway.index.own_record(&resource_type, &id).await? {
        let record = gateway.open_own(&identity, &own).await?;
        return Ok(fhir(StatusCode::OK, record.text));
    }
    let patient = gateway
        .seen_shared(&resource_type, &id)
        .map(|(_, patient)| patient);
    let records = gateway
        .shared_visible(&identity, patient, Some(&resource_type), &purpose)
        .await?;
    records
        .into_iter()
        .find(|record| record.resource_type == resource_type && record.id == id)
        .map(|record| fhir(StatusCode::OK, record.text))
        .ok_or_else(|| GatewayError::NotFound(format!("{resource_type}/{id}")).into())
}

async fn everything(
    State(gateway): State<Arc<Gateway>>,
    Path((id, operation)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    if operation != "$everything" && operation != "$summary" {
        return Err(GatewayError::NotFound(format!("Patient/{id}/{operation}")).into());
    }
    let identity = gateway.keyring.identity()?;
    let purpose = purpose_of(&gateway, &headers)?;
    let filter = patient_filter(&gateway, &identity, Some(&id)).await?;
    let records = gather(&gateway, &identity, &filter, None, &purpose).await?;
    if operation == "$summary" {
        let authored = gateway.authors_of(&records).await?;
        return Ok(fhir(
            StatusCode::OK,
            summary(&identity, &id, &records, &authored)?.to_string(),
        ));
    }
    let entries: Vec<Entry<'_>> = records
        .iter()
        .map(|record| Entry {
            resource_type: &record.resource_type,
            id: &record.id,
            text: &record.text,
        })
        .collect();
    let base = base_url(&headers);
    let links = [("self", format!("{base}/Patient/{id}/$everything"))];
    Ok(fhir(
        StatusCode::OK,
        searchset(&base, &entries, entries.len(), &links),
    ))
}

/// An International Patient Summary of the Patient `requested` (a Patient
/// id, or an account: then the first Patient imported) from `records`,
/// authored by the user's account, with the entries in `authored` (written
/// by a clinician) attributed to their authors. An account is one person:
/// its Patient resources (one per hospital the records came from, linked at
/// import) are that person's, and so are the records about any of them.
pub(crate) fn summary(
    identity: &Identity,
    requested: &str,
    records: &[VisibleRecord],
    authored: &medigate_fhir::Authored,
) -> Result<Value, GatewayError> {
    let parsed: Vec<Value> = records.iter().map(VisibleRecord::parsed).collect();
    let patients: Vec<&Value> = parsed
        .iter()
        .filter(|resource| resource["resourceType"] == "Patient")
        .collect();
    let patient = patients
        .iter()
        .find(|patient| patient["id"] == requested)
        .or(patients.first())
        .copied()
        .ok_or_else(|| {
            GatewayError::NotFound(
                "the Patient resource (its demographics are not shared with you)".into(),
            )
        })?;
    let person = PersonReferences::of(patients.iter().copied());
    // The person's other Patient records (linked at import) go along, so
    // that what is about them is about this patient.
    let others: Vec<Value> = parsed
        .iter()
        .filter(|resource| {
            if resource["resourceType"] == "Patient" {
                resource["id"] != patient["id"]
            } else {
                person.allows_resource(resource)
            }
        })
        .cloned()
        .collect();
    let author = format!(
        "MediGate gateway of {}",
        hex::encode(identity.signing_keypair().public_key().0)
    );
    medigate_fhir::patient_summary_attributed(
        patient,
        &others,
        &crate::utc_instant(crate::now_ms()),
        &author,
        authored,
    )
    .map_err(|error| GatewayError::BadRequest {
        what: "the patient's records".into(),
        expected: format!("records an International Patient Summary can be made of ({error})"),
    })
}

async fn transaction(
    State(gateway): State<Arc<Gateway>>,
    body: Bytes,
) -> Result<Response, FhirFailure> {
    let quiet: ProgressSink = Arc::new(|_| {});
    let report = gateway.import_bundle(&body, quiet).await?;
    let entries: Vec<Value> = report
        .resources
        .iter()
        .map(|resource| {
            json!({"response": {
                "status": if report.already_imported { "200 OK" } else { "201 Created" },
                // FHIR counts versions from 1.
                "location": format!("{}/{}/_history/{}", resource.resource_type, resource.id, resource.version + 1),
                "etag": format!("W/\"{}\"", resource.version + 1),
            }})
        })
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": entries,
    });
    Ok(fhir(StatusCode::OK, bundle.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capability_statement_is_valid_r4() {
        medigate_fhir::validate(&capability_statement()).unwrap();
    }

    #[test]
    fn dates_compare_on_the_precision_asked() {
        let date = "2021-05-17T09:30:00Z";
        assert!(date_matches(date, "2021").unwrap());
        assert!(date_matches(date, "2021-05").unwrap());
        assert!(!date_matches(date, "2021-06").unwrap());
        assert!(date_matches(date, "ge2021-05-17").unwrap());
        assert!(!date_matches(date, "gt2021-05-17").unwrap());
        assert!(date_matches(date, "lt2022").unwrap());
        assert!(date_matches("1990-01-01", "le2000-01-01").unwrap());
        assert!(matches!(
            date_matches(date, "yesterday"),
            Err(GatewayError::BadRequest { .. })
        ));
        // Text that is not ASCII, wherever a cut would fall: refused or
        // compared, never a panic.
        for wanted in ["aéé", "20é1", "ge2é", "2021-0é", "€€€€"] {
            assert!(
                matches!(
                    date_matches(date, wanted),
                    Err(GatewayError::BadRequest { .. })
                ),
                "{wanted}"
            );
        }
        assert!(!date_matches("2021-é5-17", "2021-05").unwrap());
        assert!(!date_matches("€", "2021-05").unwrap());
    }

    #[test]
    fn codes_match_with_or_without_their_system() {
        let observation = json!({"resourceType": "Observation",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}});
        assert!(code_matches(&observation, "8867-4"));
        assert!(code_matches(&observation, "http://loinc.org|8867-4"));
        assert!(code_matches(&observation, "1-1,8867-4"));
        assert!(!code_matches(&observation, "http://snomed.info/sct|8867-4"));
        assert!(!code_matches(&observation, "8310-5"));
    }

    #[test]
    fn the_clinical_date_is_found_where_each_type_keeps_it() {
        assert_eq!(
            clinical_date(&json!({"effectivePeriod": {"start": "2020-01-01"}})),
            Some("2020-01-01")
        );
        assert_eq!(
            clinical_date(&json!({"onsetDateTime": "2019"})),
            Some("2019")
        );
        assert_eq!(clinical_date(&json!({"status": "final"})), None);
    }
}
