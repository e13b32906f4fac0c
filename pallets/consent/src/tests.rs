//! Behaviour of the consent pallet, one test per rule.

use crate::{
    Action, ActionSet, Category, CategorySet, Decision, Delegates, Error, Event, Grants,
    OpenRequests, Purpose, Reason, RecordScope, Requests, Scope, mock::*,
};
use frame_support::{assert_noop, assert_ok};
use pallet_records::{AnchorRequest, ContentId};
use sp_core::H256;

const HOUR: u64 = 3_600_000;

fn id(byte: u8) -> ContentId {
    H256::repeat_byte(byte)
}

fn categories(list: &[Category]) -> RecordScope<Test> {
    Scope::Categories(list.iter().copied().collect::<CategorySet>())
}

fn records(list: &[u8]) -> RecordScope<Test> {
    Scope::Records(
        list.iter()
            .map(|byte| id(*byte))
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
    )
}

/// The patient anchors a lab result (1) and a note (2).
fn anchor_records() {
    for (byte, category) in [(1, Category::Labs), (2, Category::Notes)] {
        assert_ok!(Records::anchor(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            AnchorRequest {
                content_id: id(byte),
                category,
                size: 100,
                previous: None
            }
        ));
    }
}

/// The doctor asks to read all the patient's records for treatment.
fn doctor_asks_for_treatment() -> frame_support::dispatch::DispatchResult {
    Consent::request_access(
        RuntimeOrigin::signed(DOCTOR),
        PATIENT,
        Scope::All,
        Purpose::Treatment,
        ActionSet::read(),
        H256::zero(),
    )
}

fn check(accessor: u64, record: u8, purpose: Purpose, action: Action) -> Decision<u64> {
    Consent::check_access(accessor, PATIENT, id(record), purpose, action)
}

fn grant_labs_to_doctor() -> u64 {
    assert_ok!(Consent::grant_access(
        RuntimeOrigin::signed(PATIENT),
        PATIENT,
        DOCTOR,
        categories(&[Category::Labs]),
        Purpose::Treatment,
        ActionSet::read(),
        None,
        START + HOUR
    ));
    crate::NextGrantId::<Test>::get() - 1
}

#[test]
fn default_is_deny() {
    new_test_ext().execute_with(|| {
        anchor_records();
        assert_eq!(
            check(DOCTOR, 1, Purpose::Treatment, Action::Read).reason,
            Reason::NoGrant
        );
        assert!(!check(DOCTOR, 1, Purpose::Treatment, Action::Read).allowed);
    });
}

#[test]
fn patient_grants_and_the_decision_follows() {
    new_test_ext().execute_with(|| {
        anchor_records();
        let grant = grant_labs_to_doctor();
        assert_eq!(
            check(DOCTOR, 1, Purpose::Treatment, Action::Read),
            Decision {
                allowed: true,
                grant: Some(grant),
                reason: Reason::Granted
            }
        );
        assert_eq!(
            check(DOCTOR, 2, Purpose::Treatment, Action::Read).reason,
            Reason::OutOfScope
        );
        assert_eq!(
            check(DOCTOR, 1, Purpose::Operations, Action::Read).reason,
            Reason::PurposeNotGranted
        );
        assert_eq!(
            check(DOCTOR, 1, Purpose::Treatment, Action::Write).reason,
            Reason::ActionNotGranted
        );
    });
}

#[test]
fn expiry_is_honoured_at_decision_time() {
    new_test_ext().execute_with(|| {
        anchor_records();
        grant_labs_to_doctor();
        Timestamp::set_timestamp(START + HOUR - 1);
        assert!(check(DOCTOR, 1, Purpose::Treatment, Action::Read).allowed);
        Timestamp::set_timestamp(START + HOUR);
        assert_eq!(
            check(DOCTOR, 1, Purpose::Treatment, Action::Read).reason,
            Reason::Expired
        );
    });
}

