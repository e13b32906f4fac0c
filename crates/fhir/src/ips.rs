//! A patient's International Patient Summary (IPS): a FHIR R4 `document`
//! Bundle built from the patient's resources.
//!
//! The Bundle's first entry is a `Composition` (LOINC 60591-5, "Patient
//! summary Document") whose sections point at the resources summarized; then
//! come the Patient and those resources, copied as given. Sections, in this
//! order (LOINC code, title, what goes in):
//!
//! | code | title | resources |
//! |---|---|---|
//! | 48765-2 | Allergies and intolerances | every AllergyIntolerance |
//! | 10160-0 | Medication summary | every MedicationRequest and MedicationStatement |
//! | 11450-4 | Problem list | every Condition |
//! | 11369-6 | Immunizations | every Immunization |
//! | 8716-3 | Vital signs | per LOINC code, the latest Observation of category `vital-signs` |
//! | 30954-2 | Results | the latest blood group Observation (LOINC 882-1, "ABO and Rh group") |
//! | 42348-3 | Advance directives | every Consent whose scope is an advance directive (`adr`) |
//!
//! The blood group goes in the Results section, where the IPS guide puts
//! laboratory results, rather than in a section of its own that the guide
//! does not define; no other result is summarized yet. The first three
//! sections are the ones the IPS requires: they are there even when empty,
//! with no entries and the `emptyReason` `unavailable`
//! (`http://terminology.hl7.org/CodeSystem/list-empty-reason`): MediGate
//! holds what it was given and cannot state that the patient has none
//! (`nilknown`). The other sections appear only when they have entries.
//! Every section has a generated XHTML narrative listing its items.
//!
//! Resources marked `entered-in-error` (by `status`, or by
//! `verificationStatus` for conditions and allergies) are left out, and so
//! are cancelled observations; resources of other types are ignored.
//! "Latest" compares `effective[x]` (a period by its end, else its start),
//! else `issued`, as instants (time zones taken into account, a date as its
//! first moment); an observation without a time is older than any with one,
//! and of two equally recent ones the one given last wins.
//!
//! Every entry has a `urn:uuid:` fullUrl, deterministic:
//! - a resource whose `id` is a (lower-case) UUID keeps it:
//!   `urn:uuid:<id>`, so that references such as Synthea's
//!   `urn:uuid:<patient id>` resolve inside the document (should resources
//!   of two types share a UUID, the Patient, else the one in the earlier
//!   section, keeps it and the other gets a derived one);
//! - any other resource gets a UUID derived with BLAKE3 (in key derivation
//!   mode, context [`UUID_CONTEXT`]) from `<resourceType>/<id>`, or, without
//!   an `id`, from its type and content (canonical JSON, keys sorted); the
//!   first 16 bytes of the hash, marked as an RFC 9562 version 8 UUID.
//!
//! The same resource (type and `id`, or type and content) given twice is
//! summarized once, as first given. The Composition's `id` and the Bundle's
//! `identifier` are derived the same way from the document's content, so
//! the same input gives the same document, byte for byte.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::person::{self, PersonReferences, subject_references};

/// The BLAKE3 key-derivation context of the UUIDs of a summary's entries.
pub const UUID_CONTEXT: &str = "MediGate medigate-fhir 2025 IPS document urn:uuid";

const LOINC: &str = "http://loinc.org";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const LIST_EMPTY_REASON: &str = "http://terminology.hl7.org/CodeSystem/list-empty-reason";
/// LOINC's ABO and Rh group.
const BLOOD_GROUP: &str = "882-1";

/// Why a summary cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpsError {
    /// The patient given is not a Patient resource; the type it has (empty
    /// when it has none).
    #[error("the summary's patient is {0:?}, not a Patient resource")]
    NotAPatient(String),
    /// `resources[i]` has no `resourceType`.
    #[error("resources[{0}] has no resourceType")]
    NoResourceType(usize),
    /// A resource about another patient.
    #[error("resources[{index}].{field} names {reference}, not the summary's patient")]
    OtherPatient {
        /// Its place in `resources`.
        index: usize,
        /// The element naming the patient (`subject` or `patient`).
        field: &'static str,
        /// The reference it holds.
        reference: String,
    },
    /// `now` is not an instant.
    #[error(
        "{0:?} is not an instant: give the date and time to the second with a time zone, e.g. 2025-01-31T09:30:00Z"
    )]
    BadTime(String),
    /// The author's display text is empty.
    #[error("the summary's author is empty")]
    NoAuthor,
}

/// The International Patient Summary of `patient` made of `resources` (the
/// patient's records, as FHIR R4 JSON) at `now` (an RFC 3339 instant with
/// seconds and a time zone, the Composition's date and the Bundle's
/// timestamp) by `author` (the display text of the author, e.g. the
/// gateway's account).
///
/// Returns a FHIR R4 `document` Bundle, described in the
/// [module documentation](self). Refuses a patient that is not a Patient,
/// a resource without `resourceType`, a resource whose `subject` or
/// `patient` names another patient (this one is named as `Patient/<id>`,
/// by an absolute URL ending in it, as `urn:uuid:<id>` or by its fullUrl in
/// the summary; so is any Patient among `resources` linked to it, or it to
/// them, by `Patient.link`: the same person's record from elsewhere), a
/// `now` that is not an instant and an empty author.
pub fn patient_summary(
    patient: &Value,
    resources: &[Value],
    now: &str,
    author: &str,
) -> Result<Value, IpsError> {
    patient_summary_attributed(patient, resources, now, author, &Authored::new())
}

/// Who wrote which of a patient's resources, when not the patient: the
/// author's account (hex) by resource type and id.
pub type Authored = std::collections::BTreeMap<(String, String), String>;

/// The code system of MediGate accounts, as a Provenance names an author.
pub const ACCOUNT_SYSTEM: &str = "urn:medigate:account";

