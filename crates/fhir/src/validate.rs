//! FHIR R4 JSON checked against HL7's R4 JSON schema, with the path of the
//! first invalid element in the error.
//!
//! The schema (`schema/fhir-r4.schema.json.gz`, made by
//! `schema/make_r4_schema.py`) checks element names (nothing unknown),
//! primitive formats (dates, codes, decimals...), required value sets (a
//! `gender` of `mle` is refused) and resource types. Each resource is checked
//! against its own type's definition; a Bundle's shell and each of its
//! entries' resources are checked apart, so an error in an entry names the
//! entry.

use std::{io::Read, sync::OnceLock};

use serde_json::Value;

/// The R4 schema, gzipped.
const SCHEMA_GZ: &[u8] = include_bytes!("../schema/fhir-r4.schema.json.gz");

/// Why a document is not valid FHIR R4.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// The bytes are not JSON.
    #[error("not JSON (line {line}, column {column}): {message}")]
    NotJson {
        /// The line of the first error.
        line: usize,
        /// Its column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The JSON is not a resource: no `resourceType`.
    #[error("{path} is not a FHIR resource: it has no resourceType")]
    NotAResource {
        /// Where (`$` for the document itself).
        path: String,
    },
    /// The resource type is not one FHIR R4 defines.
    #[error("{path}: {resource_type} is not a FHIR R4 resource type")]
    UnknownResourceType {
        /// Where.
        path: String,
        /// The type given.
        resource_type: String,
    },
    /// An element is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The element, FHIRPath-style (`Bundle.entry[2].resource.status`).
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The schema, and its validator, compiled when first needed.
struct Schema {
    document: Value,
    validator: OnceLock<jsonschema::Validator>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(SCHEMA_GZ)
            .read_to_end(&mut text)
            .expect("the bundled schema decompresses");
        let mut document: Value =
            serde_json::from_slice(&text).expect("the bundled schema is JSON");
        let union = discriminated_resource_list(&document);
        document["definitions"]["ResourceList"] = union;
        Schema {
            document,
            validator: OnceLock::new(),
        }
    })
}

/// `ResourceList` (a resource of any type: what `contained`,
/// `Bundle.entry.resource` and `Parameters.parameter.resource` hold) as a
/// union discriminated by `resourceType`: the type named, then that type's
/// definition. HL7's schema writes it as a `oneOf` of every resource type,
/// which a validator can only decide by checking the resource against all
/// 146 of them (real Synthea Bundles contain resources in every
/// ExplanationOfBenefit), and whose failure names no element. Both accept
/// the same resources.
fn discriminated_resource_list(document: &Value) -> Value {
    let mapping = document["discriminator"]["mapping"]
        .as_object()
        .expect("the bundled schema maps resource types to definitions");
    let types: Vec<&String> = mapping.keys().collect();
    let branches: Vec<Value> = mapping
        .iter()
        .map(|(resource_type, definition)| {
            serde_json::json!({
                "if": {"properties": {"resourceType": {"const": resource_type}}},
                "then": {"$ref": definition},
            })
        })
        .collect();
    serde_json::json!({
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": types}},
        "allOf": branches,
    })
}

impl Schema {
    /// Whether `resource_type` is an R4 resource type.
    fn knows(&self, resource_type: &str) -> bool {
        self.document["discriminator"]["mapping"]
            .get(resource_type)
            .is_some()
    }

    /// The validator of every resource type: `ResourceList`, which checks
    /// a resource against its own type's definition. One validator for all
    /// types, compiled once: compiling one a type cost each resource type's
    /// first appearance in a process about a third of a second (over five
    /// seconds for a real Synthea Bundle's first import).
    fn validator(&self) -> &jsonschema::Validator {
        self.validator.get_or_init(|| {
            let schema = serde_json::json!({
                // Draft 7, for the `if`/`then` of `ResourceList`; HL7's
                // schema is draft 6, which draft 7 reads the same.
                "$schema": "http://json-schema.org/draft-07/schema#",
                "definitions": self.document["definitions"],
                "allOf": [{ "$ref": "#/definitions/ResourceList" }],
            });
            jsonschema::options()
                // The schema's patterns (dates, codes, strings) need no
                // look-around or back-reference: the `regex` engine
                // matches them in time linear in the string, where a
                // backtracking engine may not.
                .with_pattern_options(jsonschema::PatternOptions::regex())
                .build(&schema)
                .expect("the bundled schema compiles")
        })
    }
}

