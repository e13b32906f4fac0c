//! Genesis presets: the initial state behind the node's `dev` and `local`
//! chain specs.
//!
//! - `development` (`--dev`): one validator (Alice), Alice holds the sudo key,
//!   the well-known development accounts are funded.
//! - `local_testnet` (`--chain local`): four validators (Alice, Bob, Charlie,
//!   Dave) who also form the consortium council; no sudo key, so every change of
//!   the validator set goes through the council.

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use crate::{
    AccountId, Balance, BalancesConfig, CouncilConfig, RuntimeGenesisConfig, SessionConfig,
    SessionKeys, SudoConfig, UNIT, ValidatorSetConfig,
};

/// What every funded development account starts with.
const ENDOWMENT: Balance = 1_000_000 * UNIT;

/// The session keys of a well-known development validator.
fn development_session_keys(sr25519: Sr25519Keyring, ed25519: Ed25519Keyring) -> SessionKeys {
    SessionKeys {
        aura: sr25519.public().into(),
        grandpa: ed25519.public().into(),
    }
}

/// The genesis state of a network run by `validators`.
fn network_genesis(
    validators: Vec<(Sr25519Keyring, Ed25519Keyring)>,
    sudo: Option<AccountId>,
) -> Value {
    let validator_accounts: Vec<AccountId> = validators
        .iter()
        .map(|(sr25519, _)| sr25519.to_account_id())
        .collect();
    let session_keys: Vec<(AccountId, AccountId, SessionKeys)> = validators
        .iter()
        .map(|(sr25519, ed25519)| {
            let account = sr25519.to_account_id();
            (
                account.clone(),
                account,
                development_session_keys(*sr25519, *ed25519),
            )
        })
        .collect();
    let funded: Vec<(AccountId, Balance)> = Sr25519Keyring::iter()
        .map(|key| (key.to_account_id(), ENDOWMENT))
        .collect();

    build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig { balances: funded },
        validator_set: ValidatorSetConfig {
            validators: validator_accounts.clone()
        },
        session: SessionConfig { keys: session_keys },
        council: CouncilConfig {
            members: validator_accounts
        },
        sudo: SudoConfig { key: sudo },
    })
}

/// The `development` preset: a single validator and a sudo key.
pub fn development() -> Value {
    network_genesis(
        vec![(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
        Some(Sr25519Keyring::Alice.to_account_id()),
    )
}

/// The `local_testnet` preset: four validators governed by their council.
pub fn local_testnet() -> Value {
    network_genesis(
        vec![
            (Sr25519Keyring::Alice, Ed25519Keyring::Alice),
            (Sr25519Keyring::Bob, Ed25519Keyring::Bob),
            (Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
            (Sr25519Keyring::Dave, Ed25519Keyring::Dave),
        ],
        None,
    )
}

/// The JSON patch of the preset named `id`, if there is one.
pub fn preset(id: &PresetId) -> Option<Vec<u8>> {
    let patch = match id.as_ref() {
        DEV_RUNTIME_PRESET => development(),
        LOCAL_TESTNET_RUNTIME_PRESET => local_testnet(),
        _ => return None,
    };
    Some(
        serde_json::to_string(&patch)
            .expect("a genesis patch built from typed values serializes to JSON")
            .into_bytes(),
    )
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
    vec![
        PresetId::from(DEV_RUNTIME_PRESET),
        PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET),
    ]
}
