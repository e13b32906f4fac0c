//! One `medigate-node` process.

use std::{
    fs::{self, File, OpenOptions},
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{Error, RpcClient, free_port};

/// How often a waiting loop polls the node.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long a graceful stop may take before the process is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// How many bytes of the log an error report shows.
const LOG_TAIL_BYTES: u64 = 4096;

/// How to start a node.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The `medigate-node` binary.
    pub binary: PathBuf,
    /// `--dev`, or the chain spec given to `--chain` (`local`, a file).
    pub chain: Option<String>,
    /// Its database and keystore.
    pub base_path: PathBuf,
    /// The JSON-RPC port (on 127.0.0.1).
    pub rpc_port: u16,
    /// The peer-to-peer port (on 127.0.0.1).
    pub p2p_port: u16,
    /// A well-known development key to validate with (`alice`, `bob`, ...).
    pub validator: Option<String>,
    /// A file holding the node's libp2p key.
    pub node_key_file: Option<PathBuf>,
    /// Addresses of nodes to connect to first.
    pub bootnodes: Vec<String>,
}

impl NodeOptions {
    /// Options for a `--dev` node at `base_path`, on free ports.
    pub fn dev(binary: impl Into<PathBuf>, base_path: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            chain: None,
            base_path: base_path.into(),
            rpc_port: free_port(),
            p2p_port: free_port(),
            validator: None,
            node_key_file: None,
            bootnodes: Vec::new(),
        }
    }

    /// The command-line arguments these options stand for.
    pub fn args(&self) -> Vec<String> {
        let mut args = match &self.chain {
            None => vec!["--dev".to_string()],
            Some(chain) => vec!["--chain".to_string(), chain.clone()],
        };
        args.extend([
            "--base-path".to_string(),
            self.base_path.display().to_string(),
            "--rpc-port".to_string(),
            self.rpc_port.to_string(),
            // Loopback only, for peers as for RPC (which listens on loopback
            // by default): nothing else on the machine's network reaches
            // the node.
            "--listen-addr".to_string(),
            format!("/ip4/127.0.0.1/tcp/{}", self.p2p_port),
            // No unsafe RPC (key insertion, peer management), which `--dev`
            // would allow; MediGate's services use none.
            "--rpc-methods".to_string(),
            "safe".to_string(),
            // No web page may call the node (`--dev` would let any site
            // do): the one origin allowed is the node's own address, which
            // serves no page. Services call it without an origin.
            "--rpc-cors".to_string(),
            format!("http://127.0.0.1:{}", self.rpc_port),
            "--no-prometheus".to_string(),
            "--no-telemetry".to_string(),
            "--no-mdns".to_string(),
            // A vault and several gateways on one machine each keep a pool
            // of HTTP connections to the node; 100 (the default) is tight.
            "--rpc-max-connections".to_string(),
            "1000".to_string(),
        ]);
        if let Some(validator) = &self.validator {
            args.push(format!("--{validator}"));
        }
        if let Some(file) = &self.node_key_file {
            args.push("--node-key-file".to_string());
            args.push(file.display().to_string());
        }
        for bootnode in &self.bootnodes {
            args.push("--bootnodes".to_string());
            args.push(bootnode.clone());
        }
        args
    }
}

/// A running node; killed when dropped.
#[derive(Debug)]
pub struct NodeProcess {
    options: NodeOptions,
    child: Child,
    log_path: PathBuf,
    rpc: RpcClient,
}

