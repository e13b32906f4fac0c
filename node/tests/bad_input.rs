//! A node started with a broken chain spec, a taken port or an unwritable base
//! path exits at once with one clear line on standard error and exit code 1.

use std::{
    net::{Ipv4Addr, TcpListener},
    process::{Command, Output},
    time::Duration,
};

const NODE: &str = env!("CARGO_BIN_EXE_medigate-node");

/// Runs the node with `args` and returns its output; it must exit by itself.
fn run_node(args: &[&str]) -> Output {
    let mut child = Command::new(NODE)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the node binary starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the node kept running with bad input: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// Asserts exit code 1 and a single line on stderr containing `expected`.
fn assert_one_line_error(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(
        lines[0].starts_with("medigate-node: error: "),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(expected),
        "{:?} lacks {expected:?}",
        lines[0]
    );
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("medigate-bad-input-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn broken_chain_spec_is_rejected() {
    let dir = scratch_dir("spec");
    let spec = dir.join("broken.json");
    std::fs::write(&spec, "{ \"name\": \"MediGate\", \"genesis\": ").unwrap();
    let output = run_node(&[
        "--chain",
        spec.to_str().unwrap(),
        "--tmp",
        "--rpc-port",
        "0",
        "--port",
        "0",
    ]);
    assert_one_line_error(
        &output,
        &format!("chain spec {} cannot be loaded", spec.display()),
    );
}

#[test]
fn missing_chain_spec_file_is_rejected() {
    let output = run_node(&[
        "--chain",
        "/nonexistent/medigate.json",
        "--tmp",
        "--rpc-port",
        "0",
    ]);
    assert_one_line_error(
        &output,
        "chain spec /nonexistent/medigate.json cannot be loaded",
    );
}

#[test]
fn taken_rpc_port_is_rejected() {
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let output = run_node(&["--dev", "--tmp", "--rpc-port", &port, "--port", "0"]);
    assert_one_line_error(&output, &format!("JSON-RPC port {port} is not available"));
}

#[test]
fn taken_p2p_port_is_rejected() {
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let output = run_node(&["--dev", "--tmp", "--rpc-port", "0", "--port", &port]);
    assert_one_line_error(
        &output,
        &format!("peer-to-peer port {port} is not available"),
    );
}

#[test]
fn unwritable_base_path_is_rejected() {
    let dir = scratch_dir("base");
    let file = dir.join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let base_path = file.join("chain");
    let output = run_node(&[
        "--dev",
        "--base-path",
        base_path.to_str().unwrap(),
        "--rpc-port",
        "0",
        "--port",
        "0",
    ]);
    assert_one_line_error(
        &output,
        &format!("base path {} is not writable", base_path.display()),
    );
}
