//! Which MediGate category a FHIR resource belongs to: what a patient grants
//! when they grant "labs" or "medications".

use medigate_access_policy::Category;
use serde_json::Value;

/// The HL7 observation-category system.
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// The HL7 diagnostic-service-section system (DiagnosticReport.category).
const DIAGNOSTIC_SECTION: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
/// LOINC, the system of a summary document's type.
const LOINC: &str = "http://loinc.org";
/// The LOINC code of a Patient Summary document (IPS).
const PATIENT_SUMMARY: &str = "60591-5";

/// The category of `resource` (a FHIR R4 resource as JSON).
///
/// Observations and diagnostic reports go by their category codes (vital
/// signs, laboratory, imaging); a document Bundle by its Composition; other
/// resources by their type. Anything not listed is [`Category::Other`].
pub fn category_of(resource: &Value) -> Category {
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match resource_type {
        "AllergyIntolerance" => Category::Allergies,
        "MedicationRequest"
        | "MedicationStatement"
        | "MedicationAdministration"
        | "MedicationDispense"
        | "Medication" => Category::Medications,
        "Condition" => Category::Problems,
        "Observation" => observation_category(resource),
        "DiagnosticReport" => report_category(resource),
        "ImagingStudy" => Category::Imaging,
        "Immunization" => Category::Immunizations,
        "Procedure" => Category::Procedures,
        "Encounter" => Category::Encounters,
        "DocumentReference" | "Binary" | "Media" => Category::Documents,
        "Composition" if has_code(resource.get("type"), LOINC, &[PATIENT_SUMMARY]) => {
            Category::Summary
        }
        "Composition" | "ClinicalImpression" | "CarePlan" | "CareTeam" | "Goal" => Category::Notes,
        "Claim" | "ClaimResponse" | "ExplanationOfBenefit" | "Coverage" | "Invoice" => {
            Category::Billing
        }
        // A document is what its Composition (its first entry) is: a
        // patient summary, or notes.
        "Bundle" if resource["type"] == "document" => {
            category_of(&resource["entry"][0]["resource"])
        }
        _ => Category::Other,
    }
}

fn observation_category(resource: &Value) -> Category {
    let categories = resource.get("category");
    if has_code_in(categories, OBSERVATION_CATEGORY, &["vital-signs"]) {
        Category::Vitals
    } else if has_code_in(categories, OBSERVATION_CATEGORY, &["laboratory"]) {
        Category::Labs
    } else if has_code_in(categories, OBSERVATION_CATEGORY, &["imaging"]) {
        Category::Imaging
    } else {
        Category::Other
    }
}

fn report_category(resource: &Value) -> Category {
    let categories = resource.get("category");
    if has_code_in(
        categories,
        DIAGNOSTIC_SECTION,
        &["LAB", "HM", "CH", "MB", "SP"],
    ) {
        Category::Labs
    } else if has_code_in(
        categories,
        DIAGNOSTIC_SECTION,
        &["RAD", "CT", "MR", "NMR", "US"],
    ) {
        Category::Imaging
    } else {
        Category::Notes
    }
}

/// Whether any CodeableConcept in the array `concepts` holds one of `codes`
/// of `system`.
fn has_code_in(concepts: Option<&Value>, system: &str, codes: &[&str]) -> bool {
    concepts.and_then(Value::as_array).is_some_and(|concepts| {
        concepts
            .iter()
            .any(|concept| has_code(Some(concept), system, codes))
    })
}

/// Whether the CodeableConcept `concept` holds one of `codes` of `system`.
fn has_code(concept: Option<&Value>, system: &str, codes: &[&str]) -> bool {
    concept
        .and_then(|concept| concept.get("coding"))
        .and_then(Value::as_array)
        .is_some_and(|codings| {
            codings.iter().any(|coding| {
                coding.get("system").and_then(Value::as_str) == Some(system)
                    && coding
                        .get("code")
                        .and_then(Value::as_str)
                        .is_some_and(|code| codes.contains(&code))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observation(category: &str) -> Value {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
            "code": {"text": "x"}
        })
    }

    #[test]
    fn observations_go_by_their_category_code() {
        assert_eq!(category_of(&observation("vital-signs")), Category::Vitals);
        assert_eq!(category_of(&observation("laboratory")), Category::Labs);
        assert_eq!(category_of(&observation("imaging")), Category::Imaging);
        assert_eq!(category_of(&observation("social-history")), Category::Other);
        // A laboratory code of another system is not a lab result.
        let foreign = json!({
            "resourceType": "Observation",
            "category": [{"coding": [{"system": "http://example.org", "code": "laboratory"}]}]
        });
        assert_eq!(category_of(&foreign), Category::Other);
    }

    #[test]
    fn other_resources_go_by_their_type() {
        for (resource_type, category) in [
            ("AllergyIntolerance", Category::Allergies),
            ("MedicationRequest", Category::Medications),
            ("Condition", Category::Problems),
            ("Immunization", Category::Immunizations),
            ("Procedure", Category::Procedures),
            ("Encounter", Category::Encounters),
            ("DocumentReference", Category::Documents),
            ("CarePlan", Category::Notes),
            ("Claim", Category::Billing),
            ("ExplanationOfBenefit", Category::Billing),
            ("Patient", Category::Other),
        ] {
            assert_eq!(
                category_of(&json!({ "resourceType": resource_type })),
                category,
                "{resource_type}"
            );
        }
    }

    #[test]
    fn a_patient_summary_composition_is_the_summary() {
        let summary = json!({
            "resourceType": "Composition",
            "type": {"coding": [{"system": LOINC, "code": PATIENT_SUMMARY}]}
        });
        assert_eq!(category_of(&summary), Category::Summary);
        let report = json!({
            "resourceType": "DiagnosticReport",
            "category": [{"coding": [{"system": DIAGNOSTIC_SECTION, "code": "LAB"}]}]
        });
        assert_eq!(category_of(&report), Category::Labs);
    }
}
