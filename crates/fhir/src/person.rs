//! Whether a Patient resource is the person an account already holds
//! records of. A MediGate account is one person's; the same person's records
//! come from several hospitals, each with its own Patient id and medical
//! record number, so a match goes by who the person is, not by ids.
//!
//! The rule, in [`match_person`]: a Patient with the id of one the account
//! holds is that one (a new version of it). Otherwise it is the same person
//! when the birth date (to the day), the administrative sex and a name
//! (family name and first given name, compared without case, spaces,
//! hyphens or apostrophes) are the same as those of a Patient the account
//! holds; any of a Patient's names may match any of the other's, so a name
//! kept under `old` or `maiden` use still matches. A Patient missing one of
//! these cannot be matched, and is refused like one that differs.

use serde_json::Value;

/// Why a Patient is not taken as the account's person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PersonMismatch {
    /// A demographic differs.
    #[error(
        "the Bundle is about someone else: its patient's {field} is {incoming:?}, the account's is \
         {account:?}; an account holds one person's records"
    )]
    Differs {
        /// `birthDate`, `gender` or `name`.
        field: &'static str,
        /// The value in the account's Patient.
        account: String,
        /// The value in the Bundle's Patient.
        incoming: String,
    },
    /// A demographic a match needs is missing.
    #[error(
        "the {side} Patient has no {field}, so it cannot be matched to the account's person: \
         a Patient joins an account by its name, birth date and sex"
    )]
    Missing {
        /// `birthDate`, `gender` or `name`.
        field: &'static str,
        /// `Bundle's` or `account's`.
        side: &'static str,
    },
}

/// How a Patient joins an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonMatch {
    /// The account holds no Patient yet: this one is its person.
    First,
    /// The account holds a Patient of this very id: a new version of it.
    SameRecord,
    /// Another Patient resource of the same person (another hospital's):
    /// the ids of the account's Patients it is to be linked to.
    SamePerson(Vec<String>),
}

/// Whether `incoming` (a Patient resource) is the person of an account that
/// holds the Patient resources `account` (none for a new account).
pub fn match_person(account: &[Value], incoming: &Value) -> Result<PersonMatch, PersonMismatch> {
    if account.is_empty() {
        return Ok(PersonMatch::First);
    }
    if let Some(id) = incoming["id"].as_str()
        && account.iter().any(|patient| patient["id"] == id)
    {
        return Ok(PersonMatch::SameRecord);
    }
    let theirs = Demographics::of(incoming, "Bundle's")?;
    // Whichever of the account's Patients the person matches, they are all
    // linked; the first one's differences are the ones reported.
    let mut first_mismatch = None;
    for patient in account {
        match Demographics::of(patient, "account's").and_then(|ours| ours.compare(&theirs)) {
            Ok(()) => {
                let ids = account
                    .iter()
                    .filter_map(|patient| patient["id"].as_str().map(String::from))
                    .collect();
                return Ok(PersonMatch::SamePerson(ids));
            }
            Err(mismatch) => {
                first_mismatch.get_or_insert(mismatch);
            }
        }
    }
    Err(first_mismatch.expect("the account holds a Patient"))
}

/// What a person is matched on.
struct Demographics {
    birth_date: String,
    gender: String,
    /// Each name as (family, first given), normalized.
    names: Vec<(String, String)>,
    /// The first name as written, for messages.
    shown_name: String,
}

impl Demographics {
    fn of(patient: &Value, side: &'static str) -> Result<Self, PersonMismatch> {
        let missing = |field| PersonMismatch::Missing { field, side };
        let birth_date = patient["birthDate"]
            .as_str()
            .filter(|date| date.len() >= 10)
            .ok_or(missing("birthDate"))?
            .to_string();
        let gender = patient["gender"]
            .as_str()
            .filter(|gender| *gender != "unknown")
            .ok_or(missing("gender"))?
            .to_string();
        let written: Vec<(&str, &str)> = patient["name"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|name| {
                let family = name["family"].as_str()?;
                let given = name["given"].as_array()?.first()?.as_str()?;
                Some((family, given))
            })
            .collect();
        let (family, given) = written.first().ok_or(missing("name"))?;
        Ok(Demographics {
            birth_date,
            gender,
            names: written
                .iter()
                .map(|(family, given)| (normalized(family), normalized(given)))
                .collect(),
            shown_name: format!("{given} {family}"),
        })
    }

