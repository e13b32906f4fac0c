//! Invariant 1: no health data on chain. MediGate's pallets must not be able
//! to carry it: no call argument, event field, storage key or value, or
//! consent-API input or output of theirs may hold free-form bytes or text.
//! What they may hold: hashes and content ids, accounts, codes from fixed
//! lists, numbers, times, and fixed-size keys. A field that could hold a
//! name, a note or a lab value (a `Vec<u8>`, a `BoundedVec<u8, _>`, a string,
//! a large byte array) fails this test, wherever it is nested.

use std::collections::BTreeSet;

use codec::Decode;
use frame_metadata::{
    RuntimeMetadata, RuntimeMetadataPrefixed,
    v16::{RuntimeMetadataV16, StorageEntryType},
};
use scale_info::{PortableRegistry, TypeDef, TypeDefPrimitive};

/// MediGate's own pallets: the ones that hold patients' records, consent and
/// audit trail.
const MEDIGATE_PALLETS: [&str; 6] = [
    "Registry",
    "Records",
    "Consent",
    "Audit",
    "FeeWaiver",
    "Emergency",
];

/// The largest fixed-size byte array allowed: a 256-bit hash or key.
const LARGEST_BYTE_ARRAY: u32 = 32;

/// Signatures, allowed though longer than a hash: an access receipt's
/// signature of its read. A signer steers the bytes of a valid one only by
/// trying nonce after nonce, a few bits for a great deal of work: no room
/// for a record. The chain does not check it when a vault commits the
/// receipt: other bytes there make a forged receipt, which anyone can prove
/// on chain (`report_forged_receipt`), ending the attestation of the vault
/// that committed it, and which the gateways of the accounts it names
/// prove by themselves. Like a receipt's 32-byte ids, the field can hold
/// bytes a vault chose only at the price of its attestation.
const SIGNATURES: [&str; 1] = ["pallet_audit::Sr25519RequestSignature"];

fn metadata() -> RuntimeMetadataV16 {
    let bytes = medigate_runtime::Runtime::metadata_at_version(16).expect("metadata v16");
    let prefixed = RuntimeMetadataPrefixed::decode(&mut &bytes[..]).expect("the metadata decodes");
    match prefixed.1 {
        RuntimeMetadata::V16(metadata) => metadata,
        _ => panic!("the runtime returned another metadata version"),
    }
}

/// Walks the type `id` and everything it contains; records in `violations`
/// the path of every place that can hold free-form bytes or text.
fn find_free_form(
    types: &PortableRegistry,
    id: u32,
    path: String,
    seen: &mut BTreeSet<u32>,
    violations: &mut Vec<String>,
) {
    if !seen.insert(id) {
        return;
    }
    let ty = types.resolve(id).expect("the type is in the registry");
    let name = ty.path.segments.join("::");
    if SIGNATURES.contains(&name.as_str()) {
        return;
    }
    let here = if name.is_empty() {
        path.clone()
    } else {
        format!("{path} ({name})")
    };
    let is_byte = |element: u32| {
        matches!(
            types.resolve(element).map(|ty| &ty.type_def),
            Some(TypeDef::Primitive(
                TypeDefPrimitive::U8 | TypeDefPrimitive::I8
            ))
        )
    };
    let visit =
        |child: u32, label: &str, seen: &mut BTreeSet<u32>, violations: &mut Vec<String>| {
            find_free_form(types, child, format!("{here}.{label}"), seen, violations)
        };
    match &ty.type_def {
        TypeDef::Primitive(TypeDefPrimitive::Str) => violations.push(format!("{here}: a string")),
        TypeDef::Primitive(_) => {}
        TypeDef::Sequence(sequence) => {
            if is_byte(sequence.type_param.id) {
                violations.push(format!("{here}: a byte sequence"));
            } else {
                visit(sequence.type_param.id, "[]", seen, violations);
            }
        }
        TypeDef::Array(array) => {
            if is_byte(array.type_param.id) && array.len > LARGEST_BYTE_ARRAY {
                violations.push(format!("{here}: {} bytes", array.len));
            } else {
                visit(array.type_param.id, "[]", seen, violations);
            }
        }
        TypeDef::Composite(composite) => {
            for (index, field) in composite.fields.iter().enumerate() {
                let label = field.name.clone().unwrap_or_else(|| index.to_string());
                visit(field.ty.id, &label, seen, violations);
            }
        }
        TypeDef::Variant(variants) => {
            for variant in &variants.variants {
                for (index, field) in variant.fields.iter().enumerate() {
                    let label = field.name.clone().unwrap_or_else(|| index.to_string());
                    visit(
                        field.ty.id,
                        &format!("{}.{label}", variant.name),
                        seen,
                        violations,
                    );
                }
            }
        }
        TypeDef::Tuple(tuple) => {
            for (index, element) in tuple.fields.iter().enumerate() {
                visit(element.id, &index.to_string(), seen, violations);
            }
        }
        TypeDef::Compact(compact) => visit(compact.type_param.id, "compact", seen, violations),
        TypeDef::BitSequence(_) => violations.push(format!("{here}: a bit sequence")),
    }
}

