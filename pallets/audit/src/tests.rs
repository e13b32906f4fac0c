//! Behaviour of the audit pallet, one test per rule.

use crate::{
    AccessReceipt, Action, Batches, Error, Event, Purpose, merkle_path, mock::*, receipts_root,
};
use frame_support::{BoundedVec, assert_noop, assert_ok, traits::ConstU32};
use sp_core::H256;

fn receipt(record: u8, vault: u64) -> AccessReceipt<u64> {
    AccessReceipt {
        accessor: DOCTOR,
        patient: PATIENT,
        record: H256::repeat_byte(record),
        purpose: Purpose::Treatment,
        action: Action::Read,
        grant: Some(7),
        vault,
        accessed_at: 1_700_000_000_000 + record as u64,
    }
}

fn batch(
    receipts: Vec<AccessReceipt<u64>>,
) -> BoundedVec<AccessReceipt<u64>, ConstU32<MAX_RECEIPTS>> {
    receipts.try_into().unwrap()
}

#[test]
fn vault_commits_a_batch_and_every_receipt_is_announced() {
    new_test_ext().execute_with(|| {
        let receipts: Vec<_> = (1..=5).map(|record| receipt(record, VAULT)).collect();
        assert_ok!(Audit::commit_receipts(
            RuntimeOrigin::signed(VAULT),
            batch(receipts.clone())
        ));

        let commitment = Batches::<Test>::get(0).unwrap();
        assert_eq!(
            (commitment.receipts, commitment.vault, commitment.root),
            (5, VAULT, receipts_root(&receipts))
        );
        let recorded: Vec<AccessReceipt<u64>> = System::events()
            .into_iter()
            .filter_map(|record| match record.event {
                RuntimeEvent::Audit(Event::AccessRecorded {
                    batch: 0, receipt, ..
                }) => Some(receipt),
                _ => None,
            })
            .collect();
        assert_eq!(
            recorded, receipts,
            "the patient can enumerate every access from events"
        );
        System::assert_last_event(
            Event::BatchCommitted {
                batch: 0,
                vault: VAULT,
                root: commitment.root,
                receipts: 5,
            }
            .into(),
        );
    });
}

#[test]
fn every_receipt_is_provable_and_a_tampered_one_is_not() {
    new_test_ext().execute_with(|| {
        let receipts: Vec<_> = (1..=7).map(|record| receipt(record, VAULT)).collect();
        assert_ok!(Audit::commit_receipts(
            RuntimeOrigin::signed(VAULT),
            batch(receipts.clone())
        ));
        for (index, receipt) in receipts.iter().enumerate() {
            let path = merkle_path(&receipts, index as u32);
            assert!(
                Audit::verify_receipt(0, receipt, index as u32, path.clone()),
                "receipt {index}"
            );
            let mut tampered = receipt.clone();
            tampered.purpose = Purpose::Research;
            assert!(!Audit::verify_receipt(
                0,
                &tampered,
                index as u32,
                path.clone()
            ));
            assert!(!Audit::verify_receipt(1, receipt, index as u32, path));
        }
        let path = merkle_path(&receipts, 0);
        assert!(
            !Audit::verify_receipt(0, &receipts[0], 1, path.clone()),
            "wrong position"
        );
        assert!(
            !Audit::verify_receipt(0, &receipts[0], 7, path),
            "position past the batch"
        );
    });
}

#[test]
fn only_attested_vaults_commit_their_own_receipts() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Audit::commit_receipts(
                RuntimeOrigin::signed(OTHER_VAULT),
                batch(vec![receipt(1, OTHER_VAULT)])
            ),
            Error::<Test>::NotAVault
        );
        assert_noop!(
            Audit::commit_receipts(
                RuntimeOrigin::signed(VAULT),
                batch(vec![receipt(1, VAULT), receipt(2, OTHER_VAULT)])
            ),
            Error::<Test>::ReceiptOfAnotherVault
        );
        assert_noop!(
            Audit::commit_receipts(RuntimeOrigin::signed(VAULT), batch(vec![])),
            Error::<Test>::EmptyBatch
        );
    });
}

#[test]
fn batches_get_consecutive_ids() {
    new_test_ext().execute_with(|| {
        for expected in 0..3 {
            assert_ok!(Audit::commit_receipts(
                RuntimeOrigin::signed(VAULT),
                batch(vec![receipt(expected as u8, VAULT)])
            ));
            assert!(Batches::<Test>::contains_key(expected));
        }
    });
}
