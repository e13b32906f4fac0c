//! # The access decision
//!
//! One question decides every access to a health record in MediGate: *may
//! this account perform this action on this record of this patient, for this
//! purpose, now?* [`decide`] answers it from plain facts — the patient's
//! grants and restrictions, the accessor's standing — so that the chain (the
//! consent pallet and its `check_access` runtime API) and off-chain code (vaults,
//! gateways, tests) share one definition.
//!
//! The rules, in the order they apply:
//! 1. The patient, and a guardian the patient delegated to, may do anything
//!    with the patient's records.
//! 2. An accessor who is not registered, or lacks a current attestation of the
//!    role the purpose requires, is denied.
//! 3. A restriction the patient set that covers the accessor and the record
//!    denies, whatever the grants say (deny overrides).
//! 4. A grant allows only if it is the patient's, names the accessor, is not
//!    revoked, is inside its validity window `[not_before, expires_at)`, names
//!    this purpose, includes this action and covers this record.
//! 5. A running emergency (break-glass) grant of the accessor allows reading
//!    the categories it opens, for its purpose, inside its window.
//! 6. Anything else is denied (default deny).

#![cfg_attr(not(feature = "std"), no_std)]

mod decision;
mod standing;
mod terms;

pub use decision::{
    AccessRequest, Accessor, Decision, EmergencyGrant, EmergencyGrants, GrantTerms, Reason,
    Restriction, decide, decide_with_emergency,
};
pub use standing::{RECEIPT_ROLE, SPONSOR_ROLE, may_sponsor};
pub use terms::{Action, ActionSet, Category, CategorySet, Purpose, Role, RoleSet, Scope};

#[cfg(test)]
mod tests;
