//! What the vault's integration tests share: a dev node with the vault's
//! participants registered, vault processes, and a signing HTTP client that
//! records every exchange for the OpenAPI check.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use medigate_chain_client::{
    Client, MediGateConfig, submit_and_wait,
    subxt::{extrinsics::ExtrinsicEvents, tx::Payload},
    subxt_signer::sr25519::Keypair,
};
use medigate_crypto::keys::Identity;
use medigate_testnet::{DevNode, Participants, ServiceProcess, VaultOptions};
pub use medigate_vault::auth::unix_ms;
use medigate_vault::auth::{sign_headers, sign_headers_for_hash};
use reqwest::{Method, StatusCode};

/// The vault binary built with these tests.
pub const VAULT: &str = env!("CARGO_BIN_EXE_medigate-vault");
/// The keystore passphrase of test vaults.
pub const PASSPHRASE: &str = "vault test passphrase";

/// The node binary, built beside the vault by `cargo build --workspace`.
pub fn node_binary() -> PathBuf {
    let node = Path::new(VAULT).with_file_name("medigate-node");
    assert!(
        node.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        node.display()
    );
    node
}

/// Signs `call` with `signer` and waits for it to succeed in a finalised block.
pub async fn submit<Call: Payload>(
    client: &Client,
    call: &Call,
    signer: &Keypair,
) -> ExtrinsicEvents<MediGateConfig> {
    submit_and_wait(client, call, signer)
        .await
        .expect("the transaction succeeds in a finalised block")
}

/// A dev node with a patient, a doctor attested as a provider and a vault
/// attested as an organization.
pub struct Chain {
    /// The node.
    pub node: DevNode,
    /// A client of it.
    pub client: Client,
    /// The patient.
    pub patient: Keypair,
    /// The doctor's signing key.
    pub doctor: Keypair,
    /// The doctor's identity (for opening key wraps).
    pub doctor_identity: Identity,
    /// The vault's identity.
    pub vault: Identity,
    /// Its keystore.
    pub keystore: PathBuf,
    /// Files of this test (keystore, vault data, logs).
    pub dir: tempfile::TempDir,
}

impl Chain {
    /// The vault's account: the audience of requests to it.
    pub fn vault_account(&self) -> [u8; 32] {
        self.vault.signing_keypair().public_key().0
    }

    /// Starts a dev node and enrols the participants.
    pub async fn start() -> Self {
        let (node, client) = DevNode::start_connected(node_binary())
            .await
            .expect("the dev node starts and finalises");
        let participants = Participants::enrol(&client)
            .await
            .expect("the participants are enrolled");
        let dir = tempfile::tempdir().unwrap();
        let keystore = dir.path().join("vault.keystore");
        participants.save_vault_keystore(&keystore, PASSPHRASE);
        Self {
            node,
            client,
            patient: participants.patient,
            doctor: participants.doctor.signing_keypair(),
            doctor_identity: participants.doctor,
            vault: participants.vault,
            keystore,
            dir,
        }
    }

    /// Starts a vault with its data in `data` and `extra` options, and waits
    /// until it serves.
    pub async fn start_vault(&mut self, data: &Path, extra: &[&str]) -> ServiceProcess {
        self.start_vault_with_env(data, extra, &[]).await
    }

    /// As [`Chain::start_vault`], with more environment variables.
    pub async fn start_vault_with_env(
        &mut self,
        data: &Path,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> ServiceProcess {
        VaultOptions {
            binary: VAULT.into(),
            keystore: self.keystore.clone(),
            passphrase: PASSPHRASE.into(),
            data_dir: data.to_path_buf(),
            node_ws_url: self.node.process().ws_url(),
            log_path: self.dir.path().join("vault.log"),
            extra: extra.iter().map(|arg| arg.to_string()).collect(),
            envs: envs
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        }
        .start()
        .await
        .expect("the vault serves")
    }
}

/// One exchange with a vault, as the OpenAPI check sees it.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The status.
    pub status: StatusCode,
    /// The body, when it was JSON.
    pub json: Option<serde_json::Value>,
}

/// A response: status, headers, body.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: reqwest::header::HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error` code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// How to sign a request.
pub enum Signing<'a> {
    /// Signed by `keypair` over the body as sent.
    By(&'a Keypair),
    /// Signed by `keypair` over a given body hash.
    OverHash(&'a Keypair, [u8; 32]),
    /// Signed by `keypair`, dated `timestamp_ms`.
    At(&'a Keypair, u64),
    /// These headers exactly.
    Headers(Vec<(&'static str, String)>),
    /// Not signed.
    Unsigned,
}

/// A vault client that signs requests and records every exchange.
#[derive(Clone)]
pub struct VaultClient {
    base: String,
    /// The vault's account, which signed requests name as their audience.
    audience: [u8; 32],
    http: reqwest::Client,
    /// Every exchange so far.
    pub exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl VaultClient {
    /// A client of the vault at `base` whose account is `audience`.
    pub fn new(base: &str, audience: [u8; 32]) -> Self {
        Self {
            base: base.to_string(),
            audience,
            http: reqwest::Client::new(),
            exchanges: Arc::default(),
        }
    }

    /// The headers `signing` stands for, for this client's vault.
    pub fn headers(
        &self,
        signing: Signing<'_>,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        let audience = self.audience;
        match signing {
            Signing::By(keypair) => {
                sign_headers(keypair, audience, method.as_str(), path, body, unix_ms())
            }
            Signing::OverHash(keypair, hash) => {
                sign_headers_for_hash(keypair, audience, method.as_str(), path, hash, unix_ms())
            }
            Signing::At(keypair, timestamp) => {
                sign_headers(keypair, audience, method.as_str(), path, body, timestamp)
            }
            Signing::Headers(headers) => headers,
            Signing::Unsigned => Vec::new(),
        }
    }

    /// Sends `method path` with `body` and these headers.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.expect("the vault answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap().to_vec();
        let json = headers
            .get(reqwest::header::CONTENT_TYPE)
            .filter(|kind| kind.as_bytes().starts_with(b"application/json"))
            .map(|_| serde_json::from_slice(&body).expect("a JSON body parses"));
        self.exchanges.lock().unwrap().push(Exchange {
            method,
            path: path.split('?').next().unwrap().to_string(),
            status,
            json,
        });
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Sends `method path` with `body`, signed as `signing` says.
    pub async fn send(
        &self,
        signing: Signing<'_>,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Answer {
        let headers = self.headers(signing, &method, path, &body);
        self.send_with(method, path, body, headers).await
    }
}
