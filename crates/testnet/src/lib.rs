//! Starts and stops `medigate-node` processes, and MediGate services
//! ([`ServiceProcess`]), on loopback.
//!
//! - [`DevNode`]: one `--dev` validator with its own base path and free ports.
//! - [`LocalNetwork`]: the four validators of the `local` chain spec (Alice,
//!   Bob, Charlie, Dave), connected to each other through the first node.
//!
//! Each node logs to `node.log` in its base path. Dropping a node kills its
//! process; [`NodeProcess::stop`] stops it gracefully so that its database is
//! reused by the next start on the same base path.

mod error;
mod network;
mod node;
mod participants;
mod ports;
mod receipts;
mod rpc;
mod service;

pub use error::Error;
pub use network::LocalNetwork;
pub use node::{DevNode, NodeOptions, NodeProcess};
pub use participants::{Participants, TEST_KEYSTORE, appoint_board, attest, fund};
pub use ports::free_port;
pub use receipts::receipts_of;
pub use rpc::RpcClient;
pub use service::{CustodianOptions, GatewayOptions, ServiceProcess, VaultOptions};
