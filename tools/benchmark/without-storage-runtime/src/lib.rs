//! What `frame-benchmarking-cli` names from the storage benchmark's test
//! runtime, without that runtime.
//!
//! `medigate-benchmark` runs only `benchmark pallet`. The CLI crate also
//! holds `benchmark storage`, which runs a WebAssembly test runtime built by
//! `substrate-wasm-builder`, and building that builder compiles binaryen's
//! C++ (`wasm-opt-sys`), most of a quarter hour on two cores. The tool's
//! workspace patches the test runtime with this crate: the same types, and
//! [`WASM_BINARY`] empty, so nothing of the storage benchmark is built and
//! `benchmark storage`, which the tool does not offer, would stop at once
//! with the CLI's own message.

use codec::{Decode, Encode};
use sp_core::storage::ChildInfo;
use sp_runtime::traits::Block;
use sp_trie::StorageProof;

/// The storage benchmark's runtime: not built here.
pub const WASM_BINARY: Option<&[u8]> = None;

/// The input of one measured block validation of the storage benchmark.
#[derive(Clone, Decode, Encode)]
pub struct StorageAccessParams<B: Block> {
    /// The state root the proof is checked against.
    pub state_root: B::Hash,
    /// The proof of the state that is read or written.
    pub storage_proof: StorageProof,
    /// What is read or written.
    pub payload: StorageAccessPayload,
    /// Whether the run only measures the call, without touching storage.
    pub is_dry_run: bool,
}

/// What one measured block validation reads or writes.
#[derive(Clone, Debug, Decode, Encode)]
pub enum StorageAccessPayload {
    /// Keys to read, each with its child trie, if any.
    Read(Vec<(Vec<u8>, Option<ChildInfo>)>),
    /// Key-value pairs to write, in one child trie or the main one.
    Write((Vec<(Vec<u8>, Vec<u8>)>, Option<ChildInfo>)),
}

impl<B: Block> StorageAccessParams<B> {
    /// Reads `payload` from the state under `state_root`.
    pub fn new_read(
        state_root: B::Hash,
        storage_proof: StorageProof,
        payload: Vec<(Vec<u8>, Option<ChildInfo>)>,
    ) -> Self {
        Self {
            state_root,
            storage_proof,
            payload: StorageAccessPayload::Read(payload),
            is_dry_run: false,
        }
    }

    /// Writes `payload` to the state under `state_root`.
    pub fn new_write(
        state_root: B::Hash,
        storage_proof: StorageProof,
        payload: (Vec<(Vec<u8>, Vec<u8>)>, Option<ChildInfo>),
    ) -> Self {
        Self {
            state_root,
            storage_proof,
            payload: StorageAccessPayload::Write(payload),
            is_dry_run: false,
        }
    }

    /// The same access, measured without touching storage.
    pub fn as_dry_run(&self) -> Self {
        Self {
            is_dry_run: true,
            ..self.clone()
        }
    }
}
