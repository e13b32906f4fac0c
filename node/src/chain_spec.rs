//! The chain specs the node knows by name: `dev` and `local`.

use medigate_runtime::WASM_BINARY;
use sc_service::ChainType;
use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};

/// A MediGate chain spec.
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token properties shown by wallets and explorers.
fn properties() -> sc_service::Properties {
    let mut properties = sc_service::Properties::new();
    properties.insert("tokenSymbol".into(), "MGT".into());
    properties.insert("tokenDecimals".into(), 12.into());
    properties.insert("ss58Format".into(), 42.into());
    properties
}

fn wasm_binary() -> Result<&'static [u8], String> {
    WASM_BINARY.ok_or_else(|| {
        "this node was built without its WebAssembly runtime (SKIP_WASM_BUILD was set); \
         rebuild it without SKIP_WASM_BUILD"
            .to_string()
    })
}

/// `--dev`: one validator (Alice) with a sudo key, for development.
pub fn development() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm_binary()?, None)
        .with_name("MediGate Development")
        .with_id("medigate_dev")
        .with_chain_type(ChainType::Development)
        .with_genesis_config_preset_name(DEV_RUNTIME_PRESET)
        .with_properties(properties())
        .build())
}

/// `--chain local`: four validators (Alice, Bob, Charlie, Dave) on one machine,
/// governed by their council, without a sudo key.
pub fn local_testnet() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm_binary()?, None)
        .with_name("MediGate Local Testnet")
        .with_id("medigate_local")
        .with_chain_type(ChainType::Local)
        .with_genesis_config_preset_name(LOCAL_TESTNET_RUNTIME_PRESET)
        .with_properties(properties())
        .build())
}
