//! Behaviour of the registry, one test per rule.

use crate::{Attestations, Error, Event, KeyHistory, Participants, Role, RoleSet, mock::*};
use frame_support::{assert_noop, assert_ok};
use sp_core::H256;
use sp_runtime::DispatchError;

const PATIENT: u64 = 1;
const DOCTOR: u64 = 2;
const HOSPITAL: u64 = 3;
const BOARD: u64 = 10;
const KEY: [u8; 32] = [7; 32];
const LICENCE: H256 = H256::repeat_byte(0xab);

fn board_roles() -> RoleSet {
    RoleSet::empty()
        .with(Role::Provider)
        .with(Role::Organization)
}

/// The board is an authority for providers and organizations; the doctor and
/// the hospital are registered.
fn with_board(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        assert_ok!(Registry::add_authority(
            RuntimeOrigin::root(),
            BOARD,
            board_roles()
        ));
        for account in [PATIENT, DOCTOR, HOSPITAL] {
            assert_ok!(Registry::register(
                RuntimeOrigin::signed(account),
                [account as u8; 32]
            ));
        }
        test()
    });
}

#[test]
fn register_stores_the_key_and_its_history() {
    new_test_ext().execute_with(|| {
        assert_ok!(Registry::register(RuntimeOrigin::signed(PATIENT), KEY));
        assert_eq!(
            Participants::<Test>::get(PATIENT).unwrap().encryption_key,
            KEY
        );
        assert_eq!(KeyHistory::<Test>::get(PATIENT, 0), Some((KEY, 1)));
        System::assert_last_event(
            Event::Registered {
                who: PATIENT,
                encryption_key: KEY,
            }
            .into(),
        );
    });
}

#[test]
fn registering_twice_fails() {
    new_test_ext().execute_with(|| {
        assert_ok!(Registry::register(RuntimeOrigin::signed(PATIENT), KEY));
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(PATIENT), KEY),
            Error::<Test>::AlreadyRegistered
        );
    });
}

#[test]
fn rotation_keeps_the_earlier_key() {
    new_test_ext().execute_with(|| {
        assert_ok!(Registry::register(RuntimeOrigin::signed(PATIENT), KEY));
        System::set_block_number(5);
        assert_ok!(Registry::rotate_key(
            RuntimeOrigin::signed(PATIENT),
            [8; 32]
        ));
        let participant = Participants::<Test>::get(PATIENT).unwrap();
        assert_eq!(
            (participant.encryption_key, participant.key_version),
            ([8; 32], 1)
        );
        assert_eq!(KeyHistory::<Test>::get(PATIENT, 0), Some((KEY, 1)));
        assert_eq!(KeyHistory::<Test>::get(PATIENT, 1), Some(([8; 32], 5)));
    });
}

#[test]
fn rotation_keeps_the_latest_keys_only() {
    new_test_ext().execute_with(|| {
        assert_ok!(Registry::register(RuntimeOrigin::signed(PATIENT), KEY));
        let rotations = 2 * MAX_KEY_HISTORY;
        for version in 1..=rotations {
            assert_ok!(Registry::rotate_key(
                RuntimeOrigin::signed(PATIENT),
                [version as u8; 32]
            ));
        }
        let kept: Vec<u32> = KeyHistory::<Test>::iter_key_prefix(PATIENT).collect();
        assert_eq!(kept.len(), MAX_KEY_HISTORY as usize);
        for version in rotations + 1 - MAX_KEY_HISTORY..=rotations {
            assert_eq!(
                KeyHistory::<Test>::get(PATIENT, version).map(|(key, _)| key),
                Some([version as u8; 32])
            );
        }
    });
}

#[test]
fn rotation_needs_registration_and_a_new_key() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Registry::rotate_key(RuntimeOrigin::signed(PATIENT), KEY),
            Error::<Test>::NotRegistered
        );
        assert_ok!(Registry::register(RuntimeOrigin::signed(PATIENT), KEY));
        assert_noop!(
            Registry::rotate_key(RuntimeOrigin::signed(PATIENT), KEY),
            Error::<Test>::SameKey
        );
    });
}

