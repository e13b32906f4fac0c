//! Benchmarks of the audit pallet's calls.

use super::*;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;

#[benchmarks]
mod benchmarks {
    use super::*;

    /// `n` receipts in one batch, each of a read signed by another accessor
    /// (every signature is checked).
    #[benchmark]
    fn commit_receipts(
        n: Linear<1, { T::MaxReceiptsPerBatch::get() }>,
    ) -> Result<(), BenchmarkError> {
        let vault: T::AccountId = whitelisted_caller();
        pallet_registry::Attestations::<T>::insert(
            &vault,
            Role::Vault,
            pallet_registry::Attestation {
                authority: vault.clone(),
                licence_commitment: None,
                organization: None,
                issued_at: Default::default(),
                revoked_at: None,
            },
        );
        let receipts: Vec<ReceiptOf<T>> = (0..n)
            .map(|index| {
                let (placeholder, signature) = T::BenchmarkHelper::signed(index, b"");
                let mut receipt = AccessReceipt {
                    accessor: placeholder,
                    patient: account("patient", index, 0),
                    record: H256::repeat_byte(index as u8),
                    purpose: Purpose::Treatment,
                    action: Action::Read,
                    grant: Some(index.into()),
                    vault: vault.clone(),
                    accessed_at: 1_700_000_000_000,
                    request: RequestEvidence {
                        signed_at: 1_699_999_999_990,
                        nonce: [index as u8; 16],
                        signature,
                    },
                };
                let message = receipt
                    .signed_message()
                    .expect("a read of 32-byte accounts has a message");
                let (accessor, signature) = T::BenchmarkHelper::signed(index, &message);
                receipt.accessor = accessor;
                receipt.request.signature = signature;
                receipt
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
