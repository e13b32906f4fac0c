//! FHIR resources as people read them: a title, a date and a value for a
//! timeline row, and labelled fields for a record's page.

use serde_json::{Map, Value};

/// A resource in one line: what it is, when, and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headline {
    /// What it is ("Hemoglobin A1c", "Penicillin allergy").
    pub title: String,
    /// Its clinical date (`2024-03-01`), if it has one.
    pub date: Option<String>,
    /// Its value or status ("6.1 %", "active").
    pub value: Option<String>,
}

/// One labelled field of a record's page; nested elements are nested fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The element's name, in words ("Effective date time").
    pub label: String,
    /// Its text, when it reads as one line.
    pub text: Option<String>,
    /// Its parts, when it does not.
    pub parts: Vec<Field>,
}

/// The elements that say when something happened, in the order tried.
const DATE_PATHS: [&[&str]; 14] = [
    &["effectiveDateTime"],
    &["effectivePeriod", "start"],
    &["issued"],
    &["onsetDateTime"],
    &["recordedDate"],
    &["authoredOn"],
    &["occurrenceDateTime"],
    &["performedDateTime"],
    &["performedPeriod", "start"],
    &["period", "start"],
    &["billablePeriod", "start"],
    &["date"],
    &["created"],
    &["birthDate"],
];

/// The clinical date of a resource: the first of its usual date elements.
pub fn clinical_date(resource: &Value) -> Option<&str> {
    DATE_PATHS.iter().find_map(|path| {
        path.iter()
            .try_fold(resource, |value, key| value.get(key))
            .and_then(Value::as_str)
    })
}

/// The text of a CodeableConcept: its `text`, else its first coding's
/// display, else its first code.
pub fn concept_text(concept: &Value) -> Option<String> {
    if let Some(text) = concept.get("text").and_then(Value::as_str) {
        return Some(text.to_string());
    }
    let codings = concept.get("coding")?.as_array()?;
    codings
        .iter()
        .find_map(|coding| coding.get("display").and_then(Value::as_str))
        .or_else(|| {
            codings
                .iter()
                .find_map(|coding| coding.get("code").and_then(Value::as_str))
        })
        .map(str::to_string)
}

fn first_concept(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Array(items) => items.iter().find_map(concept_text),
        concept => concept_text(concept),
    }
}

/// A Quantity as "6.1 %".
fn quantity_text(quantity: &Value) -> Option<String> {
    let number = quantity.get("value")?;
    let unit = quantity
        .get("unit")
        .or_else(|| quantity.get("code"))
        .or_else(|| quantity.get("currency"))
        .and_then(Value::as_str);
    Some(match unit {
        Some(unit) => format!("{number} {unit}"),
        None => number.to_string(),
    })
}

