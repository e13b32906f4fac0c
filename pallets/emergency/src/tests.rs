//! The emergency pallet's rules: policies, custodians, who may break the
//! glass and for how long, and reviews.

use frame_support::{assert_noop, assert_ok, traits::ConstU32};
use medigate_access_policy::{Purpose, Role, RoleSet};
use sp_core::H256;
use sp_runtime::BoundedVec;

use crate::{
    BreakGlasses, Category, DEFAULT_WINDOW_MS, EmergencyGrant, EmergencyGrants, Error, Event,
    MAX_WINDOW_MS, Pallet, Review, Summaries, mock::*,
};

fn responders() -> RoleSet {
    RoleSet::empty().with(Role::EmergencyResponder)
}

fn guardians(accounts: &[u64]) -> BoundedVec<u64, ConstU32<MAX_GUARDIANS>> {
    BoundedVec::try_from(accounts.to_vec()).unwrap()
}

fn custodians(accounts: &[u64]) -> BoundedVec<u64, ConstU32<7>> {
    BoundedVec::try_from(accounts.to_vec()).unwrap()
}

/// `who` sets a policy naming no guardian.
fn policy(
    who: u64,
    enabled: bool,
    roles: RoleSet,
    window: Option<u64>,
) -> sp_runtime::DispatchResult {
    Emergency::set_policy(
        RuntimeOrigin::signed(who),
        enabled,
        roles,
        guardians(&[]),
        window,
        None,
    )
}

/// Custodians 3 of 5 and the patient's policy: enabled for responders,
/// the guardian notified, the default window.
fn ready() {
    assert_ok!(Emergency::set_custodians(
        RuntimeOrigin::root(),
        custodians(&CUSTODIANS),
        3
    ));
    assert_ok!(Emergency::set_policy(
        RuntimeOrigin::signed(PATIENT),
        true,
        responders(),
        guardians(&[GUARDIAN]),
        None,
        None
    ));
}

/// Ten minutes: the veto window of [`ready_with_veto_window`].
const VETO_WINDOW_MS: u64 = 10 * 60 * 1000;

/// As [`ready`], with a veto window: full-record access ten minutes after
/// a break-glass.
fn ready_with_veto_window() {
    ready();
    assert_ok!(Emergency::set_policy(
        RuntimeOrigin::signed(PATIENT),
        true,
        responders(),
        guardians(&[GUARDIAN]),
        None,
        Some(VETO_WINDOW_MS)
    ));
}

/// The emergency grant `PARAMEDIC` holds on `PATIENT`'s records at `now`.
fn grant_at(now: u64) -> Option<EmergencyGrant<u64>> {
    <Pallet<Test> as EmergencyGrants<u64, u64>>::emergency_grant(&PARAMEDIC, &PATIENT, now)
}

fn reason() -> H256 {
    H256::repeat_byte(0x42)
}

fn break_glass(responder: u64) -> sp_runtime::DispatchResult {
    Emergency::break_glass(
        RuntimeOrigin::signed(responder),
        PATIENT,
        Purpose::EmergencyTreatment,
        reason(),
    )
}

#[test]
fn an_allowed_responder_opens_a_grant_for_the_window_and_an_event_says_so() {
    new_test_ext().execute_with(|| {
        ready();
        assert_ok!(break_glass(PARAMEDIC));
        let expires_at = START + DEFAULT_WINDOW_MS;
        System::assert_last_event(
            Event::GlassBroken {
                id: 0,
                patient: PATIENT,
                responder: PARAMEDIC,
                purpose: Purpose::EmergencyTreatment,
                expires_at,
                full_access_from: None,
            }
            .into(),
        );
        let opened = BreakGlasses::<Test>::get(0).unwrap();
        assert_eq!(opened.reason, reason());
        assert_eq!(opened.review, Review::Pending);
        assert_eq!(
            Pallet::<Test>::open_emergency(&PARAMEDIC, &PATIENT, START),
            Some(0)
        );
        // The grant ends by itself.
        assert_eq!(
            Pallet::<Test>::open_emergency(&PARAMEDIC, &PATIENT, expires_at - 1),
            Some(0)
        );
        assert_eq!(
            Pallet::<Test>::open_emergency(&PARAMEDIC, &PATIENT, expires_at),
            None
        );
        assert_eq!(
            Pallet::<Test>::open_emergency(&DOCTOR, &PATIENT, START),
            None
        );
    });
}

