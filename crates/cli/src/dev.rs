//! `medigate dev`: a complete MediGate network on one machine, with demo
//! participants, for trying MediGate out and for end-to-end tests.
//!
//! It starts a dev node (one validator, sudo), funds, registers and attests
//! the participants, a vault and the custodians of emergency key shares
//! (named on chain, 3 of 5 by default), starts them and one gateway per
//! participant (each unlocked, each knowing the custodians), imports a
//! synthetic patient's records, enables the patient's emergency access
//! (the guardian notified), writes `<name>.env` files and `network.json`
//! into its directory, and runs until Ctrl-C. The chain is new on every
//! start, so the directory is emptied first.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use futures::future::try_join_all;
use medigate_chain_client::{
    Client, account_id, medigate,
    medigate::runtime_types::{
        bounded_collections::bounded_vec::BoundedVec, medigate_access_policy::terms::Role,
        medigate_runtime::RuntimeCall, pallet_balances::pallet::Call as BalancesCall,
        pallet_emergency::pallet::Call as EmergencyCall,
    },
    submit_and_wait,
    subxt::utils::{AccountId32, MultiAddress},
    subxt_signer::sr25519::dev,
};
use medigate_crypto::{keys::Identity, keystore};
use medigate_testnet::{
    CustodianOptions, DevNode, GatewayOptions, ServiceProcess, TEST_KEYSTORE, VaultOptions,
    appoint_board,
};
use serde_json::{Value, json};

use crate::client::CliError;

/// The passphrase of every demo keystore.
pub const DEV_PASSPHRASE: &str = "medigate-dev";
/// What each demo account receives.
const FUNDING: u128 = 1_000_000_000_000_000;

/// Options of `medigate dev`.
#[derive(Clone, Debug, clap::Args)]
pub struct DevOptions {
    /// Where keystores, data, logs and env files go (emptied first).
    #[arg(long, default_value = "medigate-dev")]
    dir: PathBuf,
    /// The first gateway's port; the others follow (0: free ports).
    #[arg(long, default_value_t = 7070)]
    port: u16,
    /// Encounters in the demo patient's records (about 14 resources each).
    #[arg(long, default_value_t = 20)]
    encounters: usize,
    /// Stop once the network is up and seeded (for scripts).
    #[arg(long)]
    no_wait: bool,
    /// How many custodians of emergency key shares to start.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(2..=16))]
    custodians: u8,
    /// How many custodians must release their share (at least 2, at most
    /// the number of custodians).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(2..=16))]
    threshold: u8,
    /// A webhook every gateway posts break-glass notices to.
    #[arg(long)]
    webhook: Option<String>,
}

/// A demo participant who is not registered: a new patient, for the
/// hospital to enrol (they have a gateway, but no funds for the fee).
const NEWCOMER: &str = "newcomer";

/// The demo participants, each with a gateway: name and the role attested
/// (none for the patient).
const PARTICIPANTS: [(&str, Option<Role>); 7] = [
    ("patient", None),
    // The hospital is attested before the doctor who works there.
    ("hospital", Some(Role::Organization)),
    ("doctor", Some(Role::Provider)),
    ("responder", Some(Role::EmergencyResponder)),
    ("researcher", Some(Role::Researcher)),
    ("insurer", Some(Role::Insurer)),
    // Someone the patient may make their delegate (a relative).
    ("guardian", None),
];

fn binary(name: &str) -> Result<PathBuf, CliError> {
    let path = std::env::current_exe()
        .map_err(|error| CliError::Dev(format!("cannot locate the medigate binary: {error}")))?
        .with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(CliError::Dev(format!(
            "{} is missing: build the workspace first (cargo build --workspace)",
            path.display()
        )))
    }
}

fn dev_error(what: &str) -> impl Fn(String) -> CliError + '_ {
    move |error| CliError::Dev(format!("{what}: {error}"))
}

