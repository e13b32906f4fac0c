//! Behaviour of the validator set, one test per rule.

use crate::{Error, Event, Validators, mock::*};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::DispatchError;

fn active_validators() -> Vec<u64> {
    pallet_session::Validators::<Test>::get()
}

#[test]
fn genesis_validators_are_active() {
    new_test_ext().execute_with(|| {
        assert_eq!(Validators::<Test>::get().into_inner(), vec![1, 2, 3]);
        assert_eq!(active_validators(), vec![1, 2, 3]);
    });
}

#[test]
fn governance_adds_a_validator_that_becomes_active_two_sessions_later() {
    new_test_ext().execute_with(|| {
        set_keys(4);
        assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
        System::assert_last_event(Event::ValidatorAdded { validator: 4 }.into());
        assert_eq!(Validators::<Test>::get().into_inner(), vec![1, 2, 3, 4]);

        rotate_session();
        assert_eq!(active_validators(), vec![1, 2, 3], "queued, not active yet");
        rotate_session();
        assert_eq!(active_validators(), vec![1, 2, 3, 4]);
    });
}

#[test]
fn governance_removes_a_validator_that_stops_two_sessions_later() {
    new_test_ext().execute_with(|| {
        assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 2));
        System::assert_last_event(Event::ValidatorRemoved { validator: 2 }.into());
        rotate_session();
        rotate_session();
        assert_eq!(active_validators(), vec![1, 3]);
    });
}

#[test]
fn signed_account_cannot_add_or_remove_validators() {
    new_test_ext().execute_with(|| {
        set_keys(4);
        assert_noop!(
            ValidatorSet::add_validator(RuntimeOrigin::signed(1), 4),
            DispatchError::BadOrigin
        );
        assert_noop!(
            ValidatorSet::remove_validator(RuntimeOrigin::signed(1), 2),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn validator_without_session_keys_is_refused() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            ValidatorSet::add_validator(RuntimeOrigin::root(), 5),
            Error::<Test>::NoSessionKeys
        );
    });
}

#[test]
fn existing_validator_cannot_be_added_twice() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            ValidatorSet::add_validator(RuntimeOrigin::root(), 1),
            Error::<Test>::AlreadyValidator
        );
    });
}

#[test]
fn full_set_refuses_another_validator() {
    new_test_ext().execute_with(|| {
        set_keys(4);
        set_keys(5);
        assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
        assert_eq!(Validators::<Test>::get().len() as u32, MAX_VALIDATORS);
        assert_noop!(
            ValidatorSet::add_validator(RuntimeOrigin::root(), 5),
            Error::<Test>::TooManyValidators
        );
    });
}

#[test]
fn unknown_validator_cannot_be_removed() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            ValidatorSet::remove_validator(RuntimeOrigin::root(), 7),
            Error::<Test>::NotValidator
        );
    });
}

#[test]
fn set_never_shrinks_below_the_minimum() {
    new_test_ext().execute_with(|| {
        assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 3));
        assert_noop!(
            ValidatorSet::remove_validator(RuntimeOrigin::root(), 2),
            Error::<Test>::TooFewValidators
        );
    });
}

#[test]
fn unchanged_set_is_not_resubmitted_to_the_session() {
    new_test_ext().execute_with(|| {
        use pallet_session::SessionManager;
        assert_eq!(<ValidatorSet as SessionManager<u64>>::new_session(5), None);
    });
}

#[test]
#[should_panic(expected = "genesis validator set holds a duplicate")]
fn genesis_with_a_duplicate_validator_is_rejected() {
    use sp_runtime::BuildStorage;
    let _ = crate::GenesisConfig::<Test> {
        validators: vec![1, 1],
    }
    .build_storage();
}
