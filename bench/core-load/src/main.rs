//! Load figures of MediGate's on-chain core, measured on a fresh `--dev` node:
//!
//! - anchors included per second (batches of `anchor_batch`);
//! - grants included per second (batches of `grant_access` through `Utility.batch`);
//!
//! (per second of chain time: the count over the span of block timestamps
//! from the block before the first that included any to the last);
//! - `check_access` runtime-API latency over JSON-RPC, p50 and p99;
//! - on-chain bytes (storage key + value) per anchored record and per grant.
//!
//! Usage: `medigate-core-load <medigate-node binary> [runs]`; `bench/core.sh`
//! builds and runs it. Each figure is the median over the runs.

use std::time::{Duration, Instant};

use medigate_chain_client::{
    AccessChecker, Client, MediGateConfig, account_id as account, chain_time,
    medigate::{
        self,
        runtime_types::{
            bounded_collections::bounded_vec::BoundedVec,
            medigate_access_policy::terms::{
                Action, ActionSet, Category, Purpose, Role, RoleSet, Scope,
            },
            medigate_runtime::RuntimeCall,
            pallet_consent::pallet::Call as ConsentCall,
            pallet_records::AnchorRequest,
            pallet_registry::pallet::Call as RegistryCall,
        },
    },
    subxt::{client::Blocks, events::Events, tx::Payload, utils::H256},
    subxt_signer::{
        SecretUri,
        sr25519::{Keypair, dev},
    },
};
use medigate_testnet::DevNode;

/// Records per `anchor_batch` call.
const ANCHORS_PER_BATCH: u32 = 1000;
/// `anchor_batch` calls per run.
const ANCHOR_BATCHES: u32 = 20;
/// Grantees that receive grants (each may hold 16 live grants of one patient).
const GRANTEES: u32 = 200;
/// Grants per grantee per run.
const GRANTS_PER_GRANTEE: u32 = 10;
/// `check_access` calls timed per run.
const CHECKS: usize = 2000;

fn content_id(run: u32, batch: u32, index: u32) -> H256 {
    let mut bytes = [0xa5u8; 32];
    bytes[..4].copy_from_slice(&run.to_le_bytes());
    bytes[4..8].copy_from_slice(&batch.to_le_bytes());
    bytes[8..12].copy_from_slice(&index.to_le_bytes());
    H256(bytes)
}

/// Submits `calls` signed by `signer` without waiting.
async fn submit_all<Call: Payload>(client: &Client, calls: &[Call], signer: &Keypair) {
    medigate_chain_client::submit_all(client, calls, signer)
        .await
        .expect("the node accepts the transactions");
}

/// Signs, submits and waits for `call` to succeed in a finalised block.
async fn submit_and_wait<Call: Payload>(client: &Client, call: &Call, signer: &Keypair) {
    medigate_chain_client::submit_and_wait(client, call, signer)
        .await
        .expect("the transaction succeeds");
}

/// Finalised blocks from now on.
async fn finalized_blocks(client: &Client) -> Blocks<MediGateConfig> {
    client.stream_blocks().await.expect("block subscription")
}

/// Counts `event` events of `pallet`, one item each.
fn named(pallet: &'static str, event: &'static str) -> impl Fn(&Events<MediGateConfig>) -> usize {
    move |events| {
        events
            .iter()
            .filter_map(Result::ok)
            .filter(|found| found.pallet_name() == pallet && found.event_name() == event)
            .count()
    }
}

/// Counts anchored records: one `RecordsAnchored` event lists a call's records.
fn anchored_records(events: &Events<MediGateConfig>) -> usize {
    events
        .find::<medigate::records::events::RecordsAnchored>()
        .map(|found| found.expect("a RecordsAnchored event").records.0.len())
        .sum()
}

/// Reads `blocks` until `count` items were seen in their events (`counted`
/// tells how many a block holds); returns how many per second of chain time
/// the blocks that held them included: `count` over the time from the block
/// before the first of them to the last of them, by the blocks' own
/// timestamps.
async fn inclusion_rate(
    blocks: &mut Blocks<MediGateConfig>,
    counted: impl Fn(&Events<MediGateConfig>) -> usize,
    count: usize,
) -> f64 {
    let mut seen = 0;
    let mut previous_time: Option<u64> = None;
    let mut first_time: Option<u64> = None;
    while let Some(block) = blocks.next().await {
        let at_block = block.expect("a block").at().await.expect("block state");
        let time: u64 = at_block
            .storage()
            .entry(medigate::storage().timestamp().now())
            .expect("Timestamp.Now")
            .fetch(())
            .await
            .expect("the block's time")
            .decode()
            .expect("a time");
        let events = at_block.events().fetch().await.expect("events");
        let found = counted(&events);
        if found > 0 && first_time.is_none() {
            // The block before the first one opens the interval (one slot
            // earlier if the stream began with this block).
            first_time = Some(previous_time.unwrap_or(time.saturating_sub(1000)));
        }
        seen += found;
        previous_time = Some(time);
        if seen >= count {
            let start = first_time.expect("a block held the events");
            return seen as f64 * 1000.0 / (time - start) as f64;
        }
    }
    panic!("the block stream ended after {seen} of {count} items");
}

