//! Behaviour of the records pallet, one test per rule.

use crate::{
    AnchorRequest, AnchoredRecord, Anchors, Category, ContentId, Error, Event, Tombstones, mock::*,
};
use frame_support::{BoundedVec, assert_noop, assert_ok};
use sp_core::H256;

fn id(byte: u8) -> ContentId {
    H256::repeat_byte(byte)
}

fn record(byte: u8, category: Category) -> AnchorRequest {
    AnchorRequest {
        content_id: id(byte),
        category,
        size: 4096,
        previous: None,
    }
}

/// `author` anchors `request` to `patient`'s records.
fn anchor(
    author: u64,
    patient: u64,
    request: AnchorRequest,
) -> frame_support::dispatch::DispatchResult {
    Records::anchor(RuntimeOrigin::signed(author), patient, request)
}

fn batch(
    records: Vec<AnchorRequest>,
) -> BoundedVec<AnchorRequest, frame_support::traits::ConstU32<MAX_BATCH>> {
    records.try_into().unwrap()
}

#[test]
fn patient_anchors_a_record() {
    new_test_ext().execute_with(|| {
        assert_ok!(anchor(PATIENT, PATIENT, record(1, Category::Notes)));
        let anchor = Anchors::<Test>::get(PATIENT, id(1)).unwrap();
        assert_eq!(
            (anchor.owner, anchor.author, anchor.category, anchor.version),
            (PATIENT, PATIENT, Category::Notes, 0)
        );
        System::assert_last_event(
            Event::RecordsAnchored {
                patient: PATIENT,
                author: PATIENT,
                records: BoundedVec::truncate_from(vec![AnchoredRecord {
                    content_id: id(1),
                    category: Category::Notes,
                    version: 0,
                }]),
            }
            .into(),
        );
    });
}

#[test]
fn delegate_and_granted_author_may_anchor() {
    new_test_ext().execute_with(|| {
        assert_ok!(anchor(DELEGATE, PATIENT, record(1, Category::Notes)));
        assert_ok!(anchor(LAB, PATIENT, record(2, Category::Labs)));
        assert_eq!(Anchors::<Test>::get(PATIENT, id(2)).unwrap().author, LAB);
    });
}

#[test]
fn author_without_a_write_grant_is_refused() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            anchor(STRANGER, PATIENT, record(1, Category::Labs)),
            Error::<Test>::NotPermitted
        );
        // A lab grant does not cover notes, nor another patient.
        assert_noop!(
            anchor(LAB, PATIENT, record(1, Category::Notes)),
            Error::<Test>::NotPermitted
        );
        assert_noop!(
            anchor(LAB, OTHER_PATIENT, record(1, Category::Labs)),
            Error::<Test>::NotPermitted
        );
    });
}

#[test]
fn unknown_accounts_are_refused() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            anchor(PATIENT, UNREGISTERED, record(1, Category::Notes)),
            Error::<Test>::UnknownPatient
        );
        assert_noop!(
            anchor(UNREGISTERED, UNREGISTERED, record(1, Category::Notes)),
            Error::<Test>::UnknownPatient
        );
        assert_noop!(
            anchor(UNREGISTERED, PATIENT, record(1, Category::Notes)),
            Error::<Test>::NotRegistered
        );
    });
}

#[test]
fn duplicate_anchor_is_refused() {
    new_test_ext().execute_with(|| {
        assert_ok!(anchor(PATIENT, PATIENT, record(1, Category::Notes)));
        assert_noop!(
            anchor(PATIENT, PATIENT, record(1, Category::Labs)),
            Error::<Test>::AlreadyAnchored
        );
    });
}