#[test]
fn the_running_grant_opens_the_summary_for_its_purpose_until_it_ends() {
    new_test_ext().execute_with(|| {
        ready();
        assert_eq!(
            <Pallet<Test> as EmergencyGrants<u64, u64>>::emergency_grant(
                &PARAMEDIC, &PATIENT, START
            ),
            None
        );
        assert_ok!(break_glass(PARAMEDIC));
        let grant = EmergencyGrant {
            purpose: Purpose::EmergencyTreatment,
            categories: crate::EMERGENCY_CATEGORIES,
            opened_at: START,
            expires_at: START + DEFAULT_WINDOW_MS,
        };
        assert!(grant.categories.contains(Category::Summary));
        assert!(!grant.categories.contains(Category::Labs));
        let at = |now| {
            <Pallet<Test> as EmergencyGrants<u64, u64>>::emergency_grant(&PARAMEDIC, &PATIENT, now)
        };
        assert_eq!(at(START), Some(grant));
        assert_eq!(at(START + DEFAULT_WINDOW_MS), None);
        assert_eq!(at(START - 1), None);
        // Nobody else's.
        assert_eq!(
            <Pallet<Test> as EmergencyGrants<u64, u64>>::emergency_grant(
                &PARAMEDIC, &GUARDIAN, START
            ),
            None
        );
    });
}

#[test]
fn registered_patients_point_to_their_summary() {
    new_test_ext().execute_with(|| {
        let summary = H256::repeat_byte(0x5a);
        assert_noop!(
            Emergency::set_summary(RuntimeOrigin::signed(UNREGISTERED), summary),
            Error::<Test>::UnknownPatient
        );
        assert_ok!(Emergency::set_summary(
            RuntimeOrigin::signed(PATIENT),
            summary
        ));
        assert_eq!(Summaries::<Test>::get(PATIENT), Some(summary));
        System::assert_last_event(
            Event::SummarySet {
                patient: PATIENT,
                content_id: summary,
            }
            .into(),
        );
    });
}

#[test]
fn only_holders_of_an_allowed_role_break_the_glass() {
    new_test_ext().execute_with(|| {
        ready();
        // The doctor is a provider, which this policy does not allow.
        assert_noop!(break_glass(DOCTOR), Error::<Test>::NotAllowedResponder);
        assert_noop!(break_glass(STRANGER), Error::<Test>::NotAllowedResponder);
        assert_noop!(
            break_glass(UNREGISTERED),
            Error::<Test>::NotAllowedResponder
        );
        // A revoked responder is no responder.
        assert_ok!(Registry::revoke_attestation(
            RuntimeOrigin::signed(BOARD),
            PARAMEDIC,
            Role::EmergencyResponder
        ));
        assert_noop!(break_glass(PARAMEDIC), Error::<Test>::NotAllowedResponder);
        // The patient may widen the roles.
        assert_ok!(policy(
            PATIENT,
            true,
            responders().with(Role::Provider),
            None
        ));
        assert_ok!(break_glass(DOCTOR));
    });
}

#[test]
fn a_patient_who_opted_out_or_never_opted_in_cannot_be_reached() {
    new_test_ext().execute_with(|| {
        assert_ok!(Emergency::set_custodians(
            RuntimeOrigin::root(),
            custodians(&CUSTODIANS),
            3
        ));
        assert_noop!(break_glass(PARAMEDIC), Error::<Test>::EmergencyDisabled);
        assert_ok!(policy(PATIENT, false, responders(), None));
        assert_noop!(break_glass(PARAMEDIC), Error::<Test>::EmergencyDisabled);
        assert_noop!(
            Emergency::break_glass(
                RuntimeOrigin::signed(PARAMEDIC),
                UNREGISTERED,
                Purpose::EmergencyTreatment,
                reason()
            ),
            Error::<Test>::UnknownPatient
        );
    });
}

