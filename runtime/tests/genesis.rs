//! The genesis presets behind the `dev` and `local` chain specs.

use medigate_runtime::genesis;
use serde_json::Value;
use sp_keyring::Sr25519Keyring;

fn account(key: Sr25519Keyring) -> Value {
    Value::String(key.to_account_id().to_string())
}

#[test]
fn development_preset_has_one_validator_and_a_sudo_key() {
    let preset = genesis::development();
    assert_eq!(
        preset["validatorSet"]["validators"],
        Value::Array(vec![account(Sr25519Keyring::Alice)])
    );
    assert_eq!(preset["sudo"]["key"], account(Sr25519Keyring::Alice));
}

#[test]
fn local_preset_has_four_validators_a_council_and_no_sudo_key() {
    let preset = genesis::local_testnet();
    let validators: Vec<Value> = [
        Sr25519Keyring::Alice,
        Sr25519Keyring::Bob,
        Sr25519Keyring::Charlie,
        Sr25519Keyring::Dave,
    ]
    .into_iter()
    .map(account)
    .collect();
    assert_eq!(
        preset["validatorSet"]["validators"],
        Value::Array(validators.clone())
    );
    assert_eq!(preset["council"]["members"], Value::Array(validators));
    assert_eq!(preset["session"]["keys"].as_array().map(Vec::len), Some(4));
    assert!(
        preset["sudo"]["key"].is_null(),
        "the local network has no sudo key: {}",
        preset["sudo"]
    );
}

#[test]
fn every_preset_builds_a_genesis_state() {
    use sp_genesis_builder::PresetId;
    for name in genesis::preset_names() {
        genesis_storage(&name);
    }
    assert!(genesis::preset(&PresetId::from("no-such-preset")).is_none());
}

#[test]
fn a_chain_from_genesis_has_no_storage_migration_to_run() {
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade};
    use medigate_runtime::{Consent, Migrations, Registry, Runtime};
    for name in genesis::preset_names() {
        sp_io::TestExternalities::new(genesis_storage(&name)).execute_with(|| {
            assert_eq!(
                Consent::on_chain_storage_version(),
                Consent::in_code_storage_version()
            );
            assert_eq!(
                Registry::on_chain_storage_version(),
                Registry::in_code_storage_version()
            );
            // Each migration reads the pallet's version and stops there.
            let read_versions = <Runtime as frame_system::Config>::DbWeight::get().reads(2);
            assert_eq!(Migrations::on_runtime_upgrade(), read_versions);
        });
    }
}

/// The genesis storage of the preset `name`, merged over the defaults.
fn genesis_storage(name: &sp_genesis_builder::PresetId) -> sp_runtime::Storage {
    let patch = genesis::preset(name).expect("a named preset exists");
    let mut config =
        serde_json::to_value(medigate_runtime::RuntimeGenesisConfig::default()).unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    merge(&mut config, patch);
    let config: medigate_runtime::RuntimeGenesisConfig =
        serde_json::from_value(config).unwrap_or_else(|error| panic!("{name:?}: {error}"));
    sp_runtime::BuildStorage::build_storage(&config)
        .unwrap_or_else(|error| panic!("{name:?} does not build: {error}"))
}

/// Applies a JSON merge patch (objects merge, everything else replaces).
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}