#[test]
fn a_content_id_seen_first_cannot_be_squatted_or_taken() {
    new_test_ext().execute_with(|| {
        // Another participant sees the patient's pending content id and
        // anchors it first, to its own records, then erases it.
        assert_ok!(anchor(STRANGER, STRANGER, record(1, Category::Labs)));
        assert_ok!(Records::erase(
            RuntimeOrigin::signed(STRANGER),
            STRANGER,
            id(1)
        ));
        assert_ok!(anchor(STRANGER, STRANGER, record(2, Category::Labs)));
        // The patient's anchors of the same ids go through, and are the
        // patient's.
        assert_ok!(anchor(PATIENT, PATIENT, record(1, Category::Labs)));
        assert_ok!(anchor(PATIENT, PATIENT, record(2, Category::Labs)));
        let anchored = Anchors::<Test>::get(PATIENT, id(2)).unwrap();
        assert_eq!((anchored.owner, anchored.author), (PATIENT, PATIENT));
        // Nor can the other participant erase or replace them.
        assert_noop!(
            Records::erase(RuntimeOrigin::signed(STRANGER), PATIENT, id(1)),
            Error::<Test>::NotOwner
        );
        assert_noop!(
            anchor(
                STRANGER,
                PATIENT,
                AnchorRequest {
                    previous: Some(id(1)),
                    ..record(3, Category::Labs)
                }
            ),
            Error::<Test>::NotPermitted
        );
    });
}

#[test]
fn empty_record_is_refused() {
    new_test_ext().execute_with(|| {
        let empty = AnchorRequest {
            size: 0,
            ..record(1, Category::Notes)
        };
        assert_noop!(anchor(PATIENT, PATIENT, empty), Error::<Test>::EmptyRecord);
    });
}

#[test]
fn batch_anchors_all_or_nothing() {
    new_test_ext().execute_with(|| {
        assert_ok!(Records::anchor_batch(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            batch(
                (1..=MAX_BATCH as u8)
                    .map(|byte| record(byte, Category::Labs))
                    .collect()
            )
        ));
        assert!((1..=MAX_BATCH as u8).all(|byte| Anchors::<Test>::contains_key(PATIENT, id(byte))));
        // One event tells of the whole batch, record by record.
        System::assert_last_event(
            Event::RecordsAnchored {
                patient: PATIENT,
                author: PATIENT,
                records: BoundedVec::truncate_from(
                    (1..=MAX_BATCH as u8)
                        .map(|byte| AnchoredRecord {
                            content_id: id(byte),
                            category: Category::Labs,
                            version: 0,
                        })
                        .collect(),
                ),
            }
            .into(),
        );
        assert_eq!(System::events().len(), 1, "one event per call");

        // One bad record (already anchored) and nothing of the batch is written.
        assert_noop!(
            Records::anchor_batch(
                RuntimeOrigin::signed(PATIENT),
                PATIENT,
                batch(vec![record(20, Category::Labs), record(1, Category::Labs)])
            ),
            Error::<Test>::AlreadyAnchored
        );
        assert_noop!(
            Records::anchor_batch(
                RuntimeOrigin::signed(PATIENT),
                PATIENT,
                batch(vec![record(30, Category::Labs), record(30, Category::Labs)])
            ),
            Error::<Test>::DuplicateInBatch
        );
        assert_noop!(
            Records::anchor_batch(RuntimeOrigin::signed(PATIENT), PATIENT, batch(vec![])),
            Error::<Test>::EmptyBatch
        );
    });
}

#[test]
fn oversized_batch_does_not_decode() {
    use codec::{Decode, Encode};
    let too_many: Vec<AnchorRequest> = (0..=MAX_BATCH as u8)
        .map(|byte| record(byte, Category::Labs))
        .collect();
    let call = crate::Call::<Test>::anchor_batch {
        patient: PATIENT,
        records: Default::default(),
    };
    let mut encoded = call.encode();
    // Replace the empty list with one element too many.
    encoded.truncate(encoded.len() - 1);
    encoded.extend(too_many.encode());
    assert!(crate::Call::<Test>::decode(&mut &encoded[..]).is_err());
}

#[test]
fn new_version_links_to_the_previous_one() {
    new_test_ext().execute_with(|| {
        assert_ok!(anchor(PATIENT, PATIENT, record(1, Category::Notes)));
        let second = AnchorRequest {
            previous: Some(id(1)),
            ..record(2, Category::Notes)
        };
        assert_ok!(anchor(PATIENT, PATIENT, second));
        assert_eq!(Anchors::<Test>::get(PATIENT, id(2)).unwrap().version, 1);
        assert_eq!(
            Anchors::<Test>::get(PATIENT, id(1)).unwrap().superseded_by,
            Some(id(2))
        );

        let fork = AnchorRequest {
            previous: Some(id(1)),
            ..record(3, Category::Notes)
        };
        assert_noop!(
            anchor(PATIENT, PATIENT, fork),
            Error::<Test>::AlreadySuperseded
        );
    });
}