/// Every type MediGate's pallets and the consent API expose, by where it is.
fn exposed_types(metadata: &RuntimeMetadataV16) -> Vec<(String, u32)> {
    let mut exposed = Vec::new();
    for pallet in metadata
        .pallets
        .iter()
        .filter(|pallet| MEDIGATE_PALLETS.contains(&pallet.name.as_str()))
    {
        if let Some(calls) = &pallet.calls {
            exposed.push((format!("{} calls", pallet.name), calls.ty.id));
        }
        if let Some(event) = &pallet.event {
            exposed.push((format!("{} events", pallet.name), event.ty.id));
        }
        for entry in pallet.storage.iter().flat_map(|storage| &storage.entries) {
            let item = format!("{}.{}", pallet.name, entry.name);
            match &entry.ty {
                StorageEntryType::Plain(value) => exposed.push((item, value.id)),
                StorageEntryType::Map { key, value, .. } => {
                    exposed.push((format!("{item} key"), key.id));
                    exposed.push((item, value.id));
                }
            }
        }
    }
    for api in metadata.apis.iter().filter(|api| api.name == "ConsentApi") {
        for method in &api.methods {
            for input in &method.inputs {
                exposed.push((
                    format!("ConsentApi.{}({})", method.name, input.name),
                    input.ty.id,
                ));
            }
            exposed.push((
                format!("ConsentApi.{} output", method.name),
                method.output.id,
            ));
        }
    }
    exposed
}

#[test]
fn medigate_pallets_have_no_field_that_can_hold_health_data() {
    let metadata = metadata();
    let exposed = exposed_types(&metadata);
    let mut violations = Vec::new();
    for (place, id) in exposed {
        find_free_form(
            &metadata.types,
            id,
            place,
            &mut BTreeSet::new(),
            &mut violations,
        );
    }
    assert!(
        violations.is_empty(),
        "these can carry free-form data on chain:\n{}",
        violations.join("\n")
    );
}

#[test]
fn every_medigate_pallet_and_the_consent_api_are_checked() {
    let metadata = metadata();
    let places: Vec<String> = exposed_types(&metadata)
        .into_iter()
        .map(|(place, _)| place)
        .collect();
    for pallet in ["Registry", "Records", "Consent", "Audit"] {
        assert!(
            places
                .iter()
                .any(|place| place == &format!("{pallet} calls")),
            "{pallet} has no calls in the metadata: {places:?}"
        );
    }
    assert!(
        places
            .iter()
            .any(|place| place.starts_with("ConsentApi.check_access"))
    );
}

#[test]
fn the_check_finds_free_form_bytes() {
    // `System.remark` takes arbitrary bytes: the walk must flag it.
    let metadata = metadata();
    let system = metadata
        .pallets
        .iter()
        .find(|pallet| pallet.name == "System")
        .expect("System");
    let mut violations = Vec::new();
    find_free_form(
        &metadata.types,
        system.calls.as_ref().expect("System calls").ty.id,
        "System calls".into(),
        &mut BTreeSet::new(),
        &mut violations,
    );
    assert!(
        violations
            .iter()
            .any(|violation| violation.contains("remark")),
        "{violations:?}"
    );
}