/// [`patient_summary`], with every entry someone other than the patient
/// wrote (in `authored`) attributed to its author: a `Provenance` entry
/// targets it and names the author's account ([`ACCOUNT_SYSTEM`]) as its
/// author, so that a reader tells a clinician's entry from the patient's.
pub fn patient_summary_attributed(
    patient: &Value,
    resources: &[Value],
    now: &str,
    author: &str,
    authored: &Authored,
) -> Result<Value, IpsError> {
    let patient_type = resource_type(patient).unwrap_or_default();
    if patient_type != "Patient" {
        return Err(IpsError::NotAPatient(patient_type.into()));
    }
    if !moment(now).is_some_and(|moment| moment.instant) {
        return Err(IpsError::BadTime(now.into()));
    }
    if author.trim().is_empty() {
        return Err(IpsError::NoAuthor);
    }
    let mut urls = FullUrls::default();
    let patient_url = urls.full_url(patient);
    let mut person = PersonReferences::new();
    person.add(patient, Some(&patient_url));
    // The same person's other Patient records (another hospital's, linked
    // to this one either way): what is about them is about this patient.
    let mut linked = Vec::new();
    for other in resources
        .iter()
        .filter(|resource| resource_type(resource) == Some("Patient"))
    {
        if person::linked(patient, other) {
            person.add(other, None);
            linked.push(other);
        }
    }
    for (index, resource) in resources.iter().enumerate() {
        if resource_type(resource).is_none() {
            return Err(IpsError::NoResourceType(index));
        }
        for (field, reference) in subject_references(resource) {
            if !person.allows(reference) {
                return Err(IpsError::OtherPatient {
                    index,
                    field,
                    reference: reference.into(),
                });
            }
        }
    }

    let mut allergies = Vec::new();
    let mut medications = Vec::new();
    let mut problems = Vec::new();
    let mut immunizations = Vec::new();
    let mut directives = Vec::new();
    // The latest vital sign per code, codes in the order first seen.
    let mut vitals: Vec<(String, Latest)> = Vec::new();
    let mut blood_group: Option<Latest> = None;
    for resource in resources.iter().filter(|resource| !withdrawn(resource)) {
        match resource_type(resource).unwrap_or_default() {
            "AllergyIntolerance" => allergies.push(resource),
            "MedicationRequest" | "MedicationStatement" => medications.push(resource),
            "Condition" => problems.push(resource),
            "Immunization" => immunizations.push(resource),
            "Consent" if is_advance_directive(resource) => directives.push(resource),
            "Observation" => {
                let candidate = Latest::new(resource);
                let code = resource.get("code");
                if loinc_codes(code).any(|code| code == BLOOD_GROUP) {
                    Latest::keep(&mut blood_group, candidate);
                } else if is_vital_sign(resource) {
                    let key = match loinc_codes(code).next() {
                        Some(loinc) => format!("loinc {loinc}"),
                        None => format!("code {}", canonical(code.unwrap_or(&Value::Null))),
                    };
                    match vitals.iter_mut().find(|(seen, _)| *seen == key) {
                        Some((_, latest)) => latest.replace_if_not_older(candidate),
                        None => vitals.push((key, candidate)),
                    }
                }
            }
            _ => {}
        }
    }

    let sections = [
        Section {
            code: "48765-2",
            display: "Allergies and adverse reactions Document",
            title: "Allergies and intolerances",
            required: true,
            resources: allergies,
            line: allergy_line,
        },
        Section {
            code: "10160-0",
            display: "History of Medication use Narrative",
            title: "Medication summary",
            required: true,
            resources: medications,
            line: medication_line,
        },
        Section {
            code: "11450-4",
            display: "Problem list - Reported",
            title: "Problem list",
            required: true,
            resources: problems,
            line: problem_line,
        },
        Section {
            code: "11369-6",
            display: "History of Immunization Narrative",
            title: "Immunizations",
            required: false,
            resources: immunizations,
            line: immunization_line,
        },
        Section {
            code: "8716-3",
            display: "Vital signs",
            title: "Vital signs",
            required: false,
            resources: vitals.iter().map(|(_, latest)| latest.resource).collect(),
            line: observation_line,
        },
        Section {
            code: "30954-2",
            display: "Relevant diagnostic tests/laboratory data Narrative",
            title: "Results",
            required: false,
            resources: blood_group.iter().map(|latest| latest.resource).collect(),
            line: observation_line,
        },
        Section {
            code: "42348-3",
            display: "Advance healthcare directives",
            title: "Advance directives",
            required: false,
            resources: directives,
            line: directive_line,
        },
    ];

    // The sections, and the entries they point at (each once).
    let mut entries = vec![json!({"fullUrl": patient_url, "resource": patient})];
    let mut included: HashSet<String> = HashSet::from([patient_url.clone()]);
    // The person's linked Patient records go along, so that every
    // reference to them resolves inside the document.
    for other in linked {
        let url = urls.full_url(other);
        if included.insert(url.clone()) {
            entries.push(json!({"fullUrl": url, "resource": other}));
        }
    }
    let mut composition_sections = Vec::new();
    let mut attributions: Vec<(String, String)> = Vec::new();
    for section in sections {
        let mut references = Vec::new();
        let mut lines = Vec::new();
        for resource in section.resources {
            let url = urls.full_url(resource);
            if !included.insert(url.clone()) {
                continue;
            }
            lines.push((section.line)(resource));
            references.push(json!({"reference": url}));
            let key = (
                resource_type(resource).unwrap_or_default().to_string(),
                resource["id"].as_str().unwrap_or_default().to_string(),
            );
            if let Some(account) = authored.get(&key) {
                attributions.push((url.clone(), account.clone()));
            }
            entries.push(json!({"fullUrl": url, "resource": resource}));
        }
        if references.is_empty() && !section.required {
            continue;
        }
        let mut value = Map::new();
        value.insert("title".into(), section.title.into());
        value.insert(
            "code".into(),
            json!({"coding": [{"system": LOINC, "code": section.code, "display": section.display}]}),
        );
        value.insert(
            "text".into(),
            json!({"status": "generated", "div": narrative(&lines)}),
        );
        if references.is_empty() {
            value.insert(
                "emptyReason".into(),
                json!({"coding": [{"system": LIST_EMPTY_REASON, "code": "unavailable",
                                   "display": "Unavailable"}]}),
            );
        } else {
            value.insert("entry".into(), references.into());
        }
        composition_sections.push(Value::Object(value));
    }

    for (target, account) in attributions {
        entries.push(provenance(&target, &account, now));
    }

    let mut composition = json!({
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5",
                             "display": "Patient summary Document"}]},
        "subject": {"reference": patient_url},
        "date": now,
        "author": [{"display": author}],
        "title": "International Patient Summary",
        "section": composition_sections,
    });
    // The document's own ids, from everything in it.
    let mut content = canonical(&composition);
    for entry in &entries {
        content.push('\n');
        content.push_str(&canonical(entry));
    }
    let composition_id = derived_uuid(&format!("Composition\n{content}"));
    let composition_url = format!("urn:uuid:{composition_id}");
    composition["id"] = composition_id.into();
    entries.insert(
        0,
        json!({"fullUrl": composition_url, "resource": composition}),
    );
    Ok(json!({
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986",
                       "value": format!("urn:uuid:{}", derived_uuid(&format!("Bundle\n{content}")))},
        "type": "document",
        "timestamp": now,
        "entry": entries,
    }))
}

