//! Behaviour of the audit pallet, one test per rule.

use crate::{
    AccessReceipt, Action, Batches, Error, Event, Purpose, ReceiptOf, RequestEvidence, merkle_path,
    mock::*, receipts_root,
};
use frame_support::{BoundedVec, assert_noop, assert_ok, traits::ConstU32};
use sp_core::{H256, Pair as _};
use sp_runtime::{AccountId32, MultiSignature};

/// The doctor's read of record `record`, served by `vault`, signed by the
/// key pair `signer`.
fn read_signed_by(record: u8, vault: AccountId32, signer: &str) -> ReceiptOf<Test> {
    let mut receipt = AccessReceipt {
        accessor: doctor(),
        patient: patient(),
        record: H256::repeat_byte(record),
        purpose: Purpose::Treatment,
        action: Action::Read,
        grant: Some(7),
        vault,
        accessed_at: 1_700_000_000_000 + record as u64,
        request: RequestEvidence {
            signed_at: 1_700_000_000_000 - 5 + record as u64,
            nonce: [record; 16],
            signature: MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw([0; 64])),
        },
    };
    sign(&mut receipt, signer);
    receipt
}

/// Signs `receipt`'s read with the key pair `signer`.
fn sign(receipt: &mut ReceiptOf<Test>, signer: &str) {
    let message = receipt.signed_message().expect("a read has a message");
    receipt.request.signature = pair(signer).sign(&message).into();
}

/// The doctor's read of record `record`, served by `vault`, as the doctor signed it.
fn receipt(record: u8, vault: AccountId32) -> ReceiptOf<Test> {
    read_signed_by(record, vault, "doctor")
}

fn batch(receipts: Vec<ReceiptOf<Test>>) -> BoundedVec<ReceiptOf<Test>, ConstU32<MAX_RECEIPTS>> {
    receipts.try_into().unwrap()
}

#[test]
fn vault_commits_a_batch_and_every_receipt_is_announced() {
    new_test_ext().execute_with(|| {
        let receipts: Vec<_> = (1..=5).map(|record| receipt(record, vault())).collect();
        assert_ok!(Audit::commit_receipts(
            RuntimeOrigin::signed(vault()),
            batch(receipts.clone())
        ));

        let commitment = Batches::<Test>::get(0).unwrap();
        assert_eq!(
            (commitment.receipts, commitment.vault, commitment.root),
            (5, vault(), receipts_root(&receipts))
        );
        let recorded: Vec<ReceiptOf<Test>> = System::events()
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
                vault: vault(),
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
        let receipts: Vec<_> = (1..=7).map(|record| receipt(record, vault())).collect();
        assert_ok!(Audit::commit_receipts(
            RuntimeOrigin::signed(vault()),
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
                RuntimeOrigin::signed(other_vault()),
                batch(vec![receipt(1, other_vault())])
            ),
            Error::<Test>::NotAVault
        );
        assert_noop!(
            Audit::commit_receipts(
                RuntimeOrigin::signed(vault()),
                batch(vec![receipt(1, vault()), receipt(2, other_vault())])
            ),
            Error::<Test>::ReceiptOfAnotherVault
        );
        assert_noop!(
            Audit::commit_receipts(RuntimeOrigin::signed(vault()), batch(vec![])),
            Error::<Test>::EmptyBatch
        );
    });
}

#[test]
fn batches_get_consecutive_ids() {
    new_test_ext().execute_with(|| {
        for expected in 0..3 {
            assert_ok!(Audit::commit_receipts(
                RuntimeOrigin::signed(vault()),
                batch(vec![receipt(expected as u8, vault())])
            ));
            assert!(Batches::<Test>::contains_key(expected));
        }
    });
}

#[test]
fn a_receipt_of_a_read_its_accessor_did_not_sign_is_refused() {
    new_test_ext().execute_with(|| {
        // Signed by someone else: a vault framing the doctor.
        assert_noop!(
            Audit::commit_receipts(
                RuntimeOrigin::signed(vault()),
                batch(vec![
                    receipt(1, vault()),
                    read_signed_by(2, vault(), "vault")
                ])
            ),
            Error::<Test>::ReadNotSigned
        );
        // The doctor's real signature, moved to what they did not read.
        let genuine = receipt(3, vault());
        let mut other_record = genuine.clone();
        other_record.record = H256::repeat_byte(4);
        let mut other_patient = genuine.clone();
        other_patient.patient = account("someone-else");
        let mut other_purpose = genuine.clone();
        other_purpose.purpose = Purpose::Research;
        let mut other_time = genuine.clone();
        other_time.request.signed_at += 1;
        let mut other_accessor = genuine.clone();
        other_accessor.accessor = account("another-doctor");
        let mut write = genuine.clone();
        write.action = Action::Write;
        for forged in [
            other_record,
            other_patient,
            other_purpose,
            other_time,
            other_accessor,
            write,
        ] {
            assert_noop!(
                Audit::commit_receipts(RuntimeOrigin::signed(vault()), batch(vec![forged.clone()])),
                Error::<Test>::ReadNotSigned
            );
        }
        // A read signed for another vault is not this vault's to receipt.
        let mut for_other_vault = read_signed_by(5, other_vault(), "doctor");
        for_other_vault.vault = vault();
        assert_noop!(
            Audit::commit_receipts(RuntimeOrigin::signed(vault()), batch(vec![for_other_vault])),
            Error::<Test>::ReadNotSigned
        );
        assert_ok!(Audit::commit_receipts(
            RuntimeOrigin::signed(vault()),
            batch(vec![genuine])
        ));
    });
}
