//! The decision function and its inputs and output.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::{Action, ActionSet, Category, CategorySet, Purpose, RoleSet, Scope};

/// The question: may `accessor` perform `action` on record `record` (of
/// `category`) of `patient`, for `purpose`, at time `now`?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest<AccountId, RecordId, Moment> {
    /// Who asks.
    pub accessor: AccountId,
    /// Whose record it is.
    pub patient: AccountId,
    /// The record.
    pub record: RecordId,
    /// The record's category.
    pub category: Category,
    /// Why.
    pub purpose: Purpose,
    /// What for.
    pub action: Action,
    /// When (the chain's time, in milliseconds since the Unix epoch).
    pub now: Moment,
}

/// What the chain knows about the accessor at decision time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accessor {
    /// Whether the account is a registered participant.
    pub registered: bool,
    /// The roles currently attested to it (revoked attestations excluded).
    pub roles: RoleSet,
    /// Whether the patient delegated the management of their records to it.
    pub delegate_of_patient: bool,
}

/// The terms of one consent grant, as the decision sees them (and as the
/// chain stores them).
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct GrantTerms<AccountId, RecordIds, Moment> {
    /// The patient who granted.
    pub patient: AccountId,
    /// Who may access.
    pub grantee: AccountId,
    /// Which records.
    pub scope: Scope<RecordIds>,
    /// For which purpose (one per grant).
    pub purpose: Purpose,
    /// Which actions.
    pub actions: ActionSet,
    /// First moment of validity.
    pub not_before: Moment,
    /// First moment of invalidity.
    pub expires_at: Moment,
    /// Whether the patient revoked it.
    pub revoked: bool,
}

/// A patient's standing "no": the accessor (or everyone, if `None`) may not
/// access the covered records, whatever any grant says. It binds the
/// patient's delegates too; only the patient (or governance, for a patient
/// who cannot act) lifts it.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Restriction<AccountId, RecordIds> {
    /// The patient who restricts.
    pub patient: AccountId,
    /// Whom it restricts; `None` restricts everyone but the patient.
    pub accessor: Option<AccountId>,
    /// Which records.
    pub scope: Scope<RecordIds>,
}

/// Why a decision came out as it did.
///
/// The discriminants are part of the chain's encoding: never reorder them.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum Reason {
    /// Allowed: the accessor is the patient.
    Owner = 0,
    /// Allowed: the accessor manages the patient's consent as a delegate.
    Delegate = 1,
    /// Allowed by a grant.
    Granted = 2,
    /// Denied: the accessor is not a registered participant.
    NotRegistered = 3,
    /// Denied: the accessor holds no current attestation of a role the
    /// purpose requires (never attested, or revoked).
    RoleMissing = 4,
    /// Denied: a restriction set by the patient covers the record.
    Restricted = 5,
    /// Denied: no grant of the patient names the accessor.
    NoGrant = 6,
    /// Denied: the accessor's grants are revoked.
    Revoked = 7,
    /// Denied: the accessor's grants are not valid yet.
    NotYetValid = 8,
    /// Denied: the accessor's grants have expired.
    Expired = 9,
    /// Denied: the accessor's grants are for another purpose.
    PurposeNotGranted = 10,
    /// Denied: the accessor's grants do not include this action.
    ActionNotGranted = 11,
    /// Denied: the accessor's grants do not cover this record.
    OutOfScope = 12,
    /// Denied: no record with this id is anchored to this patient.
    UnknownRecord = 13,
    /// Allowed by a running emergency (break-glass) grant.
    Emergency = 14,
}

/// A running emergency (break-glass) grant, as the decision sees it: a
/// responder may read the records of `categories` for `purpose` between
/// `opened_at` and `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmergencyGrant<Moment> {
    /// The emergency purpose the glass was broken for.
    pub purpose: Purpose,
    /// The categories it opens (the patient summary).
    pub categories: CategorySet,
    /// When it was opened.
    pub opened_at: Moment,
    /// First moment of invalidity.
    pub expires_at: Moment,
}

impl<Moment: PartialOrd> EmergencyGrant<Moment> {
    /// Whether it allows `request`: a read, for its purpose, of a record in
    /// its categories, inside its window.
    fn allows<AccountId, RecordId>(
        &self,
        request: &AccessRequest<AccountId, RecordId, Moment>,
    ) -> bool {
        request.action == Action::Read
            && request.purpose == self.purpose
            && self.categories.contains(request.category)
            && self.opened_at <= request.now
            && request.now < self.expires_at
    }
}

/// Where the decision learns of running emergency grants (the emergency
/// pallet on the chain; `()` knows of none).
pub trait EmergencyGrants<AccountId, Moment> {
    /// The running emergency grant of `responder` on `patient`'s records at
    /// `now`, if any.
    fn emergency_grant(
        responder: &AccountId,
        patient: &AccountId,
        now: Moment,
    ) -> Option<EmergencyGrant<Moment>>;
}

impl<AccountId, Moment> EmergencyGrants<AccountId, Moment> for () {
    fn emergency_grant(_: &AccountId, _: &AccountId, _: Moment) -> Option<EmergencyGrant<Moment>> {
        None
    }
}

/// The answer to an [`AccessRequest`].
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct Decision<GrantId> {
    /// Whether the access may happen.
    pub allowed: bool,
    /// The grant that allows it, when a grant does.
    pub grant: Option<GrantId>,
    /// Why.
    pub reason: Reason,
}

