//! Load figures of the vault, measured against a fresh `--dev` node and a
//! vault process on loopback:
//!
//! - a gated read of a 4 KiB record (signed request, `check_access` on the
//!   chain, receipt queued, envelope and key wrap served): latency p50 and
//!   p99 one request at a time, and requests per second with `CONCURRENCY`
//!   requests in flight (requests signed beforehand, so the figure is the
//!   vault's, not the client's signing);
//! - upload and download throughput of a 64 MiB envelope (MB/s, 10^6 bytes);
//! - receipts: every served read's receipt on chain, and how many blocks
//!   after the read's best block it landed.
//!
//! Usage: `medigate-vault-load <medigate-node> <medigate-vault> [runs]`;
//! `bench/vault.sh` builds and runs it. Each figure is the median over runs.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use medigate_chain_client::{
    Client, account_id, chain_time,
    medigate::{
        self,
        runtime_types::{
            medigate_access_policy::terms::{ActionSet, Category, CategorySet, Purpose, Scope},
            pallet_records::AnchorRequest,
        },
    },
    submit_and_wait,
    subxt::utils::H256,
    subxt_signer::sr25519::Keypair,
};
use medigate_crypto::record::{self, RecordBinding, RecordKey};
use medigate_testnet::{DevNode, Participants, RpcClient, VaultOptions, receipts_of};
use medigate_vault::auth::{sign_headers, sign_headers_for_hash, unix_ms};

/// Sequential reads for the latency figure.
const SEQUENTIAL_READS: usize = 2_000;
/// Reads in flight for the throughput figure.
const CONCURRENCY: usize = 32;
/// Reads signed for the throughput figure.
const CONCURRENT_READS: usize = 20_000;
/// The size of a small record.
const SMALL: usize = 4096;
/// The size of a large record.
const LARGE: usize = 64 << 20;
/// Large uploads and downloads per run.
const LARGE_ROUNDS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// An envelope of `size` bytes of plaintext for `owner`.
fn envelope(owner: [u8; 32], size: usize, fill: u8) -> (Vec<u8>, [u8; 32]) {
    let plaintext: Vec<u8> = (0..size).map(|index| (index as u8) ^ fill).collect();
    let binding = RecordBinding {
        record_id: [fill; 32],
        version: 0,
        owner,
    };
    let mut sealed = Vec::with_capacity(size + size / 1000 + 64);
    let encrypted = record::encrypt(&RecordKey::generate(), binding, &plaintext[..], &mut sealed)
        .expect("encryption into memory");
    (sealed, encrypted.content_id)
}

struct Figures {
    read_p50_ms: f64,
    read_p99_ms: f64,
    reads_per_second: f64,
    loaded_p50_ms: f64,
    loaded_p99_ms: f64,
    put_mb_s: f64,
    get_mb_s: f64,
    receipts_landed: f64,
    most_blocks_late: f64,
}

async fn put(
    http: &reqwest::Client,
    (base, vault): (&str, [u8; 32]),
    signer: &Keypair,
    content_id: [u8; 32],
    body: Vec<u8>,
) {
    let path = format!("/blobs/{}", hex::encode(content_id));
    let mut request = http.put(format!("{base}{path}"));
    for (name, value) in sign_headers_for_hash(signer, vault, "PUT", &path, content_id, unix_ms()) {
        request = request.header(name, value);
    }
    let response = request.body(body).send().await.expect("the vault answers");
    assert!(
        response.status().is_success(),
        "upload: {}",
        response.status()
    );
}

