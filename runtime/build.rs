//! Builds the WebAssembly runtime that the node executes, and writes
//! `wasm_binary.rs` (`WASM_BINARY`, `WASM_BINARY_BLOATY`, `WASM_BINARY_PATH`)
//! into `OUT_DIR` for `src/lib.rs` to include. Skipped when
//! `SKIP_WASM_BUILD` is set (the constants are then `None`), for pallet-only
//! test loops.
//!
//! The runtime is this very crate, built a second time by a nested
//! `cargo rustc` for `wasm32v1-none` (WebAssembly MVP, the instruction set
//! the node's executor runs) as a `cdylib`, without `std`, with the
//! workspace's `runtime-wasm` profile, in a target directory of its own,
//! sharing the outer build's jobserver. Features of this crate other than
//! `std` (such as `runtime-benchmarks`) are passed on.
//!
//! This replaces `substrate-wasm-builder`, whose only post-processing here
//! would be `wasm-opt` passes that change nothing for this target
//! (sign-extension lowering: MVP has none; stripping DWARF: the profile makes
//! none) and whose dependency on binaryen compiles several hundred C++
//! files: a quarter hour of a fresh two-core build.

fn main() {
    #[cfg(feature = "std")]
    wasm::build();
}

#[cfg(feature = "std")]
mod wasm {
    use std::{
        collections::BTreeSet,
        env, fs,
        path::{Path, PathBuf},
        process::Command,
    };

    /// The WebAssembly target: the MVP instruction set and mutable globals.
    const TARGET: &str = "wasm32v1-none";
    /// The workspace profile the runtime is built with.
    const PROFILE: &str = "runtime-wasm";
    /// Link arguments the executor expects: an exported function table and
    /// heap base, and memory imported from the host.
    const RUSTFLAGS: &str = "-C link-arg=--export-table -C link-arg=--export=__heap_base \
                             -C link-arg=--import-memory --cfg substrate_runtime";

