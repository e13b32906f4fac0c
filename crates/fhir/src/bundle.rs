//! A patient's Bundle split into the records MediGate keeps: one per
//! resource, each with its category.
//!
//! An import is one patient's: the Bundle holds a Patient, any other
//! Patient in it is the same person (by [`crate::person::match_person`]:
//! another hospital's record of them), and every resource that names a
//! patient (`subject` or `patient`) names one of these, by the entry's
//! `fullUrl`, as `Patient/<id>` or as `urn:uuid:<id>`.
//!
//! Besides the Bundles made for import (`transaction`, `batch`,
//! `collection`), an import takes what patients are handed: a `document`
//! (such as an International Patient Summary, whose first entry is a
//! Composition about the patient) and a `searchset` (what a patient-access
//! API or `$everything` returns; its `outcome` entries are messages about
//! the search, not records).

use medigate_access_policy::Category;
use serde_json::Value;

use crate::{
    category::category_of,
    person::{PersonReferences, names_a_patient, subject_references},
    validate::FhirError,
};

/// The Bundle types an import takes.
const IMPORTABLE: [&str; 5] = [
    "transaction",
    "batch",
    "collection",
    "document",
    "searchset",
];

/// Whether the entry of a `searchset` is a message about the search (an
/// OperationOutcome), not a resource found.
pub(crate) fn is_search_outcome(entry: &Value) -> bool {
    entry["search"]["mode"] == "outcome"
}

/// One resource of the Bundle, as a record.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleRecord {
    /// Where it was in the Bundle (`Bundle.entry[3]`).
    pub path: String,
    /// Its resource type.
    pub resource_type: String,
    /// Its category.
    pub category: Category,
    /// The resource, as given.
    pub resource: Value,
}

/// A Bundle of one patient's records.
#[derive(Clone, Debug, PartialEq)]
pub struct PatientBundle {
    /// The (first) Patient resource.
    pub patient: Value,
    /// Every other resource, in Bundle order.
    pub records: Vec<BundleRecord>,
}

/// Why a Bundle cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// It is not valid FHIR R4.
    #[error(transparent)]
    Invalid(#[from] FhirError),
    /// It is a resource, but not a Bundle.
    #[error(
        "a {0} is not a Bundle; import a transaction, batch, collection, document or searchset Bundle"
    )]
    NotABundle(String),
    /// A Bundle of a type an import does not take.
    #[error(
        "a Bundle of type {0:?} cannot be imported; import a transaction, batch, collection, document or searchset Bundle"
    )]
    WrongType(String),
    /// A `document` whose first entry is not a Composition.
    #[error("a document Bundle starts with its Composition; Bundle.entry[0] is a {0}")]
    NoComposition(String),
    /// A `document` whose Composition is not about the Bundle's patient.
    #[error(
        "the document's Composition is about {subject}, not the Bundle's patient; a document is imported into the account of the patient it is about"
    )]
    DocumentAboutSomeoneElse {
        /// Its `subject.reference`, or `no one` when it has none.
        subject: String,
    },
    /// An entry without a resource.
    #[error("{0} has no resource")]
    NoResource(String),
    /// No Patient in the Bundle.
    #[error("the Bundle holds no Patient; an import is one patient's records with their Patient")]
    NoPatient,
    /// Patients of more than one person.
    #[error(
        "the Bundle holds several patients ({0} and {1} are not the same person); import each patient's records on their own"
    )]
    SeveralPatients(String, String),
    /// A resource about another patient than the Bundle's.
    #[error(
        "{path} is about {reference}, not the Bundle's patient; import each patient's records on their own"
    )]
    OtherPatient {
        /// The element naming the other patient.
        path: String,
        /// The reference it holds.
        reference: String,
    },
}

/// Validates `bundle` and splits it into its patient and records.
pub fn split_bundle(bundle: &Value) -> Result<PatientBundle, BundleError> {
    crate::validate::validate(bundle)?;
    let patient_index = check_patient_bundle(bundle)?;
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let records = entries
        .iter()
        .enumerate()
        .filter(|(index, entry)| *index != patient_index && !is_search_outcome(entry))
        .map(|(index, entry)| {
            let resource = &entry["resource"];
            BundleRecord {
                path: format!("Bundle.entry[{index}]"),
                resource_type: resource["resourceType"].as_str().unwrap_or_default().into(),
                category: category_of(resource),
                resource: resource.clone(),
            }
        })
        .collect();
    Ok(PatientBundle {
        patient: entries[patient_index]["resource"].clone(),
        records,
    })
}