#[test]
fn revocation_denies_at_once() {
    new_test_ext().execute_with(|| {
        anchor_records();
        let grant = grant_labs_to_doctor();
        assert_ok!(Consent::revoke_grant(RuntimeOrigin::signed(PATIENT), grant));
        System::assert_last_event(Event::GrantRevoked { grant }.into());
        assert!(Grants::<Test>::get(grant).unwrap().revoked);
        assert_eq!(
            check(DOCTOR, 1, Purpose::Treatment, Action::Read).reason,
            Reason::Revoked
        );
        assert_noop!(
            Consent::revoke_grant(RuntimeOrigin::signed(PATIENT), grant),
            Error::<Test>::AlreadyRevoked
        );
        assert_noop!(
            Consent::revoke_grant(RuntimeOrigin::signed(PATIENT), 77),
            Error::<Test>::UnknownGrant
        );
    });
}

#[test]
fn revoked_role_allows_nothing() {
    new_test_ext().execute_with(|| {
        anchor_records();
        grant_labs_to_doctor();
        assert_ok!(Registry::revoke_attestation(
            RuntimeOrigin::root(),
            DOCTOR,
            medigate_access_policy::Role::Provider
        ));
        assert_eq!(
            check(DOCTOR, 1, Purpose::Treatment, Action::Read).reason,
            Reason::RoleMissing
        );
    });
}

#[test]
fn request_then_narrowed_approval_creates_the_grant() {
    new_test_ext().execute_with(|| {
        anchor_records();
        assert_ok!(Consent::request_access(
            RuntimeOrigin::signed(DOCTOR),
            PATIENT,
            categories(&[Category::Labs, Category::Notes]),
            Purpose::Treatment,
            ActionSet::read(),
            H256::repeat_byte(9)
        ));
        System::assert_last_event(
            Event::AccessRequested {
                request: 0,
                patient: PATIENT,
                requester: DOCTOR,
                purpose: Purpose::Treatment,
            }
            .into(),
        );
        assert_noop!(
            Consent::approve_request(
                RuntimeOrigin::signed(PATIENT),
                0,
                Some(Scope::All),
                START + HOUR
            ),
            Error::<Test>::WiderThanRequested
        );
        assert_noop!(
            Consent::approve_request(RuntimeOrigin::signed(DOCTOR), 0, None, START + HOUR),
            Error::<Test>::NotPatientOrDelegate
        );
        assert_ok!(Consent::approve_request(
            RuntimeOrigin::signed(PATIENT),
            0,
            Some(categories(&[Category::Labs])),
            START + HOUR
        ));
        assert!(Requests::<Test>::get(0).is_none());
        assert!(check(DOCTOR, 1, Purpose::Treatment, Action::Read).allowed);
        assert_eq!(
            check(DOCTOR, 2, Purpose::Treatment, Action::Read).reason,
            Reason::OutOfScope
        );
    });
}

#[test]
fn denied_request_is_gone_and_grants_nothing() {
    new_test_ext().execute_with(|| {
        anchor_records();
        assert_ok!(Consent::request_access(
            RuntimeOrigin::signed(DOCTOR),
            PATIENT,
            Scope::All,
            Purpose::Treatment,
            ActionSet::read(),
            H256::zero()
        ));
        assert_ok!(Consent::deny_request(RuntimeOrigin::signed(PATIENT), 0));
        System::assert_last_event(Event::RequestDenied { request: 0 }.into());
        assert_noop!(
            Consent::deny_request(RuntimeOrigin::signed(PATIENT), 0),
            Error::<Test>::UnknownRequest
        );
        assert!(!check(DOCTOR, 1, Purpose::Treatment, Action::Read).allowed);
    });
}

