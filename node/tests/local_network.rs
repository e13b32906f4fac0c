//! The `local` chain spec: four validators on loopback produce blocks in turn
//! and finalise them together.

use std::{collections::BTreeSet, time::Duration};

use medigate_testnet::LocalNetwork;

const NODE: &str = env!("CARGO_BIN_EXE_medigate-node");
const STARTUP: Duration = Duration::from_secs(300);
/// How many blocks to look at for the authors' turns.
const OBSERVED_BLOCKS: u32 = 12;

/// The Aura slot of a block, read from its pre-runtime digest
/// (`0x06` + engine id `aura` + SCALE-encoded `u64`).
fn aura_slot(header: &serde_json::Value) -> Option<u64> {
    header["digest"]["logs"].as_array()?.iter().find_map(|log| {
        let hex = log.as_str()?.trim_start_matches("0x");
        // 06 | 61757261 ("aura") | 20 (compact length 8) | slot (8 bytes, little endian)
        let rest = hex.strip_prefix("066175726120")?;
        let bytes: Vec<u8> = (0..16)
            .step_by(2)
            .map(|index| u8::from_str_radix(rest.get(index..index + 2)?, 16).ok())
            .collect::<Option<_>>()?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn four_validators_author_in_turn_and_finalise_together() {
    let mut network = LocalNetwork::start(NODE)
        .await
        .expect("the four validators start");

    for node in network.nodes() {
        node.wait_for("3 peers", STARTUP, |rpc| async move {
            rpc.peer_count().await.ok().filter(|peers| *peers >= 3)
        })
        .await
        .expect("every validator connects to the three others");
    }
    for node in network.nodes() {
        node.wait_for_finalized(OBSERVED_BLOCKS, STARTUP)
            .await
            .expect("every validator finalises the chain");
    }

    // GRANDPA needs more than two thirds of four votes to finalise; Aura gives
    // each validator every fourth slot. All four must have authored a block.
    let rpc = network.nodes()[0].rpc().clone();
    let mut authors = BTreeSet::new();
    for number in 1..=OBSERVED_BLOCKS {
        let hash = rpc
            .block_hash(number)
            .await
            .unwrap()
            .expect("the block exists");
        let header = rpc.header(&hash).await.unwrap();
        let slot = aura_slot(&header).expect("the block carries an Aura slot");
        authors.insert(slot % 4);
    }
    assert_eq!(
        authors.len(),
        4,
        "authors seen in the first {OBSERVED_BLOCKS} blocks: {authors:?}"
    );

    // All validators agree on the finalised chain.
    let finalized = rpc.block_hash(OBSERVED_BLOCKS).await.unwrap();
    for node in network.nodes() {
        assert_eq!(
            node.rpc().block_hash(OBSERVED_BLOCKS).await.unwrap(),
            finalized
        );
    }
}