#[test]
fn only_governance_appoints_and_dismisses_authorities() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Registry::add_authority(RuntimeOrigin::signed(BOARD), BOARD, board_roles()),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Registry::add_authority(RuntimeOrigin::root(), BOARD, RoleSet::empty()),
            Error::<Test>::NoRoles
        );
        assert_ok!(Registry::add_authority(
            RuntimeOrigin::root(),
            BOARD,
            board_roles()
        ));
        assert_noop!(
            Registry::remove_authority(RuntimeOrigin::signed(BOARD), BOARD),
            DispatchError::BadOrigin
        );
        assert_ok!(Registry::remove_authority(RuntimeOrigin::root(), BOARD));
        assert_noop!(
            Registry::remove_authority(RuntimeOrigin::root(), BOARD),
            Error::<Test>::NotAuthority
        );
    });
}

#[test]
fn authority_attests_a_provider_with_a_licence_commitment() {
    with_board(|| {
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            HOSPITAL,
            Role::Organization,
            None,
            None
        ));
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider,
            Some(LICENCE),
            Some(HOSPITAL)
        ));
        System::assert_last_event(
            Event::Attested {
                who: DOCTOR,
                role: Role::Provider,
                authority: BOARD,
            }
            .into(),
        );
        assert!(Registry::holds(&DOCTOR, Role::Provider));
        assert_eq!(
            Registry::roles_of(&DOCTOR),
            RoleSet::empty().with(Role::Provider)
        );
        assert_eq!(
            Attestations::<Test>::get(DOCTOR, Role::Provider)
                .unwrap()
                .organization,
            Some(HOSPITAL)
        );
    });
}

#[test]
fn attestation_errors_change_nothing() {
    with_board(|| {
        assert_noop!(
            Registry::attest(
                RuntimeOrigin::signed(BOARD),
                DOCTOR,
                Role::Provider,
                None,
                None
            ),
            Error::<Test>::LicenceCommitmentRequired
        );
        assert_noop!(
            Registry::attest(
                RuntimeOrigin::signed(DOCTOR),
                PATIENT,
                Role::Organization,
                None,
                None
            ),
            Error::<Test>::NotAuthorityForRole
        );
        assert_noop!(
            Registry::attest(
                RuntimeOrigin::signed(BOARD),
                DOCTOR,
                Role::Researcher,
                None,
                None
            ),
            Error::<Test>::NotAuthorityForRole
        );
        assert_noop!(
            Registry::attest(
                RuntimeOrigin::signed(BOARD),
                99,
                Role::Organization,
                None,
                None
            ),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            Registry::attest(
                RuntimeOrigin::signed(BOARD),
                DOCTOR,
                Role::Provider,
                Some(LICENCE),
                Some(HOSPITAL)
            ),
            Error::<Test>::UnknownOrganization
        );
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider,
            Some(LICENCE),
            None
        ));
        assert_noop!(
            Registry::attest(
                RuntimeOrigin::signed(BOARD),
                DOCTOR,
                Role::Provider,
                Some(LICENCE),
                None
            ),
            Error::<Test>::AlreadyAttested
        );
    });
}

#[test]
fn revocation_takes_effect_at_once_and_keeps_the_record() {
    with_board(|| {
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider,
            Some(LICENCE),
            None
        ));
        System::set_block_number(9);
        assert_ok!(Registry::revoke_attestation(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider
        ));
        System::assert_last_event(
            Event::AttestationRevoked {
                who: DOCTOR,
                role: Role::Provider,
            }
            .into(),
        );
        assert!(!Registry::holds(&DOCTOR, Role::Provider));
        assert_eq!(Registry::roles_of(&DOCTOR), RoleSet::empty());
        assert_eq!(
            Attestations::<Test>::get(DOCTOR, Role::Provider)
                .unwrap()
                .revoked_at,
            Some(9)
        );
        // A new attestation may follow a revoked one.
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider,
            Some(LICENCE),
            None
        ));
        assert!(Registry::holds(&DOCTOR, Role::Provider));
    });
}