#[test]
fn only_emergency_purposes_and_one_running_grant_per_responder() {
    new_test_ext().execute_with(|| {
        ready();
        assert_noop!(
            Emergency::break_glass(
                RuntimeOrigin::signed(PARAMEDIC),
                PATIENT,
                Purpose::Treatment,
                reason()
            ),
            Error::<Test>::NotAnEmergencyPurpose
        );
        assert_ok!(Emergency::break_glass(
            RuntimeOrigin::signed(PARAMEDIC),
            PATIENT,
            Purpose::BreakTheGlass,
            reason()
        ));
        assert_noop!(break_glass(PARAMEDIC), Error::<Test>::AlreadyOpen);
        // Once it has ended, another may be opened.
        Timestamp::set_timestamp(START + DEFAULT_WINDOW_MS);
        assert_ok!(break_glass(PARAMEDIC));
        assert_eq!(
            Pallet::<Test>::open_emergency(&PARAMEDIC, &PATIENT, START + DEFAULT_WINDOW_MS),
            Some(1)
        );
    });
}

#[test]
fn a_responder_breaks_the_glass_a_bounded_number_of_times_a_day() {
    new_test_ext().execute_with(|| {
        ready();
        // START is within a day of chain time; each break-glass ends before
        // the next.
        let day_start = START - START % crate::DAY_MS;
        for round in 0..MAX_BREAK_GLASSES_PER_DAY as u64 {
            Timestamp::set_timestamp(START + round * DEFAULT_WINDOW_MS);
            assert_ok!(break_glass(PARAMEDIC));
        }
        let next = START + MAX_BREAK_GLASSES_PER_DAY as u64 * DEFAULT_WINDOW_MS;
        assert!(next < day_start + crate::DAY_MS);
        Timestamp::set_timestamp(next);
        assert_noop!(break_glass(PARAMEDIC), Error::<Test>::TooManyBreakGlasses);
        // Another responder is not held back, and the next day the first
        // may again.
        assert_ok!(pallet_registry::Pallet::<Test>::attest(
            RuntimeOrigin::signed(BOARD),
            STRANGER,
            Role::EmergencyResponder,
            None,
            None
        ));
        assert_ok!(break_glass(STRANGER));
        Timestamp::set_timestamp(day_start + crate::DAY_MS);
        assert_ok!(break_glass(PARAMEDIC));
    });
}

#[test]
fn without_custodians_no_glass_can_be_broken() {
    new_test_ext().execute_with(|| {
        assert_ok!(policy(PATIENT, true, responders(), None));
        assert_noop!(break_glass(PARAMEDIC), Error::<Test>::NoCustodians);
    });
}

#[test]
fn custodians_are_attested_distinct_and_enough_for_the_threshold() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Emergency::set_custodians(RuntimeOrigin::signed(PATIENT), custodians(&CUSTODIANS), 3),
            sp_runtime::DispatchError::BadOrigin
        );
        assert_noop!(
            Emergency::set_custodians(RuntimeOrigin::root(), custodians(&CUSTODIANS), 0),
            Error::<Test>::BadThreshold
        );
        assert_noop!(
            Emergency::set_custodians(RuntimeOrigin::root(), custodians(&CUSTODIANS[..2]), 3),
            Error::<Test>::BadThreshold
        );
        assert_noop!(
            Emergency::set_custodians(
                RuntimeOrigin::root(),
                custodians(&[CUSTODIANS[0], NOT_CUSTODIAN, CUSTODIANS[1]]),
                2
            ),
            Error::<Test>::NotCustodian
        );
        assert_noop!(
            Emergency::set_custodians(
                RuntimeOrigin::root(),
                custodians(&[CUSTODIANS[0], CUSTODIANS[0]]),
                2
            ),
            Error::<Test>::DuplicateCustodian
        );
        assert_ok!(Emergency::set_custodians(
            RuntimeOrigin::root(),
            custodians(&CUSTODIANS),
            3
        ));
        assert_eq!(Pallet::<Test>::custodian_set(), (CUSTODIANS.to_vec(), 3));
    });
}

#[test]
fn policies_belong_to_registered_patients_and_windows_are_bounded() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            policy(UNREGISTERED, true, responders(), None),
            Error::<Test>::UnknownPatient
        );
        for window in [0, MAX_WINDOW_MS + 1] {
            assert_noop!(
                policy(PATIENT, true, responders(), Some(window)),
                Error::<Test>::BadWindow
            );
        }
        assert_ok!(Emergency::set_custodians(
            RuntimeOrigin::root(),
            custodians(&CUSTODIANS),
            3
        ));
        assert_ok!(policy(PATIENT, true, responders(), Some(15 * 60 * 1000)));
        assert_ok!(break_glass(PARAMEDIC));
        assert_eq!(
            BreakGlasses::<Test>::get(0).unwrap().expires_at,
            START + 15 * 60 * 1000
        );
    });
}