#[test]
fn a_requester_has_few_requests_waiting_and_withdraws_its_own() {
    new_test_ext().execute_with(|| {
        anchor_records();
        let ask = doctor_asks_for_treatment;
        for _ in 0..MAX_OPEN_REQUESTS {
            assert_ok!(ask());
        }
        assert_noop!(ask(), Error::<Test>::TooManyOpenRequests);
        assert_eq!(OpenRequests::<Test>::get(DOCTOR), MAX_OPEN_REQUESTS);

        // Only the requester withdraws; the patient may not, nor anyone else.
        for other in [PATIENT, STRANGER] {
            assert_noop!(
                Consent::withdraw_request(RuntimeOrigin::signed(other), 0),
                Error::<Test>::NotTheRequester
            );
        }
        assert_ok!(Consent::withdraw_request(RuntimeOrigin::signed(DOCTOR), 0));
        System::assert_last_event(Event::RequestWithdrawn { request: 0 }.into());
        assert!(Requests::<Test>::get(0).is_none());
        assert_noop!(
            Consent::withdraw_request(RuntimeOrigin::signed(DOCTOR), 0),
            Error::<Test>::UnknownRequest
        );
        assert_noop!(
            Consent::approve_request(RuntimeOrigin::signed(PATIENT), 0, None, START + HOUR),
            Error::<Test>::UnknownRequest
        );

        // A withdrawn, denied or approved request frees its place.
        assert_ok!(ask());
        assert_noop!(ask(), Error::<Test>::TooManyOpenRequests);
        assert_ok!(Consent::deny_request(RuntimeOrigin::signed(PATIENT), 1));
        assert_ok!(Consent::approve_request(
            RuntimeOrigin::signed(PATIENT),
            2,
            None,
            START + HOUR
        ));
        assert_eq!(OpenRequests::<Test>::get(DOCTOR), 0);
        assert!(!OpenRequests::<Test>::contains_key(DOCTOR));
    });
}

#[test]
fn requests_need_a_role_for_the_purpose_and_known_accounts() {
    new_test_ext().execute_with(|| {
        anchor_records();
        let ask = |who: u64, patient: u64, purpose: Purpose| {
            Consent::request_access(
                RuntimeOrigin::signed(who),
                patient,
                Scope::All,
                purpose,
                ActionSet::read(),
                H256::zero(),
            )
        };
        assert_noop!(
            ask(STRANGER, PATIENT, Purpose::Treatment),
            Error::<Test>::RoleMissing
        );
        assert_noop!(
            ask(DOCTOR, PATIENT, Purpose::Research),
            Error::<Test>::RoleMissing
        );
        assert_noop!(
            ask(UNREGISTERED, PATIENT, Purpose::Treatment),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            ask(DOCTOR, UNREGISTERED, Purpose::Treatment),
            Error::<Test>::UnknownPatient
        );
        assert_ok!(ask(RESEARCHER, PATIENT, Purpose::Research));
    });
}

#[test]
fn bad_grants_change_nothing() {
    new_test_ext().execute_with(|| {
        anchor_records();
        let grant = |who: u64,
                     grantee: u64,
                     scope: RecordScope<Test>,
                     actions: ActionSet,
                     not_before: Option<u64>,
                     expires_at: u64| {
            Consent::grant_access(
                RuntimeOrigin::signed(who),
                PATIENT,
                grantee,
                scope,
                Purpose::Treatment,
                actions,
                not_before,
                expires_at,
            )
        };
        let read = ActionSet::read();
        let later = START + HOUR;
        assert_noop!(
            grant(DOCTOR, DOCTOR, Scope::All, read, None, later),
            Error::<Test>::NotPatientOrDelegate
        );
        assert_noop!(
            grant(PATIENT, PATIENT, Scope::All, read, None, later),
            Error::<Test>::SelfGrant
        );
        assert_noop!(
            grant(PATIENT, UNREGISTERED, Scope::All, read, None, later),
            Error::<Test>::UnknownGrantee
        );
        assert_noop!(
            grant(PATIENT, DOCTOR, Scope::All, ActionSet::empty(), None, later),
            Error::<Test>::NoActions
        );
        assert_noop!(
            grant(PATIENT, DOCTOR, categories(&[]), read, None, later),
            Error::<Test>::EmptyScope
        );
        assert_noop!(
            grant(PATIENT, DOCTOR, records(&[9]), read, None, later),
            Error::<Test>::UnknownRecordInScope
        );
        assert_noop!(
            grant(PATIENT, DOCTOR, Scope::All, read, Some(later), later),
            Error::<Test>::EmptyWindow
        );
        assert_noop!(
            grant(PATIENT, DOCTOR, Scope::All, read, Some(0), START),
            Error::<Test>::WindowInThePast
        );
        for _ in 0..MAX_GRANTS {
            assert_ok!(grant(PATIENT, DOCTOR, Scope::All, read, None, later));
        }
        assert_noop!(
            grant(PATIENT, DOCTOR, Scope::All, read, None, later),
            Error::<Test>::TooManyGrants
        );
    });
}