/// Funds, registers and attests the participants and the services (the
/// vault, attested as one; the custodians).
async fn enrol(
    client: &Client,
    identities: &[(&str, Option<Role>, Identity)],
    services: &[(&Identity, Role)],
) -> Result<(), CliError> {
    let mut accounts: Vec<AccountId32> = identities
        .iter()
        .map(|(_, _, identity)| account_id(&identity.signing_keypair()))
        .collect();
    accounts.extend(
        services
            .iter()
            .map(|(identity, _)| account_id(&identity.signing_keypair())),
    );
    let transfers: Vec<RuntimeCall> = accounts
        .iter()
        .map(|account| {
            RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
                dest: MultiAddress::Id(account.clone()),
                value: FUNDING,
            })
        })
        .collect();
    submit_and_wait(
        client,
        &medigate::tx().utility().batch_all(transfers),
        &dev::alice(),
    )
    .await
    .map_err(|error| CliError::Dev(format!("funding the demo accounts: {error}")))?;
    let registering = identities
        .iter()
        .map(|(_, _, identity)| identity)
        .chain(services.iter().map(|(identity, _)| *identity))
        .map(|identity| async move {
            let call = medigate::tx()
                .registry()
                .register(identity.encryption_secret().public_key().0);
            submit_and_wait(client, &call, &identity.signing_keypair()).await
        });
    try_join_all(registering)
        .await
        .map_err(|error| CliError::Dev(format!("registering the demo accounts: {error}")))?;
    appoint_board(client)
        .await
        .map_err(|error| CliError::Dev(format!("appointing the attestation board: {error}")))?;
    let hospital = identities
        .iter()
        .find(|(name, ..)| *name == "hospital")
        .map(|(_, _, identity)| account_id(&identity.signing_keypair()));
    let mut attestations: Vec<_> = identities
        .iter()
        .filter_map(|(name, role, identity)| {
            role.clone().map(|role| {
                let licence = matches!(role, Role::Provider)
                    .then(|| medigate_chain_client::subxt::utils::H256::repeat_byte(9));
                let organization = (*name == "doctor").then(|| hospital.clone()).flatten();
                medigate::tx().registry().attest(
                    account_id(&identity.signing_keypair()),
                    role,
                    licence,
                    organization,
                )
            })
        })
        .collect();
    for (identity, role) in services {
        attestations.push(medigate::tx().registry().attest(
            account_id(&identity.signing_keypair()),
            role.clone(),
            None,
            None,
        ));
    }
    medigate_gateway::chain::submit_together(client, &attestations, &dev::dave())
        .await
        .map_err(|error| CliError::Dev(format!("attesting the demo participants: {error}")))?;
    Ok(())
}

/// What a started network is made of; dropping it stops every process.
pub struct DevNetwork {
    /// The node.
    pub node: DevNode,
    /// The vault.
    pub vault: ServiceProcess,
    /// The custodians of emergency key shares.
    pub custodians: Vec<ServiceProcess>,
    /// The gateways, by participant name.
    pub gateways: Vec<(String, ServiceProcess)>,
    /// The description written to `network.json`.
    pub description: Value,
}

