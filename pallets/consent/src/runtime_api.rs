//! The runtime API vaults and gateways call, without a transaction, to ask
//! whether an access may happen now.

use codec::Codec;
use medigate_access_policy::{Action, Decision, Purpose};
use pallet_records::ContentId;

use crate::GrantId;

sp_api::decl_runtime_apis! {
    /// Access decisions.
    pub trait ConsentApi<AccountId> where AccountId: Codec {
        /// May `accessor` perform `action` on record `record` of `patient`
        /// for `purpose`, at the time of the block queried?
        fn check_access(
            accessor: AccountId,
            patient: AccountId,
            record: ContentId,
            purpose: Purpose,
            action: Action,
        ) -> Decision<GrantId>;
    }
}