async fn get(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    headers: Vec<(&'static str, String)>,
) -> usize {
    let mut request = http.get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("the vault answers");
    assert!(
        response.status().is_success(),
        "read: {}",
        response.status()
    );
    // Counted as it streams, as a client writing it to disk would take it.
    let mut response = response;
    let mut received = 0;
    while let Some(chunk) = response.chunk().await.expect("the body arrives") {
        received += chunk.len();
    }
    received
}

async fn anchor(client: &Client, patient: &Keypair, content_id: [u8; 32], size: usize) {
    let request = AnchorRequest {
        content_id: H256(content_id),
        category: Category::Labs,
        size: size as u64,
        previous: None,
    };
    let call = medigate::tx()
        .records()
        .anchor(account_id(patient), request);
    submit_and_wait(client, &call, patient)
        .await
        .expect("anchored");
}

/// Block timestamps from `from` to the best block: (number, timestamp).
async fn block_times(client: &Client, rpc: &RpcClient, from: u32) -> Vec<(u32, u64)> {
    let best = rpc.best_number().await.unwrap();
    let mut times = Vec::new();
    for number in from..=best {
        let hash: H256 = rpc
            .block_hash(number)
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        let now = client
            .at_block(hash)
            .await
            .unwrap()
            .storage()
            .entry(medigate::storage().timestamp().now())
            .unwrap()
            .fetch(())
            .await
            .unwrap()
            .decode()
            .unwrap();
        times.push((number, now));
    }
    times
}

async fn run(node_binary: &Path, vault_binary: &Path) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let (mut node, client) = DevNode::start_connected(node_binary)
        .await
        .expect("the dev node starts and finalises");
    let participants = Participants::enrol(&client)
        .await
        .expect("participants enrolled");
    let keystore = dir.path().join("vault.keystore");
    participants.save_vault_keystore(&keystore, "bench");
    let vault = VaultOptions {
        binary: vault_binary.to_path_buf(),
        keystore,
        passphrase: "bench".into(),
        data_dir: dir.path().join("data"),
        node_ws_url: node.process().ws_url(),
        log_path: dir.path().join("vault.log"),
        extra: Vec::new(),
        envs: Vec::new(),
    }
    .start()
    .await
    .expect("the vault serves");
    let base = vault.base_url().to_string();
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let (patient, doctor) = (
        participants.patient.clone(),
        participants.doctor.signing_keypair(),
    );
    let patient_id = account_id(&patient).0;
    // The audience of every signed request: the vault's account.
    let vault_id = participants.vault.signing_keypair().public_key().0;

    // A 4 KiB record, anchored, and the doctor's grant.
    let (small, small_id) = envelope(patient_id, SMALL, 1);
    put(&http, (&base, vault_id), &patient, small_id, small).await;
    anchor(&client, &patient, small_id, SMALL).await;
    let labs = Scope::Categories(CategorySet(1 << Category::Labs as u16));
    let request = medigate::tx().consent().request_access(
        account_id(&patient),
        labs,
        Purpose::Treatment,
        ActionSet(1),
        H256::repeat_byte(7),
    );
    let events = submit_and_wait(&client, &request, &doctor).await.unwrap();
    let requested = events
        .find_first::<medigate::consent::events::AccessRequested>()
        .unwrap()
        .unwrap();
    let now = chain_time(&client).await.unwrap();
    let approve =
        medigate::tx()
            .consent()
            .approve_request(requested.request, None, now + 3_600_000);
    submit_and_wait(&client, &approve, &patient).await.unwrap();
    let read_path = format!(
        "/blobs/{}?patient={}&purpose=TREAT",
        hex::encode(small_id),
        hex::encode(patient_id)
    );
    // Large records: upload, then download as the owner (first, while the
    // node is not yet busy with the reads' receipts).
    let mut put_rates = Vec::new();
    let mut get_rates = Vec::new();
    for round in 0..LARGE_ROUNDS {
        let (large, large_id) = envelope(patient_id, LARGE, 10 + round as u8);
        let size = large.len();
        let started = Instant::now();
        put(&http, (&base, vault_id), &patient, large_id, large).await;
        put_rates.push(size as f64 / started.elapsed().as_secs_f64() / 1e6);
        anchor(&client, &patient, large_id, size).await;
        let path = format!(
            "/blobs/{}?patient={}&purpose=TREAT",
            hex::encode(large_id),
            hex::encode(patient_id)
        );
        let headers = sign_headers(&patient, vault_id, "GET", &path, b"", unix_ms());
        let started = Instant::now();
        let received = get(&http, &base, &path, headers).await;
        get_rates.push(received as f64 / started.elapsed().as_secs_f64() / 1e6);
        assert_eq!(received, size);
    }

    if std::env::var("ONLY_LARGE").is_ok() {
        eprintln!("put {put_rates:?} get {get_rates:?}");
        std::process::exit(0);
    }
    let rpc = node.process().rpc().clone();
    let first_block = rpc.best_number().await.unwrap();

    // One at a time.
    let mut latencies = Vec::with_capacity(SEQUENTIAL_READS);
    for _ in 0..SEQUENTIAL_READS {
        let headers = sign_headers(&doctor, vault_id, "GET", &read_path, b"", unix_ms());
        let started = Instant::now();
        get(&http, &base, &read_path, headers).await;
        latencies.push(started.elapsed());
    }
    latencies.sort();

    // Many in flight, signed beforehand.
    let signed: Vec<_> = (0..CONCURRENT_READS)
        .map(|_| sign_headers(&doctor, vault_id, "GET", &read_path, b"", unix_ms()))
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(signed));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (queue, http, base, path) =
                (queue.clone(), http.clone(), base.clone(), read_path.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let Some(headers) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let sent = Instant::now();
                    get(&http, &base, &path, headers).await;
                    times.push(sent.elapsed());
                }
                times
            })
        })
        .collect();
    let mut loaded = Vec::new();
    for worker in futures::future::join_all(workers).await {
        loaded.extend(worker.unwrap());
    }
    let elapsed = started.elapsed();
    loaded.sort();
    let reads_per_second = CONCURRENT_READS as f64 / elapsed.as_secs_f64();

    // Every served read of the doctor has its receipt on chain.
    let served = SEQUENTIAL_READS + CONCURRENT_READS;
    let mut receipts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        receipts = receipts_of(&client, &rpc, first_block, account_id(&doctor).0).await;
        if receipts.len() >= served {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // How late: blocks between the first block authored after the read and
    // the block holding its receipt.
    let times = block_times(&client, &rpc, first_block).await;
    let most_blocks_late = receipts
        .iter()
        .map(|(block, receipt)| {
            let next = times
                .iter()
                .find(|(_, timestamp)| *timestamp > receipt.accessed_at)
                .map_or(*block, |(number, _)| *number);
            block.saturating_sub(next) as f64
        })
        .fold(0.0, f64::max);
    vault.stop().expect("the vault stops");
    drop(node);

    Figures {
        read_p50_ms: percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        read_p99_ms: percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        reads_per_second,
        loaded_p50_ms: percentile(&loaded, 0.50).as_secs_f64() * 1e3,
        loaded_p99_ms: percentile(&loaded, 0.99).as_secs_f64() * 1e3,
        put_mb_s: median(put_rates),
        get_mb_s: median(get_rates),
        receipts_landed: receipts.len() as f64 / served as f64,
        most_blocks_late,
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: medigate-vault-load <medigate-node> <medigate-vault> [runs]";
    let node = args.next().expect(usage);
    let vault = args.next().expect(usage);
    let runs: usize = args.next().map_or(3, |runs| runs.parse().expect(usage));
    let mut all = Vec::new();
    for run_index in 1..=runs {
        let figures = run(Path::new(&node), Path::new(&vault)).await;
        println!(
            "run {run_index}: read p50 {:.2} ms, p99 {:.2} ms; {:.0} reads/s ({CONCURRENCY} in flight, p50 {:.2} ms, p99 {:.2} ms); \
             64 MiB PUT {:.0} MB/s, GET {:.0} MB/s; receipts on chain {:.1} %, at most {} block(s) late",
            figures.read_p50_ms,
            figures.read_p99_ms,
            figures.reads_per_second,
            figures.loaded_p50_ms,
            figures.loaded_p99_ms,
            figures.put_mb_s,
            figures.get_mb_s,
            figures.receipts_landed * 100.0,
            figures.most_blocks_late
        );
        all.push(figures);
    }
    let of = |pick: fn(&Figures) -> f64| median(all.iter().map(pick).collect());
    println!("medians of {runs} runs:");
    println!(
        "  gated 4 KiB read, one at a time: p50 {:.2} ms, p99 {:.2} ms",
        of(|f| f.read_p50_ms),
        of(|f| f.read_p99_ms)
    );
    println!(
        "  gated 4 KiB reads, {CONCURRENCY} in flight: {:.0} reads/s (p50 {:.2} ms, p99 {:.2} ms)",
        of(|f| f.reads_per_second),
        of(|f| f.loaded_p50_ms),
        of(|f| f.loaded_p99_ms)
    );
    println!(
        "  64 MiB envelope: PUT {:.0} MB/s, GET {:.0} MB/s",
        of(|f| f.put_mb_s),
        of(|f| f.get_mb_s)
    );
    println!(
        "  receipts on chain: {:.1} % of served reads, at most {} block(s) after the next block",
        of(|f| f.receipts_landed) * 100.0,
        of(|f| f.most_blocks_late)
    );
}