/// A HumanName as "Ana María Pérez".
fn name_text(name: &Value) -> Option<String> {
    if let Some(text) = name.get("text").and_then(Value::as_str) {
        return Some(text.to_string());
    }
    let mut words: Vec<&str> = name
        .get("given")
        .and_then(Value::as_array)
        .map(|given| given.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    words.extend(name.get("family").and_then(Value::as_str));
    (!words.is_empty()).then(|| words.join(" "))
}

/// The value of an Observation-like resource: `value[x]`, or its components
/// joined ("120 mm[Hg] / 80 mm[Hg]").
fn observed_value(resource: &Value) -> Option<String> {
    let single = |holder: &Value| {
        holder
            .get("valueQuantity")
            .and_then(quantity_text)
            .or_else(|| holder.get("valueCodeableConcept").and_then(concept_text))
            .or_else(|| {
                ["valueString", "valueDateTime"]
                    .iter()
                    .find_map(|key| holder.get(*key).and_then(Value::as_str))
                    .map(str::to_string)
            })
            .or_else(|| {
                ["valueBoolean", "valueInteger"]
                    .iter()
                    .find_map(|key| holder.get(*key))
                    .map(Value::to_string)
            })
    };
    single(resource).or_else(|| {
        let parts: Vec<String> = resource
            .get("component")?
            .as_array()?
            .iter()
            .filter_map(single)
            .collect();
        (!parts.is_empty()).then(|| parts.join(" / "))
    })
}

/// What a resource is, in words.
fn title_of(resource: &Value) -> Option<String> {
    let kind = resource.get("resourceType").and_then(Value::as_str)?;
    match kind {
        "Patient" | "Practitioner" | "RelatedPerson" => resource
            .get("name")
            .and_then(Value::as_array)
            .and_then(|names| names.iter().find_map(name_text)),
        "MedicationRequest" | "MedicationStatement" | "MedicationAdministration" => resource
            .get("medicationCodeableConcept")
            .and_then(concept_text),
        "Immunization" => resource.get("vaccineCode").and_then(concept_text),
        "Encounter" => first_concept(resource.get("type")).or_else(|| {
            resource
                .pointer("/class/display")
                .or_else(|| resource.pointer("/class/code"))
                .and_then(Value::as_str)
                .map(|class| format!("{class} encounter"))
        }),
        "DocumentReference" => resource
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                resource
                    .pointer("/content/0/attachment/title")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .or_else(|| resource.get("type").and_then(concept_text)),
        "Claim" | "ExplanationOfBenefit" | "Coverage" => first_concept(resource.get("type")),
        "CarePlan" | "Goal" => first_concept(resource.get("category"))
            .or_else(|| resource.get("description").and_then(concept_text)),
        "Composition" => resource
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => resource.get("code").and_then(concept_text),
    }
}

/// Spaces a FHIR element or type name into words ("effectiveDateTime" →
/// "Effective date time").
pub fn words_of(name: &str) -> String {
    let mut words = String::with_capacity(name.len() + 4);
    for (position, character) in name.chars().enumerate() {
        if position == 0 {
            words.extend(character.to_uppercase());
        } else if character.is_uppercase() {
            words.push(' ');
            words.extend(character.to_lowercase());
        } else {
            words.push(character);
        }
    }
    words
}

/// The one-line form of a resource.
pub fn headline(resource: &Value) -> Headline {
    let kind = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Resource");
    let title = title_of(resource).unwrap_or_else(|| words_of(kind));
    let status = resource
        .get("clinicalStatus")
        .and_then(concept_text)
        .or_else(|| {
            resource
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    Headline {
        title,
        date: clinical_date(resource).map(str::to_string),
        value: observed_value(resource).or(status),
    }
}

/// An element as one line of text, when it reads as one.
fn one_line(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(true) => Some("yes".into()),
        Value::Bool(false) => Some("no".into()),
        Value::Object(object) => {
            if object.contains_key("coding") || object.contains_key("text") {
                concept_text(value)
            } else if object.contains_key("value") && !object.contains_key("system") {
                quantity_text(value)
            } else if let (Some(system), Some(identifier)) = (
                object.get("system").and_then(Value::as_str),
                object.get("value").and_then(Value::as_str),
            ) {
                Some(format!("{identifier} ({system})"))
            } else if let Some(reference) = object.get("reference").and_then(Value::as_str) {
                Some(match object.get("display").and_then(Value::as_str) {
                    Some(display) => format!("{display} ({reference})"),
                    None => reference.to_string(),
                })
            } else if let Some(div) = object.get("div").and_then(Value::as_str) {
                Some(narrative_text(div))
            } else if object.contains_key("family") || object.contains_key("given") {
                name_text(value)
            } else if object.contains_key("start") || object.contains_key("end") {
                let end = |key| object.get(key).and_then(Value::as_str).unwrap_or("…");
                Some(format!("{} – {}", end("start"), end("end")))
            } else if let (Some(system), Some(code)) = (
                object.get("system").and_then(Value::as_str),
                object.get("code").and_then(Value::as_str),
            ) {
                Some(
                    object
                        .get("display")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("{code} ({system})"), str::to_string),
                )
            } else {
                None
            }
        }
        Value::Array(items) => {
            let lines: Option<Vec<String>> = items.iter().map(one_line).collect();
            lines
                .filter(|lines| !lines.is_empty())
                .map(|lines| lines.join("; "))
        }
        Value::Null => None,
    }
}

/// The text of XHTML narrative: its tags dropped, its entities read.
fn narrative_text(div: &str) -> String {
    let mut text = String::with_capacity(div.len());
    let mut in_tag = false;
    for character in div.chars() {
        match character {
            '<' => in_tag = true,
            '>' => in_tag = false,
            other if !in_tag => text.push(other),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// Elements of a resource people do not read: what identifies the document
/// itself, and its narrative, already shown as fields.
const HIDDEN: [&str; 5] = ["resourceType", "id", "meta", "text", "contained"];

/// Elements not shown at any depth: attachment data is offered as a
/// download instead.
const HIDDEN_INSIDE: [&str; 1] = ["data"];

fn fields_of(object: &Map<String, Value>, top: bool) -> Vec<Field> {
    object
        .iter()
        .filter(|(name, _)| {
            !HIDDEN_INSIDE.contains(&name.as_str()) && !(top && HIDDEN.contains(&name.as_str()))
        })
        .map(|(name, value)| field(name, value))
        .collect()
}

fn field(name: &str, value: &Value) -> Field {
    let label = words_of(name);
    if let Some(text) = one_line(value) {
        return Field {
            label,
            text: Some(text),
            parts: Vec::new(),
        };
    }
    let parts = match value {
        Value::Object(object) => fields_of(object, false),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(position, item)| field(&format!("{} {}", words_of(name), position + 1), item))
            .collect(),
        _ => Vec::new(),
    };
    Field {
        label,
        text: None,
        parts,
    }
}

/// A resource's fields, labelled, for its page.
pub fn fields(resource: &Value) -> Vec<Field> {
    resource
        .as_object()
        .map(|object| fields_of(object, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_observation_reads_as_its_code_date_and_value() {
        let observation = json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}]},
            "effectiveDateTime": "2024-03-01T10:00:00Z",
            "valueQuantity": {"value": 6.1, "unit": "%"}
        });
        assert_eq!(
            headline(&observation),
            Headline {
                title: "Hemoglobin A1c".into(),
                date: Some("2024-03-01T10:00:00Z".into()),
                value: Some("6.1 %".into()),
            }
        );
    }

    #[test]
    fn blood_pressure_reads_as_its_components() {
        let observation = json!({
            "resourceType": "Observation", "code": {"text": "Blood pressure"},
            "component": [
                {"code": {"text": "Systolic"}, "valueQuantity": {"value": 120, "unit": "mm[Hg]"}},
                {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 80, "unit": "mm[Hg]"}}
            ]
        });
        assert_eq!(
            headline(&observation).value.as_deref(),
            Some("120 mm[Hg] / 80 mm[Hg]")
        );
    }

    #[test]
    fn each_kind_finds_its_title_where_it_keeps_it() {
        let cases = [
            (
                json!({"resourceType": "Patient", "name": [{"given": ["Ana", "María"], "family": "Pérez"}]}),
                "Ana María Pérez",
            ),
            (
                json!({"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": "Metformin 500 mg"}}),
                "Metformin 500 mg",
            ),
            (
                json!({"resourceType": "Immunization", "vaccineCode": {"coding": [{"code": "140"}]}}),
                "140",
            ),
            (
                json!({"resourceType": "Encounter", "class": {"code": "AMB"}}),
                "AMB encounter",
            ),
            (
                json!({"resourceType": "DocumentReference", "content": [{"attachment": {"title": "scan.pdf"}}]}),
                "scan.pdf",
            ),
            (json!({"resourceType": "Goal"}), "Goal"),
        ];
        for (resource, title) in cases {
            assert_eq!(headline(&resource).title, title, "{resource}");
        }
    }

    #[test]
    fn fields_read_as_words_and_hide_what_people_do_not_read() {
        let condition = json!({
            "resourceType": "Condition", "id": "c1", "meta": {"versionId": "1"},
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "subject": {"reference": "Patient/p1"},
            "onsetPeriod": {"start": "2020-01-01"},
            "note": [{"text": "mild"}, {"text": "stable"}]
        });
        let mut fields = fields(&condition);
        fields.sort_by(|a, b| a.label.cmp(&b.label));
        let read: Vec<(&str, Option<&str>)> = fields
            .iter()
            .map(|field| (field.label.as_str(), field.text.as_deref()))
            .collect();
        assert_eq!(
            read,
            [
                ("Clinical status", Some("active")),
                ("Note", Some("mild; stable")),
                ("Onset period", Some("2020-01-01 – …")),
                ("Subject", Some("Patient/p1")),
            ]
        );
    }

    #[test]
    fn nested_elements_become_nested_fields() {
        let resource = json!({"resourceType": "Claim", "item": [{"sequence": 1, "net": {"value": 12, "currency": "USD"}}]});
        let fields = fields(&resource);
        assert_eq!(fields[0].label, "Item");
        assert_eq!(fields[0].parts[0].label, "Item 1");
        assert_eq!(fields[0].parts[0].parts[0].label, "Net");
        assert_eq!(fields[0].parts[0].parts[0].text.as_deref(), Some("12 USD"));
    }

    #[test]
    fn narrative_reads_as_its_text() {
        let note = json!({"resourceType": "Composition", "section": [{"text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Stable &amp; &lt;well&gt;</p></div>"}}]});
        let text = &fields(&note)[0].parts[0].parts[0];
        assert_eq!(text.label, "Text");
        assert_eq!(text.text.as_deref(), Some("Stable & <well>"));
    }
}