/// One section of the summary, before it is written.
struct Section<'a> {
    code: &'static str,
    display: &'static str,
    title: &'static str,
    /// Present (with `emptyReason`) even without entries.
    required: bool,
    resources: Vec<&'a Value>,
    /// The resource as one line of the narrative.
    line: fn(&Value) -> String,
}

fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("resourceType").and_then(Value::as_str)
}

/// Whether the resource is to be left out: entered in error, or a
/// cancelled observation.
fn withdrawn(resource: &Value) -> bool {
    let status = resource.get("status").and_then(Value::as_str);
    let cancelled = resource_type(resource) == Some("Observation") && status == Some("cancelled");
    status == Some("entered-in-error")
        || cancelled
        || codes(resource.get("verificationStatus")).any(|(_, code)| code == "entered-in-error")
}

fn is_vital_sign(observation: &Value) -> bool {
    observation
        .get("category")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|category| {
            codes(Some(category))
                .any(|(system, code)| system == Some(OBSERVATION_CATEGORY) && code == "vital-signs")
        })
}

/// The (system, code) pairs of a CodeableConcept.
fn codes(concept: Option<&Value>) -> impl Iterator<Item = (Option<&str>, &str)> {
    concept
        .and_then(|concept| concept.get("coding"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|coding| {
            Some((
                coding.get("system").and_then(Value::as_str),
                coding.get("code").and_then(Value::as_str)?,
            ))
        })
}

fn loinc_codes(concept: Option<&Value>) -> impl Iterator<Item = &str> {
    codes(concept)
        .filter(|(system, _)| *system == Some(LOINC))
        .map(|(_, code)| code)
}

/// The most recent observation of a kind so far.
struct Latest<'a> {
    resource: &'a Value,
    when: Option<Moment>,
}

impl<'a> Latest<'a> {
    fn new(observation: &'a Value) -> Self {
        let period = observation.get("effectivePeriod");
        let when = [
            observation.get("effectiveDateTime"),
            observation.get("effectiveInstant"),
            period.and_then(|period| period.get("end")),
            period.and_then(|period| period.get("start")),
            observation.get("issued"),
        ]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(moment);
        Latest {
            resource: observation,
            when,
        }
    }

    /// Takes `candidate` unless it is older (an equally recent one given
    /// later wins).
    fn replace_if_not_older(&mut self, candidate: Latest<'a>) {
        let key = |latest: &Latest| latest.when.map(|moment| moment.key);
        if key(&candidate) >= key(self) {
            *self = candidate;
        }
    }

    fn keep(latest: &mut Option<Latest<'a>>, candidate: Latest<'a>) {
        match latest {
            Some(latest) => latest.replace_if_not_older(candidate),
            None => *latest = Some(candidate),
        }
    }
}

/// A FHIR date, dateTime or instant as a point in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Moment {
    /// Seconds since 1970-01-01T00:00:00Z and nanoseconds: a date or a
    /// partial date is its first moment in UTC.
    key: (i64, u32),
    /// Whether it is a full instant (time to the second and a time zone).
    instant: bool,
}

/// Reads `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.f](Z|±hh:mm)`.
fn moment(text: &str) -> Option<Moment> {
    fn number(text: &str, range: std::ops::Range<usize>) -> Option<i64> {
        let digits = text.get(range)?;
        if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
    fn expect(text: &str, at: usize, byte: u8) -> Option<()> {
        (text.as_bytes().get(at) == Some(&byte)).then_some(())
    }
    let year = number(text, 0..4)?;
    let (mut month, mut day) = (1, 1);
    let mut seconds = 0;
    let mut nanos = 0u32;
    let mut instant = false;
    if text.len() > 4 {
        expect(text, 4, b'-')?;
        month = number(text, 5..7)?;
        if text.len() > 7 {
            expect(text, 7, b'-')?;
            day = number(text, 8..10)?;
            if text.len() > 10 {
                expect(text, 10, b'T')?;
                let hour = number(text, 11..13)?;
                expect(text, 13, b':')?;
                let minute = number(text, 14..16)?;
                expect(text, 16, b':')?;
                let second = number(text, 17..19)?;
                if hour > 23 || minute > 59 || second > 60 {
                    return None;
                }
                let mut at = 19;
                if text.as_bytes().get(at) == Some(&b'.') {
                    let digits = text[at + 1..]
                        .bytes()
                        .take_while(u8::is_ascii_digit)
                        .count();
                    if digits == 0 {
                        return None;
                    }
                    let fraction = &text[at + 1..at + 1 + digits.min(9)];
                    nanos = format!("{fraction:0<9}").parse().ok()?;
                    at += 1 + digits;
                }
                let offset = match text.get(at..)? {
                    "Z" => 0,
                    zone => {
                        let sign = match zone.as_bytes().first() {
                            Some(b'+') => 1,
                            Some(b'-') => -1,
                            _ => return None,
                        };
                        if zone.len() != 6 {
                            return None;
                        }
                        let hours = number(zone, 1..3)?;
                        expect(zone, 3, b':')?;
                        let minutes = number(zone, 4..6)?;
                        if hours > 14 || minutes > 59 {
                            return None;
                        }
                        sign * (hours * 3600 + minutes * 60)
                    }
                };
                seconds = hour * 3600 + minute * 60 + second - offset;
                instant = true;
            }
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let key = days_from_civil(year, month, day) * 86_400 + seconds;
    Some(Moment {
        key: (key, nanos),
        instant,
    })
}

/// Days from 1970-01-01 to the given day of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The fullUrls of the summary's entries, each resource's always the same.
#[derive(Default)]
struct FullUrls {
    by_resource: HashMap<String, String>,
    taken: HashSet<String>,
}

impl FullUrls {
    fn full_url(&mut self, resource: &Value) -> String {
        let resource_type = resource_type(resource).unwrap_or_default();
        let id = resource.get("id").and_then(Value::as_str);
        let key = match id {
            Some(id) => format!("{resource_type}/{id}"),
            None => format!("{resource_type}\n{}", canonical(resource)),
        };
        if let Some(url) = self.by_resource.get(&key) {
            return url.clone();
        }
        let mut url = match id {
            Some(id) if is_uuid(id) => format!("urn:uuid:{id}"),
            _ => format!("urn:uuid:{}", derived_uuid(&key)),
        };
        if self.taken.contains(&url) {
            // A UUID another type's resource has as its id.
            url = format!("urn:uuid:{}", derived_uuid(&key));
        }
        self.taken.insert(url.clone());
        self.by_resource.insert(key, url.clone());
        url
    }
}

/// Whether `id` is a UUID written as FHIR's `uuid` type wants it (lower case).
fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte),
        })
}

