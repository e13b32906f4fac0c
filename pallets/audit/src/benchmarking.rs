//! Benchmarks of the audit pallet's calls.

use super::*;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;

#[benchmarks]
mod benchmarks {
    use super::*;

    /// `n` receipts in one batch.
    #[benchmark]
    fn commit_receipts(
        n: Linear<1, { T::MaxReceiptsPerBatch::get() }>,
    ) -> Result<(), BenchmarkError> {
        let vault: T::AccountId = whitelisted_caller();
        pallet_registry::Attestations::<T>::insert(
            &vault,
            Role::Organization,
            pallet_registry::Attestation {
                authority: vault.clone(),
                licence_commitment: None,
                organization: None,
                issued_at: Default::default(),
                revoked_at: None,
            },
        );
        let receipts: Vec<AccessReceipt<T::AccountId>> = (0..n)
            .map(|index| AccessReceipt {
                accessor: account("accessor", index, 0),
                patient: account("patient", index, 0),
                record: H256::repeat_byte(index as u8),
                purpose: Purpose::Treatment,
                action: Action::Read,
                grant: Some(index.into()),
                vault: vault.clone(),
                accessed_at: 1_700_000_000_000,
            })
            .collect();
        let receipts: BoundedVec<_, T::MaxReceiptsPerBatch> = receipts
            .try_into()
            .map_err(|_| BenchmarkError::Stop("batch over the limit"))?;
        #[extrinsic_call]
        _(RawOrigin::Signed(vault), receipts);
        assert!(Batches::<T>::contains_key(0));
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
