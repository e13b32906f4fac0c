//! The fee waiver: who pays, who does not, and the budget.

use crate::{BUDGET_EXHAUSTED, Usage, WindowUsage, mock::*};
use frame_support::dispatch::{DispatchClass, GetDispatchInfo};
use frame_system::RawOrigin;
use sp_runtime::{
    traits::DispatchTransaction,
    transaction_validity::{
        InvalidTransaction, TransactionSource, TransactionValidityError, ValidTransaction,
    },
};

/// Dispatches `call` signed by `who` through the extension, as a block would.
fn submit(
    who: u64,
    call: RuntimeCall,
) -> Result<frame_support::dispatch::DispatchResultWithPostInfo, TransactionValidityError> {
    let info = call.get_dispatch_info();
    extension().dispatch_transaction(RawOrigin::Signed(who).into(), call, &info, 100, 0)
}

/// How the pool would take `call` signed by `who`.
fn pool_validity(
    who: u64,
    call: &RuntimeCall,
) -> Result<ValidTransaction, TransactionValidityError> {
    let info = call.get_dispatch_info();
    extension()
        .validate_only(
            RawOrigin::Signed(who).into(),
            call,
            &info,
            100,
            TransactionSource::External,
            0,
        )
        .map(|(valid, _, _)| valid)
}

/// Whether the pool would accept `call` signed by `who`.
fn pool_accepts(who: u64, call: &RuntimeCall) -> Result<(), TransactionValidityError> {
    pool_validity(who, call).map(|_| ())
}

/// Makes the whole budget of waived calls of `who` in the current window.
fn use_whole_budget(who: u64) {
    for _ in 0..BUDGET {
        assert!(submit(who, remark()).unwrap().is_ok());
    }
}

fn balance(who: u64) -> u64 {
    Balances::free_balance(who)
}

const EXHAUSTED: TransactionValidityError =
    TransactionValidityError::Invalid(InvalidTransaction::Custom(BUDGET_EXHAUSTED));

#[test]
fn participant_pays_nothing_for_a_waived_call() {
    new_test_ext().execute_with(|| {
        assert!(submit(PATIENT, remark()).unwrap().is_ok());
        assert_eq!(balance(PATIENT), ENDOWMENT);
        assert_eq!(FeeWaiver::calls_in_window(&PATIENT), 1);
    });
}

#[test]
fn stranger_pays_for_the_same_call() {
    new_test_ext().execute_with(|| {
        assert!(submit(STRANGER, remark()).unwrap().is_ok());
        assert!(balance(STRANGER) < ENDOWMENT);
        assert!(Usage::<Test>::get(STRANGER).is_none());
    });
}

#[test]
fn participant_pays_for_a_call_that_is_not_waived() {
    new_test_ext().execute_with(|| {
        assert!(submit(PATIENT, transfer()).unwrap().is_ok());
        assert!(balance(PATIENT) < ENDOWMENT - 10);
        assert_eq!(FeeWaiver::calls_in_window(&PATIENT), 0);
    });
}

#[test]
fn pool_refuses_a_waived_call_over_budget() {
    new_test_ext().execute_with(|| {
        for _ in 0..BUDGET {
            assert_eq!(pool_accepts(PATIENT, &remark()), Ok(()));
            assert!(submit(PATIENT, remark()).unwrap().is_ok());
        }
        assert_eq!(FeeWaiver::waived_calls_left(&PATIENT), 0);
        assert_eq!(pool_accepts(PATIENT, &remark()), Err(EXHAUSTED));
    });
}

#[test]
fn call_over_budget_changes_nothing() {
    new_test_ext().execute_with(|| {
        use_whole_budget(PATIENT);
        let usage = Usage::<Test>::get(PATIENT);
        assert_eq!(submit(PATIENT, remark()).map(|_| ()), Err(EXHAUSTED));
        assert_eq!(Usage::<Test>::get(PATIENT), usage);
        assert_eq!(balance(PATIENT), ENDOWMENT);
    });
}

