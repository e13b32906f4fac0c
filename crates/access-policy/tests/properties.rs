//! Properties of the access decision, over random grants, restrictions,
//! accessors and requests. Accounts, records and times are drawn from small
//! ranges so that grants and requests often meet.

use medigate_access_policy::{
    AccessRequest, Accessor, Action, ActionSet, Category, CategorySet, Decision, EmergencyGrant,
    GrantTerms, Purpose, Reason, Restriction, Role, RoleSet, Scope, decide, decide_with_emergency,
};
use proptest::prelude::*;

type Grant = GrantTerms<u8, Vec<u8>, u64>;
type Request = AccessRequest<u8, u8, u64>;

fn category() -> impl Strategy<Value = Category> {
    prop::sample::select(Category::ALL.to_vec())
}

fn purpose() -> impl Strategy<Value = Purpose> {
    prop::sample::select(Purpose::ALL.to_vec())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![Just(Action::Read), Just(Action::Write)]
}

fn scope() -> impl Strategy<Value = Scope<Vec<u8>>> {
    prop_oneof![
        Just(Scope::All),
        prop::collection::vec(category(), 0..4)
            .prop_map(|categories| Scope::Categories(categories.into_iter().collect())),
        prop::collection::vec(0u8..8, 0..4).prop_map(Scope::Records),
    ]
}

fn grant() -> impl Strategy<Value = Grant> {
    (
        0u8..3,
        0u8..4,
        scope(),
        purpose(),
        0u8..4,
        0u64..100,
        0u64..100,
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(patient, grantee, scope, purpose, actions, not_before, length, revoked)| GrantTerms {
                patient,
                grantee,
                scope,
                purpose,
                actions: match actions {
                    0 => ActionSet::empty(),
                    1 => ActionSet::read(),
                    2 => ActionSet::empty().with(Action::Write),
                    _ => ActionSet::read_write(),
                },
                not_before,
                expires_at: not_before + length,
                revoked,
            },
        )
}

fn restriction() -> impl Strategy<Value = Restriction<u8, Vec<u8>>> {
    (0u8..3, prop::option::of(0u8..4), scope()).prop_map(|(patient, accessor, scope)| Restriction {
        patient,
        accessor,
        scope,
    })
}

fn roles() -> impl Strategy<Value = RoleSet> {
    prop::collection::vec(prop::sample::select(Role::ALL.to_vec()), 0..4)
        .prop_map(|roles| roles.into_iter().fold(RoleSet::empty(), RoleSet::with))
}

