//! Synthetic patients: transaction Bundles shaped like Synthea's (a Patient,
//! then encounters, each with vital signs, laboratory results, conditions,
//! medications, immunizations, procedures, a claim and its explanation of
//! benefit; allergies and the ABO/Rh blood group once), deterministic for a
//! seed. Test data and benchmark input made by the project; no real person's
//! data.

use serde_json::{Value, json};

mod realistic;

pub use realistic::realistic_bundle;

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const CVX: &str = "http://hl7.org/fhir/sid/cvx";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const UCUM: &str = "http://unitsofmeasure.org";

/// Vital signs: LOINC code, name, unit, low and high of the range drawn from.
const VITALS: [(&str, &str, &str, f64, f64); 4] = [
    ("8867-4", "Heart rate", "/min", 55.0, 100.0),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 100.0, 150.0),
    ("29463-7", "Body weight", "kg", 50.0, 110.0),
    ("8310-5", "Body temperature", "Cel", 36.1, 38.4),
];
/// Laboratory results, as the vital signs.
const LABS: [(&str, &str, &str, f64, f64); 3] = [
    ("4548-4", "Hemoglobin A1c", "%", 4.5, 9.5),
    ("2093-3", "Cholesterol", "mg/dL", 140.0, 260.0),
    ("2345-7", "Glucose", "mg/dL", 70.0, 180.0),
];
/// Problems: SNOMED code and name.
const PROBLEMS: [(&str, &str); 4] = [
    ("195662009", "Acute viral pharyngitis"),
    ("44054006", "Diabetes mellitus type 2"),
    ("38341003", "Hypertensive disorder"),
    ("195967001", "Asthma"),
];
/// Medications: RxNorm code and name.
const MEDICATIONS: [(&str, &str); 3] = [
    ("860975", "Metformin 500 MG Oral Tablet"),
    ("314076", "Lisinopril 10 MG Oral Tablet"),
    ("895994", "Albuterol 0.09 MG/ACTUAT Inhaler"),
];
/// Blood groups: SNOMED code and name, the values of LOINC 882-1.
const BLOOD_GROUPS: [(&str, &str); 8] = [
    ("278147001", "Blood group O Rh(D) positive"),
    ("278148006", "Blood group O Rh(D) negative"),
    ("278149003", "Blood group A Rh(D) positive"),
    ("278152006", "Blood group A Rh(D) negative"),
    ("278150003", "Blood group B Rh(D) positive"),
    ("278153001", "Blood group B Rh(D) negative"),
    ("278151004", "Blood group AB Rh(D) positive"),
    ("278154007", "Blood group AB Rh(D) negative"),
];

/// A small deterministic generator (SplitMix64).
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// A value in `low..high` with one decimal.
    fn between(&mut self, low: f64, high: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((low + unit * (high - low)) * 10.0).round() / 10.0
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

fn coded(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}], "text": display})
}

fn entry(url: &str, resource: Value) -> Value {
    let resource_type = resource["resourceType"].clone();
    json!({
        "fullUrl": url,
        "resource": resource,
        "request": {"method": "POST", "url": resource_type}
    })
}