#[test]
fn governance_revokes_and_strangers_cannot() {
    with_board(|| {
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider,
            Some(LICENCE),
            None
        ));
        assert_noop!(
            Registry::revoke_attestation(RuntimeOrigin::signed(PATIENT), DOCTOR, Role::Provider),
            Error::<Test>::NotAuthorityForRole
        );
        assert_ok!(Registry::revoke_attestation(
            RuntimeOrigin::root(),
            DOCTOR,
            Role::Provider
        ));
        assert_noop!(
            Registry::revoke_attestation(RuntimeOrigin::root(), DOCTOR, Role::Provider),
            Error::<Test>::NoSuchAttestation
        );
    });
}

#[test]
fn a_hospital_sponsors_a_newcomer_who_then_registers_and_the_sponsorship_closes() {
    with_board(|| {
        const NEWCOMER: u64 = 20;
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            HOSPITAL,
            Role::Organization,
            None,
            None
        ));
        assert!(!Registry::is_sponsored(&NEWCOMER));
        assert_eq!(System::sufficients(&NEWCOMER), 0);
        assert_ok!(Registry::sponsor(RuntimeOrigin::signed(HOSPITAL), NEWCOMER));
        assert!(Registry::is_sponsored(&NEWCOMER));
        // The account may sign without funds from now on.
        assert_eq!(System::sufficients(&NEWCOMER), 1);
        System::assert_last_event(
            Event::Sponsored {
                who: NEWCOMER,
                sponsor: HOSPITAL,
                until: 1 + SPONSORSHIP_PERIOD,
            }
            .into(),
        );
        // The newcomer signs its own registration.
        assert_ok!(Registry::register(RuntimeOrigin::signed(NEWCOMER), KEY));
        assert!(!Registry::is_sponsored(&NEWCOMER));
        // It keeps standing without funds, as a participant; the
        // sponsorship counts against the hospital until its period ends.
        assert_eq!(System::sufficients(&NEWCOMER), 1);
        assert_eq!(crate::SponsoredBy::<Test>::get(HOSPITAL).len(), 1);
        System::set_block_number(1 + SPONSORSHIP_PERIOD);
        assert_ok!(Registry::sponsor(RuntimeOrigin::signed(HOSPITAL), 21));
        assert_eq!(System::sufficients(&NEWCOMER), 1);
        assert_eq!(crate::SponsoredBy::<Test>::get(HOSPITAL).len(), 1);
        // A participant needs no sponsor.
        assert_noop!(
            Registry::sponsor(RuntimeOrigin::signed(HOSPITAL), NEWCOMER),
            Error::<Test>::AlreadyRegistered
        );
    });
}

#[test]
fn only_organizations_and_authorities_sponsor() {
    with_board(|| {
        // A registered patient, a provider, a stranger: none sponsors.
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            DOCTOR,
            Role::Provider,
            Some(LICENCE),
            None
        ));
        for who in [PATIENT, DOCTOR, 99] {
            assert_noop!(
                Registry::sponsor(RuntimeOrigin::signed(who), 20),
                Error::<Test>::NotASponsor
            );
        }
        // An authority does.
        assert_ok!(Registry::sponsor(RuntimeOrigin::signed(BOARD), 20));
        assert!(Registry::is_sponsored(&20));
    });
}

