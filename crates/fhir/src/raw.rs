//! Resources kept byte for byte: an imported Bundle taken apart into the
//! exact JSON text of each resource (so that decimals such as `1.50` stay
//! as written), and search results put together from such texts.

use medigate_access_policy::Category;
use serde::Deserialize;
use serde_json::{Value, value::RawValue};

use crate::{bundle::BundleError, category::category_of, validate::FhirError};

/// One resource of an import, as it will be stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedResource {
    /// Its resource type.
    pub resource_type: String,
    /// Its logical id (given, or taken from its `fullUrl`).
    pub id: String,
    /// Its category.
    pub category: Category,
    /// Its JSON text: as given, with `id` added first when it had none.
    pub text: String,
}

/// A patient's Bundle taken apart.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedBundle {
    /// The (first) Patient's logical id.
    pub patient_id: String,
    /// Where that Patient is in `resources` (any other Patient in the
    /// Bundle is the same person's record from elsewhere).
    pub patient_index: usize,
    /// Every resource, the Patient included, in Bundle order; for a
    /// `document`, the document itself (a `Bundle`) last.
    pub resources: Vec<ImportedResource>,
    /// Entries left out: a searchset's `outcome` entries (messages about
    /// the search).
    pub left_out: usize,
}

#[derive(Deserialize)]
struct RawBundle<'a> {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow, default)]
    entry: Vec<RawEntry<'a>>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(rename = "fullUrl")]
    full_url: Option<String>,
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
}

/// The id a resource without one takes: the UUID of a `urn:uuid:` fullUrl,
/// the last segment of a RESTful one, else one derived from the import and
/// the entry's position (the same on every retry of the import).
fn id_from_full_url(full_url: Option<&str>, import_id: &str, position: usize) -> String {
    let valid = crate::is_valid_id;
    if let Some(url) = full_url {
        if let Some(uuid) = url.strip_prefix("urn:uuid:").filter(|id| valid(id)) {
            return uuid.to_string();
        }
        if let Some(last) = url
            .rsplit('/')
            .next()
            .filter(|id| valid(id) && url.contains('/'))
        {
            return last.to_string();
        }
    }
    let digest = blake3::hash(format!("{import_id}/{position}").as_bytes());
    digest.as_bytes()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `text` (a JSON object) with `"id": id` added as its first member.
fn with_id(text: &str, id: &str) -> String {
    let open = text.find('{').expect("a resource is a JSON object");
    let id = serde_json::to_string(id).expect("a string serializes");
    format!("{}{{\"id\":{id},{}", &text[..open], &text[open + 1..])
}

/// Validates `bytes` as one patient's Bundle (R4, one Patient, nothing about
/// anyone else) and takes it apart into resources, each kept as written.
/// A `document` is kept whole as well, as written, so that it can be read
/// and passed on as the same document; a searchset's `outcome` entries are
/// left out. `import_id` seeds the ids of resources that have neither an id
/// nor a usable `fullUrl`.
pub fn take_apart(bytes: &[u8], import_id: &str) -> Result<ImportedBundle, BundleError> {
    let bundle = crate::validate::parse(bytes)?;
    crate::bundle::check_patient_bundle(&bundle)?;
    let raw: RawBundle<'_> = serde_json::from_slice(bytes).map_err(|error| FhirError::NotJson {
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut resources = Vec::with_capacity(raw.entry.len() + 1);
    let mut patient = None;
    let mut left_out = 0;
    for (position, (entry, value)) in raw.entry.iter().zip(entries).enumerate() {
        if crate::bundle::is_search_outcome(value) {
            left_out += 1;
            continue;
        }
        let (Some(text), Some(resource)) = (entry.resource, value.get("resource")) else {
            return Err(BundleError::NoResource(format!("Bundle.entry[{position}]")));
        };
        let resource_type = resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (id, text) = match resource.get("id").and_then(Value::as_str) {
            Some(id) => (id.to_string(), text.get().to_string()),
            None => {
                let id = id_from_full_url(entry.full_url.as_deref(), import_id, position);
                let text = with_id(text.get(), &id);
                (id, text)
            }
        };
        let imported = ImportedResource {
            category: category_of(resource),
            resource_type,
            id,
            text,
        };
        if imported.resource_type == "Patient" && patient.is_none() {
            patient = Some((imported.id.clone(), resources.len()));
        }
        resources.push(imported);
    }
    debug_assert_eq!(resources.len() + left_out, entries.len());
    if raw.kind.as_deref() == Some("document") {
        // The document itself, byte for byte (with an id when it had none).
        let text = std::str::from_utf8(bytes).expect("valid JSON is UTF-8");
        let (id, text) = match raw.id.filter(|id| crate::is_valid_id(id)) {
            Some(id) => (id, text.to_string()),
            None => {
                let id = id_from_full_url(None, import_id, entries.len());
                let text = with_id(text, &id);
                (id, text)
            }
        };
        resources.push(ImportedResource {
            resource_type: "Bundle".into(),
            id,
            category: category_of(&bundle),
            text,
        });
    }
    let (patient_id, patient_index) = patient.ok_or(BundleError::NoPatient)?;
    Ok(ImportedBundle {
        patient_id,
        patient_index,
        resources,
        left_out,
    })
}

/// One entry of a Bundle the facade answers with.
pub struct Entry<'a> {
    /// The resource's type.
    pub resource_type: &'a str,
    /// Its id.
    pub id: &'a str,
    /// Its JSON text, as stored.
    pub text: &'a str,
}