/// Checks that a valid R4 `bundle` is one patient's and importable: a
/// Bundle of a type an import takes, holding a Patient and no Patient of
/// another person, every entry with a resource, none about another patient,
/// and, for a document, a Composition first that is about the patient.
/// Returns the index of the (first) Patient's entry.
pub(crate) fn check_patient_bundle(bundle: &Value) -> Result<usize, BundleError> {
    let resource_type = bundle["resourceType"].as_str().unwrap_or_default();
    if resource_type != "Bundle" {
        return Err(BundleError::NotABundle(resource_type.into()));
    }
    let kind = bundle["type"].as_str().unwrap_or_default();
    if !IMPORTABLE.contains(&kind) {
        return Err(BundleError::WrongType(kind.into()));
    }
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();

    // The patient, and the references that name it.
    // The patient: the first Patient, and any other Patient resource of the
    // same person (another hospital's record of them, linked on export).
    let mut patients: Vec<(usize, &Value)> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let resource = entry
            .get("resource")
            .ok_or_else(|| BundleError::NoResource(format!("Bundle.entry[{index}]")))?;
        if resource["resourceType"] == "Patient" {
            if let Some((first, primary)) = patients.first()
                && crate::person::match_person(std::slice::from_ref(*primary), resource).is_err()
            {
                return Err(BundleError::SeveralPatients(
                    format!("Bundle.entry[{first}]"),
                    format!("Bundle.entry[{index}]"),
                ));
            }
            patients.push((index, resource));
        }
    }
    let patient_index = patients.first().ok_or(BundleError::NoPatient)?.0;
    let mut person = PersonReferences::new();
    for (index, patient) in &patients {
        person.add(patient, entries[*index]["fullUrl"].as_str());
    }
    let is_the_patient = |reference: &str| person.names_person(reference);

    if kind == "document" {
        let composition = &entries[0]["resource"];
        let first_type = composition["resourceType"].as_str().unwrap_or_default();
        if first_type != "Composition" {
            return Err(BundleError::NoComposition(first_type.into()));
        }
        let subject = composition["subject"]["reference"].as_str();
        if !subject.is_some_and(is_the_patient) {
            return Err(BundleError::DocumentAboutSomeoneElse {
                subject: subject.unwrap_or("no one").into(),
            });
        }
    }

    // What each fullUrl in the Bundle is.
    let types_by_url: std::collections::HashMap<&str, &str> = entries
        .iter()
        .filter_map(|entry| {
            Some((
                entry["fullUrl"].as_str()?,
                entry["resource"]["resourceType"].as_str()?,
            ))
        })
        .collect();

    for (index, entry) in entries.iter().enumerate() {
        if index == patient_index {
            continue;
        }
        let resource = &entry["resource"];
        let path = format!("Bundle.entry[{index}]");
        for (field, reference) in subject_references(resource) {
            // A patient by type, or an entry of the Bundle that is one, or
            // one that is not in the Bundle at all.
            let about_a_patient = types_by_url
                .get(reference)
                .map_or_else(|| names_a_patient(reference), |kind| *kind == "Patient");
            if about_a_patient && !is_the_patient(reference) {
                return Err(BundleError::OtherPatient {
                    path: format!("{path}.resource.{field}.reference"),
                    reference: reference.into(),
                });
            }
        }
    }
    Ok(patient_index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient(uuid: &str) -> Value {
        json!({
            "fullUrl": format!("urn:uuid:{uuid}"),
            "resource": {"resourceType": "Patient", "id": uuid, "gender": "female"},
            "request": {"method": "POST", "url": "Patient"}
        })
    }

    fn condition(subject: &str) -> Value {
        json!({
            "fullUrl": "urn:uuid:c1",
            "resource": {
                "resourceType": "Condition",
                "subject": {"reference": subject},
                "code": {"text": "Asthma"}
            },
            "request": {"method": "POST", "url": "Condition"}
        })
    }

    fn allergy(patient: &str) -> Value {
        json!({
            "resource": {
                "resourceType": "AllergyIntolerance",
                "patient": {"reference": patient},
                "code": {"text": "Penicillin"}
            },
            "request": {"method": "POST", "url": "AllergyIntolerance"}
        })
    }

    fn bundle(entries: Vec<Value>) -> Value {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    }

    #[test]
    fn one_patients_bundle_splits_into_records_by_category() {
        let split = split_bundle(&bundle(vec![
            condition("urn:uuid:p1"),
            patient("p1"),
            allergy("Patient/p1"),
        ]))
        .unwrap();
        assert_eq!(split.patient["id"], "p1");
        let records: Vec<_> = split
            .records
            .iter()
            .map(|record| {
                (
                    record.path.as_str(),
                    record.resource_type.as_str(),
                    record.category,
                )
            })
            .collect();
        assert_eq!(
            records,
            [
                ("Bundle.entry[0]", "Condition", Category::Problems),
                ("Bundle.entry[2]", "AllergyIntolerance", Category::Allergies),
            ]
        );
        assert_eq!(split.records[1].resource["code"]["text"], "Penicillin");
    }

    #[test]
    fn bundles_of_several_or_no_patients_are_refused() {
        assert_eq!(
            split_bundle(&bundle(vec![patient("p1"), patient("p2")])),
            Err(BundleError::SeveralPatients(
                "Bundle.entry[0]".into(),
                "Bundle.entry[1]".into()
            ))
        );
        assert_eq!(
            split_bundle(&bundle(vec![patient("p1"), condition("urn:uuid:p2")])),
            Err(BundleError::OtherPatient {
                path: "Bundle.entry[1].resource.subject.reference".into(),
                reference: "urn:uuid:p2".into()
            })
        );
        assert_eq!(
            split_bundle(&bundle(vec![condition("urn:uuid:p1")])),
            Err(BundleError::NoPatient)
        );
        // A subject that is a Group in the Bundle is not another patient.
        let group = json!({
            "fullUrl": "urn:uuid:g1",
            "resource": {"resourceType": "Group", "type": "person", "actual": true}
        });
        let split = split_bundle(&bundle(vec![
            patient("p1"),
            group,
            condition("urn:uuid:g1"),
        ]));
        assert_eq!(split.unwrap().records.len(), 2);
    }

    #[test]
    fn only_importable_bundles_of_valid_resources_are_taken() {
        for kind in [
            "history",
            "transaction-response",
            "batch-response",
            "message",
        ] {
            let mut other = bundle(vec![patient("p1")]);
            other["type"] = json!(kind);
            assert_eq!(
                split_bundle(&other),
                Err(BundleError::WrongType(kind.into()))
            );
        }
        assert_eq!(
            split_bundle(&json!({"resourceType": "Patient"})),
            Err(BundleError::NotABundle("Patient".into()))
        );
        let mut invalid = condition("urn:uuid:p1");
        invalid["resource"]["onsetDateTime"] = json!("yesterday");
        assert!(matches!(
            split_bundle(&bundle(vec![patient("p1"), invalid])),
            Err(BundleError::Invalid(FhirError::Invalid { path, .. }))
                if path == "Bundle.entry[1].resource.onsetDateTime"
        ));
    }
}