#[test]
fn a_sponsor_makes_a_bounded_number_of_sponsorships_per_period() {
    with_board(|| {
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            HOSPITAL,
            Role::Organization,
            None,
            None
        ));
        let newcomers: Vec<u64> = (100..100 + u64::from(MAX_SPONSORSHIPS)).collect();
        for newcomer in &newcomers {
            assert_ok!(Registry::sponsor(
                RuntimeOrigin::signed(HOSPITAL),
                *newcomer
            ));
        }
        assert_noop!(
            Registry::sponsor(RuntimeOrigin::signed(HOSPITAL), 200),
            Error::<Test>::TooManySponsorships
        );
        // Renewing an open one takes no more room.
        assert_ok!(Registry::sponsor(
            RuntimeOrigin::signed(HOSPITAL),
            newcomers[0]
        ));
        // A registration does not give the place back within the period.
        assert_ok!(Registry::register(RuntimeOrigin::signed(newcomers[2]), KEY));
        assert_noop!(
            Registry::sponsor(RuntimeOrigin::signed(HOSPITAL), 200),
            Error::<Test>::TooManySponsorships
        );
        // Once the period ends, the sponsorships no longer count; the unused
        // ones close, and their accounts no longer stand without funds.
        System::set_block_number(1 + SPONSORSHIP_PERIOD);
        assert!(!Registry::is_sponsored(&newcomers[1]));
        assert_ok!(Registry::sponsor(RuntimeOrigin::signed(HOSPITAL), 200));
        assert!(Registry::is_sponsored(&200));
        assert!(!crate::Sponsorships::<Test>::contains_key(newcomers[1]));
        assert_eq!(System::sufficients(&newcomers[1]), 0);
        assert_eq!(
            System::sufficients(&newcomers[2]),
            1,
            "the participant keeps its standing"
        );
        // Every earlier one (the renewed one too, renewed in the same block)
        // ended and closed: only the new one is open.
        assert_eq!(crate::SponsoredBy::<Test>::get(HOSPITAL).len(), 1);
    });
}

#[test]
fn a_second_sponsor_takes_over_the_sponsorship() {
    with_board(|| {
        assert_ok!(Registry::attest(
            RuntimeOrigin::signed(BOARD),
            HOSPITAL,
            Role::Organization,
            None,
            None
        ));
        assert_ok!(Registry::sponsor(RuntimeOrigin::signed(HOSPITAL), 20));
        assert_ok!(Registry::sponsor(RuntimeOrigin::signed(BOARD), 20));
        assert!(crate::SponsoredBy::<Test>::get(HOSPITAL).is_empty());
        assert_eq!(
            System::sufficients(&20),
            1,
            "one standing, whoever sponsors"
        );
        assert_eq!(crate::SponsoredBy::<Test>::get(BOARD).len(), 1);
        assert_eq!(
            crate::Sponsorships::<Test>::get(20).map(|(sponsor, _)| sponsor),
            Some(BOARD)
        );
    });
}

#[test]
fn an_upgrade_prunes_the_key_histories_an_older_chain_kept_whole() {
    use crate::migrations::MigrateToV1;
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
    new_test_ext().execute_with(|| {
        assert_ok!(Registry::register(RuntimeOrigin::signed(PATIENT), KEY));
        assert_ok!(Registry::register(RuntimeOrigin::signed(DOCTOR), KEY));
        let rotations = 2 * MAX_KEY_HISTORY;
        for version in 1..=rotations {
            assert_ok!(Registry::rotate_key(
                RuntimeOrigin::signed(PATIENT),
                [version as u8; 32]
            ));
        }
        // A chain at version 0 kept every key.
        for version in 0..=rotations - MAX_KEY_HISTORY {
            KeyHistory::<Test>::insert(PATIENT, version, ([version as u8; 32], 0u64));
        }
        StorageVersion::new(0).put::<Registry>();

        MigrateToV1::<Test>::on_runtime_upgrade();
        assert_eq!(Registry::on_chain_storage_version(), 1);
        let mut kept: Vec<u32> = KeyHistory::<Test>::iter_key_prefix(PATIENT).collect();
        kept.sort();
        assert_eq!(
            kept,
            (rotations + 1 - MAX_KEY_HISTORY..=rotations).collect::<Vec<_>>()
        );
        // A participant that never rotated keeps its only key.
        assert_eq!(
            KeyHistory::<Test>::get(DOCTOR, 0).map(|(key, _)| key),
            Some(KEY)
        );
    });
}
