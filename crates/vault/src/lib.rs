//! The MediGate vault: encrypted records kept by content id, served only to
//! accounts the chain allows, with an access receipt for every read.
//!
//! - [`store`]: blobs and wraps in an object store (a local directory, synced
//!   and renamed into place before a write is acknowledged, or an
//!   S3-compatible bucket), each blob checked against its content id as it
//!   streams in.
//!   [`local_batch`] writes a batch's files to a local directory on one
//!   thread.
//! - [`auth`]: the signed-request headers, read and checked.
//! - [`replay`]: freshness and replay checks of signed requests.
//! - [`access_gate`]: the chain's `check_access` for each read, concurrent
//!   reads asked in one call.
//! - [`journal`]: receipts on disk until their block is finalized.
//! - [`receipts`]: the queue of access receipts and their commitment to the
//!   chain, one batch per block.
//! - [`service`]: the HTTP API; [`error`]: its errors.
//! - [`expiry`]: blobs whose records are never anchored are erased after a
//!   while.
//! - [`config`] and [`server`]: running a vault (`medigate-vault serve`).
//!
//! Everything but `store`, `auth` and `replay` is behind the default feature
//! `server`.

#[cfg(feature = "server")]
pub mod access_gate;
pub mod auth;
pub mod batch;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod expiry;
pub mod group_sync;
#[cfg(feature = "server")]
pub mod journal;
pub mod local_batch;
#[cfg(feature = "server")]
pub mod receipts;
pub mod replay;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod service;
pub mod store;
