//! What an account's standing lets it do besides reading records: sponsor a
//! newcomer's registration, serve gated reads and commit their receipts.
//! The registry and audit pallets, vaults and gateways all ask here.

use crate::Role;

/// The role whose current attestation lets an account sponsor a newcomer's
/// registration (a hospital enrolling a patient).
pub const SPONSOR_ROLE: Role = Role::Organization;

/// Whether an account may sponsor a newcomer's registration: it holds a
/// current attestation of [`SPONSOR_ROLE`], or it is one of the chain's
/// authorities (the consortium running the validators).
pub fn may_sponsor(holds_sponsor_role: bool, is_authority: bool) -> bool {
    holds_sponsor_role || is_authority
}

/// The role whose current attestation lets an account serve gated reads
/// and commit the receipts of the reads it served. A card or a read naming
/// a vault without it is refused.
pub const RECEIPT_ROLE: Role = Role::Vault;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_organizations_and_authorities_sponsor() {
        assert!(may_sponsor(true, false));
        assert!(may_sponsor(false, true));
        assert!(!may_sponsor(false, false));
        assert_eq!(SPONSOR_ROLE, Role::Organization);
        assert_eq!(RECEIPT_ROLE, Role::Vault);
    }
}