/// A transaction Bundle of one synthetic patient with `encounters`
/// encounters (14 resources each), the same for the same `seed`: the
/// Patient, an AllergyIntolerance, the encounters, then one blood-group
/// Observation (LOINC 882-1, laboratory).
pub fn patient_bundle(seed: u64, encounters: usize) -> Value {
    let mut draw = Draw(seed);
    let patient_id = draw.uuid();
    let patient_url = format!("urn:uuid:{patient_id}");
    let subject = json!({"reference": patient_url});
    let year = 1940 + draw.below(60);
    let gender = ["female", "male"][draw.below(2)];
    let mut entries = vec![entry(
        &patient_url,
        json!({
            "resourceType": "Patient",
            "id": patient_id,
            "name": [{"use": "official", "family": format!("Synthetic{}", draw.below(1000)),
                      "given": ["Alex"]}],
            "gender": gender,
            "birthDate": format!("{year}-{:02}-{:02}", 1 + draw.below(12), 1 + draw.below(28)),
            // The person to call in an emergency.
            "contact": [{
                "relationship": [coded("http://terminology.hl7.org/CodeSystem/v2-0131", "C", "Emergency Contact")],
                "name": {"family": "Synthetic", "given": ["Sam"]},
                "telecom": [{"system": "phone", "value": "+1-555-0100", "use": "mobile"}],
            }],
        }),
    )];
    entries.push(entry(
        &format!("urn:uuid:{}", draw.uuid()),
        json!({
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": coded(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                "active",
                "Active"
            ),
            "code": coded(SNOMED, "91936005", "Allergy to penicillin"),
            "patient": subject,
        }),
    ));
    for visit in 0..encounters {
        let day = format!(
            "{}-{:02}-{:02}",
            2010 + visit % 16,
            1 + draw.below(12),
            1 + draw.below(28)
        );
        let start = format!("{day}T09:{:02}:00Z", draw.below(60));
        let encounter_url = format!("urn:uuid:{}", draw.uuid());
        let encounter = json!({"reference": encounter_url});
        entries.push(entry(
            &encounter_url,
            json!({
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                          "code": "AMB", "display": "ambulatory"},
                "type": [coded(SNOMED, "185349003", "Encounter for check up")],
                "subject": subject,
                "period": {"start": start, "end": format!("{day}T10:00:00Z")},
            }),
        ));
        for (category, measures) in [("vital-signs", &VITALS[..]), ("laboratory", &LABS[..])] {
            for (code, name, unit, low, high) in measures {
                entries.push(entry(
                    &format!("urn:uuid:{}", draw.uuid()),
                    json!({
                        "resourceType": "Observation",
                        "status": "final",
                        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
                        "code": coded(LOINC, code, name),
                        "subject": subject,
                        "encounter": encounter,
                        "effectiveDateTime": start,
                        "valueQuantity": {"value": draw.between(*low, *high), "unit": unit,
                                          "system": UCUM, "code": unit},
                    }),
                ));
            }
        }
        let (problem_code, problem) = PROBLEMS[draw.below(PROBLEMS.len())];
        entries.push(entry(
            &format!("urn:uuid:{}", draw.uuid()),
            json!({
                "resourceType": "Condition",
                "clinicalStatus": coded(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "active",
                    "Active"
                ),
                "code": coded(SNOMED, problem_code, problem),
                "subject": subject,
                "encounter": encounter,
                "onsetDateTime": start,
            }),
        ));
        let (drug_code, drug) = MEDICATIONS[draw.below(MEDICATIONS.len())];
        entries.push(entry(
            &format!("urn:uuid:{}", draw.uuid()),
            json!({
                "resourceType": "MedicationRequest",
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": coded(RXNORM, drug_code, drug),
                "subject": subject,
                "encounter": encounter,
                "authoredOn": start,
            }),
        ));
        entries.push(entry(
            &format!("urn:uuid:{}", draw.uuid()),
            json!({
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": coded(CVX, "140", "Influenza, seasonal, injectable"),
                "patient": subject,
                "encounter": encounter,
                "occurrenceDateTime": start,
            }),
        ));
        entries.push(entry(
            &format!("urn:uuid:{}", draw.uuid()),
            json!({
                "resourceType": "Procedure",
                "status": "completed",
                "code": coded(SNOMED, "430193006", "Medication reconciliation"),
                "subject": subject,
                "encounter": encounter,
                "performedDateTime": start,
            }),
        ));
        let claim_url = format!("urn:uuid:{}", draw.uuid());
        let amount = draw.between(50.0, 400.0);
        let insurer = json!({"display": "Synthetic Health Insurance"});
        let provider = json!({"display": "Synthetic General Hospital"});
        entries.push(entry(
            &claim_url,
            json!({
                "resourceType": "Claim",
                "status": "active",
                "type": coded("http://terminology.hl7.org/CodeSystem/claim-type",
                              "professional", "Professional"),
                "use": "claim",
                "patient": subject,
                "created": start,
                "provider": provider,
                "priority": coded("http://terminology.hl7.org/CodeSystem/processpriority",
                                  "normal", "Normal"),
                "insurance": [{"sequence": 1, "focal": true, "coverage": insurer}],
                "item": [{"sequence": 1, "productOrService": coded(SNOMED, "185349003", "Encounter for check up"),
                          "encounter": [encounter]}],
                "total": {"value": amount, "currency": "USD"},
            }),
        ));
        entries.push(entry(
            &format!("urn:uuid:{}", draw.uuid()),
            json!({
                "resourceType": "ExplanationOfBenefit",
                "status": "active",
                "type": coded("http://terminology.hl7.org/CodeSystem/claim-type",
                              "professional", "Professional"),
                "use": "claim",
                "patient": subject,
                "created": start,
                "insurer": insurer,
                "provider": provider,
                "claim": {"reference": claim_url},
                "outcome": "complete",
                "insurance": [{"focal": true, "coverage": insurer}],
                "total": [{"category": coded("http://terminology.hl7.org/CodeSystem/adjudication",
                                             "submitted", "Submitted Amount"),
                           "amount": {"value": amount, "currency": "USD"}}],
            }),
        ));
    }
    // Drawn last, so that the resources before it are what they were before
    // the blood group was added.
    let (group_code, group) = BLOOD_GROUPS[draw.below(BLOOD_GROUPS.len())];
    let typed = format!(
        "2009-{:02}-{:02}T08:{:02}:00Z",
        1 + draw.below(12),
        1 + draw.below(28),
        draw.below(60)
    );
    entries.push(entry(
        &format!("urn:uuid:{}", draw.uuid()),
        json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
            "code": coded(LOINC, "882-1", "ABO and Rh group [Type] in Blood"),
            "subject": subject,
            "effectiveDateTime": typed,
            "valueCodeableConcept": coded(SNOMED, group_code, group),
        }),
    ));
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// The person of `patient_bundle(person_seed, ..)` as another hospital
/// records them: the same name, sex and birth date, but that hospital's own
/// Patient id and records (those of `patient_bundle(seed, encounters)`;
/// `seed` differs from `person_seed`).
pub fn same_person_elsewhere(person_seed: u64, seed: u64, encounters: usize) -> Value {
    as_person_of(patient_bundle(seed, encounters), person_seed)
}

