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

/// `n` receipts of reads `vault` served, each naming another accessor. The
/// chain does not check their signatures when it takes them, so all carry
/// one well-formed signature, of another message: each is a forged receipt,
/// whose proof checks that signature in full.
fn receipts<T: Config>(vault: &T::AccountId, n: u32) -> Vec<ReceiptOf<T>> {
    let (_, signature) = T::BenchmarkHelper::signed(0, b"another message");
    (0..n)
        .map(|index| AccessReceipt {
            accessor: account("accessor", index, 0),
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
                signature: signature.clone(),
            },
        })
        .collect()
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// `n` receipts in one batch, each naming another accessor.
    #[benchmark]
    fn commit_receipts(
        n: Linear<1, { T::MaxReceiptsPerBatch::get() }>,
    ) -> Result<(), BenchmarkError> {
        let vault: T::AccountId = whitelisted_caller();
        attest_vault::<T>(&vault);
        let receipts: BoundedVec<_, T::MaxReceiptsPerBatch> =
            receipts::<T>(&vault, n)
                .try_into()
                .map_err(|_| BenchmarkError::Stop("batch over the limit"))?;
        #[extrinsic_call]
        _(RawOrigin::Signed(vault), receipts);
        assert!(Batches::<T>::contains_key(0));
        Ok(())
    }

    /// The first receipt of the longest batch (its Merkle path is as long as
    /// any), forged: its signature is of another message, so it is checked
    /// in full and found wrong, and the vault's attestation ends.
    #[benchmark]
    fn report_forged_receipt() -> Result<(), BenchmarkError> {
        let vault: T::AccountId = account("vault", 0, 0);
        attest_vault::<T>(&vault);
        let count = T::MaxReceiptsPerBatch::get();
        let mut batch = receipts::<T>(&vault, count);
        let index = 0;
        Batches::<T>::insert(
            0,
            BatchCommitment {
                root: receipts_root(&batch),
                receipts: count,
                vault: vault.clone(),
                committed_at: frame_system::Pallet::<T>::block_number(),
            },
        );
        let path: BoundedVec<H256, MaxPathLength> = merkle_path(&batch, index)
            .try_into()
            .map_err(|_| BenchmarkError::Stop("path over the limit"))?;
        let receipt = batch.swap_remove(index as usize);
        let reporter: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        _(RawOrigin::Signed(reporter), 0, index, receipt, path);
        assert!(ForgedReceipts::<T>::contains_key(0, index));
        assert!(!pallet_registry::Pallet::<T>::holds(&vault, Role::Vault));
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
