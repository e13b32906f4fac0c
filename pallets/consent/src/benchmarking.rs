//! Benchmarks of the consent pallet's calls, each in its most expensive case.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;
use medigate_access_policy::Role;
use sp_runtime::traits::Zero;

/// Registers `who` in the registry.
pub(crate) fn register<T: Config>(who: &T::AccountId) {
    pallet_registry::benchmarking::register::<T>(who);
}

/// Attests `role` to `who` (by `who` itself: the authority does not matter here).
pub(crate) fn attest<T: Config>(who: &T::AccountId, role: Role) {
    pallet_registry::benchmarking::attestation::<T>(who, role, who);
}

/// `count` records of `patient`, anchored; returns their scope.
fn records_scope<T: Config>(patient: &T::AccountId, count: u32) -> RecordScope<T> {
    let ids: Vec<ContentId> = (0..count)
        .map(|index| {
            let mut bytes = [7u8; 32];
            bytes[..4].copy_from_slice(&index.to_le_bytes());
            let id = H256(bytes);
            pallet_records::benchmarking::existing_anchor::<T>(
                id,
                patient,
                patient,
                Category::Labs,
            );
            id
        })
        .collect();
    Scope::Records(ids.try_into().expect("count is at most MaxScopeRecords"))
}

/// A patient managed by a delegate (the caller), and a provider.
fn parties<T: Config>() -> (T::AccountId, T::AccountId, T::AccountId) {
    let delegate: T::AccountId = whitelisted_caller();
    let patient: T::AccountId = account("patient", 0, 0);
    let provider: T::AccountId = account("provider", 0, 0);
    for who in [&delegate, &patient, &provider] {
        register::<T>(who);
    }
    attest::<T>(&provider, Role::Provider);
    Delegates::<T>::insert(&patient, &delegate, ());
    (delegate, patient, provider)
}

/// `count` live grants of the patient to the provider, each for the widest
/// scope (the most to read back).
fn prior_grants<T: Config>(
    patient: &T::AccountId,
    provider: &T::AccountId,
    count: u32,
) -> Result<(), BenchmarkError> {
    let widest = records_scope::<T>(patient, T::MaxScopeRecords::get());
    for _ in 0..count {
        Pallet::<T>::create_grant(
            patient.clone(),
            provider.clone(),
            widest.clone(),
            Purpose::Treatment,
            ActionSet::read(),
            0,
            Moment::MAX,
        )
        .map_err(|_| BenchmarkError::Stop("cannot create a grant"))?;
    }
    Ok(())
}

