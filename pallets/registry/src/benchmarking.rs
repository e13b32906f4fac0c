//! Benchmarks of the registry's calls, each in its most expensive case.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;
use sp_runtime::traits::Zero;

/// Registers `who`, as other pallets' benchmarks need participants.
pub fn register<T: Config>(who: &T::AccountId) {
    Participants::<T>::insert(
        who,
        Participant {
            encryption_key: [1; 32],
            key_version: 0,
            registered_at: Zero::zero(),
        },
    );
}

/// A registered participant.
fn participant<T: Config>(name: &'static str) -> T::AccountId {
    let who: T::AccountId = account(name, 0, 0);
    register::<T>(&who);
    who
}

/// A current attestation of `role` to `who` by `authority`.
pub fn attestation<T: Config>(who: &T::AccountId, role: Role, authority: &T::AccountId) {
    Attestations::<T>::insert(
        who,
        role,
        Attestation {
            authority: authority.clone(),
            licence_commitment: Some(H256::repeat_byte(1)),
            organization: None,
            issued_at: Zero::zero(),
            revoked_at: None,
        },
    );
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// A sponsored account registers: its sponsorship closes too.
    #[benchmark]
    fn register() {
        let caller: T::AccountId = whitelisted_caller();
        let hospital: T::AccountId = account("hospital", 0, 0);
        let until = frame_system::Pallet::<T>::block_number() + T::SponsorshipPeriod::get();
        Sponsorships::<T>::insert(&caller, (hospital, until));
        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), [7; 32]);
        assert!(Participants::<T>::contains_key(&caller));
        assert!(!Sponsorships::<T>::contains_key(&caller));
    }

    /// A hospital sponsors a newcomer, all its earlier sponsorships having
    /// ended unused (each closed on the way).
    #[benchmark]
    fn sponsor() {
        let hospital = participant::<T>("hospital");
        let board: T::AccountId = account("board", 0, 0);
        attestation::<T>(&hospital, Role::Organization, &board);
        let ended = frame_system::Pallet::<T>::block_number();
        let made: Vec<(T::AccountId, BlockNumberFor<T>)> = (0..T::MaxSponsorships::get())
            .map(|index| (account("newcomer", index, 0), ended))
            .collect();
        for (account, ends) in &made {
            Sponsorships::<T>::insert(account, (hospital.clone(), *ends));
            frame_system::Pallet::<T>::inc_sufficients(account);
        }
        SponsoredBy::<T>::insert(
            &hospital,
            BoundedVec::try_from(made).expect("at most the limit"),
        );
        let newcomer: T::AccountId = account("newcomer", u32::MAX, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(hospital.clone()), newcomer.clone());
        assert!(Pallet::<T>::is_sponsored(&newcomer));
        assert_eq!(SponsoredBy::<T>::get(&hospital).len(), 1);
    }

    #[benchmark]
    fn rotate_key() {
        // A full history: the rotation prunes the oldest key.
        let caller: T::AccountId = whitelisted_caller();
        let version = T::MaxKeyHistory::get();
        Participants::<T>::insert(
            &caller,
            Participant {
                encryption_key: [1; 32],
                key_version: version - 1,
                registered_at: Zero::zero(),
            },
        );
        KeyHistory::<T>::insert(&caller, 0, ([1; 32], BlockNumberFor::<T>::zero()));
        #[extrinsic_call]
        _(RawOrigin::Signed(caller.clone()), [2; 32]);
        assert_eq!(
            Participants::<T>::get(&caller).map(|participant| participant.key_version),
            Some(version)
        );
        assert!(KeyHistory::<T>::get(&caller, 0).is_none());
    }

    #[benchmark]
    fn add_authority() -> Result<(), BenchmarkError> {
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let authority: T::AccountId = account("authority", 0, 0);
        #[extrinsic_call]
        _(
            origin as T::RuntimeOrigin,
            authority.clone(),
            RoleSet::all(),
        );
        assert!(Authorities::<T>::contains_key(&authority));
        Ok(())
    }

    #[benchmark]
    fn remove_authority() -> Result<(), BenchmarkError> {
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let authority: T::AccountId = account("authority", 0, 0);
        Authorities::<T>::insert(&authority, RoleSet::all());
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, authority.clone());
        assert!(!Authorities::<T>::contains_key(&authority));
        Ok(())
    }

    #[benchmark]
    fn attest() {
        // A provider working for an organization: every check runs.
        let authority: T::AccountId = whitelisted_caller();
        Authorities::<T>::insert(&authority, RoleSet::all());
        let organization = participant::<T>("organization");
        attestation::<T>(&organization, Role::Organization, &authority);
        let provider = participant::<T>("provider");
        #[extrinsic_call]
        _(
            RawOrigin::Signed(authority),
            provider.clone(),
            Role::Provider,
            Some(H256::repeat_byte(2)),
            Some(organization),
        );
        assert!(Pallet::<T>::holds(&provider, Role::Provider));
    }

    #[benchmark]
    fn revoke_attestation() {
        let authority: T::AccountId = whitelisted_caller();
        Authorities::<T>::insert(&authority, RoleSet::all());
        let provider = participant::<T>("provider");
        attestation::<T>(&provider, Role::Provider, &authority);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(authority),
            provider.clone(),
            Role::Provider,
        );
        assert!(!Pallet::<T>::holds(&provider, Role::Provider));
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
