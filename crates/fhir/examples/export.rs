//! Writes FHIR JSON that MediGate makes into a directory, for an outside
//! validator (`scripts/check_fhir.py`):
//!
//! ```sh
//! cargo run -p medigate-fhir --example export -- DIR [SEED] [ENCOUNTERS]
//! scripts/check_fhir.py DIR
//! ```
//!
//! `synthetic-bundle.json` (a synthetic patient's transaction Bundle),
//! `everything-bundle.json` (their `$everything` searchset),
//! `ips-bundle.json` (their International Patient Summary) and, under
//! `ips/`, each resource of the summary on its own.

use std::{fs, path::PathBuf, process::ExitCode};

use medigate_fhir::{everything_bundle, patient_summary, split_bundle, synthetic, validate};
use serde_json::Value;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: export DIR [SEED] [ENCOUNTERS]");
        return ExitCode::from(2);
    };
    let mut number = |default: u64| {
        args.next()
            .map_or(Some(default), |arg| arg.parse::<u64>().ok())
    };
    let (Some(seed), Some(encounters)) = (number(1), number(5)) else {
        eprintln!("usage: export DIR [SEED] [ENCOUNTERS] (numbers)");
        return ExitCode::from(2);
    };
    match export(&dir, seed, encounters as usize) {
        Ok(files) => {
            println!("wrote {files} files into {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("export: {error}");
            ExitCode::FAILURE
        }
    }
}

fn export(
    dir: &std::path::Path,
    seed: u64,
    encounters: usize,
) -> Result<usize, Box<dyn std::error::Error>> {
    let bundle = synthetic::patient_bundle(seed, encounters);
    let split = split_bundle(&bundle)?;
    let resources: Vec<Value> = split
        .records
        .into_iter()
        .map(|record| record.resource)
        .collect();
    let everything = everything_bundle(&split.patient, &resources);
    let summary = patient_summary(
        &split.patient,
        &resources,
        "2025-01-31T09:30:00Z",
        "MediGate example gateway",
    )?;
    validate(&summary)?;

    fs::create_dir_all(dir.join("ips"))?;
    let write = |name: PathBuf, value: &Value| -> std::io::Result<()> {
        fs::write(dir.join(name), serde_json::to_vec_pretty(value)?)
    };
    write("synthetic-bundle.json".into(), &bundle)?;
    write("everything-bundle.json".into(), &everything)?;
    write("ips-bundle.json".into(), &summary)?;
    let entries = summary["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (index, entry) in entries.iter().enumerate() {
        let resource_type = entry["resource"]["resourceType"]
            .as_str()
            .unwrap_or("Resource");
        write(
            PathBuf::from("ips").join(format!("{index:03}-{resource_type}.json")),
            &entry["resource"],
        )?;
    }
    Ok(3 + entries.len())
}
