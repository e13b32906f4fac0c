//! Errors of starting, querying and stopping nodes.

use std::{path::PathBuf, time::Duration};

/// What went wrong with a node process.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node binary could not be started at all.
    #[error("cannot start {binary}: {source}")]
    Spawn {
        /// The binary that was started.
        binary: PathBuf,
        /// Why the operating system refused.
        source: std::io::Error,
    },
    /// The node exited before it was ready or while it was expected to run.
    #[error("the process exited with {status}; last log lines:\n{log_tail}")]
    Exited {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of its log.
        log_tail: String,
    },
    /// The node did not reach the expected state in time.
    #[error("timed out after {waited:?} waiting for {what}; last log lines:\n{log_tail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
        /// The end of the node's log.
        log_tail: String,
    },
    /// A JSON-RPC call failed.
    #[error("JSON-RPC {method} failed: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// The transport or node error.
        message: String,
    },
    /// A client could not connect to the node.
    #[error(transparent)]
    Connect(#[from] medigate_chain_client::ConnectError),
    /// A file of the node (base path, log, key) could not be used.
    #[error("{what}: {source}")]
    Io {
        /// The file or directory involved.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