/// A patient's `$everything`: a `searchset` Bundle of the Patient and the
/// given resources (as they were imported), `total` counting them all.
pub fn everything_bundle(patient: &Value, resources: &[Value]) -> Value {
    let entry = |resource: &Value| {
        let mut entry = serde_json::Map::new();
        if let (Some(resource_type), Some(id)) =
            (resource["resourceType"].as_str(), resource["id"].as_str())
        {
            entry.insert("fullUrl".into(), format!("{resource_type}/{id}").into());
        }
        entry.insert("resource".into(), resource.clone());
        entry.insert("search".into(), serde_json::json!({"mode": "match"}));
        Value::Object(entry)
    };
    let entries: Vec<Value> = std::iter::once(patient)
        .chain(resources)
        .map(entry)
        .collect();
    serde_json::json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "entry": entries,
    })
}

#[cfg(test)]
mod handed_to_patients_tests {
    use super::*;
    use serde_json::json;

    fn composition(subject: Option<&str>) -> Value {
        let mut composition = json!({
            "fullUrl": "urn:uuid:0c3a8a3e-0000-4000-8000-00000000c001",
            "resource": {
                "resourceType": "Composition", "id": "c1", "status": "final",
                "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5"}]},
                "date": "2026-01-02", "author": [{"display": "Dr Who"}],
                "title": "Patient Summary"
            }
        });
        if let Some(subject) = subject {
            composition["resource"]["subject"] = json!({"reference": subject});
        }
        composition
    }

    fn patient(id: &str) -> Value {
        json!({"fullUrl": format!("urn:uuid:{id}"),
               "resource": {"resourceType": "Patient", "id": id, "gender": "female"}})
    }

    fn document(entries: Vec<Value>) -> Value {
        json!({"resourceType": "Bundle", "type": "document",
               "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3a8a3e-0000-4000-8000-0000000000d1"},
               "timestamp": "2026-01-02T10:00:00Z", "entry": entries})
    }

    #[test]
    fn a_document_about_the_patient_is_taken() {
        let id = "0c3a8a3e-0000-4000-8000-0000000000a1";
        let split = split_bundle(&document(vec![
            composition(Some(&format!("urn:uuid:{id}"))),
            patient(id),
        ]))
        .unwrap();
        assert_eq!(split.patient["id"], id);
        assert_eq!(split.records.len(), 1);
        assert_eq!(split.records[0].category, Category::Summary);
        // By RESTful reference too.
        split_bundle(&document(vec![
            composition(Some(&format!("Patient/{id}"))),
            patient(id),
        ]))
        .unwrap();
    }

    #[test]
    fn a_document_not_about_the_patient_is_refused() {
        let id = "0c3a8a3e-0000-4000-8000-0000000000a1";
        assert_eq!(
            split_bundle(&document(vec![
                composition(Some("Patient/someone-else")),
                patient(id)
            ])),
            Err(BundleError::DocumentAboutSomeoneElse {
                subject: "Patient/someone-else".into()
            })
        );
        assert_eq!(
            split_bundle(&document(vec![composition(None), patient(id)])),
            Err(BundleError::DocumentAboutSomeoneElse {
                subject: "no one".into()
            })
        );
        assert_eq!(
            split_bundle(&document(vec![
                patient(id),
                composition(Some(&format!("urn:uuid:{id}")))
            ])),
            Err(BundleError::NoComposition("Patient".into()))
        );
    }

    #[test]
    fn the_same_persons_patients_from_two_hospitals_are_one_patient() {
        let person = |id: &str| {
            json!({"fullUrl": format!("urn:uuid:{id}"), "search": {"mode": "match"},
                   "resource": {"resourceType": "Patient", "id": id, "gender": "female",
                                "birthDate": "1980-01-02",
                                "name": [{"family": "Smith", "given": ["Alice"]}]}})
        };
        let (home, elsewhere) = (
            "0c3a8a3e-0000-4000-8000-0000000000a1",
            "0c3a8a3e-0000-4000-8000-0000000000a2",
        );
        let condition = json!({"resource": {"resourceType": "Condition",
            "subject": {"reference": format!("Patient/{elsewhere}")}, "code": {"text": "Asthma"}},
            "search": {"mode": "match"}});
        let export = json!({"resourceType": "Bundle", "type": "searchset",
                            "entry": [person(home), person(elsewhere), condition]});
        let split = split_bundle(&export).unwrap();
        assert_eq!(split.patient["id"], home);
        assert_eq!(split.records.len(), 2, "the other Patient is a record");
        let mut stranger = person(elsewhere);
        stranger["resource"]["birthDate"] = json!("1990-05-06");
        let strangers = json!({"resourceType": "Bundle", "type": "searchset",
                               "entry": [person(home), stranger]});
        assert!(matches!(
            split_bundle(&strangers),
            Err(BundleError::SeveralPatients(..))
        ));
    }

    #[test]
    fn a_searchset_leaves_out_its_outcomes_and_refuses_several_patients() {
        let id = "0c3a8a3e-0000-4000-8000-0000000000a1";
        let matched = |mut entry: Value, mode: &str| {
            entry["search"] = json!({"mode": mode});
            entry
        };
        let condition = json!({"fullUrl": "http://server/fhir/Condition/c9",
            "resource": {"resourceType": "Condition", "id": "c9",
                         "subject": {"reference": format!("Patient/{id}")}, "code": {"text": "Asthma"}}});
        let outcome = json!({"resource": {"resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": "2 matches"}]}});
        let searchset = json!({"resourceType": "Bundle", "type": "searchset", "total": 2, "entry": [
            matched(patient(id), "match"), matched(condition.clone(), "match"),
            matched(outcome, "outcome")]});
        let split = split_bundle(&searchset).unwrap();
        assert_eq!(split.records.len(), 1, "the outcome is no record");
        assert_eq!(split.records[0].resource_type, "Condition");

        let two = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            matched(patient(id), "match"),
            matched(patient("0c3a8a3e-0000-4000-8000-0000000000a2"), "include")]});
        assert!(matches!(
            split_bundle(&two),
            Err(BundleError::SeveralPatients(..))
        ));
    }
}

#[cfg(test)]
mod everything_tests {
    use super::*;
    use crate::{synthetic::patient_bundle, validate};

    #[test]
    fn everything_gives_back_the_imported_resources_as_valid_r4() {
        let split = split_bundle(&patient_bundle(11, 3)).unwrap();
        let resources: Vec<Value> = split
            .records
            .iter()
            .map(|record| record.resource.clone())
            .collect();
        let everything = everything_bundle(&split.patient, &resources);
        validate(&everything).unwrap();
        assert_eq!(everything["total"], 1 + resources.len());
        assert_eq!(everything["entry"][0]["resource"], split.patient);
        for (entry, resource) in everything["entry"].as_array().unwrap()[1..]
            .iter()
            .zip(&resources)
        {
            assert_eq!(
                &entry["resource"], resource,
                "resources come back unchanged"
            );
        }
        assert_eq!(
            everything["entry"][0]["fullUrl"],
            format!("Patient/{}", split.patient["id"].as_str().unwrap())
        );
    }
}