    pub fn build() {
        println!("cargo:rerun-if-env-changed=SKIP_WASM_BUILD");
        let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        let binary_rs = out_dir.join("wasm_binary.rs");
        if env::var_os("SKIP_WASM_BUILD").is_some() {
            write_if_changed(
                &binary_rs,
                "pub const WASM_BINARY_PATH: Option<&str> = None;\n\
                 pub const WASM_BINARY: Option<&[u8]> = None;\n\
                 pub const WASM_BINARY_BLOATY: Option<&[u8]> = None;\n",
            );
            return;
        }

        let manifest_dir = PathBuf::from(
            env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        );
        let workspace = manifest_dir
            .parent()
            .expect("the runtime is a member of the workspace")
            .to_path_buf();
        let package = env::var("CARGO_PKG_NAME").expect("cargo sets CARGO_PKG_NAME");
        let project = build_directory(&out_dir).join("wbuild").join(&package);
        let target_dir = project.join("target");

        let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo
            .current_dir(&workspace)
            .args([
                "rustc",
                "--package",
                &package,
                "--lib",
                "--crate-type",
                "cdylib",
            ])
            .args([
                "--target",
                TARGET,
                "--profile",
                PROFILE,
                "--no-default-features",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", RUSTFLAGS)
            // Cargo gives build scripts the outer build's flags in this
            // variable, which would win over RUSTFLAGS.
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        let features = forwarded_features();
        if !features.is_empty() {
            cargo.arg("--features").arg(features.join(","));
        }
        // Share the outer build's job slots rather than start as many again.
        // The client owns the jobserver's descriptors: it lives until the
        // nested build ends.
        // SAFETY: called once, before this process opens any file.
        let jobserver = unsafe { jobserver::Client::from_env() };
        if let Some(jobserver) = &jobserver {
            jobserver.configure(&mut cargo);
        }
        let status = cargo
            .status()
            .unwrap_or_else(|error| fail(&format!("cannot start cargo ({error})")));
        if !status.success() {
            fail(&format!(
                "the WebAssembly runtime did not build ({status}); if the error above names a \
                 missing `core`, add the target: rustup target add {TARGET} (scripts/setup.sh does)"
            ));
        }
        drop(jobserver);

        let artifact_dir = target_dir.join(TARGET).join(PROFILE);
        fs::create_dir_all(&project).unwrap_or_else(|error| {
            fail(&format!("cannot create {} ({error})", project.display()))
        });
        let lib_name = package.replace('-', "_");
        let built = artifact_dir.join(format!("{lib_name}.wasm"));
        // A stable place for the runtime, where bench/weights.sh finds it.
        let wasm = project.join(format!("{lib_name}.wasm"));
        copy_if_changed(&built, &wasm);
        let path = wasm.display().to_string().escape_default().to_string();
        write_if_changed(
            &binary_rs,
            &format!(
                "pub const WASM_BINARY_PATH: Option<&str> = Some(\"{path}\");\n\
                 pub const WASM_BINARY: Option<&[u8]> = Some(include_bytes!(\"{path}\"));\n\
                 pub const WASM_BINARY_BLOATY: Option<&[u8]> = WASM_BINARY;\n"
            ),
        );
        rerun_if_sources_change(&artifact_dir.join(format!("{lib_name}.d")), &workspace);
    }

    /// This crate's features other than `std` and `default`, as cargo
    /// names them to build scripts (`CARGO_FEATURE_RUNTIME_BENCHMARKS` is
    /// `runtime-benchmarks`).
    fn forwarded_features() -> Vec<String> {
        let mut features: Vec<String> = env::vars()
            .filter_map(|(name, _)| {
                let feature = name.strip_prefix("CARGO_FEATURE_")?;
                (feature != "STD" && feature != "DEFAULT")
                    .then(|| feature.to_lowercase().replace('_', "-"))
            })
            .collect();
        features.sort();
        features
    }

    /// The outer build's profile directory (`target/debug`), the ancestor of
    /// `OUT_DIR` (`target/debug/build/<crate>-<hash>/out`).
    fn build_directory(out_dir: &Path) -> PathBuf {
        out_dir
            .ancestors()
            .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
            .and_then(Path::parent)
            .unwrap_or_else(|| fail("OUT_DIR is not inside a cargo target directory"))
            .to_path_buf()
    }

    /// Asks cargo to run this script again when a source file of the
    /// workspace that the runtime is built from changes, or the manifest of
    /// its package, the workspace's manifest or the lock file. The file list
    /// is the nested build's dep-info.
    fn rerun_if_sources_change(dep_info: &Path, workspace: &Path) {
        let Ok(text) = fs::read_to_string(dep_info) else {
            // Without the list, any change in the workspace counts.
            println!(
                "cargo:warning=no {}: the runtime is rebuilt whenever the workspace changes",
                dep_info.display()
            );
            println!("cargo:rerun-if-changed={}", workspace.display());
            return;
        };
        let mut watched =
            BTreeSet::from([workspace.join("Cargo.toml"), workspace.join("Cargo.lock")]);
        for line in text.lines() {
            let Some((_, dependencies)) = line.split_once(": ") else {
                continue;
            };
            for source in split_unescaped(dependencies) {
                let source = PathBuf::from(source);
                if !source.starts_with(workspace) {
                    continue;
                }
                let manifest = source
                    .ancestors()
                    .skip(1)
                    .take_while(|dir| dir.starts_with(workspace))
                    .map(|dir| dir.join("Cargo.toml"))
                    .find(|manifest| manifest.is_file());
                watched.extend(manifest);
                watched.insert(source);
            }
        }
        for path in watched {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }

    /// The paths of a dep-info line: separated by spaces, a space in a path
    /// written `\ `.
    fn split_unescaped(line: &str) -> Vec<String> {
        let mut paths = Vec::new();
        let mut current = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => current.extend(chars.next()),
                ' ' => {
                    if !current.is_empty() {
                        paths.push(std::mem::take(&mut current));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            paths.push(current);
        }
        paths
    }

    fn write_if_changed(path: &Path, contents: &str) {
        if fs::read_to_string(path).ok().as_deref() != Some(contents) {
            fs::write(path, contents).unwrap_or_else(|error| {
                fail(&format!("cannot write {} ({error})", path.display()))
            });
        }
    }

    fn copy_if_changed(from: &Path, to: &Path) {
        let bytes = fs::read(from)
            .unwrap_or_else(|error| fail(&format!("cannot read {} ({error})", from.display())));
        if fs::read(to).ok().as_deref() != Some(&bytes[..]) {
            fs::write(to, &bytes)
                .unwrap_or_else(|error| fail(&format!("cannot write {} ({error})", to.display())));
        }
    }

    fn fail(message: &str) -> ! {
        eprintln!("medigate-runtime build: {message}");
        std::process::exit(1);
    }
}
