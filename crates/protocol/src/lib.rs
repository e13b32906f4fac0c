//! The wire formats MediGate's parts agree on, in one place.
//!
//! `no_std`, so that the chain checks what services and clients sign
//! byte for byte as they do: [`request`] is the signed-request message that
//! every call to a vault or custodian carries, and that an access receipt
//! on chain proves its accessor signed; [`receipts`] is the Merkle tree of
//! a batch of receipts, whose root the chain keeps.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod receipts;
pub mod request;
