//! Behaviour of the audit pallet, one test per rule.

use crate::{
    AccessReceipt, Action, Batches, Error, Event, ForgedReceipts, Purpose, ReceiptOf,
    RequestEvidence, Sr25519RequestSignature, merkle_path, mock::*, receipts_root,
};
use frame_support::{BoundedVec, assert_noop, assert_ok, traits::ConstU32};
use sp_core::{H256, Pair as _};
use sp_runtime::AccountId32;

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
            signature: Sr25519RequestSignature([0; 64]),
        },
    };
    sign(&mut receipt, signer);
    receipt
}

/// Signs `receipt`'s read with the key pair `signer`.
fn sign(receipt: &mut ReceiptOf<Test>, signer: &str) {
    let message = receipt.signed_message().expect("a read has a message");
    receipt.request.signature = Sr25519RequestSignature(pair(signer).sign(&message).0);
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

/// The doctor's genuine read of record 3, and receipts a vault framing the
/// doctor could make: signed by someone else, or the doctor's real signature
/// moved to another record, patient, purpose, time, accessor or vault.
fn genuine_and_forged() -> (ReceiptOf<Test>, Vec<ReceiptOf<Test>>) {
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
    // A read signed for another vault is not this vault's to receipt.
    let mut for_other_vault = read_signed_by(5, other_vault(), "doctor");
    for_other_vault.vault = vault();
    let forged = vec![
        read_signed_by(2, vault(), "vault"),
        other_record,
        other_patient,
        other_purpose,
        other_time,
        other_accessor,
        for_other_vault,
    ];
    (genuine, forged)
}

#[test]
fn only_receipts_of_reads_are_committed() {
    new_test_ext().execute_with(|| {
        let mut write = receipt(1, vault());
        write.action = Action::Write;
        assert_noop!(
            Audit::commit_receipts(RuntimeOrigin::signed(vault()), batch(vec![write])),
            Error::<Test>::NotARead
        );
    });
}

#[test]
fn a_forged_receipt_is_proven_by_anyone_and_ends_the_vaults_attestation() {
    new_test_ext().execute_with(|| {
        let (genuine, forged) = genuine_and_forged();
        for receipt in &forged {
            assert!(!receipt.is_signed_by_accessor(), "{receipt:?}");
        }
        assert!(genuine.is_signed_by_accessor());
        let mut receipts = vec![genuine.clone()];
        receipts.extend(forged.iter().cloned());
        assert_ok!(Audit::commit_receipts(
            RuntimeOrigin::signed(vault()),
            batch(receipts.clone())
        ));
        let prove = |index: u32, receipt: &ReceiptOf<Test>| {
            Audit::report_forged_receipt(
                RuntimeOrigin::signed(account("anyone")),
                0,
                index,
                receipt.clone(),
                merkle_path(&receipts, index).try_into().unwrap(),
            )
        };

        // The genuine receipt cannot be passed off as forged, nor a forged
        // one proven at a position or in a batch it is not.
        assert_noop!(prove(0, &genuine), Error::<Test>::SignedByAccessor);
        assert_noop!(prove(0, &forged[0]), Error::<Test>::NotInBatch);
        let past_the_end = receipts.len() as u32;
        assert_noop!(
            Audit::report_forged_receipt(
                RuntimeOrigin::signed(account("anyone")),
                0,
                past_the_end,
                forged[0].clone(),
                merkle_path(&receipts, 1).try_into().unwrap(),
            ),
            Error::<Test>::NotInBatch
        );
        assert_noop!(
            Audit::report_forged_receipt(
                RuntimeOrigin::signed(account("anyone")),
                1,
                1,
                forged[0].clone(),
                merkle_path(&receipts, 1).try_into().unwrap(),
            ),
            Error::<Test>::NoSuchBatch
        );

        // The first proof ends the vault's attestation; every forged
        // receipt is proven, once (the last one further down).
        let (last, earlier) = forged.split_last().unwrap();
        for (position, receipt) in earlier.iter().enumerate() {
            let index = position as u32 + 1;
            assert_ok!(prove(index, receipt));
            System::assert_last_event(
                Event::ReceiptProvenForged {
                    batch: 0,
                    index,
                    vault: vault(),
                    accessor: receipt.accessor.clone(),
                    reporter: account("anyone"),
                    vault_attestation_ended: position == 0,
                }
                .into(),
            );
            assert!(ForgedReceipts::<Test>::contains_key(0, index));
            assert_noop!(prove(index, receipt), Error::<Test>::AlreadyProvenForged);
        }
        assert!(!ForgedReceipts::<Test>::contains_key(0, 0));
        assert!(!pallet_registry::Pallet::<Test>::holds(
            &vault(),
            medigate_access_policy::RECEIPT_ROLE
        ));

        // A vault caught forging commits nothing more.
        assert_noop!(
            Audit::commit_receipts(RuntimeOrigin::signed(vault()), batch(vec![genuine.clone()])),
            Error::<Test>::NotAVault
        );

        // Attested again later, its new attestation outlives the proof of
        // a forgery committed before it.
        System::set_block_number(5);
        pallet_registry::Attestations::<Test>::insert(
            vault(),
            medigate_access_policy::Role::Vault,
            pallet_registry::Attestation {
                authority: account("authority"),
                licence_commitment: None,
                organization: None,
                issued_at: 5,
                revoked_at: None,
            },
        );
        let index = forged.len() as u32;
        assert_ok!(prove(index, last));
        System::assert_last_event(
            Event::ReceiptProvenForged {
                batch: 0,
                index,
                vault: vault(),
                accessor: last.accessor.clone(),
                reporter: account("anyone"),
                vault_attestation_ended: false,
            }
            .into(),
        );
        assert!(pallet_registry::Pallet::<Test>::holds(
            &vault(),
            medigate_access_policy::RECEIPT_ROLE
        ));
    });
}

#[test]
fn gateways_build_the_chains_root_and_paths() {
    use codec::Encode;
    for count in 1..=9u8 {
        let receipts: Vec<_> = (1..=count).map(|record| receipt(record, vault())).collect();
        let leaves: Vec<Vec<u8>> = receipts.iter().map(Encode::encode).collect();
        assert_eq!(
            medigate_protocol::receipts::root(&leaves),
            receipts_root(&receipts).0
        );
        for index in 0..u32::from(count) {
            let chains: Vec<[u8; 32]> = merkle_path(&receipts, index)
                .into_iter()
                .map(|hash| hash.0)
                .collect();
            assert_eq!(
                medigate_protocol::receipts::path(leaves.clone(), index),
                chains,
                "leaf {index} of {count}"
            );
        }
    }
}