#[test]
fn expired_grants_make_room_for_new_ones() {
    new_test_ext().execute_with(|| {
        for _ in 0..MAX_GRANTS {
            grant_labs_to_doctor();
        }
        Timestamp::set_timestamp(START + HOUR);
        assert_ok!(Consent::grant_access(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            DOCTOR,
            Scope::All,
            Purpose::Treatment,
            ActionSet::read(),
            None,
            START + 2 * HOUR
        ));
    });
}

#[test]
fn grant_of_listed_records_covers_only_them() {
    new_test_ext().execute_with(|| {
        anchor_records();
        assert_ok!(Consent::grant_access(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            DOCTOR,
            records(&[2]),
            Purpose::Treatment,
            ActionSet::read(),
            None,
            START + HOUR
        ));
        assert!(check(DOCTOR, 2, Purpose::Treatment, Action::Read).allowed);
        assert!(!check(DOCTOR, 1, Purpose::Treatment, Action::Read).allowed);
    });
}

#[test]
fn guardian_manages_consent_for_the_patient() {
    new_test_ext().execute_with(|| {
        anchor_records();
        assert_noop!(
            Consent::appoint_guardian(RuntimeOrigin::signed(GUARDIAN), PATIENT, GUARDIAN),
            sp_runtime::DispatchError::BadOrigin
        );
        assert_ok!(Consent::appoint_guardian(
            RuntimeOrigin::root(),
            PATIENT,
            GUARDIAN
        ));
        assert!(Delegates::<Test>::contains_key(PATIENT, GUARDIAN));
        assert_ok!(Consent::grant_access(
            RuntimeOrigin::signed(GUARDIAN),
            PATIENT,
            DOCTOR,
            Scope::All,
            Purpose::Treatment,
            ActionSet::read(),
            None,
            START + HOUR
        ));
        assert!(check(DOCTOR, 1, Purpose::Treatment, Action::Read).allowed);
        assert_eq!(
            check(GUARDIAN, 2, Purpose::Treatment, Action::Read).reason,
            Reason::Delegate
        );

        assert_ok!(Consent::remove_delegate(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            GUARDIAN
        ));
        assert_noop!(
            Consent::remove_delegate(RuntimeOrigin::signed(PATIENT), PATIENT, GUARDIAN),
            Error::<Test>::NotDelegate
        );
        assert!(!check(GUARDIAN, 2, Purpose::Treatment, Action::Read).allowed);
    });
}

#[test]
fn patient_delegates_and_duplicates_are_refused() {
    new_test_ext().execute_with(|| {
        assert_ok!(Consent::add_delegate(
            RuntimeOrigin::signed(PATIENT),
            GUARDIAN
        ));
        assert_noop!(
            Consent::add_delegate(RuntimeOrigin::signed(PATIENT), GUARDIAN),
            Error::<Test>::AlreadyDelegate
        );
        assert_noop!(
            Consent::add_delegate(RuntimeOrigin::signed(PATIENT), UNREGISTERED),
            Error::<Test>::UnknownGrantee
        );
        assert_noop!(
            Consent::add_delegate(RuntimeOrigin::signed(UNREGISTERED), GUARDIAN),
            Error::<Test>::UnknownPatient
        );
    });
}