/// Compiles the validator now, if no validation has yet: a process that
/// will validate (a gateway, at start) calls it ahead, so that its first
/// import does not wait the fraction of a second compiling takes.
pub fn prepare() {
    schema().validator();
}

/// Parses `bytes` as JSON and checks it is a valid FHIR R4 resource (a
/// Bundle's entries included); returns the JSON.
pub fn parse(bytes: &[u8]) -> Result<Value, FhirError> {
    let document: Value = serde_json::from_slice(bytes).map_err(|error| FhirError::NotJson {
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    validate(&document)?;
    Ok(document)
}

/// Checks that `resource` is a valid FHIR R4 resource (a Bundle's entries
/// included).
pub fn validate(resource: &Value) -> Result<(), FhirError> {
    validate_at(resource, "")
}

fn validate_at(resource: &Value, prefix: &str) -> Result<(), FhirError> {
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
        return Err(FhirError::NotAResource {
            path: if prefix.is_empty() {
                "$".into()
            } else {
                prefix.into()
            },
        });
    };
    let schema = schema();
    if !schema.knows(resource_type) {
        return Err(FhirError::UnknownResourceType {
            path: if prefix.is_empty() {
                "resourceType".into()
            } else {
                format!("{prefix}.resourceType")
            },
            resource_type: resource_type.into(),
        });
    }
    let root = if prefix.is_empty() {
        resource_type
    } else {
        prefix
    };
    let validator = schema.validator();
    if resource_type == "Bundle" {
        // The shell without its resources, then each resource on its own.
        first_error(validator, &bundle_shell(resource), root)?;
        let entries = resource
            .get("entry")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        validate_entries(entries, root)
    } else {
        first_error(validator, resource, root)
    }
}

/// A Bundle without its entries' resources (copied member by member, so
/// the resources themselves are not).
fn bundle_shell(bundle: &Value) -> Value {
    let Value::Object(members) = bundle else {
        return bundle.clone();
    };
    let without_resource = |entry: &Value| match entry {
        Value::Object(entry) => Value::Object(
            entry
                .iter()
                .filter(|(name, _)| *name != "resource")
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    Value::Object(
        members
            .iter()
            .map(|(name, value)| match (name.as_str(), value) {
                ("entry", Value::Array(entries)) => (
                    name.clone(),
                    Value::Array(entries.iter().map(without_resource).collect()),
                ),
                _ => (name.clone(), value.clone()),
            })
            .collect(),
    )
}

/// Validates each entry's resource, on every core; the error is the first
/// invalid entry's, in Bundle order.
fn validate_entries(entries: &[Value], root: &str) -> Result<(), FhirError> {
    let check = |offset: usize, chunk: &[Value]| {
        chunk.iter().enumerate().try_for_each(|(index, entry)| {
            entry.get("resource").map_or(Ok(()), |inner| {
                validate_at(inner, &format!("{root}.entry[{}].resource", offset + index))
            })
        })
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores == 1 || entries.len() < ENTRIES_WORTH_A_THREAD {
        return check(0, entries);
    }
    let per_core = entries.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let workers: Vec<_> = entries
            .chunks(per_core)
            .enumerate()
            .map(|(number, chunk)| scope.spawn(move || check(number * per_core, chunk)))
            .collect();
        // Every worker is joined; the earliest chunk's error wins.
        let results: Vec<_> = workers
            .into_iter()
            .map(|worker| worker.join().expect("validation does not panic"))
            .collect();
        results.into_iter().collect()
    })
}

/// Below this many entries a Bundle is validated on one thread.
const ENTRIES_WORTH_A_THREAD: usize = 256;

fn first_error(
    validator: &jsonschema::Validator,
    instance: &Value,
    root: &str,
) -> Result<(), FhirError> {
    match validator.iter_errors(instance).next() {
        None => Ok(()),
        Some(error) => Err(FhirError::Invalid {
            path: fhir_path(root, &error.instance_path().to_string()),
            message: error.to_string(),
        }),
    }
}

/// `/entry/2/resource` under `Bundle` as `Bundle.entry[2].resource`.
fn fhir_path(root: &str, pointer: &str) -> String {
    let mut path = root.to_string();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.chars().all(|c| c.is_ascii_digit()) && !segment.is_empty() {
            path.push_str(&format!("[{segment}]"));
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observation() -> Value {
        json!({
            "resourceType": "Observation",
            "id": "hba1c",
            "status": "final",
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory"
            }]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-03-01T09:30:00+01:00",
            "valueQuantity": {"value": 6.1, "unit": "%"}
        })
    }

    fn invalid_path(resource: &Value) -> String {
        match validate(resource) {
            Err(FhirError::Invalid { path, .. }) => path,
            other => panic!("expected an invalid element, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_resource_passes() {
        validate(&observation()).unwrap();
        validate(&json!({"resourceType": "Patient", "gender": "female", "birthDate": "1984-02"}))
            .unwrap();
    }

    #[test]
    fn errors_name_the_element() {
        let mut bad_code = json!({"resourceType": "Patient", "gender": "mle"});
        assert_eq!(invalid_path(&bad_code), "Patient.gender");
        bad_code["gender"] = json!("male");
        bad_code["birthDate"] = json!("1990-13-45");
        assert_eq!(invalid_path(&bad_code), "Patient.birthDate");

        let mut unknown_field = observation();
        unknown_field["valueQuantity"]["unitt"] = json!("mg");
        assert_eq!(invalid_path(&unknown_field), "Observation.valueQuantity");
        let mut text_decimal = observation();
        text_decimal["valueQuantity"]["value"] = json!("abc");
        assert_eq!(
            invalid_path(&text_decimal),
            "Observation.valueQuantity.value"
        );
    }

    #[test]
    fn a_contained_resource_is_checked_as_its_own_type() {
        let mut with_contained = observation();
        with_contained["contained"] = json!([
            {"resourceType": "Patient", "id": "p", "gender": "female"},
            {"resourceType": "Practitioner", "id": "d", "name": [{"family": "Who"}]}
        ]);
        validate(&with_contained).unwrap();
        let mut bad = with_contained.clone();
        bad["contained"][1]["gender"] = json!("mle");
        assert_eq!(invalid_path(&bad), "Observation.contained[1].gender");
        let mut unknown = with_contained.clone();
        unknown["contained"][0]["resourceType"] = json!("Bot");
        assert_eq!(
            invalid_path(&unknown),
            "Observation.contained[0].resourceType"
        );
        let mut untyped = with_contained;
        untyped["contained"][0]
            .as_object_mut()
            .unwrap()
            .remove("resourceType");
        assert_eq!(invalid_path(&untyped), "Observation.contained[0]");
    }

    #[test]
    fn unknown_types_and_non_resources_are_refused() {
        assert_eq!(
            validate(&json!({"resourceType": "Bot"})),
            Err(FhirError::UnknownResourceType {
                path: "resourceType".into(),
                resource_type: "Bot".into()
            })
        );
        assert!(matches!(
            validate(&json!({"status": "final"})),
            Err(FhirError::NotAResource { .. })
        ));
        assert!(matches!(
            parse(b"{\"resourceType\":"),
            Err(FhirError::NotJson { .. })
        ));
    }

    #[test]
    fn an_error_in_a_bundle_entry_names_the_entry() {
        let mut bad = observation();
        bad["status"] = json!("done");
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"fullUrl": "urn:uuid:1", "resource": observation(),
                 "request": {"method": "POST", "url": "Observation"}},
                {"fullUrl": "urn:uuid:2", "resource": bad,
                 "request": {"method": "POST", "url": "Observation"}}
            ]
        });
        assert_eq!(invalid_path(&bundle), "Bundle.entry[1].resource.status");
        let message = validate(&bundle).unwrap_err().to_string();
        assert!(
            message.starts_with("Bundle.entry[1].resource.status: \"done\" is not one of"),
            "{message}"
        );
        let mut shell = bundle.clone();
        shell["type"] = json!("pile");
        assert_eq!(invalid_path(&shell), "Bundle.type");
    }

    #[test]
    fn a_large_bundle_names_its_first_invalid_entry_whichever_thread_finds_it() {
        let entry = |resource: Value| json!({"resource": resource});
        let mut entries: Vec<Value> = (0..1000).map(|_| entry(observation())).collect();
        let mut bad = observation();
        bad["status"] = json!("done");
        entries[900] = entry(bad.clone());
        let mut bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
        assert_eq!(invalid_path(&bundle), "Bundle.entry[900].resource.status");
        bundle["entry"][333] = entry(bad);
        assert_eq!(invalid_path(&bundle), "Bundle.entry[333].resource.status");
        bundle["entry"][334]["resource"] = json!({"resourceType": "Bot"});
        assert_eq!(invalid_path(&bundle), "Bundle.entry[333].resource.status");
        bundle["entry"][0]["bogus"] = json!(true);
        assert_eq!(invalid_path(&bundle), "Bundle.entry[0]");
    }
}
