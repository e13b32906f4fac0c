//! A `medigate dev` network for the CLI's and the web app's end-to-end
//! tests: started on free ports in a temporary directory, stopped when
//! dropped.
#![allow(dead_code)]

use std::{
    path::PathBuf,
    process::{Child, Command, Output},
    time::{Duration, Instant},
};

use serde_json::Value;

/// The CLI under test.
pub const MEDIGATE: &str = env!("CARGO_BIN_EXE_medigate");

/// A `medigate dev` network, stopped (SIGTERM, so it stops its processes)
/// when dropped.
pub struct Network {
    child: Child,
    dir: tempfile::TempDir,
    /// `network.json`: participants, addresses, the passphrase.
    pub description: Value,
}

impl Network {
    /// Starts a network whose patient has records of `encounters` visits.
    pub fn start(encounters: u32) -> Self {
        Self::start_with(encounters, &[])
    }

    /// [`Network::start`] with more `medigate dev` options.
    pub fn start_with(encounters: u32, options: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("dev.log")).unwrap();
        let child = Command::new(MEDIGATE)
            .args([
                "dev",
                "--port",
                "0",
                "--encounters",
                &encounters.to_string(),
                "--dir",
            ])
            .arg(dir.path().join("net"))
            .args(options)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("medigate dev starts");
        let mut network = Network {
            child,
            dir,
            description: Value::Null,
        };
        let description = network.dir.path().join("net/network.json");
        let started = Instant::now();
        while !description.exists() {
            if let Ok(Some(status)) = network.child.try_wait() {
                panic!("medigate dev exited ({status}): {}", network.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "medigate dev is not up after 5 minutes: {}",
                network.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        network.description = serde_json::from_slice(&std::fs::read(description).unwrap()).unwrap();
        network
    }

    /// What `medigate dev` printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dev.log")).unwrap_or_default()
    }

    /// A participant of `network.json`.
    pub fn participant(&self, name: &str) -> &Value {
        self.description["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|participant| participant["name"] == name)
            .unwrap()
    }

    /// A participant's account id.
    pub fn account(&self, name: &str) -> String {
        self.participant(name)["account"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Runs `medigate args` as `name`.
    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        let participant = self.participant(name);
        Command::new(MEDIGATE)
            .args(args)
            .env("MEDIGATE_GATEWAY", participant["gateway"].as_str().unwrap())
            .env(
                "MEDIGATE_TOKEN_FILE",
                participant["token_file"].as_str().unwrap(),
            )
            .env_remove("MEDIGATE_PASSPHRASE")
            .output()
            .expect("medigate runs")
    }

    /// Runs `medigate args` as `name`, expecting failure: its exit code
    /// and what it printed on standard error.
    pub fn failing(&self, name: &str, args: &[&str]) -> (i32, String) {
        let output = self.run(name, args);
        assert!(!output.status.success(), "{args:?} as {name} succeeded");
        (
            output.status.code().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Runs `medigate --json args` as `name`, expecting success.
    pub fn json(&self, name: &str, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend(args);
        let output = self.run(name, &all);
        assert!(
            output.status.success(),
            "medigate {args:?} as {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
    }

    /// A path in the network's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
    }
}