#[test]
fn restriction_overrides_a_grant_until_lifted() {
    new_test_ext().execute_with(|| {
        anchor_records();
        grant_labs_to_doctor();
        assert_ok!(Consent::restrict(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            None,
            categories(&[Category::Labs])
        ));
        assert_eq!(
            check(DOCTOR, 1, Purpose::Treatment, Action::Read).reason,
            Reason::Restricted
        );
        assert_noop!(
            Consent::lift_restriction(RuntimeOrigin::signed(PATIENT), PATIENT, 5),
            Error::<Test>::UnknownRestriction
        );
        assert_ok!(Consent::lift_restriction(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            0
        ));
        assert!(check(DOCTOR, 1, Purpose::Treatment, Action::Read).allowed);
    });
}

#[test]
fn a_restriction_binds_delegates_and_only_the_patient_or_governance_lifts_it() {
    new_test_ext().execute_with(|| {
        anchor_records();
        assert_ok!(Consent::add_delegate(
            RuntimeOrigin::signed(PATIENT),
            GUARDIAN
        ));
        assert!(check(GUARDIAN, 1, Purpose::Treatment, Action::Read).allowed);
        // A restriction naming the delegate binds it, and so does one on
        // everyone.
        for accessor in [Some(GUARDIAN), None] {
            assert_ok!(Consent::restrict(
                RuntimeOrigin::signed(PATIENT),
                PATIENT,
                accessor,
                categories(&[Category::Labs])
            ));
            assert_eq!(
                check(GUARDIAN, 1, Purpose::Treatment, Action::Read).reason,
                Reason::Restricted
            );
            // The delegate cannot lift it.
            assert_noop!(
                Consent::lift_restriction(RuntimeOrigin::signed(GUARDIAN), PATIENT, 0),
                Error::<Test>::OnlyThePatientLifts
            );
            assert_ok!(Consent::lift_restriction(
                RuntimeOrigin::signed(PATIENT),
                PATIENT,
                0
            ));
        }
        // Governance may lift one, for a patient who cannot act.
        assert_ok!(Consent::restrict(
            RuntimeOrigin::signed(GUARDIAN),
            PATIENT,
            Some(GUARDIAN),
            categories(&[Category::Labs])
        ));
        assert_ok!(Consent::lift_restriction(RuntimeOrigin::root(), PATIENT, 0));
        assert!(check(GUARDIAN, 1, Purpose::Treatment, Action::Read).allowed);
    });
}

#[test]
fn unknown_record_or_wrong_patient_is_denied() {
    new_test_ext().execute_with(|| {
        anchor_records();
        grant_labs_to_doctor();
        assert_eq!(
            check(DOCTOR, 9, Purpose::Treatment, Action::Read).reason,
            Reason::UnknownRecord
        );
        assert_eq!(
            Consent::check_access(DOCTOR, GUARDIAN, id(1), Purpose::Treatment, Action::Read).reason,
            Reason::UnknownRecord
        );
    });
}

#[test]
fn many_questions_get_the_answers_of_single_checks_in_order() {
    new_test_ext().execute_with(|| {
        anchor_records();
        grant_labs_to_doctor();
        let questions = [
            (DOCTOR, PATIENT, id(1), Purpose::Treatment, Action::Read),
            (DOCTOR, PATIENT, id(2), Purpose::Treatment, Action::Read),
            (DOCTOR, PATIENT, id(1), Purpose::Research, Action::Read),
            (DOCTOR, GUARDIAN, id(1), Purpose::Treatment, Action::Read),
            (PATIENT, PATIENT, id(2), Purpose::Treatment, Action::Read),
        ];
        let singles: Vec<_> = questions
            .iter()
            .map(|&(accessor, patient, record, purpose, action)| {
                Consent::check_access(accessor, patient, record, purpose, action)
            })
            .collect();
        assert_eq!(Consent::check_access_many(questions.to_vec()), singles);
        assert!(singles[0].allowed && !singles[1].allowed && !singles[2].allowed);
        assert!(!singles[3].allowed && singles[4].allowed);
    });
}

