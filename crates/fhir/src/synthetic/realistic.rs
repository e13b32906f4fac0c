//! Synthetic patients with what real Synthea output carries and the lean
//! Bundles of [`super::patient_bundle`] leave out: clinical notes in base64
//! (`DocumentReference.content.attachment.data`,
//! `DiagnosticReport.presentedForm`), conditional references to the
//! hospitals and clinicians of support files (`Organization?identifier=...`,
//! `Practitioner?identifier=...`), a Patient with its narrative, extensions
//! and identifiers, large Claims and ExplanationOfBenefits with contained
//! resources, and a Provenance of the whole Bundle.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{Draw, LOINC, SNOMED, coded};

/// Synthea's identifier system for its organizations and locations.
const SYNTHEA: &str = "https://github.com/synthetichealth/synthea";
/// The NPI system, by which Synthea names its clinicians.
const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
/// LOINC's "History and physical note".
const NOTE_CODE: (&str, &str) = ("34117-2", "History and physical note");
/// The adjudication categories an ExplanationOfBenefit item carries.
const ADJUDICATIONS: [(&str, &str); 5] = [
    (
        "https://bluebutton.cms.gov/resources/codesystem/adjudication",
        "Line Beneficiary Coinsurance Amount",
    ),
    (
        "https://bluebutton.cms.gov/resources/codesystem/adjudication",
        "Line Provider Payment Amount",
    ),
    (
        "https://bluebutton.cms.gov/resources/codesystem/adjudication",
        "Line Submitted Charge Amount",
    ),
    (
        "https://bluebutton.cms.gov/resources/codesystem/adjudication",
        "Line Allowed Charge Amount",
    ),
    (
        "https://bluebutton.cms.gov/resources/codesystem/adjudication",
        "Line Beneficiary Part B Deductible Amount",
    ),
];

/// The review of systems and physical examination a visit's note records.
const REVIEW_AND_EXAM: &str = "\n\n# Review of Systems\nConstitutional: denies fever, \
    chills, night sweats and unintentional weight loss. Eyes: denies blurred vision and eye \
    pain. Ears, nose, mouth and throat: denies hearing loss, sore throat and nasal \
    congestion. Cardiovascular: denies chest pain, palpitations and leg swelling. \
    Respiratory: denies cough, wheezing and shortness of breath at rest. Gastrointestinal: \
    denies nausea, vomiting, abdominal pain, diarrhea and constipation. Genitourinary: \
    denies dysuria and hematuria. Musculoskeletal: denies joint pain and back pain. Skin: \
    denies rash and itching. Neurological: denies headache, dizziness, numbness and \
    weakness. Psychiatric: denies depressed mood and anxiety. Endocrine: denies polyuria \
    and polydipsia. Hematologic: denies easy bruising and bleeding.\n\n# Physical \
    Examination\nGeneral: alert and oriented, in no acute distress, well nourished. Head: \
    normocephalic and atraumatic. Eyes: pupils equal, round and reactive to light; \
    extraocular movements intact; conjunctivae clear. Ears: tympanic membranes intact and \
    clear bilaterally. Nose: mucosa normal, no discharge. Throat: oropharynx clear, no \
    exudate. Neck: supple, no lymphadenopathy, no thyromegaly. Cardiovascular: regular rate \
    and rhythm, normal S1 and S2, no murmurs, rubs or gallops; distal pulses intact. \
    Respiratory: clear to auscultation bilaterally, no wheezes, rales or rhonchi; normal \
    respiratory effort. Abdomen: soft, non-tender, non-distended, normal bowel sounds, no \
    hepatosplenomegaly. Musculoskeletal: full range of motion in all extremities, no \
    edema. Skin: warm and dry, no rashes or lesions. Neurological: cranial nerves II to \
    XII intact, strength five of five throughout, normal gait. Psychiatric: normal mood and \
    affect, judgment and insight intact.";

/// Lines of an ExplanationOfBenefit and of its Claim, as Synthea lists one
/// a service, medication or procedure of the visit.
const CLAIM_LINES: usize = 13;

/// A hospital (or clinic) and one of its clinicians, as support files name
/// them.
struct Provider {
    organization: String,
    organization_name: String,
    npi: String,
    clinician: String,
}