/// Starts and seeds the network.
pub async fn start(options: &DevOptions) -> Result<DevNetwork, CliError> {
    let started = Instant::now();
    if options.port != 0 {
        check_ports(options.port)?;
    }
    let dir = &options.dir;
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|error| dev_error("emptying the directory")(error.to_string()))?;
    }
    std::fs::create_dir_all(dir)
        .map_err(|error| dev_error("making the directory")(error.to_string()))?;
    let dir = dir
        .canonicalize()
        .map_err(|error| dev_error("resolving the directory")(error.to_string()))?;
    if options.threshold > options.custodians {
        return Err(CliError::Dev(format!(
            "a threshold of {} needs at least as many custodians (--custodians {})",
            options.threshold, options.custodians
        )));
    }
    let (node_binary, vault_binary, custodian_binary, medigate_binary) = (
        binary("medigate-node")?,
        binary("medigate-vault")?,
        binary("medigate-custodian")?,
        std::env::current_exe().map_err(|error| CliError::Dev(error.to_string()))?,
    );

    eprintln!("dev: starting a dev node…");
    let (mut node, client) = DevNode::start_connected(node_binary)
        .await
        .map_err(|error| dev_error("starting the dev node")(error.to_string()))?;
    let mut identities: Vec<(&str, Option<Role>, Identity)> = PARTICIPANTS
        .iter()
        .map(|(name, role)| (*name, role.clone(), Identity::generate()))
        .collect();
    let vault_identity = Identity::generate();
    let custodian_identities: Vec<Identity> = (0..options.custodians)
        .map(|_| Identity::generate())
        .collect();
    eprintln!("dev: enrolling the demo participants…");
    let services: Vec<(&Identity, Role)> = std::iter::once((&vault_identity, Role::Vault))
        .chain(
            custodian_identities
                .iter()
                .map(|identity| (identity, Role::Custodian)),
        )
        .collect();
    enrol(&client, &identities, &services).await?;
    // Someone new to MediGate, with a gateway but no funds and not on the
    // chain yet: the hospital enrols them, then they register.
    identities.push((NEWCOMER, None, Identity::generate()));
    // Governance (sudo on a dev chain) names the custodians.
    let name_custodians =
        medigate::tx()
            .sudo()
            .sudo(RuntimeCall::Emergency(EmergencyCall::set_custodians {
                custodians: BoundedVec(
                    custodian_identities
                        .iter()
                        .map(|identity| account_id(&identity.signing_keypair()))
                        .collect(),
                ),
                threshold: options.threshold,
            }));
    submit_and_wait(&client, &name_custodians, &dev::alice())
        .await
        .map_err(|error| CliError::Dev(format!("naming the custodians: {error}")))?;

    let keystore_of = |name: &str| dir.join(format!("{name}.keystore"));
    for (name, _, identity) in &identities {
        keystore::save(&keystore_of(name), identity, DEV_PASSPHRASE, TEST_KEYSTORE)
            .map_err(|error| dev_error("writing a keystore")(error.to_string()))?;
    }
    keystore::save(
        &keystore_of("vault"),
        &vault_identity,
        DEV_PASSPHRASE,
        TEST_KEYSTORE,
    )
    .map_err(|error| dev_error("writing a keystore")(error.to_string()))?;

    for (number, identity) in (1..).zip(&custodian_identities) {
        keystore::save(
            &keystore_of(&format!("custodian-{number}")),
            identity,
            DEV_PASSPHRASE,
            TEST_KEYSTORE,
        )
        .map_err(|error| dev_error("writing a keystore")(error.to_string()))?;
    }

    eprintln!("dev: starting the vault, the custodians and the gateways…");
    let node_ws_url = node.process().ws_url();
    let vault = VaultOptions {
        binary: vault_binary,
        keystore: keystore_of("vault"),
        passphrase: DEV_PASSPHRASE.into(),
        data_dir: dir.join("vault"),
        node_ws_url: node_ws_url.clone(),
        log_path: dir.join("vault.log"),
        extra: Vec::new(),
        envs: Vec::new(),
    }
    .start()
    .await
    .map_err(|error| dev_error("starting the vault")(error.to_string()))?;
    let custodian_options: Vec<CustodianOptions> = (1..=options.custodians)
        .map(|number| CustodianOptions {
            binary: custodian_binary.clone(),
            keystore: keystore_of(&format!("custodian-{number}")),
            passphrase: DEV_PASSPHRASE.into(),
            data_dir: dir.join(format!("custodian-{number}")),
            node_ws_url: node_ws_url.clone(),
            log_path: dir.join(format!("custodian-{number}.log")),
        })
        .collect();
    let custodians = try_join_all(custodian_options.iter().map(CustodianOptions::start))
        .await
        .map_err(|error| dev_error("starting the custodians")(error.to_string()))?;
    let mut gateway_extra: Vec<String> = custodians
        .iter()
        .flat_map(|custodian| ["--custodian".to_string(), custodian.base_url().to_string()])
        .collect();
    if let Some(webhook) = &options.webhook {
        gateway_extra.extend(["--webhook".to_string(), webhook.clone()]);
    }
    let mut gateways = Vec::new();
    let mut described = Vec::new();
    for (offset, (name, role, identity)) in identities.iter().enumerate() {
        let data_dir = dir.join(name);
        let gateway = GatewayOptions {
            binary: medigate_binary.clone(),
            keystore: keystore_of(name),
            passphrase: Some(DEV_PASSPHRASE.into()),
            data_dir: data_dir.clone(),
            node_ws_url: node_ws_url.clone(),
            vault_url: vault.base_url().into(),
            log_path: dir.join(format!("{name}.log")),
            port: (options.port != 0).then(|| options.port + offset as u16),
            extra: gateway_extra.clone(),
        }
        .start()
        .await
        .map_err(|error| dev_error("starting a gateway")(error.to_string()))?;
        let token_file = data_dir.join("api-token");
        std::fs::write(
            dir.join(format!("{name}.env")),
            format!(
                "export MEDIGATE_GATEWAY={}\nexport MEDIGATE_TOKEN_FILE={}\n",
                gateway.base_url(),
                token_file.display()
            ),
        )
        .map_err(|error| dev_error("writing an env file")(error.to_string()))?;
        described.push(json!({
            "name": name,
            "role": role.as_ref().map(|role| format!("{role:?}")),
            "account": hex::encode(identity.signing_keypair().public_key().0),
            "gateway": gateway.base_url(),
            "token_file": token_file,
            "keystore": keystore_of(name),
            "log": dir.join(format!("{name}.log")),
        }));
        gateways.push((name.to_string(), gateway));
    }

    eprintln!("dev: importing the demo patient's records…");
    let patient = &described[0];
    let bundle = medigate_fhir::synthetic::patient_bundle(2026, options.encounters);
    let token = std::fs::read_to_string(patient["token_file"].as_str().unwrap_or_default())
        .map_err(|error| dev_error("reading the patient's token")(error.to_string()))?;
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/api/import",
            patient["gateway"].as_str().unwrap_or_default()
        ))
        .bearer_auth(token.trim())
        .body(bundle.to_string())
        .send()
        .await
        .map_err(|error| dev_error("importing the demo records")(error.to_string()))?
        .text()
        .await
        .map_err(|error| dev_error("importing the demo records")(error.to_string()))?;
    let last: Value = answer
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_default();
    let imported = last["result"]["records"].as_u64().ok_or_else(|| {
        CliError::Dev(format!(
            "importing the demo records failed: {}",
            last["message"]
        ))
    })?;

    eprintln!("dev: enabling the patient's emergency access…");
    let guardian = described
        .iter()
        .find(|participant| participant["name"] == "guardian")
        .map(|participant| participant["account"].clone())
        .unwrap_or_default();
    let answer = reqwest::Client::new()
        .put(format!(
            "{}/api/emergency/policy",
            patient["gateway"].as_str().unwrap_or_default()
        ))
        .bearer_auth(token.trim())
        .json(&json!({"enabled": true, "roles": ["responder"], "guardians": [guardian]}))
        .send()
        .await
        .map_err(|error| dev_error("enabling emergency access")(error.to_string()))?;
    if !answer.status().is_success() {
        return Err(CliError::Dev(format!(
            "enabling the patient's emergency access failed: {}",
            answer.text().await.unwrap_or_default()
        )));
    }

    let described_custodians: Vec<Value> = custodian_identities
        .iter()
        .zip(&custodians)
        .zip(1..)
        .map(|((identity, custodian), number)| {
            json!({
                "account": hex::encode(identity.signing_keypair().public_key().0),
                "url": custodian.base_url(),
                "data_dir": dir.join(format!("custodian-{number}")),
                "log": dir.join(format!("custodian-{number}.log")),
            })
        })
        .collect();
    let description = json!({
        "node": node_ws_url,
        "vault": vault.base_url(),
        "custodians": described_custodians,
        "threshold": options.threshold,
        "passphrase": DEV_PASSPHRASE,
        "demo_records": imported,
        "participants": described,
        "started_in_ms": started.elapsed().as_millis() as u64,
    });
    std::fs::write(dir.join("network.json"), format!("{description:#}"))
        .map_err(|error| dev_error("writing network.json")(error.to_string()))?;
    Ok(DevNetwork {
        node,
        vault,
        custodians,
        gateways,
        description,
    })
}