#[test]
fn budgets_are_per_account() {
    new_test_ext().execute_with(|| {
        use_whole_budget(PATIENT);
        assert_eq!(pool_accepts(DOCTOR, &remark()), Ok(()));
        assert!(submit(DOCTOR, remark()).unwrap().is_ok());
        assert_eq!(balance(DOCTOR), ENDOWMENT);
    });
}

#[test]
fn budget_is_renewed_in_the_next_window() {
    new_test_ext().execute_with(|| {
        use_whole_budget(PATIENT);
        assert_eq!(FeeWaiver::next_window_starts(), WINDOW);
        System::set_block_number(WINDOW - 1);
        assert_eq!(pool_accepts(PATIENT, &remark()), Err(EXHAUSTED));
        System::set_block_number(WINDOW);
        assert_eq!(FeeWaiver::waived_calls_left(&PATIENT), BUDGET);
        assert!(submit(PATIENT, remark()).unwrap().is_ok());
        assert_eq!(
            Usage::<Test>::get(PATIENT),
            Some(WindowUsage {
                window: 1,
                calls: 1
            })
        );
        assert_eq!(balance(PATIENT), ENDOWMENT);
    });
}

#[test]
fn over_budget_calls_are_not_charged_instead() {
    // A participant over budget is refused, not silently billed.
    new_test_ext().execute_with(|| {
        use_whole_budget(PATIENT);
        assert!(submit(PATIENT, remark()).is_err());
        assert_eq!(balance(PATIENT), ENDOWMENT);
    });
}

#[test]
fn unsigned_transactions_go_to_the_wrapped_extension() {
    new_test_ext().execute_with(|| {
        let call = remark();
        let info = call.get_dispatch_info();
        let unsigned = || RawOrigin::None.into();
        let wrapped = extension()
            .validate_only(
                unsigned(),
                &call,
                &info,
                100,
                TransactionSource::External,
                0,
            )
            .map(|(valid, _, _)| valid);
        let inner = pallet_transaction_payment::ChargeTransactionPayment::<Test>::from(0)
            .validate_only(
                unsigned(),
                &call,
                &info,
                100,
                TransactionSource::External,
                0,
            )
            .map(|(valid, _, _)| valid);
        assert_eq!(wrapped, inner);
    });
}

#[test]
fn the_waiver_encodes_like_the_extension_it_wraps() {
    use codec::Encode;
    let inner = pallet_transaction_payment::ChargeTransactionPayment::<Test>::from(5);
    let wrapped: Extension = inner.clone().into();
    assert_eq!(wrapped.encode(), inner.encode());
    assert_eq!(
        <Extension as scale_info::TypeInfo>::type_info(),
        <pallet_transaction_payment::ChargeTransactionPayment<Test> as scale_info::TypeInfo>::type_info()
    );
}

#[test]
fn a_newcomer_makes_its_admitted_call_fee_less_and_nothing_else() {
    new_test_ext().execute_with(|| {
        assert!(submit(NEWCOMER, registration()).unwrap().is_ok());
        assert_eq!(balance(NEWCOMER), ENDOWMENT);
        assert_eq!(FeeWaiver::calls_in_window(&NEWCOMER), 1);
        // Its other calls pay, and nobody else's registration is free.
        assert!(submit(NEWCOMER, remark()).unwrap().is_ok());
        assert!(balance(NEWCOMER) < ENDOWMENT);
        assert!(submit(STRANGER, registration()).unwrap().is_ok());
        assert!(balance(STRANGER) < ENDOWMENT);
    });
}

/// The pool priority `who`'s `call` gets.
fn priority(who: u64, call: &RuntimeCall) -> u64 {
    pool_validity(who, call).unwrap().priority
}

#[test]
fn a_waived_operational_call_goes_before_every_other_call() {
    new_test_ext().execute_with(|| {
        let protective = priority(PATIENT, &operational());
        assert_eq!(
            protective,
            crate::waived_priority(DispatchClass::Operational)
        );
        for (who, call) in [
            (DOCTOR, remark()),
            (STRANGER, remark()),
            (STRANGER, transfer()),
            (PATIENT, transfer()),
        ] {
            assert!(
                priority(who, &call) < protective,
                "{who}'s {call:?} goes before a revocation"
            );
        }
    });
}