/// Reads `blocks` until `count` events named `event` of `pallet` were seen.
async fn wait_for_events(
    blocks: &mut Blocks<MediGateConfig>,
    pallet: &'static str,
    event: &'static str,
    count: usize,
) {
    inclusion_rate(blocks, named(pallet, event), count).await;
}

/// Storage key + value bytes of `key` at the best block.
async fn stored_bytes(node: &mut DevNode, key: Vec<u8>) -> usize {
    let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    let value = node
        .process()
        .rpc()
        .call("state_getStorage", serde_json::json!([format!("0x{hex}")]))
        .await
        .expect("state_getStorage");
    let value = value.as_str().expect("the entry exists");
    key.len() + (value.len() - 2) / 2
}

fn storage_prefix(pallet: &str, item: &str) -> Vec<u8> {
    [
        sp_crypto_hashing::twox_128(pallet.as_bytes()),
        sp_crypto_hashing::twox_128(item.as_bytes()),
    ]
    .concat()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 * fraction).ceil() as usize)
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

struct Figures {
    anchors_per_second: f64,
    grants_per_second: f64,
    check_p50: Duration,
    check_p99: Duration,
    bytes_per_anchor: usize,
    bytes_per_grant: usize,
}

async fn one_run(binary: &str, run: u32) -> Figures {
    let (mut node, client) = DevNode::start_connected(binary)
        .await
        .expect("the dev node starts and finalises");
    let (governance, patient, provider, board) =
        (dev::alice(), dev::bob(), dev::charlie(), dev::dave());

    // Participants: the patient, a provider attested by a board, and grantees
    // funded by Alice so that they can register themselves.
    let grantees: Vec<Keypair> = (0..GRANTEES)
        .map(|index| {
            Keypair::from_uri(&format!("//grantee/{index}").parse::<SecretUri>().unwrap()).unwrap()
        })
        .collect();
    let funding: Vec<RuntimeCall> = grantees
        .iter()
        .map(|grantee| {
            RuntimeCall::Balances(
                medigate::runtime_types::pallet_balances::pallet::Call::transfer_keep_alive {
                    dest: account(grantee).into(),
                    value: 1_000_000_000_000,
                },
            )
        })
        .collect();
    submit_and_wait(
        &client,
        &medigate::tx().utility().batch_all(funding),
        &governance,
    )
    .await;
    submit_and_wait(
        &client,
        &medigate::tx().registry().register([1; 32]),
        &patient,
    )
    .await;
    submit_and_wait(
        &client,
        &medigate::tx().registry().register([2; 32]),
        &provider,
    )
    .await;
    let mut blocks = finalized_blocks(&client).await;
    for grantee in &grantees {
        submit_all(
            &client,
            &[medigate::tx().registry().register([3; 32])],
            grantee,
        )
        .await;
    }
    wait_for_events(&mut blocks, "Registry", "Registered", grantees.len()).await;
    let appoint = RuntimeCall::Registry(RegistryCall::add_authority {
        authority: account(&board),
        roles: RoleSet(1 << Role::Provider as u8),
    });
    submit_and_wait(&client, &medigate::tx().sudo().sudo(appoint), &governance).await;
    submit_and_wait(
        &client,
        &medigate::tx().registry().attest(
            account(&provider),
            Role::Provider,
            Some(H256::repeat_byte(1)),
            None,
        ),
        &board,
    )
    .await;
    // The grantees are providers too: their checks go all the way to their grants.
    let mut blocks = finalized_blocks(&client).await;
    let attestations: Vec<_> = grantees
        .iter()
        .map(|grantee| {
            medigate::tx().registry().attest(
                account(grantee),
                Role::Provider,
                Some(H256::repeat_byte(2)),
                None,
            )
        })
        .collect();
    submit_all(&client, &attestations, &board).await;
    wait_for_events(&mut blocks, "Registry", "Attested", grantees.len()).await;

    // Anchors per second.
    let batches: Vec<_> = (0..ANCHOR_BATCHES)
        .map(|batch| {
            let records = (0..ANCHORS_PER_BATCH)
                .map(|index| AnchorRequest {
                    content_id: content_id(run, batch, index),
                    category: Category::Labs,
                    size: 4096,
                    previous: None,
                })
                .collect();
            medigate::tx()
                .records()
                .anchor_batch(account(&patient), BoundedVec(records))
        })
        .collect();
    let mut blocks = finalized_blocks(&client).await;
    submit_all(&client, &batches, &patient).await;
    let anchors_per_second = inclusion_rate(
        &mut blocks,
        anchored_records,
        (ANCHOR_BATCHES * ANCHORS_PER_BATCH) as usize,
    )
    .await;

    // Grants per second.
    let now = chain_time(&client).await.expect("the chain's time");
    let grant_batches: Vec<_> = (0..GRANTS_PER_GRANTEE)
        .map(|_| {
            let calls = grantees
                .iter()
                .map(|grantee| {
                    RuntimeCall::Consent(ConsentCall::grant_access {
                        patient: account(&patient),
                        grantee: account(grantee),
                        scope: Scope::All,
                        purpose: Purpose::Treatment,
                        actions: ActionSet(1),
                        not_before: None,
                        expires_at: now + 86_400_000,
                    })
                })
                .collect();
            medigate::tx().utility().batch_all(calls)
        })
        .collect();
    let mut blocks = finalized_blocks(&client).await;
    submit_all(&client, &grant_batches, &patient).await;
    let grants_per_second = inclusion_rate(
        &mut blocks,
        named("Consent", "AccessGranted"),
        (GRANTEES * GRANTS_PER_GRANTEE) as usize,
    )
    .await;

    // check_access latency, as a vault asks: a provider without a grant, and
    // a grantee with one.
    let checker = AccessChecker::new(&node.process().http_url()).expect("an HTTP client");
    let mut latencies = Vec::with_capacity(CHECKS);
    for index in 0..CHECKS {
        let accessor = if index % 2 == 0 {
            account(&provider)
        } else {
            account(&grantees[index % grantees.len()])
        };
        let record = content_id(run, 0, index as u32 % ANCHORS_PER_BATCH);
        let started = Instant::now();
        let decision = checker
            .check_access(
                &accessor,
                &account(&patient),
                record,
                Purpose::Treatment,
                Action::Read,
            )
            .await
            .expect("check_access answers");
        latencies.push(started.elapsed());
        assert_eq!(decision.allowed, index % 2 == 1, "{decision:?}");
    }
    latencies.sort();

    // On-chain bytes.
    // Anchors are keyed by the patient (Blake2_128Concat) and the content id.
    let mut anchor_key = storage_prefix("Records", "Anchors");
    let patient_id = account(&patient).0;
    anchor_key.extend_from_slice(&sp_crypto_hashing::blake2_128(&patient_id));
    anchor_key.extend_from_slice(&patient_id);
    anchor_key.extend_from_slice(&content_id(run, 0, 0).0);
    let bytes_per_anchor = stored_bytes(&mut node, anchor_key).await;
    let mut grant_key = storage_prefix("Consent", "Grants");
    grant_key.extend_from_slice(&sp_crypto_hashing::twox_64(&0u64.to_le_bytes()));
    grant_key.extend_from_slice(&0u64.to_le_bytes());
    // A grant is its entry plus its id in the (patient, grantee) index.
    let bytes_per_grant = stored_bytes(&mut node, grant_key).await + std::mem::size_of::<u64>();

    Figures {
        anchors_per_second,
        grants_per_second,
        check_p50: percentile(&latencies, 0.50),
        check_p99: percentile(&latencies, 0.99),
        bytes_per_anchor,
        bytes_per_grant,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .expect("usage: medigate-core-load <medigate-node binary> [runs]");
    let runs: u32 = args
        .next()
        .map(|runs| runs.parse().expect("runs is a number"))
        .unwrap_or(3);

    let mut figures = Vec::new();
    for run in 0..runs {
        let run_figures = one_run(&binary, run).await;
        eprintln!(
            "run {}/{runs}: {:.0} anchors/s, {:.0} grants/s, check_access p50 {:?} p99 {:?}",
            run + 1,
            run_figures.anchors_per_second,
            run_figures.grants_per_second,
            run_figures.check_p50,
            run_figures.check_p99
        );
        figures.push(run_figures);
    }
    let column = |pick: fn(&Figures) -> f64| median(figures.iter().map(pick).collect());
    println!(
        "anchors included per second (median of {runs})      {:.0}",
        column(|f| f.anchors_per_second)
    );
    println!(
        "grants included per second (median of {runs})        {:.0}",
        column(|f| f.grants_per_second)
    );
    println!(
        "check_access over RPC, p50 (median of {runs})        {:.2} ms",
        column(|f| f.check_p50.as_secs_f64() * 1e3)
    );
    println!(
        "check_access over RPC, p99 (median of {runs})        {:.2} ms",
        column(|f| f.check_p99.as_secs_f64() * 1e3)
    );
    println!(
        "on-chain bytes per anchored record             {}",
        figures[0].bytes_per_anchor
    );
    println!(
        "on-chain bytes per grant                       {}",
        figures[0].bytes_per_grant
    );
}