#[test]
fn many_questions_are_answered_up_to_the_limit() {
    new_test_ext().execute_with(|| {
        anchor_records();
        let limit = crate::runtime_api::MAX_ACCESS_QUESTIONS as usize;
        let question = (PATIENT, PATIENT, id(1), Purpose::Treatment, Action::Read);
        let answers = Consent::check_access_many(vec![question; limit + 7]);
        assert_eq!(answers.len(), limit);
        assert!(answers.iter().all(|answer| answer.allowed));
        assert!(Consent::check_access_many(Vec::new()).is_empty());
    });
}

#[test]
fn write_grant_lets_an_author_anchor_to_the_patient() {
    new_test_ext().execute_with(|| {
        let lab_result = AnchorRequest {
            content_id: id(5),
            category: Category::Labs,
            size: 10,
            previous: None,
        };
        assert_noop!(
            Records::anchor(RuntimeOrigin::signed(DOCTOR), PATIENT, lab_result.clone()),
            pallet_records::Error::<Test>::NotPermitted
        );
        assert_ok!(Consent::grant_access(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            DOCTOR,
            categories(&[Category::Labs]),
            Purpose::Treatment,
            ActionSet::read_write(),
            None,
            START + HOUR
        ));
        assert_ok!(Records::anchor(
            RuntimeOrigin::signed(DOCTOR),
            PATIENT,
            lab_result
        ));
        let note = AnchorRequest {
            content_id: id(6),
            category: Category::Notes,
            size: 10,
            previous: None,
        };
        assert_noop!(
            Records::anchor(RuntimeOrigin::signed(DOCTOR), PATIENT, note),
            pallet_records::Error::<Test>::NotPermitted
        );
    });
}

#[test]
fn weights_count_the_records_a_scope_lists() {
    use frame_support::traits::Get;
    new_test_ext().execute_with(|| {
        assert_eq!(Consent::records_in(&records(&[1, 2, 3])), 3);
        // Scopes that list no records weigh as one record, the least measured.
        assert_eq!(Consent::records_in(&Scope::All), 1);
        assert_eq!(Consent::records_in(&categories(&[])), 1);
        assert_eq!(
            Consent::most_prior_grants(),
            <<Test as crate::Config>::MaxGrantsPerGrantee as Get<u32>>::get() - 1
        );
    });
}

#[test]
fn an_upgrade_counts_the_requests_an_older_chain_left_waiting() {
    use crate::migrations::MigrateToV1;
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
    new_test_ext().execute_with(|| {
        anchor_records();
        for _ in 0..MAX_OPEN_REQUESTS {
            assert_ok!(doctor_asks_for_treatment());
        }
        // A chain at version 0 kept the requests but no counts.
        let _ = OpenRequests::<Test>::clear(u32::MAX, None);
        StorageVersion::new(0).put::<Consent>();

        MigrateToV1::<Test>::on_runtime_upgrade();
        assert_eq!(Consent::on_chain_storage_version(), 1);
        assert_eq!(OpenRequests::<Test>::get(DOCTOR), MAX_OPEN_REQUESTS);
        // The counts bind again, and a second upgrade changes nothing.
        assert_noop!(
            doctor_asks_for_treatment(),
            Error::<Test>::TooManyOpenRequests
        );
        assert_ok!(Consent::withdraw_request(RuntimeOrigin::signed(DOCTOR), 0));
        assert_eq!(OpenRequests::<Test>::get(DOCTOR), MAX_OPEN_REQUESTS - 1);
        OpenRequests::<Test>::insert(DOCTOR, 1);
        MigrateToV1::<Test>::on_runtime_upgrade();
        assert_eq!(OpenRequests::<Test>::get(DOCTOR), 1);
    });
}
