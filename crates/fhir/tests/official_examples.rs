//! Every example HL7 publishes with FHIR R4 (the npm package
//! `hl7.fhir.r4.examples` 4.0.1, fetched by `scripts/setup.sh` into
//! `~/.cache/medigate/corpora`, or wherever `MEDIGATE_R4_EXAMPLES` points)
//! passes the validator, except the thirteen that break R4's own rules, each
//! refused at the element at fault.

mod common;

use std::path::PathBuf;

fn corpus() -> PathBuf {
    let dir = common::r4_examples();
    assert!(
        dir.is_dir(),
        "the HL7 R4 examples are not at {}: run scripts/setup.sh or set MEDIGATE_R4_EXAMPLES",
        dir.display()
    );
    dir
}

/// The examples that break R4's rules, and the element at fault: strings
/// holding non-breaking spaces (R4's `string` pattern allows no whitespace
/// but space, tab, CR and LF) and an id longer than 64 characters.
const INVALID: [(&str, &str); 13] = [
    (
        "Bundle-v2-valuesets.json",
        "Bundle.entry[511].resource.concept[0].designation[0].value",
    ),
    (
        "Bundle-valueset-expansions.json",
        "Bundle.entry[142].resource.expansion.contains[0].display",
    ),
    (
        "Bundle-valuesets.json",
        "Bundle.entry[37].resource.concept[5].definition",
    ),
    (
        "CodeSystem-contract-legalstate.json",
        "CodeSystem.concept[5].definition",
    ),
    (
        "CodeSystem-contract-publicationstatus.json",
        "CodeSystem.concept[5].definition",
    ),
    (
        "CodeSystem-contract-status.json",
        "CodeSystem.concept[5].definition",
    ),
    (
        "CodeSystem-medicationrequest-status.json",
        "CodeSystem.concept[6].definition",
    ),
    ("CodeSystem-program.json", "CodeSystem.concept[0].display"),
    (
        "CodeSystem-v2-0220.json",
        "CodeSystem.concept[0].designation[0].value",
    ),
    (
        "CodeSystem-v2-0396.json",
        "CodeSystem.concept[133].extension[0].valueString",
    ),
    ("CodeSystem-v2-0550.json", "CodeSystem.concept[74].code"),
    (
        "DiagnosticReport-gingival-mass.json",
        "DiagnosticReport.resultsInterpreter[0].display",
    ),
    (
        "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json",
        "SearchParameter.id",
    ),
];

#[test]
fn the_official_r4_examples_validate() {
    let mut files: Vec<_> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json")
                && !path.file_name().unwrap().to_string_lossy().starts_with('.')
                && path.file_name().unwrap() != "package.json"
        })
        .collect();
    files.sort();
    assert!(files.len() > 5_000, "{} examples", files.len());
    let mut refused = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        match medigate_fhir::parse(&bytes) {
            Ok(_) => {}
            Err(medigate_fhir::FhirError::Invalid { path, .. }) => refused.push((name, path)),
            Err(other) => refused.push((name, other.to_string())),
        }
    }
    println!(
        "{} of {} examples valid",
        files.len() - refused.len(),
        files.len()
    );
    let expected: Vec<(String, String)> = INVALID
        .iter()
        .map(|(file, path)| (file.to_string(), path.to_string()))
        .collect();
    assert_eq!(refused, expected);
}
