//! One MediGate service process (a vault, a gateway) on loopback.

use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    Error,
    node::{log_tail, terminate},
};

/// How long a graceful stop may take before the process is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// A running service; killed when dropped.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    log_path: PathBuf,
    base_url: String,
}

impl ServiceProcess {
    /// Starts `binary` with `args` and `envs`, appending its output to
    /// `log_path`; it is expected to serve HTTP at `base_url`.
    pub fn start(
        binary: &Path,
        args: &[String],
        envs: &[(&str, String)],
        log_path: &Path,
        base_url: String,
    ) -> Result<Self, Error> {
        let open_log = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path)
                .map_err(|source| Error::Io {
                    what: format!("opening log {}", log_path.display()),
                    source,
                })
        };
        let child = Command::new(binary)
            .args(args)
            .envs(envs.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(open_log()?)
            .stderr(open_log()?)
            .spawn()
            .map_err(|source| Error::Spawn {
                binary: binary.to_path_buf(),
                source,
            })?;
        Ok(Self {
            child,
            log_path: log_path.to_path_buf(),
            base_url,
        })
    }

    /// Where it serves, e.g. `http://127.0.0.1:8700`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }

    /// Waits until `GET {base_url}{path}` answers 200, failing if the process
    /// exits or `timeout` passes.
    pub async fn wait_ready(&mut self, path: &str, timeout: Duration) -> Result<(), Error> {
        let url = format!("{}{path}", self.base_url);
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Exited {
                    status,
                    log_tail: self.log_tail(),
                });
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: url,
                    waited: timeout,
                    log_tail: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the process to exit by itself (a service that refuses to
    /// start); returns its status.
    pub fn wait_exit(mut self, timeout: Duration) -> Result<std::process::ExitStatus, Error> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Ok(status);
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: "the process to exit".into(),
                    waited: timeout,
                    log_tail: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it with SIGTERM (as Ctrl-C would), killing it after a grace
    /// period.
    pub fn stop(mut self) -> Result<std::process::ExitStatus, Error> {
        terminate(&mut self.child, STOP_GRACE)
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How to start a `medigate-vault serve` process.
#[derive(Clone, Debug)]
pub struct VaultOptions {
    /// The `medigate-vault` binary.
    pub binary: PathBuf,
    /// The vault's keystore.
    pub keystore: PathBuf,
    /// Its passphrase.
    pub passphrase: String,
    /// The directory of blobs and wraps.
    pub data_dir: PathBuf,
    /// The node's WebSocket URL.
    pub node_ws_url: String,
    /// Where the vault's output goes.
    pub log_path: PathBuf,
    /// More options for `serve`.
    pub extra: Vec<String>,
    /// More environment variables (for example an object store's
    /// credentials).
    pub envs: Vec<(String, String)>,
}

impl VaultOptions {
    /// Starts the vault on a free loopback port and waits until it serves.
    pub async fn start(&self) -> Result<ServiceProcess, Error> {
        let port = crate::free_port();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--keystore".into(),
            self.keystore.display().to_string(),
            "--data-dir".into(),
            self.data_dir.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--node".into(),
            self.node_ws_url.clone(),
        ];
        args.extend(self.extra.iter().cloned());
        let mut envs = vec![("MEDIGATE_VAULT_PASSPHRASE", self.passphrase.clone())];
        envs.extend(
            self.envs
                .iter()
                .map(|(name, value)| (name.as_str(), value.clone())),
        );
        let mut vault = ServiceProcess::start(
            &self.binary,
            &args,
            &envs,
            &self.log_path,
            format!("http://127.0.0.1:{port}"),
        )?;
        vault.wait_ready("/health", Duration::from_secs(60)).await?;
        Ok(vault)
    }
}

/// How to start a `medigate-custodian serve` process.
#[derive(Clone, Debug)]
pub struct CustodianOptions {
    /// The `medigate-custodian` binary.
    pub binary: PathBuf,
    /// The custodian's keystore.
    pub keystore: PathBuf,
    /// Its passphrase.
    pub passphrase: String,
    /// Where its shares and release log are kept.
    pub data_dir: PathBuf,
    /// The node's WebSocket URL.
    pub node_ws_url: String,
    /// Where its output goes.
    pub log_path: PathBuf,
}

impl CustodianOptions {
    /// Starts the custodian on a free loopback port and waits until it
    /// serves.
    pub async fn start(&self) -> Result<ServiceProcess, Error> {
        let port = crate::free_port();
        let args: Vec<String> = vec![
            "serve".into(),
            "--keystore".into(),
            self.keystore.display().to_string(),
            "--data-dir".into(),
            self.data_dir.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--node".into(),
            self.node_ws_url.clone(),
        ];
        let envs = vec![("MEDIGATE_CUSTODIAN_PASSPHRASE", self.passphrase.clone())];
        let mut custodian = ServiceProcess::start(
            &self.binary,
            &args,
            &envs,
            &self.log_path,
            format!("http://127.0.0.1:{port}"),
        )?;
        custodian
            .wait_ready("/health", Duration::from_secs(60))
            .await?;
        Ok(custodian)
    }
}

/// How to start a `medigate gateway` process.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// The `medigate` binary.
    pub binary: PathBuf,
    /// The user's keystore.
    pub keystore: PathBuf,
    /// Its passphrase (the gateway starts unlocked), or none (locked).
    pub passphrase: Option<String>,
    /// The gateway's data directory (index, API token).
    pub data_dir: PathBuf,
    /// The node's WebSocket URL.
    pub node_ws_url: String,
    /// The vault's URL.
    pub vault_url: String,
    /// Where its output goes.
    pub log_path: PathBuf,
    /// The port to serve on (a free one when `None`).
    pub port: Option<u16>,
    /// More arguments.
    pub extra: Vec<String>,
}

impl GatewayOptions {
    /// Starts the gateway and waits until it serves.
    pub async fn start(&self) -> Result<ServiceProcess, Error> {
        let port = self.port.unwrap_or_else(crate::free_port);
        let mut args: Vec<String> = vec![
            "gateway".into(),
            "--keystore".into(),
            self.keystore.display().to_string(),
            "--data-dir".into(),
            self.data_dir.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--node".into(),
            self.node_ws_url.clone(),
            "--vault".into(),
            self.vault_url.clone(),
        ];
        args.extend(self.extra.iter().cloned());
        let envs: Vec<(&str, String)> = self
            .passphrase
            .iter()
            .map(|passphrase| ("MEDIGATE_PASSPHRASE", passphrase.clone()))
            .collect();
        let mut gateway = ServiceProcess::start(
            &self.binary,
            &args,
            &envs,
            &self.log_path,
            format!("http://127.0.0.1:{port}"),
        )?;
        gateway
            .wait_ready("/health", Duration::from_secs(60))
            .await?;
        Ok(gateway)
    }
}