impl NodeProcess {
    /// Starts a node; its output is appended to `node.log` in its base path.
    pub fn start(options: NodeOptions) -> Result<Self, Error> {
        fs::create_dir_all(&options.base_path).map_err(|source| Error::Io {
            what: format!("creating base path {}", options.base_path.display()),
            source,
        })?;
        let log_path = options.base_path.join("node.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| Error::Io {
                what: format!("opening log {}", log_path.display()),
                source,
            })?;
        let log_for_stderr = log.try_clone().map_err(|source| Error::Io {
            what: format!("opening log {}", log_path.display()),
            source,
        })?;
        let child = Command::new(&options.binary)
            .args(options.args())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr)
            .spawn()
            .map_err(|source| Error::Spawn {
                binary: options.binary.clone(),
                source,
            })?;
        let rpc = RpcClient::new(options.rpc_port);
        Ok(Self {
            options,
            child,
            log_path,
            rpc,
        })
    }

    /// The options the node was started with.
    pub fn options(&self) -> &NodeOptions {
        &self.options
    }

    /// The WebSocket URL of its JSON-RPC server.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.options.rpc_port)
    }

    /// The HTTP URL of its JSON-RPC server (the same port serves both).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.options.rpc_port)
    }

    /// A JSON-RPC client of the node.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The operating-system process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }

    /// Fails if the process has exited.
    pub fn ensure_running(&mut self) -> Result<(), Error> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(Error::Exited {
                status,
                log_tail: self.log_tail(),
            }),
            _ => Ok(()),
        }
    }

    /// Waits until `check` returns `Some`, failing if the node exits or `timeout` passes.
    pub async fn wait_for<T, F, Fut>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<T, Error>
    where
        F: FnMut(RpcClient) -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            self.ensure_running()?;
            if let Some(value) = check(self.rpc.clone()).await {
                return Ok(value);
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: what.to_string(),
                    waited: timeout,
                    log_tail: self.log_tail(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until the JSON-RPC server answers.
    pub async fn wait_for_rpc(&mut self, timeout: Duration) -> Result<(), Error> {
        self.wait_for("the JSON-RPC server", timeout, |rpc| async move {
            rpc.best_number().await.ok().map(|_| ())
        })
        .await
    }

    /// Waits until block `number` (or a later one) is finalised; returns the
    /// finalised number.
    pub async fn wait_for_finalized(
        &mut self,
        number: u32,
        timeout: Duration,
    ) -> Result<u32, Error> {
        self.wait_for(
            &format!("finalized block #{number}"),
            timeout,
            |rpc| async move {
                rpc.finalized_number()
                    .await
                    .ok()
                    .filter(|finalized| *finalized >= number)
            },
        )
        .await
    }

    /// Stops the node with SIGTERM (as Ctrl-C would) and waits for it to exit,
    /// killing it if it takes longer than the grace period.
    pub fn stop(mut self) -> Result<std::process::ExitStatus, Error> {
        terminate(&mut self.child, STOP_GRACE)
    }
}

/// Sends SIGTERM to `child` and waits for it to exit, killing it if it takes
/// longer than `grace`.
pub(crate) fn terminate(
    child: &mut Child,
    grace: Duration,
) -> Result<std::process::ExitStatus, Error> {
    let pid = child.id() as libc::pid_t;
    // SAFETY: `kill` only sends a signal to the child this value owns.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if started.elapsed() < grace => std::thread::sleep(POLL_INTERVAL),
            _ => {
                let _ = child.kill();
                return child.wait().map_err(|source| Error::Io {
                    what: "waiting for the process to exit".into(),
                    source,
                });
            }
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last few kilobytes of the log at `path`.
pub(crate) fn log_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let length = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)));
    let mut tail = String::new();
    let _ = file.read_to_string(&mut tail);
    tail
}

/// A `--dev` node in a temporary base path that outlives restarts of the node.
#[derive(Debug)]
pub struct DevNode {
    base_path: tempfile::TempDir,
    options: NodeOptions,
    process: Option<NodeProcess>,
}

impl DevNode {
    /// Starts a `--dev` node in a fresh temporary base path and waits for its
    /// JSON-RPC server.
    pub async fn start(binary: impl Into<PathBuf>) -> Result<Self, Error> {
        let base_path = tempfile::Builder::new()
            .prefix("medigate-dev-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "creating a temporary base path".into(),
                source,
            })?;
        let options = NodeOptions::dev(binary, base_path.path());
        let mut node = Self {
            base_path,
            options,
            process: None,
        };
        node.restart().await?;
        Ok(node)
    }

    /// Starts a `--dev` node, waits for its first finalised block (the chain
    /// takes transactions) and connects a client to it.
    pub async fn start_connected(
        binary: impl Into<PathBuf>,
    ) -> Result<(Self, medigate_chain_client::Client), Error> {
        let mut node = Self::start(binary).await?;
        node.process()
            .wait_for_finalized(1, Duration::from_secs(180))
            .await?;
        let client = medigate_chain_client::connect(&node.process().ws_url()).await?;
        Ok((node, client))
    }

    /// The running process.
    pub fn process(&mut self) -> &mut NodeProcess {
        self.process.as_mut().expect("the dev node is running")
    }

    /// Its base path.
    pub fn base_path(&self) -> &Path {
        self.base_path.path()
    }

    /// Stops the node gracefully, keeping its base path.
    pub fn stop(&mut self) -> Result<(), Error> {
        if let Some(process) = self.process.take() {
            process.stop()?;
        }
        Ok(())
    }

    /// Starts the node again on the same base path and ports.
    pub async fn restart(&mut self) -> Result<(), Error> {
        self.stop()?;
        let mut process = NodeProcess::start(self.options.clone())?;
        process.wait_for_rpc(Duration::from_secs(120)).await?;
        self.process = Some(process);
        Ok(())
    }
}
