//! Benchmarks of the emergency pallet's calls, each in its most expensive case.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;

fn register<T: Config>(who: &T::AccountId) {
    pallet_registry::benchmarking::register::<T>(who);
}

fn attest<T: Config>(who: &T::AccountId, role: Role) {
    pallet_registry::benchmarking::attestation::<T>(who, role, who);
}

/// Every role: a policy allowing all of them makes `break_glass` look at each.
fn every_role() -> RoleSet {
    Role::ALL
        .iter()
        .fold(RoleSet::empty(), |roles, role| roles.with(*role))
}

/// `count` attested custodians.
fn custodians<T: Config>(count: u32) -> Vec<T::AccountId> {
    (0..count)
        .map(|index| {
            let custodian: T::AccountId = account("custodian", index, 0);
            register::<T>(&custodian);
            attest::<T>(&custodian, Role::Custodian);
            custodian
        })
        .collect()
}

/// A registered patient whose policy allows every role, names the most
/// guardians and has a veto window; the guardians are returned.
fn patient_with_policy<T: Config>(patient: &T::AccountId) -> Vec<T::AccountId> {
    register::<T>(patient);
    let guardians: Vec<T::AccountId> = (0..T::MaxGuardians::get())
        .map(|index| account("guardian", index, 0))
        .collect();
    Policies::<T>::insert(
        patient,
        EmergencyPolicy {
            enabled: true,
            responder_roles: every_role(),
            guardians: guardians
                .clone()
                .try_into()
                .expect("MaxGuardians guardians fit"),
            window: DEFAULT_WINDOW_MS,
            full_access_after: Some(DEFAULT_WINDOW_MS / 2),
        },
    );
    guardians
}

/// Break-glass 0 of `responder` on `patient`'s records, running from time 0
/// with full-record access from half its window, and its running grant.
fn open_break_glass<T: Config>(patient: &T::AccountId, responder: &T::AccountId) {
    let full_from = Some(DEFAULT_WINDOW_MS / 2);
    BreakGlasses::<T>::insert(
        0,
        BreakGlass {
            patient: patient.clone(),
            responder: responder.clone(),
            purpose: Purpose::EmergencyTreatment,
            reason: H256::repeat_byte(1),
            opened_at: 0,
            expires_at: DEFAULT_WINDOW_MS,
            full_from,
            review: Review::Pending,
        },
    );
    Latest::<T>::insert(
        patient,
        responder,
        OpenGrant {
            id: 0,
            purpose: Purpose::EmergencyTreatment,
            opened_at: 0,
            expires_at: DEFAULT_WINDOW_MS,
            full_from,
        },
    );
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn set_policy() {
        let patient: T::AccountId = whitelisted_caller();
        register::<T>(&patient);
        let guardians: BoundedVec<T::AccountId, T::MaxGuardians> = (0..T::MaxGuardians::get())
            .map(|index| account("guardian", index, 0))
            .collect::<Vec<_>>()
            .try_into()
            .expect("MaxGuardians guardians fit");
        #[extrinsic_call]
        _(
            RawOrigin::Signed(patient.clone()),
            true,
            every_role(),
            guardians,
            Some(MAX_WINDOW_MS),
            Some(MAX_WINDOW_MS / 2),
        );
        assert!(Policies::<T>::get(&patient).is_some_and(|policy| policy.enabled));
    }

    #[benchmark]
    fn set_custodians(c: Linear<1, { T::MaxCustodians::get() }>) -> Result<(), BenchmarkError> {
        let named: BoundedVec<T::AccountId, T::MaxCustodians> = custodians::<T>(c)
            .try_into()
            .map_err(|_| BenchmarkError::Stop("too many custodians"))?;
        let origin = <T as Config>::GovernanceOrigin::try_successful_origin()
            .map_err(|_| BenchmarkError::Weightless)?;
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, named, 1);
        assert_eq!(Custodians::<T>::get().len() as u32, c);
        Ok(())
    }

    #[benchmark]
    fn break_glass() {
        let responder: T::AccountId = whitelisted_caller();
        let patient: T::AccountId = account("patient", 0, 0);
        patient_with_policy::<T>(&patient);
        register::<T>(&responder);
        // Only the last role the call looks at.
        let last = *Role::ALL.last().expect("there are roles");
        attest::<T>(&responder, last);
        Custodians::<T>::put(
            BoundedVec::<T::AccountId, T::MaxCustodians>::try_from(custodians::<T>(1))
                .expect("one custodian fits"),
        );
        Threshold::<T>::put(1);
        // An earlier grant of the same responder, ended: read and replaced.
        Latest::<T>::insert(
            &patient,
            &responder,
            OpenGrant {
                id: 0,
                purpose: Purpose::EmergencyTreatment,
                opened_at: 0,
                expires_at: 0,
                full_from: None,
            },
        );
        NextBreakGlass::<T>::put(1);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(responder.clone()),
            patient.clone(),
            Purpose::BreakTheGlass,
            H256::repeat_byte(1),
        );
        assert!(BreakGlasses::<T>::contains_key(1));
    }

    #[benchmark]
    fn review() {
        let patient: T::AccountId = account("patient", 0, 0);
        let guardians = patient_with_policy::<T>(&patient);
        let reviewer = guardians.last().expect("a guardian").clone();
        // Flagging vetoes the full-record access too: the costliest verdict.
        open_break_glass::<T>(&patient, &account("responder", 0, 0));
        #[extrinsic_call]
        _(RawOrigin::Signed(reviewer), 0, Review::Flagged);
        assert!(BreakGlasses::<T>::get(0).is_some_and(|entry| entry.review == Review::Flagged));
    }

    #[benchmark]
    fn veto() {
        let patient: T::AccountId = account("patient", 0, 0);
        let guardians = patient_with_policy::<T>(&patient);
        let guardian = guardians.last().expect("a guardian").clone();
        let responder: T::AccountId = account("responder", 0, 0);
        open_break_glass::<T>(&patient, &responder);
        #[extrinsic_call]
        _(RawOrigin::Signed(guardian), 0);
        assert!(
            Latest::<T>::get(&patient, &responder).is_some_and(|open| open.full_from.is_none())
        );
    }

    #[benchmark]
    fn set_summary() {
        let patient: T::AccountId = whitelisted_caller();
        register::<T>(&patient);
        Summaries::<T>::insert(&patient, H256::repeat_byte(1));
        #[extrinsic_call]
        _(RawOrigin::Signed(patient.clone()), H256::repeat_byte(2));
        assert_eq!(Summaries::<T>::get(&patient), Some(H256::repeat_byte(2)));
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
