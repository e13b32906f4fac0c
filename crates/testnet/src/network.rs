//! The four-validator `local` network on one machine.

use std::{path::PathBuf, process::Command, time::Duration};

use crate::{Error, NodeOptions, NodeProcess, free_port};

/// The well-known development validators of the `local` chain spec.
pub const LOCAL_VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// Four validators of the `local` chain spec, each with its own base path and
/// ports, all booted from the first one.
#[derive(Debug)]
pub struct LocalNetwork {
    _root: tempfile::TempDir,
    nodes: Vec<NodeProcess>,
}

impl LocalNetwork {
    /// Starts the four validators and waits for their JSON-RPC servers.
    pub async fn start(binary: impl Into<PathBuf>) -> Result<Self, Error> {
        let binary = binary.into();
        let root = tempfile::Builder::new()
            .prefix("medigate-local-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "creating a temporary directory".into(),
                source,
            })?;

        let mut nodes = Vec::with_capacity(LOCAL_VALIDATORS.len());
        let mut bootnodes = Vec::new();
        for (index, validator) in LOCAL_VALIDATORS.iter().enumerate() {
            let base_path = root.path().join(validator);
            std::fs::create_dir_all(&base_path).map_err(|source| Error::Io {
                what: format!("creating {}", base_path.display()),
                source,
            })?;
            let node_key_file = base_path.join("node-key");
            write_node_key(&node_key_file, index)?;
            let options = NodeOptions {
                binary: binary.clone(),
                chain: Some("local".into()),
                base_path,
                rpc_port: free_port(),
                p2p_port: free_port(),
                validator: Some(validator.to_string()),
                node_key_file: Some(node_key_file.clone()),
                bootnodes: bootnodes.clone(),
            };
            if index == 0 {
                let peer_id = peer_id(&binary, &node_key_file)?;
                bootnodes.push(format!(
                    "/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}",
                    options.p2p_port
                ));
            }
            nodes.push(NodeProcess::start(options)?);
        }
        for node in &mut nodes {
            node.wait_for_rpc(Duration::from_secs(120)).await?;
        }
        Ok(Self { _root: root, nodes })
    }

    /// The validators' processes, in the order of [`LOCAL_VALIDATORS`].
    pub fn nodes(&mut self) -> &mut [NodeProcess] {
        &mut self.nodes
    }
}

/// Writes a distinct libp2p secret key (hex) for node `index`.
fn write_node_key(path: &std::path::Path, index: usize) -> Result<(), Error> {
    let key = format!("{:064x}", index + 1);
    std::fs::write(path, key).map_err(|source| Error::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}

/// The libp2p peer id of the node key in `key_file`, as the node computes it.
fn peer_id(binary: &PathBuf, key_file: &std::path::Path) -> Result<String, Error> {
    let output = Command::new(binary)
        .args(["key", "inspect-node-key", "--file"])
        .arg(key_file)
        .output()
        .map_err(|source| Error::Spawn {
            binary: binary.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(Error::Exited {
            status: output.status,
            log_tail: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