#[test]
fn the_patient_or_a_guardian_reviews_once() {
    new_test_ext().execute_with(|| {
        ready();
        assert_ok!(break_glass(PARAMEDIC));
        assert_noop!(
            Emergency::review(RuntimeOrigin::signed(STRANGER), 0, Review::Flagged),
            Error::<Test>::NotReviewer
        );
        assert_noop!(
            Emergency::review(RuntimeOrigin::signed(PARAMEDIC), 0, Review::Justified),
            Error::<Test>::NotReviewer
        );
        assert_noop!(
            Emergency::review(RuntimeOrigin::signed(GUARDIAN), 0, Review::Pending),
            Error::<Test>::NotAVerdict
        );
        assert_noop!(
            Emergency::review(RuntimeOrigin::signed(GUARDIAN), 7, Review::Justified),
            Error::<Test>::UnknownBreakGlass
        );
        assert_ok!(Emergency::review(
            RuntimeOrigin::signed(GUARDIAN),
            0,
            Review::Flagged
        ));
        System::assert_last_event(
            Event::Reviewed {
                id: 0,
                reviewer: GUARDIAN,
                review: Review::Flagged,
            }
            .into(),
        );
        assert_noop!(
            Emergency::review(RuntimeOrigin::signed(PATIENT), 0, Review::Justified),
            Error::<Test>::AlreadyReviewed
        );
        assert_eq!(
            BreakGlasses::<Test>::get(0).unwrap().review,
            Review::Flagged
        );
    });
}

#[test]
fn veto_windows_are_shorter_than_the_grant() {
    new_test_ext().execute_with(|| {
        for (window, after) in [
            (None, 0),
            (None, DEFAULT_WINDOW_MS),
            (Some(60_000), 60_000),
            (Some(60_000), 120_000),
        ] {
            assert_noop!(
                Emergency::set_policy(
                    RuntimeOrigin::signed(PATIENT),
                    true,
                    responders(),
                    guardians(&[]),
                    window,
                    Some(after)
                ),
                Error::<Test>::BadVetoWindow
            );
        }
    });
}

#[test]
fn without_a_veto_the_grant_opens_every_category_after_the_veto_window() {
    new_test_ext().execute_with(|| {
        ready_with_veto_window();
        assert_ok!(break_glass(PARAMEDIC));
        let full_from = START + VETO_WINDOW_MS;
        System::assert_last_event(
            Event::GlassBroken {
                id: 0,
                patient: PATIENT,
                responder: PARAMEDIC,
                purpose: Purpose::EmergencyTreatment,
                expires_at: START + DEFAULT_WINDOW_MS,
                full_access_from: Some(full_from),
            }
            .into(),
        );
        let before = grant_at(full_from - 1).unwrap();
        assert!(before.categories.contains(Category::Summary));
        assert!(!before.categories.contains(Category::Labs));
        let after = grant_at(full_from).unwrap();
        assert!(
            Category::ALL
                .iter()
                .all(|category| after.categories.contains(*category))
        );
        assert_eq!(after.purpose, Purpose::EmergencyTreatment);
        // And still ends with the grant.
        assert_eq!(grant_at(START + DEFAULT_WINDOW_MS), None);
    });
}

