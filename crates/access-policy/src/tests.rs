//! Worked examples of the rules, one per behaviour.

use crate::*;

const PATIENT: u8 = 1;
const DOCTOR: u8 = 2;

fn doctor() -> Accessor {
    Accessor {
        registered: true,
        roles: RoleSet::empty().with(Role::Provider),
        delegate_of_patient: false,
    }
}

fn read_labs(now: u64) -> AccessRequest<u8, u8, u64> {
    AccessRequest {
        accessor: DOCTOR,
        patient: PATIENT,
        record: 7,
        category: Category::Labs,
        purpose: Purpose::Treatment,
        action: Action::Read,
        now,
    }
}

fn labs_grant() -> GrantTerms<u8, Vec<u8>, u64> {
    GrantTerms {
        patient: PATIENT,
        grantee: DOCTOR,
        scope: Scope::Categories(CategorySet::empty().with(Category::Labs)),
        purpose: Purpose::Treatment,
        actions: ActionSet::read(),
        not_before: 10,
        expires_at: 20,
        revoked: false,
    }
}

fn decide_one(
    request: &AccessRequest<u8, u8, u64>,
    grant: &GrantTerms<u8, Vec<u8>, u64>,
) -> Decision<u32> {
    decide(
        request,
        doctor(),
        [(42u32, grant)],
        &[] as &[Restriction<u8, Vec<u8>>],
    )
}

#[test]
fn matching_grant_allows_and_is_named() {
    assert_eq!(
        decide_one(&read_labs(15), &labs_grant()),
        Decision {
            allowed: true,
            grant: Some(42),
            reason: Reason::Granted
        }
    );
}

#[test]
fn expiry_is_exclusive_and_not_before_inclusive() {
    assert!(decide_one(&read_labs(10), &labs_grant()).allowed);
    assert_eq!(
        decide_one(&read_labs(20), &labs_grant()).reason,
        Reason::Expired
    );
    assert_eq!(
        decide_one(&read_labs(9), &labs_grant()).reason,
        Reason::NotYetValid
    );
}

#[test]
fn other_category_is_out_of_scope() {
    let mut request = read_labs(15);
    request.category = Category::Notes;
    assert_eq!(
        decide_one(&request, &labs_grant()).reason,
        Reason::OutOfScope
    );
}

#[test]
fn write_needs_a_write_grant() {
    let mut request = read_labs(15);
    request.action = Action::Write;
    assert_eq!(
        decide_one(&request, &labs_grant()).reason,
        Reason::ActionNotGranted
    );
}

#[test]
fn closest_failing_grant_explains_the_denial() {
    let revoked = GrantTerms {
        revoked: true,
        ..labs_grant()
    };
    let expired = GrantTerms {
        expires_at: 12,
        ..labs_grant()
    };
    let grants = [(1u32, &revoked), (2u32, &expired)];
    let decision = decide(
        &read_labs(15),
        doctor(),
        grants,
        &[] as &[Restriction<u8, Vec<u8>>],
    );
    assert_eq!(decision.reason, Reason::Expired);
}

#[test]
fn no_grant_at_all_is_reported_as_such() {
    let decision = decide(
        &read_labs(15),
        doctor(),
        core::iter::empty::<(u32, &GrantTerms<u8, Vec<u8>, u64>)>(),
        &[] as &[Restriction<u8, Vec<u8>>],
    );
    assert_eq!(
        decision,
        Decision {
            allowed: false,
            grant: None,
            reason: Reason::NoGrant
        }
    );
}

#[test]
fn patient_reads_own_records_without_a_grant() {
    let mut request = read_labs(15);
    request.accessor = PATIENT;
    let patient = Accessor {
        registered: true,
        roles: RoleSet::empty(),
        delegate_of_patient: false,
    };
    let decision = decide(
        &request,
        patient,
        [(1u32, &labs_grant())],
        &[] as &[Restriction<u8, Vec<u8>>],
    );
    assert_eq!(
        decision,
        Decision {
            allowed: true,
            grant: None,
            reason: Reason::Owner
        }
    );
}

#[test]
fn restriction_beats_a_matching_grant() {
    let restriction = Restriction {
        patient: PATIENT,
        accessor: None,
        scope: Scope::Categories(CategorySet::all()),
    };
    let decision = decide(
        &read_labs(15),
        doctor(),
        [(1u32, &labs_grant())],
        [&restriction],
    );
    assert_eq!(decision.reason, Reason::Restricted);
}

#[test]
fn research_needs_a_researcher() {
    let mut request = read_labs(15);
    request.purpose = Purpose::Research;
    let grant = GrantTerms {
        purpose: Purpose::Research,
        ..labs_grant()
    };
    assert_eq!(decide_one(&request, &grant).reason, Reason::RoleMissing);
}

#[test]
fn codes_round_trip() {
    for purpose in Purpose::ALL {
        assert_eq!(Purpose::from_code(purpose.code()), Some(purpose));
    }
    for category in Category::ALL {
        assert_eq!(Category::from_code(category.code()), Some(category));
    }
    assert_eq!(Purpose::from_code("TREATMENT"), None);
    assert_eq!(CategorySet::all().iter().count(), Category::ALL.len());
}

#[test]
fn sets_hold_exactly_their_members() {
    assert_eq!(
        RoleSet::all().iter().collect::<Vec<_>>(),
        Role::ALL.to_vec()
    );
    assert_eq!(ActionSet::all(), ActionSet::read_write());
    let labs_and_notes: CategorySet = [Category::Labs, Category::Notes].into_iter().collect();
    assert!(labs_and_notes.contains(Category::Notes) && !labs_and_notes.contains(Category::Vitals));
    assert!(
        labs_and_notes
            .without(Category::Notes)
            .is_subset_of(labs_and_notes)
    );
    assert!(!labs_and_notes.is_subset_of(CategorySet::empty().with(Category::Labs)));
    assert!(labs_and_notes.intersects(CategorySet::empty().with(Category::Labs)));
}

#[test]
fn bits_that_name_no_member_count_for_nothing() {
    // A set decoded from untrusted input may carry unknown bits.
    let unknown = RoleSet::empty().without(Role::Provider);
    assert!(unknown.is_empty());
    let decoded: CategorySet = codec::Decode::decode(&mut &[0x00u8, 0xc0][..]).unwrap();
    assert!(decoded.is_empty(), "bits 14 and 15 name no category");
    assert!(!decoded.intersects(CategorySet::all()));
    assert!(decoded.is_subset_of(CategorySet::empty()));
}