/// `bundle` (made here, its Patient first) with the name, sex and birth
/// date of the person of `patient_bundle(person_seed, ..)`: that person's
/// records as another hospital keeps them.
pub fn as_person_of(mut bundle: Value, person_seed: u64) -> Value {
    let person = patient_bundle(person_seed, 0)["entry"][0]["resource"].clone();
    let patient = &mut bundle["entry"][0]["resource"];
    for element in ["name", "gender", "birthDate"] {
        patient[element] = person[element].clone();
    }
    bundle
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{split_bundle, validate};
    use medigate_access_policy::Category;

    #[test]
    fn a_synthetic_patient_is_valid_r4_and_one_patients() {
        let bundle = patient_bundle(7, 20);
        validate(&bundle).unwrap();
        let split = split_bundle(&bundle).unwrap();
        assert_eq!(split.records.len(), 2 + 20 * 14);
        let blood_groups: Vec<_> = split
            .records
            .iter()
            .filter(|record| record.resource["code"]["coding"][0]["code"] == "882-1")
            .collect();
        assert_eq!(blood_groups.len(), 1, "one blood group");
        assert_eq!(blood_groups[0].category, Category::Labs);
        for category in [
            Category::Allergies,
            Category::Encounters,
            Category::Vitals,
            Category::Labs,
            Category::Problems,
            Category::Medications,
            Category::Immunizations,
            Category::Procedures,
            Category::Billing,
        ] {
            assert!(
                split
                    .records
                    .iter()
                    .any(|record| record.category == category),
                "no {category:?}"
            );
        }
    }

    #[test]
    fn the_same_person_elsewhere_is_matched_and_someone_else_is_not() {
        let home = patient_bundle(2026, 1);
        let account = [home["entry"][0]["resource"].clone()];
        let elsewhere = same_person_elsewhere(2026, 7, 1);
        validate(&elsewhere).unwrap();
        let theirs = &elsewhere["entry"][0]["resource"];
        assert_ne!(theirs["id"], account[0]["id"]);
        assert_eq!(
            crate::person::match_person(&account, theirs),
            Ok(crate::person::PersonMatch::SamePerson(vec![
                account[0]["id"].as_str().unwrap().to_string()
            ]))
        );
        let someone_else = patient_bundle(8, 1);
        assert!(
            crate::person::match_person(&account, &someone_else["entry"][0]["resource"]).is_err()
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_patient() {
        assert_eq!(patient_bundle(3, 2), patient_bundle(3, 2));
        assert_ne!(patient_bundle(3, 2), patient_bundle(4, 2));
    }
}
