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
}