    /// Whether `theirs` is the same person, or what differs first.
    fn compare(&self, theirs: &Demographics) -> Result<(), PersonMismatch> {
        let differs = |field, account: &str, incoming: &str| PersonMismatch::Differs {
            field,
            account: account.into(),
            incoming: incoming.into(),
        };
        if self.birth_date != theirs.birth_date {
            return Err(differs("birthDate", &self.birth_date, &theirs.birth_date));
        }
        if self.gender != theirs.gender {
            return Err(differs("gender", &self.gender, &theirs.gender));
        }
        if !self.names.iter().any(|name| theirs.names.contains(name)) {
            return Err(differs("name", &self.shown_name, &theirs.shown_name));
        }
        Ok(())
    }
}

/// A name part without case, spaces, hyphens, apostrophes or dots.
fn normalized(part: &str) -> String {
    part.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A Patient's JSON `text` with `Patient.link` entries of type `seealso`
/// to the Patients `others` (ids): "the same person, another record". The
/// text is kept as written, the link added last; a Patient that has links
/// already gets the new ones after its own (and is written out again).
pub fn with_links(text: &str, others: &[String]) -> String {
    let links: Vec<Value> = others
        .iter()
        .map(|id| {
            serde_json::json!({
                "other": {"reference": format!("Patient/{id}")},
                "type": "seealso",
            })
        })
        .collect();
    if links.is_empty() {
        return text.to_string();
    }
    let mut parsed: Value = match serde_json::from_str(text) {
        Ok(parsed) => parsed,
        Err(_) => return text.to_string(),
    };
    if let Some(existing) = parsed.get_mut("link").and_then(Value::as_array_mut) {
        for link in links {
            if !existing.contains(&link) {
                existing.push(link);
            }
        }
        return parsed.to_string();
    }
    let close = text.rfind('}').expect("a Patient is a JSON object");
    let before = text[..close].trim_end();
    let separator = if before.ends_with('{') { "" } else { "," };
    format!(
        "{before}{separator}\"link\":{}{}",
        Value::Array(links),
        &text[close..]
    )
}

/// The references that name one person: each of their Patient resources
/// as `Patient/<id>`, as an absolute URL ending in `/Patient/<id>` (a
/// server's RESTful reference), as `urn:uuid:<id>`, or by the fullUrl it has
/// in a Bundle; a version (`/_history/<n>`) is ignored. Import, the patient
/// summary and `$everything` all decide "is this resource about the
/// account's person" with it.
#[derive(Clone, Debug, Default)]
pub struct PersonReferences {
    full_urls: Vec<String>,
    ids: Vec<String>,
}

impl PersonReferences {
    /// The references of no one yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The references of the Patients `patients`, one person's.
    pub fn of<'a>(patients: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut references = Self::new();
        for patient in patients {
            references.add(patient, None);
        }
        references
    }

    /// Takes `patient` (with its fullUrl in a Bundle, if it has one) as one
    /// more Patient resource of this person.
    pub fn add(&mut self, patient: &Value, full_url: Option<&str>) {
        if let Some(full_url) = full_url.filter(|url| !url.is_empty()) {
            self.full_urls.push(full_url.to_string());
        }
        if let Some(id) = patient.get("id").and_then(Value::as_str) {
            self.ids.push(id.to_string());
        }
    }

    /// The ids of this person's Patient resources.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Whether `reference` names one of this person's Patient resources.
    pub fn names_person(&self, reference: &str) -> bool {
        let reference = unversioned(reference);
        // The id the reference names, in whichever form it is written.
        let named_id = reference
            .strip_prefix("urn:uuid:")
            .or_else(|| reference.strip_prefix("Patient/"))
            .or_else(|| {
                reference
                    .rsplit_once("/Patient/")
                    .map(|(_, id)| id)
                    .filter(|_| reference.contains("://"))
            });
        self.full_urls.iter().any(|url| url == reference)
            || named_id.is_some_and(|named| self.ids.iter().any(|id| id == named))
    }

    /// Whether a resource referring to `reference` as its subject or
    /// patient may be this person's: the reference names this person, or
    /// names no patient at all (a Group, a Device, a Location...).
    pub fn allows(&self, reference: &str) -> bool {
        !names_a_patient(reference) || self.names_person(reference)
    }

    /// Whether `resource` may be this person's: each of its subject and
    /// patient references is [allowed](Self::allows).
    pub fn allows_resource(&self, resource: &Value) -> bool {
        subject_references(resource).all(|(_, reference)| self.allows(reference))
    }
}

