//! The runtime API vaults and gateways call, without a transaction, to ask
//! whether an access may happen now.

use alloc::vec::Vec;
use codec::Codec;
use medigate_access_policy::{Action, Decision, Purpose};
use pallet_records::ContentId;

use crate::GrantId;

/// The most questions one [`ConsentApi::check_access_many`] call answers;
/// longer lists are answered up to this length.
pub const MAX_ACCESS_QUESTIONS: u32 = 1024;

/// One question to [`ConsentApi::check_access_many`]: accessor, patient,
/// record, purpose, action, as the arguments of `check_access`.
pub type AccessQuestion<AccountId> = (AccountId, AccountId, ContentId, Purpose, Action);

sp_api::decl_runtime_apis! {
    /// Access decisions.
    ///
    /// Version 2 adds [`ConsentApi::check_access_many`].
    #[api_version(2)]
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

        /// [`ConsentApi::check_access`] for each question, in order, at the
        /// same block: one call for the concurrent reads of a busy vault.
        /// At most [`MAX_ACCESS_QUESTIONS`] answers; questions beyond that
        /// are not answered.
        #[api_version(2)]
        fn check_access_many(
            questions: Vec<AccessQuestion<AccountId>>,
        ) -> Vec<Decision<GrantId>>;
    }
}