fn accessor() -> impl Strategy<Value = Accessor> {
    (
        prop::bool::weighted(0.9),
        roles(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(registered, roles, delegate_of_patient)| Accessor {
            registered,
            roles,
            delegate_of_patient,
        })
}

fn request() -> impl Strategy<Value = Request> {
    (
        0u8..4,
        0u8..3,
        0u8..8,
        category(),
        purpose(),
        action(),
        0u64..120,
    )
        .prop_map(
            |(accessor, patient, record, category, purpose, action, now)| AccessRequest {
                accessor,
                patient,
                record,
                category,
                purpose,
                action,
                now,
            },
        )
}

fn run(
    request: &Request,
    accessor: Accessor,
    grants: &[Grant],
    restrictions: &[Restriction<u8, Vec<u8>>],
) -> Decision<usize> {
    decide(request, accessor, grants.iter().enumerate(), restrictions)
}

fn emergency() -> impl Strategy<Value = EmergencyGrant<u64>> {
    (
        prop::sample::select(vec![Purpose::EmergencyTreatment, Purpose::BreakTheGlass]),
        prop::collection::vec(category(), 0..3),
        0u64..100,
        0u64..60,
    )
        .prop_map(|(purpose, categories, opened_at, length)| EmergencyGrant {
            purpose,
            categories: categories.into_iter().collect::<CategorySet>(),
            opened_at,
            expires_at: opened_at + length,
        })
}

/// The patient's restriction on the requested record: of the accessor, or
/// of everyone.
fn restricting(request: &Request, everyone: bool) -> Restriction<u8, Vec<u8>> {
    Restriction {
        patient: request.patient,
        accessor: if everyone {
            None
        } else {
            Some(request.accessor)
        },
        scope: Scope::Records(vec![request.record]),
    }
}

/// Neither the patient nor a delegate: the only accessors grants matter for.
fn third_party(request: &Request, accessor: &Accessor) -> bool {
    request.accessor != request.patient && !accessor.delegate_of_patient
}

proptest! {
    // About a third of the generated requests come from the patient or a
    // delegate and are set aside by `prop_assume!`: allow for them.
    #![proptest_config(ProptestConfig {
        cases: 2_000,
        max_global_rejects: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn default_deny(request in request(), accessor in accessor(), restrictions in prop::collection::vec(restriction(), 0..3)) {
        prop_assume!(third_party(&request, &accessor));
        let decision = run(&request, accessor, &[], &restrictions);
        prop_assert!(!decision.allowed, "{decision:?}");
    }

    #[test]
    fn deny_overrides(
        request in request(),
        accessor in accessor(),
        grants in prop::collection::vec(grant(), 0..6),
        mut restrictions in prop::collection::vec(restriction(), 0..3),
        everyone in any::<bool>(),
    ) {
        prop_assume!(third_party(&request, &accessor));
        restrictions.push(restricting(&request, everyone));
        let decision = run(&request, accessor, &grants, &restrictions);
        prop_assert!(!decision.allowed, "{decision:?}");
    }

    #[test]
    fn a_restriction_binds_delegates_too(
        request in request(),
        mut accessor in accessor(),
        grants in prop::collection::vec(grant(), 0..6),
        mut restrictions in prop::collection::vec(restriction(), 0..3),
        everyone in any::<bool>(),
    ) {
        prop_assume!(request.accessor != request.patient);
        accessor.delegate_of_patient = true;
        restrictions.push(restricting(&request, everyone));
        let decision = run(&request, accessor, &grants, &restrictions);
        prop_assert!(!decision.allowed, "{decision:?}");
    }

    #[test]
    fn revocation_is_monotonic(
        request in request(),
        accessor in accessor(),
        grants in prop::collection::vec(grant(), 1..6),
        restrictions in prop::collection::vec(restriction(), 0..2),
        revoke in any::<prop::sample::Index>(),
    ) {
        let before = run(&request, accessor, &grants, &restrictions);
        let mut revoked = grants.clone();
        revoked[revoke.index(grants.len())].revoked = true;
        let after = run(&request, accessor, &revoked, &restrictions);
        prop_assert!(!after.allowed || before.allowed, "revoking allowed: {before:?} -> {after:?}");
    }

    #[test]
    fn nothing_is_allowed_outside_the_validity_window(
        request in request(),
        accessor in accessor(),
        grants in prop::collection::vec(grant(), 0..6),
    ) {
        let decision = run(&request, accessor, &grants, &[]);
        if let Some(index) = decision.grant {
            let grant = &grants[index];
            prop_assert!(grant.not_before <= request.now && request.now < grant.expires_at, "{grant:?} at {}", request.now);
        }
        let in_some_window = grants.iter().any(|grant| grant.not_before <= request.now && request.now < grant.expires_at);
        if third_party(&request, &accessor) && !in_some_window {
            prop_assert!(!decision.allowed, "{decision:?}");
        }
    }

    #[test]
    fn a_missing_or_revoked_role_allows_nothing(
        request in request(),
        mut accessor in accessor(),
        grants in prop::collection::vec(grant(), 0..6),
    ) {
        prop_assume!(third_party(&request, &accessor));
        // Revoke every attestation that the purpose could rely on.
        for role in request.purpose.permitted_roles().iter() {
            accessor.roles = accessor.roles.without(role);
        }
        let decision = run(&request, accessor, &grants, &[]);
        prop_assert!(!decision.allowed, "{decision:?}");
    }

    #[test]
    fn a_grant_for_one_purpose_allows_no_other(
        request in request(),
        accessor in accessor(),
        mut grants in prop::collection::vec(grant(), 1..6),
        offset in 1usize..Purpose::ALL.len(),
    ) {
        prop_assume!(third_party(&request, &accessor));
        let requested = Purpose::ALL.iter().position(|purpose| *purpose == request.purpose).unwrap();
        let granted = Purpose::ALL[(requested + offset) % Purpose::ALL.len()];
        for grant in &mut grants {
            grant.purpose = granted;
        }
        let decision = run(&request, accessor, &grants, &[]);
        prop_assert!(!decision.allowed, "{decision:?}");
    }

    #[test]
    fn an_allowing_grant_matches_the_request_in_every_term(
        request in request(),
        accessor in accessor(),
        grants in prop::collection::vec(grant(), 0..6),
    ) {
        let decision = run(&request, accessor, &grants, &[]);
        if let Some(index) = decision.grant {
            let grant = &grants[index];
            prop_assert!(decision.allowed && decision.reason == Reason::Granted);
            prop_assert_eq!(grant.patient, request.patient);
            prop_assert_eq!(grant.grantee, request.accessor);
            prop_assert!(!grant.revoked);
            prop_assert_eq!(grant.purpose, request.purpose);
            prop_assert!(grant.actions.contains(request.action));
            prop_assert!(grant.scope.covers(&request.record, request.category));
        } else if decision.allowed {
            prop_assert!(matches!(decision.reason, Reason::Owner | Reason::Delegate));
        }
    }

    #[test]
    fn unregistered_accessors_are_denied(
        request in request(),
        mut accessor in accessor(),
        grants in prop::collection::vec(grant(), 0..6),
    ) {
        prop_assume!(request.accessor != request.patient);
        accessor.registered = false;
        let decision = run(&request, accessor, &grants, &[]);
        prop_assert_eq!(decision, Decision { allowed: false, grant: None, reason: Reason::NotRegistered });
    }

    #[test]
    fn an_emergency_grant_only_ever_allows_reading_its_categories_in_its_window(
        request in request(),
        accessor in accessor(),
        grants in prop::collection::vec(grant(), 0..4),
        restrictions in prop::collection::vec(restriction(), 0..3),
        emergency in emergency(),
    ) {
        let without = run(&request, accessor, &grants, &restrictions);
        let with = decide_with_emergency(
            &request,
            accessor,
            grants.iter().enumerate(),
            &restrictions,
            Some(emergency),
        );
        if with != without {
            // The emergency grant only ever turns a denial into a read.
            prop_assert!(!without.allowed && with.allowed, "{without:?} -> {with:?}");
            prop_assert_eq!(with, Decision { allowed: true, grant: None, reason: Reason::Emergency });
            prop_assert_eq!(request.action, Action::Read);
            prop_assert_eq!(request.purpose, emergency.purpose);
            prop_assert!(emergency.categories.contains(request.category));
            prop_assert!(emergency.opened_at <= request.now && request.now < emergency.expires_at);
            // Never past a restriction, a missing role or an unknown account.
            prop_assert!(!matches!(without.reason, Reason::Restricted | Reason::RoleMissing | Reason::NotRegistered));
        }
    }
}
