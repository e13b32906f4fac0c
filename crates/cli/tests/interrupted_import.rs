//! An import cut short by a crash (`kill -9` of the gateway while it
//! stores envelopes) is completed when the gateway starts again: every
//! record ends anchored and stored, and the vault holds no envelope the
//! chain does not anchor.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use futures::StreamExt;
use medigate_chain_client::{
    account_id, anchor, medigate::runtime_types::medigate_access_policy::terms::Role,
    submit_and_wait, subxt::utils::H256,
};
use medigate_crypto::{keys::Identity, keystore};
use medigate_testnet::{
    DevNode, GatewayOptions, ServiceProcess, TEST_KEYSTORE, VaultOptions, appoint_board, attest,
    fund,
};
use serde_json::Value;

const MEDIGATE: &str = env!("CARGO_BIN_EXE_medigate");
const PASSPHRASE: &str = "interrupted import test";

fn sibling(name: &str) -> PathBuf {
    let path = Path::new(MEDIGATE).with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: cargo build --workspace",
        path.display()
    );
    path
}

async fn token(gateway: &Path) -> String {
    std::fs::read_to_string(gateway.join("api-token"))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_import_is_completed_and_leaves_nothing_orphaned() {
    let started = Instant::now();
    let step = |what: &str| eprintln!("{:>6.1} s  {what}", started.elapsed().as_secs_f64());
    let (mut node, client) = DevNode::start_connected(sibling("medigate-node"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (patient, vault) = (Identity::generate(), Identity::generate());
    for identity in [&patient, &vault] {
        let account = account_id(&identity.signing_keypair());
        fund(&client, &account).await.unwrap();
        let register = medigate_chain_client::medigate::tx()
            .registry()
            .register(identity.encryption_secret().public_key().0);
        submit_and_wait(&client, &register, &identity.signing_keypair())
            .await
            .unwrap();
    }
    appoint_board(&client).await.unwrap();
    attest(&client, &account_id(&vault.signing_keypair()), Role::Vault)
        .await
        .unwrap();
    for (name, identity) in [("patient", &patient), ("vault", &vault)] {
        keystore::save(
            &dir.path().join(format!("{name}.keystore")),
            identity,
            PASSPHRASE,
            TEST_KEYSTORE,
        )
        .unwrap();
    }
    let vault_data = dir.path().join("vault-data");
    let vault_process = VaultOptions {
        binary: sibling("medigate-vault"),
        keystore: dir.path().join("vault.keystore"),
        passphrase: PASSPHRASE.into(),
        data_dir: vault_data.clone(),
        node_ws_url: node.process().ws_url(),
        log_path: dir.path().join("vault.log"),
        extra: Vec::new(),
        envs: Vec::new(),
    }
    .start()
    .await
    .unwrap();
    let gateway_data = dir.path().join("gateway");
    let options = GatewayOptions {
        binary: MEDIGATE.into(),
        keystore: dir.path().join("patient.keystore"),
        passphrase: Some(PASSPHRASE.into()),
        data_dir: gateway_data.clone(),
        node_ws_url: node.process().ws_url(),
        vault_url: vault_process.base_url().into(),
        log_path: dir.path().join("gateway.log"),
        port: None,
        extra: Vec::new(),
    };
    step("participants enrolled, vault up");
    let gateway: ServiceProcess = options.start().await.unwrap();
    step("gateway up");
    let http = reqwest::Client::new();

    // Import a large Bundle and crash the gateway once envelopes are being
    // stored (every record is anchored, some are in the vault).
    let bundle = medigate_fhir::synthetic::patient_bundle(99, 120).to_string();
    let mut response = http
        .post(format!("{}/api/import", gateway.base_url()))
        .bearer_auth(token(&gateway_data).await)
        .body(bundle.clone())
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    let total = loop {
        let chunk = response
            .chunk()
            .await
            .unwrap()
            .expect("progress until the crash");
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(line) = seen.lines().find(|line| line.contains("\"storing\"")) {
            let progress: Value = serde_json::from_str(line).unwrap();
            break progress["progress"]["total"].as_u64().unwrap();
        }
        assert!(
            !seen.contains("\"result\""),
            "the import ended before it could be interrupted"
        );
    };
    gateway.kill();
    step("gateway killed while storing");

    // Restarted, the gateway completes the import by itself.
    let gateway = options.start().await.unwrap();
    step("gateway restarted");
    let waiting = Instant::now();
    let records = loop {
        let listed: Value = http
            .get(format!("{}/api/records", gateway.base_url()))
            .bearer_auth(token(&gateway_data).await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let records = listed["records"].as_array().unwrap().clone();
        if records.len() as u64 == total {
            break records;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "the import was not completed: {} of {total} records",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    step("import completed");
    // Importing the same Bundle again finds it done.
    let again = http
        .post(format!("{}/api/import", gateway.base_url()))
        .bearer_auth(token(&gateway_data).await)
        .body(bundle)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let last: Value = serde_json::from_str(again.lines().last().unwrap()).unwrap();
    assert_eq!(last["result"]["already_imported"], true, "{again}");

    // Every record is anchored and stored; the vault holds nothing else.
    let imported: BTreeSet<String> = records
        .iter()
        .map(|record| record["content_id"].as_str().unwrap().to_string())
        .collect();
    // Reads over HTTP, several at once: over the WebSocket each read can
    // wait tens of milliseconds for a delayed acknowledgement.
    let reads = medigate_chain_client::connect_http(&node.process().http_url())
        .await
        .unwrap();
    let owner = account_id(&patient.signing_keypair());
    let anchored: Vec<bool> = futures::stream::iter(imported.iter())
        .map(|content_id| {
            let (reads, owner) = (&reads, &owner);
            async move {
                let id: [u8; 32] = hex::decode(content_id).unwrap().try_into().unwrap();
                anchor(reads, owner, H256(id)).await.unwrap().is_some()
            }
        })
        .buffered(16)
        .collect()
        .await;
    assert!(
        anchored.iter().all(|anchored| *anchored),
        "every record is anchored"
    );
    let stored: BTreeSet<String> = std::fs::read_dir(vault_data.join("blobs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && !name.contains("partial"))
        .collect();
    assert_eq!(
        stored, imported,
        "the vault holds exactly the imported envelopes"
    );
    step("checked");
    drop(gateway);
    drop(vault_process);
    node.stop().unwrap();
    step("stopped");
}