/// A pending request of the provider for `n` records of the patient.
fn pending_request<T: Config>(
    patient: &T::AccountId,
    provider: &T::AccountId,
    n: u32,
) -> RequestId {
    let request = NextRequestId::<T>::get();
    NextRequestId::<T>::put(request + 1);
    Requests::<T>::insert(
        request,
        PendingRequest {
            requester: provider.clone(),
            patient: patient.clone(),
            scope: records_scope::<T>(patient, n),
            purpose: Purpose::Treatment,
            actions: ActionSet::read(),
            justification: H256::repeat_byte(3),
            requested_at: Zero::zero(),
        },
    );
    OpenRequests::<T>::mutate(provider, |open| *open += 1);
    request
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn grant_access(
        n: Linear<1, { T::MaxScopeRecords::get() }>,
        g: Linear<0, { T::MaxGrantsPerGrantee::get() - 1 }>,
    ) -> Result<(), BenchmarkError> {
        let (delegate, patient, provider) = parties::<T>();
        prior_grants::<T>(&patient, &provider, g)?;
        let scope = records_scope::<T>(&patient, n);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(delegate),
            patient.clone(),
            provider.clone(),
            scope,
            Purpose::Treatment,
            ActionSet::read_write(),
            None,
            Moment::MAX,
        );
        assert_eq!(GrantsOf::<T>::get(&patient, &provider).len() as u32, g + 1);
        Ok(())
    }

    #[benchmark]
    fn request_access(n: Linear<1, { T::MaxScopeRecords::get() }>) {
        let provider: T::AccountId = whitelisted_caller();
        let patient: T::AccountId = account("patient", 0, 0);
        register::<T>(&provider);
        register::<T>(&patient);
        attest::<T>(&provider, Role::Provider);
        let scope = records_scope::<T>(&patient, n);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(provider),
            patient,
            scope,
            Purpose::Treatment,
            ActionSet::read(),
            H256::repeat_byte(3),
        );
        assert!(Requests::<T>::contains_key(0));
    }

    #[benchmark]
    fn approve_request(
        n: Linear<1, { T::MaxScopeRecords::get() }>,
        g: Linear<0, { T::MaxGrantsPerGrantee::get() - 1 }>,
    ) -> Result<(), BenchmarkError> {
        let (delegate, patient, provider) = parties::<T>();
        prior_grants::<T>(&patient, &provider, g)?;
        let request = pending_request::<T>(&patient, &provider, n);
        let narrowed = Requests::<T>::get(request).map(|pending| pending.scope);
        #[extrinsic_call]
        _(RawOrigin::Signed(delegate), request, narrowed, Moment::MAX);
        assert!(!Requests::<T>::contains_key(request));
        Ok(())
    }

    #[benchmark]
    fn deny_request() {
        let (delegate, patient, provider) = parties::<T>();
        let request = pending_request::<T>(&patient, &provider, 1);
        #[extrinsic_call]
        _(RawOrigin::Signed(delegate), request);
        assert!(!Requests::<T>::contains_key(request));
    }

    #[benchmark]
    fn revoke_grant() -> Result<(), BenchmarkError> {
        let (delegate, patient, provider) = parties::<T>();
        let (grant, _) = Pallet::<T>::create_grant(
            patient,
            provider,
            Scope::All,
            Purpose::Treatment,
            ActionSet::read(),
            0,
            Moment::MAX,
        )
        .map_err(|_| BenchmarkError::Stop("cannot create a grant"))?;
        #[extrinsic_call]
        _(RawOrigin::Signed(delegate), grant);
        assert!(Grants::<T>::get(grant).is_some_and(|terms| terms.revoked));
        Ok(())
    }

    #[benchmark]
    fn set_delegate() {
        let patient: T::AccountId = whitelisted_caller();
        let guardian: T::AccountId = account("guardian", 0, 0);
        register::<T>(&patient);
        register::<T>(&guardian);
        #[extrinsic_call]
        add_delegate(RawOrigin::Signed(patient.clone()), guardian.clone());
        assert!(Delegates::<T>::contains_key(&patient, &guardian));
    }

    #[benchmark]
    fn restrict(n: Linear<1, { T::MaxScopeRecords::get() }>) {
        let (delegate, patient, provider) = parties::<T>();
        Restrictions::<T>::insert(&patient, BoundedVec::default());
        for _ in 1..T::MaxRestrictions::get() {
            Restrictions::<T>::mutate(&patient, |restrictions| {
                let _ = restrictions.try_push(Restriction {
                    patient: patient.clone(),
                    accessor: None,
                    scope: Scope::Categories(CategorySet::empty().with(Category::Notes)),
                });
            });
        }
        let scope = records_scope::<T>(&patient, n);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(delegate),
            patient.clone(),
            Some(provider),
            scope,
        );
        assert_eq!(
            Restrictions::<T>::get(&patient).len() as u32,
            T::MaxRestrictions::get()
        );
    }

    #[benchmark]
    fn lift_restriction() {
        let (delegate, patient, provider) = parties::<T>();
        let scope = records_scope::<T>(&patient, T::MaxScopeRecords::get());
        for _ in 0..T::MaxRestrictions::get() {
            Restrictions::<T>::mutate(&patient, |restrictions| {
                let _ = restrictions.try_push(Restriction {
                    patient: patient.clone(),
                    accessor: Some(provider.clone()),
                    scope: scope.clone(),
                });
            });
        }
        let _ = delegate;
        #[extrinsic_call]
        _(RawOrigin::Signed(patient.clone()), patient.clone(), 0);
        assert_eq!(
            Restrictions::<T>::get(&patient).len() as u32,
            T::MaxRestrictions::get() - 1
        );
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
