//! The transaction extension that waives participants' fees.

use crate::{Config, Pallet, WeightInfo};
use codec::{Decode, DecodeWithMemTracking, Encode};
use core::marker::PhantomData;
use frame_support::{
    dispatch::{DispatchClass, DispatchResult, GetDispatchInfo},
    pallet_prelude::TransactionSource,
    weights::Weight,
};
use scale_info::{StaticTypeInfo, TypeInfo};
use sp_runtime::{
    traits::{
        AsSystemOriginSigner, DispatchInfoOf, DispatchOriginOf, Implication, PostDispatchInfoOf,
        TransactionExtension, ValidateResult,
    },
    transaction_validity::{TransactionPriority, TransactionValidityError, ValidTransaction},
};

/// The pool priority of a waived call of `class`. Operational calls (a
/// patient revoking a grant or restricting, removing a delegate, vetoing a
/// break-glass, an authority revoking an attestation) go before every other
/// call, so that no flood of calls can hold a protective call back: with
/// the block space FRAME keeps for operational calls, it is in the next
/// block. Other waived calls wait behind paying ones.
pub fn waived_priority(class: DispatchClass) -> TransactionPriority {
    match class {
        DispatchClass::Operational => TransactionPriority::MAX / 2,
        DispatchClass::Normal | DispatchClass::Mandatory => 0,
    }
}

/// Wraps the runtime's fee-charging extension `S`: a participant's waived
/// call skips `S` (and counts against the participant's budget); every other
/// transaction goes through `S` unchanged.
///
/// It encodes, and describes itself in the metadata, exactly as `S` does, so
/// that a client that signs for `S` signs for it too.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, Eq, PartialEq)]
pub struct WaiveFeesForParticipants<T, S>(pub S, PhantomData<T>);

impl<T, S> From<S> for WaiveFeesForParticipants<T, S> {
    fn from(inner: S) -> Self {
        Self(inner, PhantomData)
    }
}

impl<T, S: StaticTypeInfo> TypeInfo for WaiveFeesForParticipants<T, S> {
    type Identity = S;
    fn type_info() -> scale_info::Type {
        S::type_info()
    }
}

impl<T, S: core::fmt::Debug> core::fmt::Debug for WaiveFeesForParticipants<T, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(f, "WaiveFeesForParticipants({:?})", self.0)
    }
}

/// What the extension decided for one transaction.
pub enum Waiver<AccountId, Inner> {
    /// A participant's waived call: no fee, one call counted for the account.
    Waived(AccountId),
    /// Any other transaction: the wrapped extension's own state.
    Charged(Inner),
}

impl<T, S> TransactionExtension<<T as frame_system::Config>::RuntimeCall>
    for WaiveFeesForParticipants<T, S>
where
    T: Config + Send + Sync,
    S: TransactionExtension<<T as frame_system::Config>::RuntimeCall>,
    DispatchOriginOf<<T as frame_system::Config>::RuntimeCall>: AsSystemOriginSigner<T::AccountId>,
{
    const IDENTIFIER: &'static str = S::IDENTIFIER;
    type Implicit = S::Implicit;
    type Val = Waiver<T::AccountId, S::Val>;
    type Pre = Waiver<T::AccountId, S::Pre>;

    fn metadata() -> alloc::vec::Vec<sp_runtime::traits::TransactionExtensionMetadata> {
        S::metadata()
    }

    fn implicit(&self) -> Result<Self::Implicit, TransactionValidityError> {
        self.0.implicit()
    }

    fn weight(&self, call: &<T as frame_system::Config>::RuntimeCall) -> Weight {
        self.0
            .weight(call)
            .saturating_add(T::WeightInfo::waive_fee())
    }

    fn validate(
        &self,
        origin: DispatchOriginOf<<T as frame_system::Config>::RuntimeCall>,
        call: &<T as frame_system::Config>::RuntimeCall,
        info: &DispatchInfoOf<<T as frame_system::Config>::RuntimeCall>,
        len: usize,
        self_implicit: S::Implicit,
        inherited_implication: &impl Implication,
        source: TransactionSource,
    ) -> ValidateResult<Self::Val, <T as frame_system::Config>::RuntimeCall> {
        let waived = origin
            .as_system_origin_signer()
            .filter(|who| Pallet::<T>::is_waived(who, call))
            .cloned();
        match waived {
            Some(who) => {
                // Refused here, an over-budget call never enters the pool.
                if Pallet::<T>::waived_calls_left(&who) == 0 {
                    return Err(
                        sp_runtime::transaction_validity::InvalidTransaction::Custom(
                            crate::BUDGET_EXHAUSTED,
                        )
                        .into(),
                    );
                }
                let valid = ValidTransaction {
                    priority: waived_priority(call.get_dispatch_info().class),
                    ..ValidTransaction::default()
                };
                Ok((valid, Waiver::Waived(who), origin))
            }
            None => {
                let (valid, val, origin) = self.0.validate(
                    origin,
                    call,
                    info,
                    len,
                    self_implicit,
                    inherited_implication,
                    source,
                )?;
                Ok((valid, Waiver::Charged(val), origin))
            }
        }
    }

    fn prepare(
        self,
        val: Self::Val,
        origin: &DispatchOriginOf<<T as frame_system::Config>::RuntimeCall>,
        call: &<T as frame_system::Config>::RuntimeCall,
        info: &DispatchInfoOf<<T as frame_system::Config>::RuntimeCall>,
        len: usize,
    ) -> Result<Self::Pre, TransactionValidityError> {
        match val {
            Waiver::Waived(who) => {
                // Checked again: the pool may hold several calls of one account.
                Pallet::<T>::use_waiver(&who)?;
                Ok(Waiver::Waived(who))
            }
            Waiver::Charged(val) => self
                .0
                .prepare(val, origin, call, info, len)
                .map(Waiver::Charged),
        }
    }

    fn post_dispatch_details(
        pre: Self::Pre,
        info: &DispatchInfoOf<<T as frame_system::Config>::RuntimeCall>,
        post_info: &PostDispatchInfoOf<<T as frame_system::Config>::RuntimeCall>,
        len: usize,
        result: &DispatchResult,
    ) -> Result<Weight, TransactionValidityError> {
        match pre {
            Waiver::Charged(pre) => S::post_dispatch_details(pre, info, post_info, len, result),
            Waiver::Waived(_) => Ok(Weight::zero()),
        }
    }
}