/// A `searchset` Bundle of `entries` (resources as stored), with `total`
/// matches and paging `links` (relation, url).
pub fn searchset(
    base: &str,
    entries: &[Entry<'_>],
    total: usize,
    links: &[(&str, String)],
) -> String {
    let mut out = String::with_capacity(entries.iter().map(|entry| entry.text.len() + 96).sum());
    out.push_str("{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"total\":");
    out.push_str(&total.to_string());
    if !links.is_empty() {
        out.push_str(",\"link\":[");
        for (position, (relation, url)) in links.iter().enumerate() {
            if position > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::json!({"relation": relation, "url": url}).to_string());
        }
        out.push(']');
    }
    out.push_str(",\"entry\":[");
    for (position, entry) in entries.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        let full_url = format!("{base}/{}/{}", entry.resource_type, entry.id);
        out.push_str("{\"fullUrl\":");
        out.push_str(&serde_json::to_string(&full_url).expect("a string serializes"));
        out.push_str(",\"resource\":");
        out.push_str(entry.text);
        out.push_str(",\"search\":{\"mode\":\"match\"}}");
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = r#"{"resourceType":"Bundle","type":"transaction","entry":[
        {"fullUrl":"urn:uuid:6f1c2c1e-0000-4000-8000-000000000001",
         "resource":{"resourceType":"Patient","id":"p1","gender":"female"},
         "request":{"method":"POST","url":"Patient"}},
        {"fullUrl":"urn:uuid:6f1c2c1e-0000-4000-8000-000000000002",
         "resource":{"resourceType":"Observation","status":"final",
            "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
            "code":{"text":"Temperature"},"subject":{"reference":"Patient/p1"},
            "valueQuantity":{"value":37.50,"unit":"Cel"}},
         "request":{"method":"POST","url":"Observation"}}]}"#;

    #[test]
    fn resources_keep_their_text_and_take_ids_from_full_urls() {
        let taken = take_apart(BUNDLE.as_bytes(), "import").unwrap();
        assert_eq!(taken.patient_id, "p1");
        assert_eq!(taken.resources.len(), 2);
        let observation = &taken.resources[1];
        assert_eq!(observation.id, "6f1c2c1e-0000-4000-8000-000000000002");
        assert_eq!(observation.category, Category::Vitals);
        assert!(
            observation.text.contains("37.50"),
            "the decimal is kept as written"
        );
        let parsed: Value = serde_json::from_str(&observation.text).unwrap();
        assert_eq!(parsed["id"], observation.id.as_str());
        assert_eq!(
            taken.resources[0].text,
            r#"{"resourceType":"Patient","id":"p1","gender":"female"}"#
        );
    }

    #[test]
    fn a_derived_id_is_the_same_on_every_retry() {
        assert_eq!(
            id_from_full_url(None, "i", 3),
            id_from_full_url(None, "i", 3)
        );
        assert_ne!(
            id_from_full_url(None, "i", 3),
            id_from_full_url(None, "i", 4)
        );
        assert_eq!(
            id_from_full_url(Some("http://example.org/fhir/Observation/o-1"), "i", 0),
            "o-1"
        );
    }

    /// The resources of `taken` as searchset entries.
    fn entries_of(taken: &ImportedBundle) -> Vec<Entry<'_>> {
        taken
            .resources
            .iter()
            .map(|resource| Entry {
                resource_type: &resource.resource_type,
                id: &resource.id,
                text: &resource.text,
            })
            .collect()
    }

    #[test]
    fn a_searchset_is_valid_r4_with_the_texts_inside() {
        let taken = take_apart(BUNDLE.as_bytes(), "import").unwrap();
        let entries = entries_of(&taken);
        let text = searchset(
            "http://gw/fhir",
            &entries,
            2,
            &[("self", "http://gw/fhir/x".into())],
        );
        assert!(text.contains("37.50"));
        let bundle = crate::parse(text.as_bytes()).unwrap();
        crate::validate(&bundle).unwrap();
    }

    #[test]
    fn a_document_is_kept_whole_besides_its_entries() {
        let id = "0c3a8a3e-0000-4000-8000-0000000000a1";
        let document = format!(
            r#"{{"resourceType":"Bundle","type":"document","timestamp":"2026-01-02T10:00:00Z",
            "identifier":{{"system":"urn:ietf:rfc:3986","value":"urn:uuid:0c3a8a3e-0000-4000-8000-0000000000d1"}},
            "entry":[
            {{"fullUrl":"urn:uuid:0c3a8a3e-0000-4000-8000-00000000c001","resource":{{"resourceType":"Composition",
              "status":"final","type":{{"coding":[{{"system":"http://loinc.org","code":"60591-5"}}]}},
              "subject":{{"reference":"urn:uuid:{id}"}},"date":"2026-01-02","author":[{{"display":"Dr Who"}}],
              "title":"Patient Summary"}}}},
            {{"fullUrl":"urn:uuid:{id}","resource":{{"resourceType":"Patient","id":"{id}","gender":"female"}}}},
            {{"fullUrl":"urn:uuid:0c3a8a3e-0000-4000-8000-00000000b001","resource":{{"resourceType":"Observation",
              "status":"final","code":{{"text":"Weight"}},"subject":{{"reference":"urn:uuid:{id}"}},
              "valueQuantity":{{"value":61.50,"unit":"kg"}}}}}}]}}"#
        );
        let taken = take_apart(document.as_bytes(), "import").unwrap();
        let types: Vec<&str> = taken
            .resources
            .iter()
            .map(|resource| resource.resource_type.as_str())
            .collect();
        assert_eq!(types, ["Composition", "Patient", "Observation", "Bundle"]);
        assert_eq!(taken.patient_index, 1);
        assert_eq!(taken.patient_id, id);
        let whole = &taken.resources[3];
        assert_eq!(whole.category, Category::Summary);
        // The document as written, with an id added (it had none), the
        // same on every retry of the import.
        assert_eq!(whole.text, with_id(&document, &whole.id));
        assert_eq!(
            take_apart(document.as_bytes(), "import").unwrap().resources[3].id,
            whole.id
        );
        let parsed: Value = serde_json::from_str(&whole.text).unwrap();
        crate::validate(&parsed).unwrap();
        assert!(whole.text.contains("61.50"));
    }

    #[test]
    fn a_searchset_made_here_imports_again() {
        let taken = take_apart(BUNDLE.as_bytes(), "import").unwrap();
        let entries = entries_of(&taken);
        let exported = searchset("http://gw/fhir", &entries, 2, &[]);
        let again = take_apart(exported.as_bytes(), "again").unwrap();
        assert_eq!(again.resources, taken.resources);
        assert_eq!(again.left_out, 0);
    }

    #[test]
    fn a_bundle_of_two_patients_is_refused() {
        let two = BUNDLE.replace(
            r#""resource":{"resourceType":"Observation""#,
            r#""resource":{"resourceType":"Patient","id":"p2"},"x":{"resourceType":"Observation""#,
        );
        assert!(matches!(
            take_apart(two.as_bytes(), "import"),
            Err(BundleError::SeveralPatients(..)) | Err(BundleError::Invalid(_))
        ));
    }
}