/// Whether `reference`, by its form alone, names a patient: `Patient/<id>`,
/// a URL with `/Patient/<id>`, or a `urn:` (a Bundle entry, whose type the
/// reference does not say; inside a Bundle, look the fullUrl up first).
pub fn names_a_patient(reference: &str) -> bool {
    reference.starts_with("Patient/")
        || reference.contains("/Patient/")
        || reference.starts_with("urn:")
}

/// The references that say whom `resource` is about: its `subject` and its
/// `patient` (the element and the reference).
pub fn subject_references(resource: &Value) -> impl Iterator<Item = (&'static str, &str)> {
    ["subject", "patient"].into_iter().filter_map(|element| {
        resource
            .get(element)?
            .get("reference")?
            .as_str()
            .map(|reference| (element, reference))
    })
}

/// Whether the Patients `one` and `other` are linked, by `Patient.link` of
/// either naming the other: the same person's records from two places.
pub fn linked(one: &Value, other: &Value) -> bool {
    let names = |patient: &Value| PersonReferences::of([patient]);
    let (one_names, other_names) = (names(one), names(other));
    links(one).any(|reference| other_names.names_person(reference))
        || links(other).any(|reference| one_names.names_person(reference))
}

/// The references of `patient.link`.
fn links(patient: &Value) -> impl Iterator<Item = &str> {
    patient
        .get("link")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|link| link.pointer("/other/reference").and_then(Value::as_str))
}

