//! The MediGate vault: encrypted records kept by content id, served only to
//! accounts the chain allows, with an access receipt for every read.
//!
//! - [`store`]: blobs and wraps in an object store (a local directory, synced
//!   and renamed into place before a write is acknowledged, or an
//!   S3-compatible bucket), each blob checked against its content id as it
//!   streams in.
//! - [`auth`]: the signed-request headers, read and checked.
//! - [`replay`]: freshness and replay checks of signed requests.
//! - [`receipts`]: the queue of access receipts and their commitment to the
//!   chain, one batch per block.
//! - [`service`]: the HTTP API; [`error`]: its errors.
//! - [`config`] and [`server`]: running a vault (`medigate-vault serve`).

pub mod auth;
pub mod config;
pub mod error;
pub mod receipts;
pub mod replay;
pub mod server;
pub mod service;
pub mod store;
