//! Benchmarks of the records pallet's calls, each in its most expensive case.
//! A batch is measured for each kind of record it may hold: first versions
//! (two reads and a write each) and replacements (one more read and write).

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;
use sp_runtime::traits::Zero;

/// An anchor of `patient` with content id `content_id`, in `category`,
/// written by `author`.
pub fn existing_anchor<T: Config>(
    content_id: ContentId,
    patient: &T::AccountId,
    author: &T::AccountId,
    category: Category,
) {
    Anchors::<T>::insert(
        patient,
        content_id,
        RecordAnchor {
            owner: patient.clone(),
            category,
            author: author.clone(),
            size: 1,
            previous: None,
            superseded_by: None,
            version: 0,
            anchored_at: Zero::zero(),
        },
    );
}

fn content_id(seed: u32, generation: u8) -> ContentId {
    let mut bytes = [generation; 32];
    bytes[..4].copy_from_slice(&seed.to_le_bytes());
    H256(bytes)
}

/// An author allowed to write labs to a patient through a grant (the
/// costly path), and the patient.
fn writer<T: Config>() -> (T::AccountId, T::AccountId) {
    let author: T::AccountId = whitelisted_caller();
    let patient: T::AccountId = account("patient", 0, 0);
    T::BenchmarkHelper::set_up_writer(&author, &patient, Category::Labs);
    (author, patient)
}

fn batch<T: Config>(
    records: impl Iterator<Item = AnchorRequest>,
) -> Result<BoundedVec<AnchorRequest, T::MaxBatch>, BenchmarkError> {
    records
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| BenchmarkError::Stop("batch over the limit"))
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// A batch of `n` first versions, anchored by an author holding a
    /// write grant.
    #[benchmark]
    fn anchor_first_versions(n: Linear<1, { T::MaxBatch::get() }>) -> Result<(), BenchmarkError> {
        let (author, patient) = writer::<T>();
        let records = batch::<T>((0..n).map(|index| AnchorRequest {
            content_id: content_id(index, 1),
            category: Category::Labs,
            size: 4096,
            previous: None,
        }))?;
        #[extrinsic_call]
        anchor_batch(RawOrigin::Signed(author), patient.clone(), records);
        assert!(Anchors::<T>::contains_key(&patient, content_id(0, 1)));
        Ok(())
    }

    /// A batch of `n` records, each replacing an earlier version the same
    /// author wrote, anchored by an author holding a write grant.
    #[benchmark]
    fn anchor_replacements(n: Linear<1, { T::MaxBatch::get() }>) -> Result<(), BenchmarkError> {
        let (author, patient) = writer::<T>();
        let records = batch::<T>((0..n).map(|index| {
            existing_anchor::<T>(content_id(index, 0), &patient, &author, Category::Labs);
            AnchorRequest {
                content_id: content_id(index, 1),
                category: Category::Labs,
                size: 4096,
                previous: Some(content_id(index, 0)),
            }
        }))?;
        #[extrinsic_call]
        anchor_batch(RawOrigin::Signed(author), patient.clone(), records);
        assert!(Anchors::<T>::contains_key(&patient, content_id(0, 1)));
        Ok(())
    }

    /// Erasing a middle version: both neighbours are unlinked.
    #[benchmark]
    fn erase() {
        let patient: T::AccountId = whitelisted_caller();
        for generation in 0..3u8 {
            existing_anchor::<T>(
                content_id(0, generation),
                &patient,
                &patient,
                Category::Notes,
            );
        }
        Anchors::<T>::mutate(&patient, content_id(0, 0), |anchor| {
            if let Some(anchor) = anchor {
                anchor.superseded_by = Some(content_id(0, 1));
            }
        });
        Anchors::<T>::mutate(&patient, content_id(0, 1), |anchor| {
            if let Some(anchor) = anchor {
                anchor.previous = Some(content_id(0, 0));
                anchor.superseded_by = Some(content_id(0, 2));
            }
        });
        #[extrinsic_call]
        _(
            RawOrigin::Signed(patient.clone()),
            patient.clone(),
            content_id(0, 1),
        );
        assert!(Tombstones::<T>::contains_key(&patient, content_id(0, 1)));
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