/// `reference` without its version (`/_history/<n>`).
fn unversioned(reference: &str) -> &str {
    reference
        .split_once("/_history/")
        .map_or(reference, |(unversioned, _)| unversioned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient(id: &str, given: &str, family: &str, birth: &str, gender: &str) -> Value {
        json!({"resourceType": "Patient", "id": id,
               "name": [{"use": "official", "family": family, "given": [given, "Q"]}],
               "birthDate": birth, "gender": gender})
    }

    #[test]
    fn the_first_patient_of_an_account_is_its_person() {
        let alice = patient("a", "Alice", "Smith", "1980-01-02", "female");
        assert_eq!(match_person(&[], &alice), Ok(PersonMatch::First));
        assert_eq!(
            match_person(std::slice::from_ref(&alice), &alice),
            Ok(PersonMatch::SameRecord)
        );
    }

    #[test]
    fn another_hospitals_record_of_the_same_person_joins() {
        let account = [patient("a", "Alice", "Smith", "1980-01-02", "female")];
        let elsewhere = patient("mrn-77", "alice", "SMITH", "1980-01-02", "female");
        assert_eq!(
            match_person(&account, &elsewhere),
            Ok(PersonMatch::SamePerson(vec!["a".into()]))
        );
        let mut hyphenated = patient("x", "Anne-Marie", "O'Neil", "1970-03-04", "female");
        let account = [hyphenated.clone()];
        hyphenated["id"] = json!("y");
        hyphenated["name"][0]["family"] = json!("ONeil");
        hyphenated["name"][0]["given"][0] = json!("Anne Marie");
        assert!(matches!(
            match_person(&account, &hyphenated),
            Ok(PersonMatch::SamePerson(_))
        ));
        // A maiden name kept among the names still matches.
        let mut married = patient("m", "Alice", "Jones", "1980-01-02", "female");
        married["name"]
            .as_array_mut()
            .unwrap()
            .push(json!({"use": "maiden", "family": "Smith", "given": ["Alice"]}));
        let account = [patient("a", "Alice", "Smith", "1980-01-02", "female")];
        assert!(matches!(
            match_person(&account, &married),
            Ok(PersonMatch::SamePerson(_))
        ));
    }

    #[test]
    fn someone_else_is_refused_naming_what_differs() {
        let account = [patient("a", "Alice", "Smith", "1980-01-02", "female")];
        let cases = [
            (
                patient("b", "Alice", "Smith", "1980-01-03", "female"),
                "birthDate",
            ),
            (
                patient("b", "Alice", "Smith", "1980-01-02", "male"),
                "gender",
            ),
            (
                patient("b", "Alicia", "Smith", "1980-01-02", "female"),
                "name",
            ),
            (
                patient("b", "Alice", "Smythe", "1980-01-02", "female"),
                "name",
            ),
        ];
        for (other, differing) in cases {
            match match_person(&account, &other) {
                Err(PersonMismatch::Differs { field, .. }) => assert_eq!(field, differing),
                outcome => panic!("{other} gave {outcome:?}"),
            }
        }
        let message = match_person(
            &account,
            &patient("b", "Bob", "Smith", "1980-01-02", "female"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("\"Alice Smith\"") && message.contains("\"Bob Smith\""),
            "{message}"
        );
    }

    #[test]
    fn a_patient_without_what_a_match_needs_is_refused() {
        let account = [patient("a", "Alice", "Smith", "1980-01-02", "female")];
        let mut vague = patient("b", "Alice", "Smith", "1980", "female");
        assert_eq!(
            match_person(&account, &vague),
            Err(PersonMismatch::Missing {
                field: "birthDate",
                side: "Bundle's"
            })
        );
        vague["birthDate"] = json!("1980-01-02");
        vague["gender"] = json!("unknown");
        assert!(matches!(
            match_person(&account, &vague),
            Err(PersonMismatch::Missing {
                field: "gender",
                ..
            })
        ));
        vague["gender"] = json!("female");
        vague.as_object_mut().unwrap().remove("name");
        assert!(matches!(
            match_person(&account, &vague),
            Err(PersonMismatch::Missing { field: "name", .. })
        ));
    }

    #[test]
    fn links_are_added_keeping_the_text_as_written() {
        let text =
            r#"{"resourceType":"Patient","id":"b","extension":[{"url":"x","valueDecimal":1.50}]}"#;
        let linked = with_links(text, &["a".into()]);
        assert!(linked.starts_with(r#"{"resourceType":"Patient","id":"b","extension":[{"url":"x","valueDecimal":1.50}],"link":"#));
        let parsed: Value = serde_json::from_str(&linked).unwrap();
        assert_eq!(
            parsed["link"],
            json!([{"other": {"reference": "Patient/a"}, "type": "seealso"}])
        );
        crate::validate(&parsed).unwrap();
        // Links already there stay, none twice.
        let again = with_links(&linked, &["a".into(), "c".into()]);
        let parsed: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(parsed["link"].as_array().unwrap().len(), 2);
        assert_eq!(with_links(text, &[]), text);
    }

    #[test]
    fn a_persons_references_are_every_form_of_each_of_their_patients() {
        let mut person = PersonReferences::of([&json!({"resourceType": "Patient", "id": "a"})]);
        person.add(
            &json!({"resourceType": "Patient", "id": "b"}),
            Some("urn:uuid:1f6f2bd4-0001"),
        );
        for reference in [
            "Patient/a",
            "Patient/a/_history/3",
            "urn:uuid:a",
            "https://hospital.example/fhir/Patient/a",
            "https://hospital.example/fhir/Patient/b/_history/1",
            "Patient/b",
            "urn:uuid:1f6f2bd4-0001",
        ] {
            assert!(person.names_person(reference), "{reference}");
            assert!(person.allows(reference), "{reference}");
        }
        for reference in [
            "Patient/ab",
            "Patient/c",
            "urn:uuid:c",
            "https://hospital.example/fhir/Patient/aa",
            "Patient/a/extra",
            "relative/Patient/a",
        ] {
            assert!(!person.names_person(reference), "{reference}");
            assert!(!person.allows(reference), "{reference}");
        }
        // A subject that is no patient at all (a Group, a Device) may be
        // the person's; so may a resource that names no one.
        assert!(person.allows("Group/ward-3"));
        assert!(person.allows_resource(&json!({"resourceType": "Observation"})));
        assert!(person.allows_resource(
            &json!({"resourceType": "Observation", "subject": {"reference": "Patient/b"}})
        ));
        assert!(!person.allows_resource(&json!({
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/c"}
        })));
        assert_eq!(person.ids(), ["a", "b"]);
    }

    #[test]
    fn patients_are_linked_when_either_names_the_other() {
        let a = json!({"resourceType": "Patient", "id": "a"});
        let b = json!({"resourceType": "Patient", "id": "b",
                       "link": [{"other": {"reference": "Patient/a"}, "type": "seealso"}]});
        let c = json!({"resourceType": "Patient", "id": "c"});
        assert!(linked(&a, &b));
        assert!(linked(&b, &a));
        assert!(!linked(&a, &c));
        assert!(!linked(&b, &c));
    }
}