/// An RFC 9562 version 8 UUID made of the BLAKE3 hash of `key`.
fn derived_uuid(key: &str) -> String {
    let mut hasher = blake3::Hasher::new_derive_key(UUID_CONTEXT);
    hasher.update(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// JSON with object keys sorted, whatever order the map keeps them in.
fn canonical(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (at, key) in keys.into_iter().enumerate() {
                    if at > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::from(key.as_str()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (at, item) in items.iter().enumerate() {
                    if at > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

// The narrative.

/// The XHTML `div` of a section: its lines as a list, or a note that there
/// is nothing.
fn narrative(lines: &[String]) -> String {
    let mut div = String::from(r#"<div xmlns="http://www.w3.org/1999/xhtml">"#);
    if lines.is_empty() {
        div.push_str("<p>No information available.</p>");
    } else {
        div.push_str("<ul>");
        for line in lines {
            div.push_str("<li>");
            div.push_str(&escape(line));
            div.push_str("</li>");
        }
        div.push_str("</ul>");
    }
    div.push_str("</div>");
    div
}

/// `text` as XHTML character data: markup characters escaped, characters
/// XML does not allow replaced by U+FFFD.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(character),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => escaped.push('\u{fffd}'),
            _ => escaped.push(character),
        }
    }
    escaped
}

fn text_of(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
}

/// What a CodeableConcept says: its text, else its first coding's display
/// or code.
fn concept(concept: Option<&Value>) -> Option<String> {
    let concept = concept?;
    if let Some(text) = text_of(concept.get("text")) {
        return Some(text.into());
    }
    let codings = concept.get("coding").and_then(Value::as_array)?;
    codings
        .iter()
        .find_map(|coding| text_of(coding.get("display")))
        .or_else(|| {
            codings
                .iter()
                .find_map(|coding| text_of(coding.get("code")))
        })
        .map(str::to_string)
}

/// A line: the name, then the details in parentheses.
fn line(name: String, details: Vec<String>) -> String {
    if details.is_empty() {
        name
    } else {
        format!("{name} ({})", details.join(", "))
    }
}

fn allergy_line(allergy: &Value) -> String {
    let name =
        concept(allergy.get("code")).unwrap_or_else(|| "Allergy or intolerance (no code)".into());
    let mut details: Vec<String> = concept(allergy.get("clinicalStatus")).into_iter().collect();
    if let Some(criticality) = text_of(allergy.get("criticality")) {
        details.push(format!("criticality {criticality}"));
    }
    let reactions: Vec<String> = allergy
        .get("reaction")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|reaction| {
            reaction
                .get("manifestation")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|manifestation| concept(Some(manifestation)))
        .collect();
    if !reactions.is_empty() {
        details.push(format!("reaction: {}", reactions.join(", ")));
    }
    if let Some(onset) = text_of(allergy.get("onsetDateTime")) {
        details.push(format!("since {onset}"));
    }
    line(name, details)
}

fn medication_line(medication: &Value) -> String {
    let reference = medication.get("medicationReference");
    let name = concept(medication.get("medicationCodeableConcept"))
        .or_else(|| {
            text_of(reference.and_then(|reference| reference.get("display"))).map(Into::into)
        })
        .or_else(|| {
            text_of(reference.and_then(|reference| reference.get("reference"))).map(Into::into)
        })
        .unwrap_or_else(|| "Medication (not named)".into());
    let mut details: Vec<String> = text_of(medication.get("status"))
        .map(Into::into)
        .into_iter()
        .collect();
    let since = text_of(medication.get("authoredOn"))
        .or_else(|| text_of(medication.get("effectiveDateTime")))
        .or_else(|| {
            text_of(
                medication
                    .get("effectivePeriod")
                    .and_then(|period| period.get("start")),
            )
        });
    if let Some(since) = since {
        details.push(format!("since {since}"));
    }
    let dosage = ["dosageInstruction", "dosage"]
        .into_iter()
        .filter_map(|field| medication.get(field)?.get(0)?.get("text"))
        .find_map(|text| text_of(Some(text)));
    if let Some(dosage) = dosage {
        details.push(dosage.into());
    }
    line(name, details)
}

fn problem_line(condition: &Value) -> String {
    let name = concept(condition.get("code")).unwrap_or_else(|| "Problem (no code)".into());
    let mut details: Vec<String> = concept(condition.get("clinicalStatus"))
        .into_iter()
        .collect();
    if let Some(onset) = text_of(condition.get("onsetDateTime")) {
        details.push(format!("onset {onset}"));
    }
    line(name, details)
}

fn immunization_line(immunization: &Value) -> String {
    let name =
        concept(immunization.get("vaccineCode")).unwrap_or_else(|| "Vaccine (no code)".into());
    let mut details: Vec<String> = text_of(immunization.get("status"))
        .map(Into::into)
        .into_iter()
        .collect();
    if let Some(when) = text_of(immunization.get("occurrenceDateTime"))
        .or_else(|| text_of(immunization.get("occurrenceString")))
    {
        details.push(when.into());
    }
    line(name, details)
}

/// Whether a Consent records an advance directive (scope `adr` of HL7's
/// consent scopes).
fn is_advance_directive(consent: &Value) -> bool {
    consent["scope"]["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|coding| coding["code"] == "adr")
}

fn directive_line(consent: &Value) -> String {
    let name = consent["category"]
        .as_array()
        .and_then(|categories| {
            categories
                .iter()
                .find_map(|category| concept(Some(category)))
        })
        .unwrap_or_else(|| "Advance directive".into());
    let mut details: Vec<String> = text_of(consent.get("status"))
        .map(Into::into)
        .into_iter()
        .collect();
    if let Some(when) = text_of(consent.get("dateTime")) {
        details.push(when.into());
    }
    line(name, details)
}

fn observation_line(observation: &Value) -> String {
    let name = concept(observation.get("code")).unwrap_or_else(|| "Observation".into());
    let mut text = match value(observation) {
        Some(value) => format!("{name}: {value}"),
        None => name,
    };
    let components: Vec<String> = observation
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|component| {
            let name = concept(component.get("code"))?;
            Some(match value(component) {
                Some(value) => format!("{name} {value}"),
                None => name,
            })
        })
        .collect();
    if !components.is_empty() {
        text = format!("{text}: {}", components.join("; "));
    }
    if value(observation).is_none()
        && components.is_empty()
        && let Some(reason) = concept(observation.get("dataAbsentReason"))
    {
        text = format!("{text}: no value ({reason})");
    }
    let period = observation.get("effectivePeriod");
    let when = text_of(observation.get("effectiveDateTime"))
        .or_else(|| text_of(observation.get("effectiveInstant")))
        .or_else(|| text_of(period.and_then(|period| period.get("end"))))
        .or_else(|| text_of(period.and_then(|period| period.get("start"))));
    match when {
        Some(when) => format!("{text} ({when})"),
        None => text,
    }
}

/// An observation's (or component's) `value[x]` as text.
fn value(element: &Value) -> Option<String> {
    fn quantity(quantity: &Value) -> Option<String> {
        let value = quantity.get("value")?;
        let comparator = text_of(quantity.get("comparator")).unwrap_or_default();
        Some(
            match text_of(quantity.get("unit")).or_else(|| text_of(quantity.get("code"))) {
                Some(unit) => format!("{comparator}{value} {unit}"),
                None => format!("{comparator}{value}"),
            },
        )
    }
    if let Some(value) = element.get("valueQuantity") {
        return quantity(value);
    }
    if let Some(value) = element.get("valueCodeableConcept") {
        return concept(Some(value));
    }
    if let Some(value) = element.get("valueBoolean").and_then(Value::as_bool) {
        return Some(if value { "yes" } else { "no" }.into());
    }
    if let Some(value) = element.get("valueInteger") {
        return Some(value.to_string());
    }
    if let Some(range) = element.get("valueRange") {
        let low = range.get("low").and_then(quantity).unwrap_or_default();
        let high = range.get("high").and_then(quantity).unwrap_or_default();
        return Some(format!("{low}–{high}"));
    }
    if let Some(ratio) = element.get("valueRatio") {
        let numerator = ratio.get("numerator").and_then(quantity)?;
        let denominator = ratio.get("denominator").and_then(quantity)?;
        return Some(format!("{numerator} / {denominator}"));
    }
    ["valueString", "valueDateTime", "valueTime"]
        .into_iter()
        .find_map(|field| text_of(element.get(field)))
        .map(Into::into)
}

/// The entry of a `Provenance` naming `account` as the author of the entry
/// at `target`, recorded at `now`.
fn provenance(target: &str, account: &str, now: &str) -> Value {
    let id = derived_uuid(&format!("Provenance\n{target}\n{account}"));
    json!({
        "fullUrl": format!("urn:uuid:{id}"),
        "resource": {
            "resourceType": "Provenance",
            "id": id,
            "target": [{"reference": target}],
            "recorded": now,
            "agent": [{
                "type": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "code": "author",
                    "display": "Author",
                }]},
                "who": {
                    "identifier": {"system": ACCOUNT_SYSTEM, "value": account},
                    "display": format!("MediGate account {account}"),
                },
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{split_bundle, synthetic::patient_bundle, validate};

    const NOW: &str = "2025-03-01T12:00:00+01:00";
    const AUTHOR: &str = "MediGate gateway 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    /// A synthetic patient and their resources, as imported.
    fn synthetic(seed: u64, encounters: usize) -> (Value, Vec<Value>) {
        let split = split_bundle(&patient_bundle(seed, encounters)).unwrap();
        let resources = split
            .records
            .into_iter()
            .map(|record| record.resource)
            .collect();
        (split.patient, resources)
    }

    fn section<'a>(summary: &'a Value, code: &str) -> Option<&'a Value> {
        summary["entry"][0]["resource"]["section"]
            .as_array()
            .unwrap()
            .iter()
            .find(|section| section["code"]["coding"][0]["code"] == code)
    }

    /// The resources a section points at, found by fullUrl.
    fn section_resources<'a>(summary: &'a Value, code: &str) -> Vec<&'a Value> {
        let entries = summary["entry"].as_array().unwrap();
        section(summary, code).unwrap()["entry"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|reference| {
                let entry = entries
                    .iter()
                    .find(|entry| entry["fullUrl"] == reference["reference"])
                    .expect("every section entry is in the Bundle");
                &entry["resource"]
            })
            .collect()
    }

    fn patient() -> Value {
        json!({"resourceType": "Patient", "id": "p1", "gender": "female"})
    }

    fn vital(code: &str, value: f64, when: &str) -> Value {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": code}], "text": format!("Vital {code}")},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "/min"},
        })
    }

    #[test]
    fn entries_a_clinician_wrote_are_attributed_to_them() {
        let own = json!({
            "resourceType": "AllergyIntolerance", "id": "own",
            "code": {"text": "Penicillin"}, "patient": {"reference": "Patient/p1"},
        });
        let written = json!({
            "resourceType": "AllergyIntolerance", "id": "written",
            "code": {"text": "Latex"}, "patient": {"reference": "Patient/p1"},
        });
        let doctor = "ab".repeat(32);
        let authored = Authored::from([(
            ("AllergyIntolerance".to_string(), "written".to_string()),
            doctor.clone(),
        )]);
        let summary = patient_summary_attributed(
            &patient(),
            &[own.clone(), written.clone()],
            NOW,
            AUTHOR,
            &authored,
        )
        .unwrap();
        validate(&summary).unwrap();
        let entries = summary["entry"].as_array().unwrap();
        let url_of = |resource: &Value| {
            entries
                .iter()
                .find(|entry| entry["resource"] == *resource)
                .map(|entry| entry["fullUrl"].clone())
                .unwrap()
        };
        let provenances: Vec<&Value> = entries
            .iter()
            .map(|entry| &entry["resource"])
            .filter(|resource| resource["resourceType"] == "Provenance")
            .collect();
        assert_eq!(provenances.len(), 1, "only the written entry is attributed");
        assert_eq!(provenances[0]["target"][0]["reference"], url_of(&written));
        assert_eq!(
            provenances[0]["agent"][0]["who"]["identifier"],
            json!({"system": ACCOUNT_SYSTEM, "value": doctor})
        );
        // Without authors, the same summary has no Provenance.
        let plain = patient_summary(&patient(), &[own, written], NOW, AUTHOR).unwrap();
        assert!(
            plain["entry"]
                .as_array()
                .unwrap()
                .iter()
                .all(|entry| entry["resource"]["resourceType"] != "Provenance")
        );
    }

    #[test]
    fn advance_directives_have_their_section_and_other_consents_do_not() {
        let directive = json!({
            "resourceType": "Consent",
            "id": "dnr",
            "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "adr"}]},
            "category": [{"coding": [{"system": LOINC, "code": "59284-0"}], "text": "Do not resuscitate"}],
            "patient": {"reference": "Patient/p1"},
            "dateTime": "2024-05-01",
        });
        let research = json!({
            "resourceType": "Consent",
            "id": "study",
            "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
            "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
            "patient": {"reference": "Patient/p1"},
        });
        let summary =
            patient_summary(&patient(), &[directive.clone(), research], NOW, AUTHOR).unwrap();
        validate(&summary).unwrap();
        assert_eq!(section_resources(&summary, "42348-3"), [&directive]);
        let narrative = section(&summary, "42348-3").unwrap()["text"]["div"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(narrative.contains("Do not resuscitate"), "{narrative}");
        // Without one, no section.
        let without = patient_summary(&patient(), &[], NOW, AUTHOR).unwrap();
        assert!(section(&without, "42348-3").is_none());
    }

    #[test]
    fn a_synthetic_patients_summary_has_every_section_and_is_valid_r4() {
        let encounters = 6;
        let (patient, resources) = synthetic(21, encounters);
        let summary = patient_summary(&patient, &resources, NOW, AUTHOR).unwrap();
        validate(&summary).unwrap();
        assert_eq!(summary["type"], "document");
        assert_eq!(summary["timestamp"], NOW);

        let composition = &summary["entry"][0]["resource"];
        assert_eq!(composition["resourceType"], "Composition");
        assert_eq!(composition["status"], "final");
        assert_eq!(composition["type"]["coding"][0]["code"], "60591-5");
        assert_eq!(composition["title"], "International Patient Summary");
        assert_eq!(composition["date"], NOW);
        assert_eq!(composition["author"], json!([{"display": AUTHOR}]));
        let patient_url = format!("urn:uuid:{}", patient["id"].as_str().unwrap());
        assert_eq!(composition["subject"]["reference"], patient_url.as_str());
        assert_eq!(summary["entry"][1]["fullUrl"], patient_url.as_str());
        assert_eq!(summary["entry"][1]["resource"], patient);
        assert_eq!(
            crate::category_of(composition),
            medigate_access_policy::Category::Summary
        );

        let codes: Vec<&str> = composition["section"]
            .as_array()
            .unwrap()
            .iter()
            .map(|section| section["code"]["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "48765-2", "10160-0", "11450-4", "11369-6", "8716-3", "30954-2"
            ]
        );
        let count = |code| section_resources(&summary, code).len();
        assert_eq!(count("48765-2"), 1, "allergies");
        assert_eq!(count("10160-0"), encounters, "medications");
        assert_eq!(count("11450-4"), encounters, "problems");
        assert_eq!(count("11369-6"), encounters, "immunizations");
        assert_eq!(count("8716-3"), 4, "one vital sign per code");
        assert_eq!(count("30954-2"), 1, "the blood group");
        for (code, resource_type) in [
            ("48765-2", "AllergyIntolerance"),
            ("10160-0", "MedicationRequest"),
            ("11450-4", "Condition"),
            ("11369-6", "Immunization"),
            ("8716-3", "Observation"),
        ] {
            assert!(
                section_resources(&summary, code)
                    .iter()
                    .all(|resource| resource["resourceType"] == resource_type)
            );
            let section = section(&summary, code).unwrap();
            assert!(section.get("emptyReason").is_none());
            assert_eq!(
                section["text"]["div"]
                    .as_str()
                    .unwrap()
                    .matches("<li>")
                    .count(),
                section["entry"].as_array().unwrap().len()
            );
        }
        let blood_group = section_resources(&summary, "30954-2")[0];
        assert_eq!(blood_group["code"]["coding"][0]["code"], "882-1");
        let group_name = blood_group["valueCodeableConcept"]["text"]
            .as_str()
            .unwrap();
        assert!(
            section(&summary, "30954-2").unwrap()["text"]["div"]
                .as_str()
                .unwrap()
                .contains(group_name)
        );

        // Composition, Patient, and each summarized resource once, as given.
        let entries = summary["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 2 + 1 + 3 * encounters + 4 + 1);
        let urls: HashSet<&str> = entries
            .iter()
            .map(|entry| entry["fullUrl"].as_str().unwrap())
            .collect();
        assert_eq!(urls.len(), entries.len(), "fullUrls are unique");
        assert!(
            urls.iter()
                .all(|url| url.starts_with("urn:uuid:") && url.len() == 45)
        );
        for entry in &entries[2..] {
            assert!(resources.contains(&entry["resource"]));
        }
        assert_eq!(
            patient_summary(&patient, &resources, NOW, AUTHOR).unwrap(),
            summary,
            "the same input gives the same document"
        );
    }

    #[test]
    fn the_latest_vital_sign_of_each_code_is_summarized() {
        let (person, resources) = synthetic(5, 9);
        let summary = patient_summary(&person, &resources, NOW, AUTHOR).unwrap();
        for chosen in section_resources(&summary, "8716-3") {
            let latest = resources
                .iter()
                .filter(|resource| resource["code"] == chosen["code"])
                .map(|resource| resource["effectiveDateTime"].as_str().unwrap())
                .max()
                .unwrap();
            assert_eq!(chosen["effectiveDateTime"], latest);
        }

        // Time zones count: 23:00 at UTC-5 is after 03:00 UTC the next day.
        let resources = vec![
            vital("8867-4", 60.0, "2020-01-02T03:00:00Z"),
            vital("8867-4", 70.0, "2020-01-01T23:00:00-05:00"),
            vital("8867-4", 80.0, "2019-12-31"),
            vital("8480-6", 120.0, "2020-01-01"),
            vital("8480-6", 130.0, "2020-06-01T08:00:00.5+02:00"),
            vital("8480-6", 140.0, "2020-06-01T08:00:00.25+02:00"),
        ];
        let mut withdrawn = vital("8867-4", 99.0, "2024-01-01T00:00:00Z");
        withdrawn["status"] = json!("entered-in-error");
        let mut laboratory = vital("8867-4", 98.0, "2024-01-01T00:00:00Z");
        laboratory["category"][0]["coding"][0]["code"] = json!("laboratory");
        let resources = [resources, vec![withdrawn, laboratory]].concat();
        let summary = patient_summary(&patient(), &resources, NOW, AUTHOR).unwrap();
        validate(&summary).unwrap();
        let values: Vec<&Value> = section_resources(&summary, "8716-3")
            .into_iter()
            .map(|resource| &resource["valueQuantity"]["value"])
            .collect();
        assert_eq!(values, [&json!(70.0), &json!(130.0)]);
        let div = section(&summary, "8716-3").unwrap()["text"]["div"]
            .as_str()
            .unwrap();
        assert!(div.contains("<li>Vital 8867-4: 70.0 /min (2020-01-01T23:00:00-05:00)</li>"));
        assert!(section(&summary, "30954-2").is_none());
    }

    #[test]
    fn empty_required_sections_say_why_and_optional_ones_are_left_out() {
        let summary = patient_summary(&patient(), &[], NOW, AUTHOR).unwrap();
        validate(&summary).unwrap();
        let sections = summary["entry"][0]["resource"]["section"]
            .as_array()
            .unwrap();
        assert_eq!(sections.len(), 3);
        for code in ["48765-2", "10160-0", "11450-4"] {
            let section = section(&summary, code).unwrap();
            assert!(section.get("entry").is_none());
            assert_eq!(
                section["emptyReason"]["coding"][0],
                json!({"system": LIST_EMPTY_REASON, "code": "unavailable", "display": "Unavailable"})
            );
            assert!(
                section["text"]["div"]
                    .as_str()
                    .unwrap()
                    .contains("No information available.")
            );
        }
        let entries = summary["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        // An id that is not a UUID gets one derived from type and id.
        assert_eq!(
            entries[1]["fullUrl"],
            format!("urn:uuid:{}", derived_uuid("Patient/p1"))
        );
        assert_eq!(
            summary["entry"][0]["resource"]["subject"]["reference"],
            entries[1]["fullUrl"]
        );
    }

    #[test]
    fn narratives_escape_markup() {
        let condition = json!({
            "resourceType": "Condition",
            "code": {"text": "Pain <3 & \"worse\" </li><script>"},
            "subject": {"reference": "Patient/p1"},
        });
        let summary = patient_summary(&patient(), &[condition], NOW, AUTHOR).unwrap();
        validate(&summary).unwrap();
        let div = section(&summary, "11450-4").unwrap()["text"]["div"]
            .as_str()
            .unwrap();
        assert_eq!(
            div,
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><ul><li>Pain &lt;3 &amp; &quot;worse&quot; \
             &lt;/li&gt;&lt;script&gt;</li></ul></div>"
        );
        assert_eq!(escape("a\u{1}b\tc"), "a\u{fffd}b\tc");
    }

    #[test]
    fn narratives_read_values_components_and_absent_values() {
        let mut pressure = vital("85354-9", 0.0, "2024-05-01T10:00:00Z");
        let object = pressure.as_object_mut().unwrap();
        object.remove("valueQuantity");
        object.insert(
            "component".into(),
            json!([
                {"code": {"text": "Systolic"}, "valueQuantity": {"value": 120, "unit": "mm[Hg]"}},
                {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 80, "comparator": "<", "code": "mm[Hg]"}}
            ]),
        );
        let mut absent = vital("8310-5", 0.0, "2024-05-01T10:00:00Z");
        let object = absent.as_object_mut().unwrap();
        object.remove("valueQuantity");
        object.insert(
            "dataAbsentReason".into(),
            json!({"text": "Asked but declined"}),
        );
        assert_eq!(
            observation_line(&pressure),
            "Vital 85354-9: Systolic 120 mm[Hg]; Diastolic <80 mm[Hg] (2024-05-01T10:00:00Z)"
        );
        assert_eq!(
            observation_line(&absent),
            "Vital 8310-5: no value (Asked but declined) (2024-05-01T10:00:00Z)"
        );
        let medication = json!({
            "resourceType": "MedicationStatement", "status": "active",
            "medicationReference": {"reference": "Medication/m1", "display": "Aspirin 100 mg"},
            "effectivePeriod": {"start": "2023-02-01"},
            "dosage": [{"text": "1 tablet daily"}],
        });
        assert_eq!(
            medication_line(&medication),
            "Aspirin 100 mg (active, since 2023-02-01, 1 tablet daily)"
        );
        let allergy = json!({
            "resourceType": "AllergyIntolerance", "criticality": "high",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "227493005",
                                 "display": "Cashew nuts"}]},
            "reaction": [{"manifestation": [{"text": "Hives"}, {"text": "Wheezing"}]}],
        });
        assert_eq!(
            allergy_line(&allergy),
            "Cashew nuts (criticality high, reaction: Hives, Wheezing)"
        );
    }

    #[test]
    fn full_urls_keep_uuid_ids_and_are_stable_without_ids() {
        let uuid = "0b9f1e7c-2d4a-4c1b-9a51-3e0c6f2d8a10";
        let condition = json!({"resourceType": "Condition", "id": uuid,
                               "subject": {"reference": "Patient/p1"}, "code": {"text": "Asthma"}});
        let mut unnamed = condition.clone();
        unnamed.as_object_mut().unwrap().remove("id");
        // The same UUID as the id of another type's resource.
        let allergy = json!({"resourceType": "AllergyIntolerance", "id": uuid,
                             "patient": {"reference": "Patient/p1"}});
        let given = [condition.clone(), unnamed.clone(), unnamed.clone(), allergy];
        let summary = patient_summary(&patient(), &given, NOW, AUTHOR).unwrap();
        validate(&summary).unwrap();
        let problems: Vec<&Value> = section(&summary, "11450-4").unwrap()["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|reference| &reference["reference"])
            .collect();
        assert_eq!(
            problems.len(),
            2,
            "the same resource twice is summarized once"
        );
        // The allergy's section comes first: it keeps the UUID, the
        // condition's is derived.
        let allergies = &section(&summary, "48765-2").unwrap()["entry"];
        assert_eq!(allergies[0]["reference"], format!("urn:uuid:{uuid}"));
        assert_eq!(
            problems[0],
            &json!(format!(
                "urn:uuid:{}",
                derived_uuid(&format!("Condition/{uuid}"))
            ))
        );
        let mut urls = FullUrls::default();
        urls.full_url(&condition);
        assert_eq!(problems[1], &json!(urls.full_url(&unnamed)));
        // Key order does not change a resource without an id's fullUrl.
        let reordered: Value = serde_json::from_str(
            r#"{"code": {"text": "Asthma"}, "subject": {"reference": "Patient/p1"},
                "resourceType": "Condition"}"#,
        )
        .unwrap();
        assert_eq!(
            FullUrls::default().full_url(&reordered),
            FullUrls::default().full_url(&unnamed)
        );
    }

    #[test]
    fn the_same_persons_linked_records_are_summarized_and_strangers_refused() {
        let person = json!({"gender": "female", "birthDate": "1980-01-02",
                            "name": [{"family": "Smith", "given": ["Alice"]}]});
        let mut home = patient();
        let mut elsewhere = json!({"resourceType": "Patient", "id": "from-elsewhere",
            "link": [{"other": {"reference": "Patient/p1"}, "type": "seealso"}]});
        for element in ["gender", "birthDate", "name"] {
            home[element] = person[element].clone();
            elsewhere[element] = person[element].clone();
        }
        let theirs = json!({"resourceType": "Condition", "id": "c-elsewhere",
            "subject": {"reference": "Patient/from-elsewhere"}, "code": {"text": "Asthma"}});
        let summary =
            patient_summary(&home, &[elsewhere.clone(), theirs.clone()], NOW, AUTHOR).unwrap();
        crate::validate(&summary).unwrap();
        let problems = &section(&summary, "11450-4").unwrap()["entry"];
        assert_eq!(problems.as_array().unwrap().len(), 1, "{summary}");
        // The linked record is in the document, which imports as one
        // person's.
        assert!(
            summary["entry"]
                .as_array()
                .unwrap()
                .iter()
                .any(|entry| entry["resource"] == elsewhere)
        );
        crate::split_bundle(&summary).unwrap();
        // A Patient not linked either way is someone else.
        let stranger = json!({"resourceType": "Patient", "id": "from-elsewhere"});
        assert!(matches!(
            patient_summary(&home, &[stranger, theirs], NOW, AUTHOR),
            Err(IpsError::OtherPatient { .. })
        ));
    }

    #[test]
    fn bad_input_is_refused() {
        let observation = json!({"resourceType": "Observation"});
        assert_eq!(
            patient_summary(&observation, &[], NOW, AUTHOR),
            Err(IpsError::NotAPatient("Observation".into()))
        );
        assert_eq!(
            patient_summary(&json!({}), &[], NOW, AUTHOR),
            Err(IpsError::NotAPatient(String::new()))
        );
        assert_eq!(
            patient_summary(&patient(), &[observation, json!({"id": "x"})], NOW, AUTHOR),
            Err(IpsError::NoResourceType(1))
        );
        let others = json!({"resourceType": "Condition", "subject": {"reference": "Patient/p2"}});
        assert_eq!(
            patient_summary(&patient(), &[others], NOW, AUTHOR),
            Err(IpsError::OtherPatient {
                index: 0,
                field: "subject",
                reference: "Patient/p2".into()
            })
        );
        for named in [
            "Patient/p1",
            "Patient/p1/_history/3",
            "https://fhir.example.org/r4/Patient/p1",
            "urn:uuid:p1",
            "Group/g1",
        ] {
            let condition = json!({"resourceType": "Condition", "subject": {"reference": named}});
            assert!(patient_summary(&patient(), &[condition], NOW, AUTHOR).is_ok());
        }
        for now in [
            "2025-03-01",
            "2025-03-01T12:00:00",
            "2025-03-01T12:00Z",
            "2025-13-01T12:00:00Z",
            "2025-03-01 12:00:00Z",
            "2025-03-01T12:00:00+15:00",
            "yesterday",
        ] {
            assert_eq!(
                patient_summary(&patient(), &[], now, AUTHOR),
                Err(IpsError::BadTime(now.into()))
            );
        }
        assert_eq!(
            patient_summary(&patient(), &[], NOW, " "),
            Err(IpsError::NoAuthor)
        );
    }

    #[test]
    fn moments_are_ordered_in_time() {
        let key = |text| moment(text).unwrap().key;
        assert_eq!(key("1970-01-01T00:00:00Z"), (0, 0));
        assert_eq!(key("1970-01-01T01:00:00+01:00"), (0, 0));
        assert_eq!(key("2000-03-01"), (951_868_800, 0));
        assert_eq!(key("1969-12-31T23:59:59.5Z"), (-1, 500_000_000));
        assert!(key("2020") < key("2020-01-01T00:00:01Z"));
        assert!(moment("2020-01-01T00:00:00.123456789Z").unwrap().instant);
        assert!(!moment("2020-01-01").unwrap().instant);
    }
}