impl Provider {
    fn drawn(draw: &mut Draw, number: usize) -> Self {
        Provider {
            organization: draw.uuid(),
            organization_name: format!("Synthetic Medical Center {}", number + 1),
            npi: format!("9999{:06}", draw.below(1_000_000)),
            clinician: format!("Dr. Synthetic Clinician {}", draw.below(1000)),
        }
    }

    fn organization(&self) -> Value {
        json!({"reference": format!("Organization?identifier={SYNTHEA}|{}", self.organization),
               "display": self.organization_name})
    }

    fn clinician(&self) -> Value {
        json!({"reference": format!("Practitioner?identifier={NPI}|{}", self.npi),
               "display": self.clinician})
    }

    fn location(&self) -> Value {
        json!({"reference": format!("Location?identifier={SYNTHEA}|{}", self.organization),
               "display": self.organization_name})
    }
}

/// A transaction Bundle of one synthetic patient shaped like real Synthea
/// output: the records of [`super::patient_bundle`]`(seed, encounters)`,
/// each encounter with a clinical note twice (a DocumentReference and a
/// DiagnosticReport, in base64, growing with the patient's history as
/// Synthea's do), conditional references to three hospitals and their
/// clinicians, a detailed Patient, large Claims and ExplanationOfBenefits,
/// and a Provenance of every resource last. About 16 resources and 54 KB an
/// encounter: 50 encounters make about 800 resources and 2.7 MB. The same
/// for the same seed.
pub fn realistic_bundle(seed: u64, encounters: usize) -> Value {
    let lean = super::patient_bundle(seed, encounters);
    let mut draw = Draw(seed ^ 0x5EA1_1571_C0DE_F00D);
    let providers: Vec<Provider> = (0..3)
        .map(|number| Provider::drawn(&mut draw, number))
        .collect();
    let entries = lean["entry"].as_array().cloned().unwrap_or_default();
    let patient_url = entries[0]["fullUrl"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut patient = entries[0]["resource"].clone();
    enrich_patient(&mut patient, &mut draw);
    let subject = json!({"reference": patient_url});

    let mut history = History::default();
    let mut out: Vec<Value> = Vec::with_capacity(entries.len() * 16 / 14 + 2);
    out.push(super::entry(&patient_url, patient.clone()));
    let mut provider = &providers[0];
    let mut encounter_url = String::new();
    let mut visit_day = String::new();
    for entry in &entries[1..] {
        let url = entry["fullUrl"].as_str().unwrap_or_default().to_string();
        let mut resource = entry["resource"].clone();
        match resource["resourceType"].as_str().unwrap_or_default() {
            "Encounter" => {
                provider = &providers[draw.below(providers.len())];
                encounter_url = url.clone();
                visit_day = resource["period"]["start"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                resource["identifier"] = json!([{"use": "official", "system": SYNTHEA,
                                                 "value": url.trim_start_matches("urn:uuid:")}]);
                resource["participant"] = json!([{
                    "type": [coded("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                   "PPRF", "primary performer")],
                    "period": resource["period"].clone(),
                    "individual": provider.clinician(),
                }]);
                resource["location"] = json!([{"location": provider.location()}]);
                resource["serviceProvider"] = provider.organization();
            }
            "Condition" => history.conditions.push(
                resource["code"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
            "MedicationRequest" => {
                history.medications.push(
                    resource["medicationCodeableConcept"]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
                resource["requester"] = provider.clinician();
            }
            "Immunization" => {
                resource["primarySource"] = json!(true);
                resource["location"] = provider.location();
            }
            "Claim" => enrich_claim(&mut resource, provider, &mut draw),
            "ExplanationOfBenefit" => enrich_eob(&mut resource, provider, &subject, &mut draw),
            _ => {}
        }
        let closes_visit = resource["resourceType"] == "ExplanationOfBenefit";
        out.push(super::entry(&url, resource));
        if closes_visit {
            let note = history.note(&patient, &visit_day, &mut draw);
            let data = base64::engine::general_purpose::STANDARD.encode(note.as_bytes());
            out.push(super::entry(
                &format!("urn:uuid:{}", draw.uuid()),
                note_report(&subject, &encounter_url, &visit_day, provider, &data),
            ));
            out.push(super::entry(
                &format!("urn:uuid:{}", draw.uuid()),
                note_document(
                    &subject,
                    &encounter_url,
                    &visit_day,
                    provider,
                    &data,
                    &mut draw,
                ),
            ));
        }
    }
    let targets: Vec<Value> = out
        .iter()
        .filter_map(|entry| entry["fullUrl"].as_str())
        .map(|url| json!({"reference": url}))
        .collect();
    let last_day = if visit_day.is_empty() {
        "2026-01-01T00:00:00Z".to_string()
    } else {
        visit_day.clone()
    };
    out.push(super::entry(
        &format!("urn:uuid:{}", draw.uuid()),
        json!({
            "resourceType": "Provenance",
            "target": targets,
            "recorded": last_day,
            "agent": [
                {"type": coded("http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                               "author", "Author"),
                 "who": providers[0].clinician(), "onBehalfOf": providers[0].organization()},
                {"type": coded("http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                               "transmitter", "Transmitter"),
                 "who": providers[0].clinician(), "onBehalfOf": providers[0].organization()},
            ],
        }),
    ));
    json!({"resourceType": "Bundle", "type": "transaction", "entry": out})
}

/// What a patient's notes repeat at every visit, as Synthea's do.
#[derive(Default)]
struct History {
    conditions: Vec<String>,
    medications: Vec<String>,
    visits: usize,
}

impl History {
    /// The note of a visit on `day`: its history grows with every visit.
    fn note(&mut self, patient: &Value, day: &str, draw: &mut Draw) -> String {
        self.visits += 1;
        let given = patient["name"][0]["given"][0]
            .as_str()
            .unwrap_or("The patient");
        let mut note = format!(
            "\n{}\n\n# Chief Complaint\nNo complaints.\n\n# History of Present Illness\n{given} is a \
             patient seen for visit {} at this practice. {given} has a history of {}.\n\n\
             # Social History\n{given} has never smoked. Patient identifies as heterosexual. \
             Patient comes from a middle socioeconomic background. Patient has completed some \
             college courses. Patient currently has private insurance.\n\n# Allergies\n\
             Allergy to penicillin.\n\n# Medications\n",
            &day[..day.len().min(10)],
            self.visits,
            if self.conditions.is_empty() {
                "no chronic conditions".to_string()
            } else {
                self.conditions.join(", ")
            },
        );
        for medication in &self.medications {
            note.push_str(&format!("{medication}; "));
        }
        note.push_str(REVIEW_AND_EXAM);
        note.push_str("\n\n# Assessment and Plan\n");
        for (number, condition) in self.conditions.iter().enumerate() {
            note.push_str(&format!(
                "Patient is presenting with {condition} (episode {}).\n",
                number + 1
            ));
        }
        note.push_str(&format!(
            "\n## Plan\nThe patient was placed on a careplan: follow-up in {} weeks, \
             lifestyle education, {}.\n",
            2 + draw.below(10),
            ["medication reconciliation", "home exercise", "diet review"][draw.below(3)]
        ));
        note
    }
}

fn enrich_patient(patient: &mut Value, draw: &mut Draw) {
    let id = patient["id"].as_str().unwrap_or_default().to_string();
    let (latitude, longitude) = (
        42.0 + draw.below(1_000_000) as f64 / 1_000_000.0,
        -71.0 - draw.below(1_000_000) as f64 / 1_000_000.0,
    );
    patient["text"] = json!({
        "status": "generated",
        "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">Generated by \
                        <a href=\"https://github.com/synthetichealth/synthea\">Synthea</a>. \
                        Version identifier: synthetic. Person seed: {id}</div>"),
    });
    patient["extension"] = json!([
        {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", "extension": [
            {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238",
                                                   "code": "2106-3", "display": "White"}},
            {"url": "text", "valueString": "White"}]},
        {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity", "extension": [
            {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238",
                                                   "code": "2186-5", "display": "Not Hispanic or Latino"}},
            {"url": "text", "valueString": "Not Hispanic or Latino"}]},
        {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
         "valueString": format!("Synthetic{}", draw.below(1000))},
        {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
         "valueAddress": {"city": "Boston", "state": "Massachusetts", "country": "US"}},
        {"url": "http://synthetichealth.github.io/synthea/disability-adjusted-life-years",
         "valueDecimal": draw.between(0.0, 5.0)},
        {"url": "http://synthetichealth.github.io/synthea/quality-adjusted-life-years",
         "valueDecimal": draw.between(20.0, 70.0)},
    ]);
    patient["identifier"] = json!([
        {"system": SYNTHEA, "value": id},
        {"type": coded("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record Number"),
         "system": "http://hospital.smarthealthit.org", "value": id},
        {"type": coded("http://terminology.hl7.org/CodeSystem/v2-0203", "SS", "Social Security Number"),
         "system": "http://hl7.org/fhir/sid/us-ssn",
         "value": format!("999-{:02}-{:04}", draw.below(100), draw.below(10_000))},
        {"type": coded("http://terminology.hl7.org/CodeSystem/v2-0203", "DL", "Driver's license number"),
         "system": "urn:oid:2.16.840.1.113883.4.3.25",
         "value": format!("S999{:05}", draw.below(100_000))},
    ]);
    patient["name"][0]["prefix"] = json!(["Mx."]);
    patient["telecom"] = json!([{"system": "phone",
                                 "value": format!("555-{:03}-{:04}", draw.below(1000), draw.below(10_000)),
                                 "use": "home"}]);
    patient["address"] = json!([{
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/geolocation", "extension": [
            {"url": "latitude", "valueDecimal": latitude},
            {"url": "longitude", "valueDecimal": longitude}]}],
        "line": [format!("{} Synthetic Street", 1 + draw.below(999))],
        "city": "Boston", "state": "MA", "postalCode": "02110", "country": "US",
    }]);
    patient["maritalStatus"] = coded(
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
        "M",
        "Married",
    );
    patient["multipleBirthBoolean"] = json!(false);
    patient["communication"] =
        json!([{"language": coded("urn:ietf:bcp:47", "en-US", "English (United States)")}]);
}

fn enrich_claim(claim: &mut Value, provider: &Provider, draw: &mut Draw) {
    claim["provider"] = provider.organization();
    claim["billablePeriod"] =
        json!({"start": claim["created"].clone(), "end": claim["created"].clone()});
    claim["facility"] = provider.location();
    claim["diagnosis"] = json!([{"sequence": 1,
        "diagnosisCodeableConcept": coded(SNOMED, "314529007", "Medication review due")}]);
    let item = claim["item"][0].clone();
    let mut items = vec![item];
    for sequence in 2..=CLAIM_LINES {
        items.push(json!({
            "sequence": sequence,
            "diagnosisSequence": [1],
            "productOrService": coded(SNOMED, "410620009", "Well child visit"),
            "net": {"value": draw.between(20.0, 200.0), "currency": "USD"},
        }));
    }
    claim["item"] = Value::Array(items);
}

fn enrich_eob(eob: &mut Value, provider: &Provider, subject: &Value, draw: &mut Draw) {
    let created = eob["created"].clone();
    eob["contained"] = json!([
        {"resourceType": "ServiceRequest", "id": "referral", "status": "completed",
         "intent": "order", "subject": subject.clone(), "requester": provider.clinician(),
         "performer": [provider.clinician()]},
        {"resourceType": "Coverage", "id": "coverage", "status": "active",
         "type": {"text": "Synthetic Health Insurance"}, "beneficiary": subject.clone(),
         "payor": [{"display": "Synthetic Health Insurance"}]},
    ]);
    eob["identifier"] = json!([
        {"system": "https://bluebutton.cms.gov/resources/variables/clm_id",
         "value": format!("{:016x}", draw.next())},
        {"system": "https://bluebutton.cms.gov/resources/identifier/claim-group",
         "value": format!("{}", draw.below(100_000_000))},
    ]);
    eob["billablePeriod"] = json!({"start": created.clone(), "end": created.clone()});
    eob["provider"] = provider.clinician();
    eob["referral"] = json!({"reference": "#referral"});
    eob["facility"] = provider.location();
    eob["disposition"] = json!("Fully adjudicated");
    eob["careTeam"] = json!([{"sequence": 1, "provider": provider.clinician(),
        "role": coded("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary", "Primary provider")}]);
    eob["insurance"] = json!([{"focal": true, "coverage": {"reference": "#coverage", "display": "Synthetic Health Insurance"}}]);
    let mut items = Vec::new();
    for sequence in 1..=CLAIM_LINES {
        let submitted = draw.between(20.0, 400.0);
        let adjudication: Vec<Value> = ADJUDICATIONS
            .iter()
            .map(|(system, display)| {
                json!({"category": {"coding": [{"system": system, "display": display}]},
                       "amount": {"value": draw.between(0.0, submitted), "currency": "USD"}})
            })
            .collect();
        items.push(json!({
            "sequence": sequence,
            "diagnosisSequence": [1],
            "category": coded("https://bluebutton.cms.gov/resources/variables/line_cms_type_srvc_cd",
                              "1", "Medical care"),
            "productOrService": coded(SNOMED, "410620009", "Well child visit"),
            "servicedPeriod": {"start": created.clone(), "end": created.clone()},
            "locationCodeableConcept": coded("http://terminology.hl7.org/CodeSystem/ex-serviceplace",
                                             "19", "Off Campus-Outpatient Hospital"),
            "net": {"value": submitted, "currency": "USD"},
            "adjudication": adjudication,
        }));
    }
    eob["item"] = Value::Array(items);
    eob["payment"] = json!({"amount": {"value": draw.between(0.0, 300.0), "currency": "USD"}});
}

fn note_report(
    subject: &Value,
    encounter: &str,
    day: &str,
    provider: &Provider,
    data: &str,
) -> Value {
    json!({
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [coded(LOINC, "34117-2", "History and physical note"),
                     coded(LOINC, "51847-2", "Evaluation + Plan note")],
        "code": coded(LOINC, NOTE_CODE.0, NOTE_CODE.1),
        "subject": subject.clone(),
        "encounter": {"reference": encounter},
        "effectiveDateTime": day,
        "issued": day,
        "performer": [provider.clinician()],
        "presentedForm": [{"contentType": "text/plain; charset=utf-8", "data": data}],
    })
}

fn note_document(
    subject: &Value,
    encounter: &str,
    day: &str,
    provider: &Provider,
    data: &str,
    draw: &mut Draw,
) -> Value {
    json!({
        "resourceType": "DocumentReference",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", draw.uuid())}],
        "status": "current",
        "type": coded(LOINC, NOTE_CODE.0, NOTE_CODE.1),
        "category": [coded("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                           "clinical-note", "Clinical Note")],
        "subject": subject.clone(),
        "date": day,
        "author": [provider.clinician()],
        "custodian": provider.organization(),
        "content": [{
            "attachment": {"contentType": "text/plain; charset=utf-8", "data": data},
            "format": {"system": "http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem",
                       "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient", "display": "mimeType Sufficient"},
        }],
        "context": {"encounter": [{"reference": encounter}], "period": {"start": day, "end": day}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{split_bundle, validate};

    #[test]
    fn a_realistic_patient_is_valid_r4_and_shaped_like_synthea() {
        let bundle = realistic_bundle(5, 6);
        validate(&bundle).unwrap();
        let split = split_bundle(&bundle).unwrap();
        let count = |resource_type: &str| {
            split
                .records
                .iter()
                .filter(|record| record.resource_type == resource_type)
                .count()
        };
        assert_eq!(count("DocumentReference"), 6);
        assert_eq!(count("DiagnosticReport"), 6);
        assert_eq!(count("Provenance"), 1);
        let text = bundle.to_string();
        assert!(
            text.contains("Organization?identifier=https://github.com/synthetichealth/synthea|")
        );
        assert!(text.contains("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999"));
        // The notes are base64 of text that grows with the history.
        let notes: Vec<String> = split
            .records
            .iter()
            .filter(|record| record.resource_type == "DocumentReference")
            .map(|record| {
                let data = record.resource["content"][0]["attachment"]["data"]
                    .as_str()
                    .unwrap();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .unwrap(),
                )
                .unwrap()
            })
            .collect();
        assert!(notes[0].contains("# Chief Complaint"));
        assert!(notes[5].len() > notes[0].len());
        assert_eq!(realistic_bundle(5, 6), bundle, "the same for the same seed");
    }
}