#[test]
fn the_patient_or_a_guardian_vetoes_full_access_while_the_grant_runs() {
    new_test_ext().execute_with(|| {
        ready_with_veto_window();
        assert_ok!(break_glass(PARAMEDIC));
        for stranger in [STRANGER, PARAMEDIC] {
            assert_noop!(
                Emergency::veto(RuntimeOrigin::signed(stranger), 0),
                Error::<Test>::NotReviewer
            );
        }
        assert_noop!(
            Emergency::veto(RuntimeOrigin::signed(GUARDIAN), 9),
            Error::<Test>::UnknownBreakGlass
        );
        // Vetoed after the window had passed: closed from then on.
        Timestamp::set_timestamp(START + VETO_WINDOW_MS + 1);
        assert!(
            grant_at(START + VETO_WINDOW_MS + 1)
                .unwrap()
                .categories
                .contains(Category::Labs)
        );
        assert_ok!(Emergency::veto(RuntimeOrigin::signed(GUARDIAN), 0));
        System::assert_last_event(
            Event::Vetoed {
                id: 0,
                by: GUARDIAN,
            }
            .into(),
        );
        let kept = grant_at(START + VETO_WINDOW_MS + 1).unwrap();
        assert_eq!(kept.categories, crate::EMERGENCY_CATEGORIES);
        assert_eq!(BreakGlasses::<Test>::get(0).unwrap().full_from, None);
        assert_noop!(
            Emergency::veto(RuntimeOrigin::signed(PATIENT), 0),
            Error::<Test>::NothingToVeto
        );
        // A veto after the grant ended changes nothing.
        Timestamp::set_timestamp(START + DEFAULT_WINDOW_MS);
        assert_ok!(break_glass(PARAMEDIC));
        Timestamp::set_timestamp(START + 2 * DEFAULT_WINDOW_MS);
        assert_noop!(
            Emergency::veto(RuntimeOrigin::signed(PATIENT), 1),
            Error::<Test>::Ended
        );
    });
}

#[test]
fn flagging_a_break_glass_vetoes_its_full_access_and_justifying_it_does_not() {
    new_test_ext().execute_with(|| {
        ready_with_veto_window();
        assert_ok!(break_glass(PARAMEDIC));
        assert_ok!(Emergency::review(
            RuntimeOrigin::signed(PATIENT),
            0,
            Review::Justified
        ));
        assert!(
            grant_at(START + VETO_WINDOW_MS)
                .unwrap()
                .categories
                .contains(Category::Labs)
        );
        Timestamp::set_timestamp(START + DEFAULT_WINDOW_MS);
        assert_ok!(break_glass(PARAMEDIC));
        assert_ok!(Emergency::review(
            RuntimeOrigin::signed(GUARDIAN),
            1,
            Review::Flagged
        ));
        System::assert_last_event(
            Event::Vetoed {
                id: 1,
                by: GUARDIAN,
            }
            .into(),
        );
        let kept = <Pallet<Test> as EmergencyGrants<u64, u64>>::emergency_grant(
            &PARAMEDIC,
            &PATIENT,
            START + DEFAULT_WINDOW_MS + VETO_WINDOW_MS,
        )
        .unwrap();
        assert_eq!(kept.categories, crate::EMERGENCY_CATEGORIES);
    });
}

proptest::proptest! {
    /// Whatever the policy, the responder's roles and the purpose, the glass
    /// breaks exactly when the policy is enabled, the purpose is an
    /// emergency one, and the responder holds a role the policy allows.
    #[test]
    fn the_glass_breaks_exactly_when_the_policy_allows(
        enabled: bool,
        allowed in 0u8..64,
        held in 0u8..64,
        emergency_purpose: bool,
    ) {
        new_test_ext().execute_with(|| {
            assert_ok!(Emergency::set_custodians(RuntimeOrigin::root(), custodians(&CUSTODIANS), 3));
            let roles = |bits: u8| {
                Role::ALL
                    .into_iter()
                    .filter(|role| bits & 1 << *role as u8 != 0)
                    .fold(RoleSet::empty(), RoleSet::with)
            };
            assert_ok!(policy(PATIENT, enabled, roles(allowed), None));
            for role in Role::ALL.into_iter().filter(|role| roles(held).contains(*role)) {
                let licence = (role == Role::Provider).then(|| H256::repeat_byte(7));
                let _ = Registry::attest(RuntimeOrigin::signed(BOARD), STRANGER, role, licence, None);
            }
            // What the board may attest is what the stranger holds.
            let holds = |role| pallet_registry::Pallet::<Test>::holds(&STRANGER, role);
            let purpose = if emergency_purpose { Purpose::BreakTheGlass } else { Purpose::Research };
            let outcome = Emergency::break_glass(RuntimeOrigin::signed(STRANGER), PATIENT, purpose, reason());
            let expected = emergency_purpose
                && enabled
                && Role::ALL.into_iter().any(|role| roles(allowed).contains(role) && holds(role));
            proptest::prop_assert_eq!(outcome.is_ok(), expected, "{:?}", outcome);
            proptest::prop_assert_eq!(
                Pallet::<Test>::open_emergency(&STRANGER, &PATIENT, START).is_some(),
                expected
            );
            Ok(())
        })?;
    }
}
