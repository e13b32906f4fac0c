//! Checks made before the node starts, so that a mistake in the command line
//! ends in one clear sentence instead of a failure deep inside the service.

use std::{
    fs,
    net::{Ipv4Addr, TcpListener},
    path::Path,
};

/// The JSON-RPC port Substrate listens on when `--rpc-port` is not given.
const DEFAULT_RPC_PORT: u16 = 9944;
/// The peer-to-peer port Substrate listens on when `--port` is not given.
const DEFAULT_P2P_PORT: u16 = 30333;

/// Fails unless `base_path` exists (or can be created) and accepts new files.
pub fn ensure_writable_base_path(base_path: &Path) -> Result<(), String> {
    let unwritable = |error: std::io::Error| {
        format!("base path {} is not writable: {error}", base_path.display())
    };
    fs::create_dir_all(base_path).map_err(unwritable)?;
    let probe = base_path.join(".medigate-write-check");
    fs::write(&probe, b"").map_err(unwritable)?;
    fs::remove_file(&probe).map_err(unwritable)
}

/// Fails if another process already listens on `port` (TCP, any IPv4 address).
pub fn ensure_port_free(port: u16, what: &str, flag: &str) -> Result<(), String> {
    if port == 0 {
        return Ok(());
    }
    TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
        .map(drop)
        .map_err(|error| {
            format!(
                "{what} port {port} is not available ({error}); choose another with {flag} <PORT>"
            )
        })
}

/// Runs every check that applies to `run`.
pub fn check(run: &sc_cli::RunCmd) -> Result<(), String> {
    if let Some(base_path) = &run.shared_params.base_path {
        ensure_writable_base_path(base_path)?;
    }
    let rpc_port = run.rpc_params.rpc_port.unwrap_or(DEFAULT_RPC_PORT);
    ensure_port_free(rpc_port, "JSON-RPC", "--rpc-port")?;
    // With explicit --listen-addr the node does not use --port.
    if run.network_params.listen_addr.is_empty() {
        let p2p_port = run.network_params.port.unwrap_or(DEFAULT_P2P_PORT);
        ensure_port_free(p2p_port, "peer-to-peer", "--port")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_port_is_reported_with_the_flag_to_change() {
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = ensure_port_free(port, "JSON-RPC", "--rpc-port").unwrap_err();
        assert!(
            error.contains(&format!("JSON-RPC port {port} is not available")),
            "{error}"
        );
        assert!(error.contains("--rpc-port"), "{error}");
    }

    #[test]
    fn free_port_passes() {
        let port = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(ensure_port_free(port, "JSON-RPC", "--rpc-port"), Ok(()));
    }

    #[test]
    fn base_path_under_a_file_is_not_writable() {
        let file = std::env::temp_dir().join(format!("medigate-preflight-{}", std::process::id()));
        fs::write(&file, b"").unwrap();
        let error = ensure_writable_base_path(&file.join("chain")).unwrap_err();
        fs::remove_file(&file).unwrap();
        assert!(error.starts_with("base path "), "{error}");
        assert!(error.contains("is not writable"), "{error}");
    }
}
