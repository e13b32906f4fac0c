//! Benchmarks of the audit pallet's calls.

use super::*;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;

/// Attests `vault` as a vault.
fn attest_vault<T: Config>(vault: &T::AccountId) {
    pallet_registry::Attestations::<T>::insert(
        vault,
        Role::Vault,
        pallet_registry::Attestation {
            authority: vault.clone(),
            licence_commitment: None,
            organization: None,
            issued_at: Default::default(),
            revoked_at: None,
        },
    );
}

/// `n` receipts of reads `vault` served, each signed by another accessor.
fn signed_receipts<T: Config>(vault: &T::AccountId, n: u32) -> Vec<ReceiptOf<T>> {
    (0..n)
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
        .collect()
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// `n` receipts in one batch, each of a read signed by another accessor.
    #[benchmark]
    fn commit_receipts(
        n: Linear<1, { T::MaxReceiptsPerBatch::get() }>,
    ) -> Result<(), BenchmarkError> {
        let vault: T::AccountId = whitelisted_caller();
        attest_vault::<T>(&vault);
        let receipts: BoundedVec<_, T::MaxReceiptsPerBatch> = signed_receipts::<T>(&vault, n)
            .try_into()
            .map_err(|_| BenchmarkError::Stop("batch over the limit"))?;
        #[extrinsic_call]
        _(RawOrigin::Signed(vault), receipts);
        assert!(Batches::<T>::contains_key(0));
        Ok(())
    }

    /// The last receipt of the longest batch (the longest Merkle path),
    /// forged: its signature is of another read, so it is checked in full
    /// and found wrong, and the vault's attestation ends.
    #[benchmark]
    fn report_forged_receipt() -> Result<(), BenchmarkError> {
        let vault: T::AccountId = account("vault", 0, 0);
        attest_vault::<T>(&vault);
        let count = T::MaxReceiptsPerBatch::get();
        let mut receipts = signed_receipts::<T>(&vault, count);
        let index = count - 1;
        receipts[index as usize].record = H256::repeat_byte(0xf0);
        Batches::<T>::insert(
            0,
            BatchCommitment {
                root: receipts_root(&receipts),
                receipts: count,
                vault: vault.clone(),
                committed_at: frame_system::Pallet::<T>::block_number(),
            },
        );
        let path: BoundedVec<H256, MaxPathLength> = merkle_path(&receipts, index)
            .try_into()
            .map_err(|_| BenchmarkError::Stop("path over the limit"))?;
        let receipt = receipts.swap_remove(index as usize);
        let reporter: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        _(RawOrigin::Signed(reporter), 0, index, receipt, path);
        assert!(ForgedReceipts::<T>::contains_key(0, index));
        assert!(!pallet_registry::Pallet::<T>::holds(&vault, Role::Vault));
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
