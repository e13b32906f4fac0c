//! What the vault's integration tests share: a dev node with the vault's
//! participants registered, vault processes, and a signing HTTP client that
//! records every exchange for the OpenAPI check.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use medigate_chain_client::{
    Client, account_id, connect, medigate,
    medigate::runtime_types::{
        medigate_access_policy::terms::{Role, RoleSet},
        medigate_runtime::RuntimeCall,
        pallet_registry::pallet::Call as RegistryCall,
    },
    submit_and_wait,
    subxt::{tx::Payload, utils::MultiAddress},
    subxt_signer::sr25519::{Keypair, dev},
};
use medigate_crypto::{keys::Identity, keystore};
use medigate_testnet::{DevNode, ServiceProcess, free_port};
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

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Signs `call` with `signer` and waits for it to succeed in a finalised block.
pub async fn submit<Call: Payload>(
    client: &Client,
    call: &Call,
    signer: &Keypair,
) -> medigate_chain_client::subxt::extrinsics::ExtrinsicEvents<medigate_chain_client::MediGateConfig>
{
    submit_and_wait(client, call, signer)
        .await
        .expect("the transaction succeeds in a finalised block")
}

/// A dev node whose board attests providers and organizations, and a vault
/// identity that is registered and attested as an organization.
pub struct Chain {
    /// The node.
    pub node: DevNode,
    /// A client of it.
    pub client: Client,
    /// The patient (Bob).
    pub patient: Keypair,
    /// The doctor's signing key, attested as a provider.
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
    /// Starts a dev node and sets up the patient, the doctor and the vault.
    pub async fn start() -> Self {
        let mut node = DevNode::start(node_binary())
            .await
            .expect("the dev node starts");
        node.process()
            .wait_for_finalized(1, Duration::from_secs(180))
            .await
            .expect("the dev node finalises");
        let client = connect(&node.process().ws_url()).await.unwrap();
        let (governance, patient, board) = (dev::alice(), dev::bob(), dev::dave());
        let (doctor_identity, vault) = (Identity::generate(), Identity::generate());
        let (doctor, vault_keypair) = (doctor_identity.signing_keypair(), vault.signing_keypair());

        // Fresh accounts need funds for the registration fee.
        for keypair in [&doctor, &vault_keypair] {
            submit(
                &client,
                &medigate::tx().balances().transfer_keep_alive(
                    MultiAddress::Id(account_id(keypair)),
                    1_000_000_000_000_000,
                ),
                &governance,
            )
            .await;
        }
        let doctor_key = doctor_identity.encryption_secret().public_key().0;
        for (keypair, key) in [
            (&patient, [1u8; 32]),
            (&doctor, doctor_key),
            (&vault_keypair, vault.encryption_secret().public_key().0),
        ] {
            submit(&client, &medigate::tx().registry().register(key), keypair).await;
        }
        let appoint = RuntimeCall::Registry(RegistryCall::add_authority {
            authority: account_id(&board),
            roles: RoleSet(1 << Role::Provider as u8 | 1 << Role::Organization as u8),
        });
        submit(&client, &medigate::tx().sudo().sudo(appoint), &governance).await;
        submit(
            &client,
            &medigate::tx().registry().attest(
                account_id(&doctor),
                Role::Provider,
                Some(medigate_chain_client::subxt::utils::H256::repeat_byte(9)),
                None,
            ),
            &board,
        )
        .await;
        submit(
            &client,
            &medigate::tx().registry().attest(
                account_id(&vault_keypair),
                Role::Organization,
                None,
                None,
            ),
            &board,
        )
        .await;

        let dir = tempfile::tempdir().unwrap();
        let keystore = dir.path().join("vault.keystore");
        keystore::save(
            &keystore,
            &vault,
            PASSPHRASE,
            keystore::KeystoreParams {
                memory_kib: 8 * 1024,
                iterations: 1,
                parallelism: 1,
            },
        )
        .unwrap();
        Self {
            node,
            client,
            patient,
            doctor,
            doctor_identity,
            vault,
            keystore,
            dir,
        }
    }

    /// The node's WebSocket URL.
    pub fn ws_url(&mut self) -> String {
        self.node.process().ws_url()
    }

    /// Starts a vault on a free port with its data in `data` and `extra`
    /// options, and waits until it serves.
    pub async fn start_vault(&mut self, data: &Path, extra: &[&str]) -> ServiceProcess {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--keystore".into(),
            self.keystore.display().to_string(),
            "--data-dir".into(),
            data.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--node".into(),
            self.ws_url(),
        ];
        args.extend(extra.iter().map(|arg| arg.to_string()));
        let mut vault = ServiceProcess::start(
            Path::new(VAULT),
            &args,
            &[("MEDIGATE_VAULT_PASSPHRASE", PASSPHRASE.to_string())],
            &self.dir.path().join("vault.log"),
            format!("http://127.0.0.1:{port}"),
        )
        .unwrap();
        vault
            .wait_ready("/health", Duration::from_secs(60))
            .await
            .expect("the vault serves");
        vault
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
    http: reqwest::Client,
    /// Every exchange so far.
    pub exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl VaultClient {
    /// A client of the vault at `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: reqwest::Client::new(),
            exchanges: Arc::default(),
        }
    }

    /// The headers `signing` stands for.
    pub fn headers(
        signing: Signing<'_>,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        match signing {
            Signing::By(keypair) => sign_headers(keypair, method.as_str(), path, body, unix_ms()),
            Signing::OverHash(keypair, hash) => {
                sign_headers_for_hash(keypair, method.as_str(), path, hash, unix_ms())
            }
            Signing::At(keypair, timestamp) => {
                sign_headers(keypair, method.as_str(), path, body, timestamp)
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
        let headers = Self::headers(signing, &method, path, &body);
        self.send_with(method, path, body, headers).await
    }
}