impl<GrantId> Decision<GrantId> {
    /// A denial for `reason`, with no grant.
    pub fn deny(reason: Reason) -> Self {
        Decision {
            allowed: false,
            grant: None,
            reason,
        }
    }

    fn allow(reason: Reason, grant: Option<GrantId>) -> Self {
        Decision {
            allowed: true,
            grant,
            reason,
        }
    }
}

/// Checks one grant; `Ok` if it allows the request, otherwise the first
/// condition it fails. The order of the checks ranks how close a grant came.
fn check_grant<AccountId, RecordId, RecordIds, Moment>(
    request: &AccessRequest<AccountId, RecordId, Moment>,
    grant: &GrantTerms<AccountId, RecordIds, Moment>,
) -> Result<(), Reason>
where
    AccountId: PartialEq,
    RecordId: PartialEq,
    RecordIds: AsRef<[RecordId]>,
    Moment: PartialOrd,
{
    if grant.revoked {
        return Err(Reason::Revoked);
    }
    if request.now < grant.not_before {
        return Err(Reason::NotYetValid);
    }
    if request.now >= grant.expires_at {
        return Err(Reason::Expired);
    }
    if grant.purpose != request.purpose {
        return Err(Reason::PurposeNotGranted);
    }
    if !grant.actions.contains(request.action) {
        return Err(Reason::ActionNotGranted);
    }
    if !grant.scope.covers(&request.record, request.category) {
        return Err(Reason::OutOfScope);
    }
    Ok(())
}

/// How far a failing grant got through [`check_grant`]; higher is closer.
fn closeness(reason: Reason) -> u8 {
    match reason {
        Reason::Revoked => 0,
        Reason::NotYetValid => 1,
        Reason::Expired => 2,
        Reason::PurposeNotGranted => 3,
        Reason::ActionNotGranted => 4,
        Reason::OutOfScope => 5,
        _ => 0,
    }
}

/// Decides `request` (see the crate documentation for the rules).
///
/// `grants` and `restrictions` may include entries of other patients or
/// accessors; only those of `request.patient` (and, for grants, naming
/// `request.accessor`) count. When several grants allow, the first one is
/// reported. When none does, the reason is that of the grant that came
/// closest, so that a user learns, say, that their grant expired rather than
/// that they have none.
pub fn decide<'a, AccountId, RecordId, RecordIds, Moment, GrantId>(
    request: &AccessRequest<AccountId, RecordId, Moment>,
    accessor: Accessor,
    grants: impl IntoIterator<Item = (GrantId, &'a GrantTerms<AccountId, RecordIds, Moment>)>,
    restrictions: impl IntoIterator<Item = &'a Restriction<AccountId, RecordIds>>,
) -> Decision<GrantId>
where
    AccountId: PartialEq + 'a,
    RecordId: PartialEq,
    RecordIds: AsRef<[RecordId]> + 'a,
    Moment: PartialOrd + 'a,
{
    decide_with_emergency(request, accessor, grants, restrictions, None)
}

/// [`decide`], when the accessor may also hold a running emergency grant on
/// the patient's records. The emergency grant is weighed after the patient's
/// grants: it never overrides a restriction or a missing role, and allows
/// only reads of its categories, for its purpose, inside its window.
pub fn decide_with_emergency<'a, AccountId, RecordId, RecordIds, Moment, GrantId>(
    request: &AccessRequest<AccountId, RecordId, Moment>,
    accessor: Accessor,
    grants: impl IntoIterator<Item = (GrantId, &'a GrantTerms<AccountId, RecordIds, Moment>)>,
    restrictions: impl IntoIterator<Item = &'a Restriction<AccountId, RecordIds>>,
    emergency: Option<EmergencyGrant<Moment>>,
) -> Decision<GrantId>
where
    AccountId: PartialEq + 'a,
    RecordId: PartialEq,
    RecordIds: AsRef<[RecordId]> + 'a,
    Moment: PartialOrd + 'a,
{
    if request.accessor == request.patient {
        return Decision::allow(Reason::Owner, None);
    }
    if !accessor.registered {
        return Decision::deny(Reason::NotRegistered);
    }
    // A restriction binds everyone but the patient, delegates included.
    let restricted = restrictions.into_iter().any(|restriction| {
        restriction.patient == request.patient
            && restriction
                .accessor
                .as_ref()
                .is_none_or(|who| *who == request.accessor)
            && restriction.scope.covers(&request.record, request.category)
    });
    if restricted {
        return Decision::deny(Reason::Restricted);
    }
    if accessor.delegate_of_patient {
        return Decision::allow(Reason::Delegate, None);
    }
    if !accessor.roles.intersects(request.purpose.permitted_roles()) {
        return Decision::deny(Reason::RoleMissing);
    }

    let mut closest: Option<Reason> = None;
    for (id, grant) in grants {
        if grant.patient != request.patient || grant.grantee != request.accessor {
            continue;
        }
        match check_grant(request, grant) {
            Ok(()) => return Decision::allow(Reason::Granted, Some(id)),
            Err(reason) => {
                if closest.is_none_or(|best| closeness(reason) > closeness(best)) {
                    closest = Some(reason);
                }
            }
        }
    }
    if emergency.is_some_and(|grant| grant.allows(request)) {
        return Decision::allow(Reason::Emergency, None);
    }
    Decision::deny(closest.unwrap_or(Reason::NoGrant))
}