fn summary(dir: &Path, description: &Value) -> String {
    let mut lines = vec![
        format!(
            "MediGate dev network up in {:.1} s",
            description["started_in_ms"].as_f64().unwrap_or_default() / 1000.0
        ),
        format!(
            "  node   {}",
            description["node"].as_str().unwrap_or_default()
        ),
        format!(
            "  vault  {}",
            description["vault"].as_str().unwrap_or_default()
        ),
        format!(
            "  custodians {} of them, {} needed to rebuild an emergency key",
            description["custodians"].as_array().map_or(0, Vec::len),
            description["threshold"]
        ),
        "  gateways (web app at <gateway>/app, FHIR R4 at <gateway>/fhir; keystore passphrase medigate-dev):".into(),
    ];
    for participant in description["participants"].as_array().into_iter().flatten() {
        lines.push(format!(
            "    {:<10} {:<22} account {}",
            participant["name"].as_str().unwrap_or_default(),
            participant["gateway"].as_str().unwrap_or_default(),
            participant["account"].as_str().unwrap_or_default()
        ));
    }
    let patient = description["participants"][0]["account"]
        .as_str()
        .unwrap_or_default();
    lines.push(format!(
        "\nThe patient has {} records. Try, in another terminal:",
        description["demo_records"]
    ));
    lines.push(format!(
        "  source {}/patient.env && medigate records list",
        dir.display()
    ));
    lines.push(format!(
        "  source {}/doctor.env && medigate access request --patient {patient} --categories labs,vitals",
        dir.display()
    ));
    lines.push(format!(
        "  source {}/patient.env && medigate access list && medigate access approve <request>",
        dir.display()
    ));
    lines.push(format!(
        "  source {}/doctor.env && medigate records export --patient {patient}",
        dir.display()
    ));
    lines.push(format!(
        "  source {}/patient.env && medigate audit",
        dir.display()
    ));
    lines.push(format!(
        "  source {}/responder.env && medigate emergency break-glass --patient {patient} --reason \"unconscious, brought in by ambulance\"",
        dir.display()
    ));
    lines.push(format!(
        "  source {}/patient.env && medigate emergency status",
        dir.display()
    ));
    let gateway_of = |name: &str| {
        description["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|participant| participant["name"] == name)
            .and_then(|participant| participant["gateway"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    lines.push(format!(
        "Or in a browser: {}/app as the patient, {}/app as the doctor (passphrase medigate-dev).",
        gateway_of("patient"),
        gateway_of("doctor")
    ));
    lines.push("Stop with Ctrl-C.".into());
    lines.join("\n")
}

/// Fails unless the gateways' ports are free (another network may be
/// running).
fn check_ports(first: u16) -> Result<(), CliError> {
    for port in (first..).take(PARTICIPANTS.len()) {
        std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|error| {
            CliError::Dev(format!(
                "port {port} is taken ({error}): is another `medigate dev` running? Stop it, or choose other ports with --port"
            ))
        })?;
    }
    Ok(())
}

/// Runs `medigate dev`.
pub async fn run(options: DevOptions) -> Result<(), CliError> {
    let network = start(&options).await?;
    let dir = options.dir.canonicalize().unwrap_or(options.dir.clone());
    println!("{}", summary(&dir, &network.description));
    if options.no_wait {
        return Ok(());
    }
    medigate_gateway::server::shutdown().await;
    eprintln!("dev: stopping…");
    let DevNetwork {
        mut node,
        vault,
        custodians,
        gateways,
        ..
    } = network;
    for (_, gateway) in gateways {
        let _ = gateway.stop();
    }
    for custodian in custodians {
        let _ = custodian.stop();
    }
    let _ = vault.stop();
    let _ = node.stop();
    Ok(())
}
