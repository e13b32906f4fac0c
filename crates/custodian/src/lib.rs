//! A custodian of emergency key shares.
//!
//! A patient who enables emergency access splits the key of their emergency
//! summary among the custodians the chain names (k of n) and hands each its
//! share, sealed to the custodian's X25519 key. The custodian keeps the
//! sealed share and releases it, sealed again to the responder's registered
//! key, only when the responder shows a break-glass the chain recorded
//! (`Emergency.GlassBroken`) for that patient, still running, and when this
//! custodian is still one of the chain's custodians.
//!
//! - [`shares`]: the sealed shares on disk, one file per patient.
//! - [`watch`]: the break-glass events of the best blocks, as they arrive.
//! - [`releases`]: the log of every share released.
//! - [`service`]: the HTTP API and its errors; [`server`] starts it;
//!   [`config`] holds its options.
//!
//! The custodian holds no record, no summary and no key: a share alone
//! reveals nothing of the key it is part of.

pub mod config;
pub mod releases;
pub mod server;
pub mod service;
pub mod shares;
pub mod watch;
