//! The MediGate vault: encrypted records kept by content id, and the key
//! wraps that let grantees open them.
//!
//! - [`store`]: blobs and wraps in an object store (a local directory, synced
//!   and renamed into place before a write is acknowledged), each blob
//!   checked against its content id as it streams in.
//! - [`auth`]: the signed-request headers, read and checked.
//! - [`replay`]: freshness and replay checks of signed requests.

pub mod auth;
pub mod replay;
pub mod store;