#[test]
fn a_writer_replaces_only_what_it_wrote() {
    new_test_ext().execute_with(|| {
        // The patient's own lab result, and one the lab wrote.
        assert_ok!(anchor(PATIENT, PATIENT, record(1, Category::Labs)));
        assert_ok!(anchor(LAB, PATIENT, record(2, Category::Labs)));
        // The lab's write grant does not let it replace the patient's record.
        let over_the_patients = AnchorRequest {
            previous: Some(id(1)),
            ..record(3, Category::Labs)
        };
        assert_noop!(
            anchor(LAB, PATIENT, over_the_patients.clone()),
            Error::<Test>::NotTheAuthor
        );
        assert_eq!(
            Anchors::<Test>::get(PATIENT, id(1)).unwrap().superseded_by,
            None
        );
        // Its own record it may correct; the patient's delegate may
        // replace either.
        assert_ok!(anchor(
            LAB,
            PATIENT,
            AnchorRequest {
                previous: Some(id(2)),
                ..record(4, Category::Labs)
            }
        ));
        assert_ok!(anchor(DELEGATE, PATIENT, over_the_patients));
    });
}

#[test]
fn previous_version_must_be_the_patients_and_same_category() {
    new_test_ext().execute_with(|| {
        assert_ok!(anchor(
            OTHER_PATIENT,
            OTHER_PATIENT,
            record(1, Category::Notes)
        ));
        assert_ok!(anchor(PATIENT, PATIENT, record(2, Category::Notes)));
        for previous in [id(1), id(9)] {
            let next = AnchorRequest {
                previous: Some(previous),
                ..record(3, Category::Notes)
            };
            assert_noop!(
                anchor(PATIENT, PATIENT, next),
                Error::<Test>::InvalidPrevious
            );
        }
        let other_category = AnchorRequest {
            previous: Some(id(2)),
            ..record(3, Category::Labs)
        };
        assert_noop!(
            anchor(PATIENT, PATIENT, other_category),
            Error::<Test>::InvalidPrevious
        );
    });
}

#[test]
fn erasure_leaves_an_unlinkable_tombstone() {
    new_test_ext().execute_with(|| {
        assert_ok!(anchor(PATIENT, PATIENT, record(1, Category::Notes)));
        let second = AnchorRequest {
            previous: Some(id(1)),
            ..record(2, Category::Notes)
        };
        assert_ok!(anchor(PATIENT, PATIENT, second));
        System::set_block_number(7);

        assert_ok!(Records::erase(
            RuntimeOrigin::signed(PATIENT),
            PATIENT,
            id(1)
        ));
        System::assert_last_event(Event::RecordErased { content_id: id(1) }.into());
        assert!(!Anchors::<Test>::contains_key(PATIENT, id(1)));
        assert_eq!(Tombstones::<Test>::get(PATIENT, id(1)), Some(7));
        assert_eq!(
            Anchors::<Test>::get(PATIENT, id(2)).unwrap().previous,
            None,
            "no link to the erased id"
        );

        assert_noop!(
            anchor(PATIENT, PATIENT, record(1, Category::Notes)),
            Error::<Test>::Erased
        );
    });
}

#[test]
fn only_the_patient_or_delegate_erases() {
    new_test_ext().execute_with(|| {
        assert_ok!(anchor(LAB, PATIENT, record(1, Category::Labs)));
        assert_noop!(
            Records::erase(RuntimeOrigin::signed(LAB), PATIENT, id(1)),
            Error::<Test>::NotOwner
        );
        assert_noop!(
            Records::erase(RuntimeOrigin::signed(PATIENT), PATIENT, id(9)),
            Error::<Test>::UnknownRecord
        );
        assert_ok!(Records::erase(
            RuntimeOrigin::signed(DELEGATE),
            PATIENT,
            id(1)
        ));
    });
}
