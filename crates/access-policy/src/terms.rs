//! The vocabulary of consent: record categories, purposes of use, actions,
//! roles and scopes.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Defines a set of enum members stored as a bit mask (bit `n` stands for the
/// member with discriminant `n`), with the operations consent needs.
macro_rules! member_set {
    ($(#[$doc:meta])* $name:ident($bits:ty) of $member:ty, every member in $every:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo)]
        pub struct $name($bits);

        impl $name {
            /// The empty set.
            pub const fn empty() -> Self {
                Self(0)
            }

            /// The set of every member.
            pub const fn all() -> Self {
                let mut bits = 0;
                let mut index = 0;
                while index < $every.len() {
                    bits |= 1 << ($every[index] as $bits);
                    index += 1;
                }
                Self(bits)
            }

            /// This set plus `member`.
            pub const fn with(self, member: $member) -> Self {
                Self(self.0 | 1 << (member as $bits))
            }

            /// This set without `member`.
            pub const fn without(self, member: $member) -> Self {
                Self(self.0 & !(1 << (member as $bits)))
            }

            /// Whether `member` is in the set.
            pub const fn contains(self, member: $member) -> bool {
                self.0 & 1 << (member as $bits) != 0
            }

            /// Whether the set holds no member (bits that name no member do not count).
            pub const fn is_empty(self) -> bool {
                self.0 & Self::all().0 == 0
            }

            /// Whether the two sets share a member.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 & Self::all().0 != 0
            }

            /// Whether every member of `self` is in `other`.
            pub const fn is_subset_of(self, other: Self) -> bool {
                self.0 & !other.0 & Self::all().0 == 0
            }

            /// The members in the set, in code order.
            pub fn iter(self) -> impl Iterator<Item = $member> {
                $every.into_iter().filter(move |member| self.contains(*member))
            }
        }

        impl FromIterator<$member> for $name {
            fn from_iter<I: IntoIterator<Item = $member>>(members: I) -> Self {
                members.into_iter().fold(Self::empty(), Self::with)
            }
        }
    };
}

/// The coarse category of a record, the unit in which patients grant access.
///
/// The discriminants are part of the chain's encoding: never reorder them.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum Category {
    /// A patient summary (International Patient Summary).
    Summary = 0,
    /// Allergies and intolerances.
    Allergies = 1,
    /// Medications (prescriptions and statements).
    Medications = 2,
    /// Problems and diagnoses.
    Problems = 3,
    /// Laboratory results.
    Labs = 4,
    /// Vital signs.
    Vitals = 5,
    /// Imaging studies and reports.
    Imaging = 6,
    /// Clinical notes.
    Notes = 7,
    /// Immunizations.
    Immunizations = 8,
    /// Procedures.
    Procedures = 9,
    /// Encounters and visits.
    Encounters = 10,
    /// Documents (PDF, scans).
    Documents = 11,
    /// Claims and billing.
    Billing = 12,
    /// Anything else.
    Other = 13,
}

impl Category {
    /// Every category, in code order.
    pub const ALL: [Category; 14] = [
        Category::Summary,
        Category::Allergies,
        Category::Medications,
        Category::Problems,
        Category::Labs,
        Category::Vitals,
        Category::Imaging,
        Category::Notes,
        Category::Immunizations,
        Category::Procedures,
        Category::Encounters,
        Category::Documents,
        Category::Billing,
        Category::Other,
    ];

    /// The category's code in lower case, as the CLI and APIs spell it.
    pub const fn code(self) -> &'static str {
        match self {
            Category::Summary => "summary",
            Category::Allergies => "allergies",
            Category::Medications => "medications",
            Category::Problems => "problems",
            Category::Labs => "labs",
            Category::Vitals => "vitals",
            Category::Imaging => "imaging",
            Category::Notes => "notes",
            Category::Immunizations => "immunizations",
            Category::Procedures => "procedures",
            Category::Encounters => "encounters",
            Category::Documents => "documents",
            Category::Billing => "billing",
            Category::Other => "other",
        }
    }

    /// The category with the given code, if any.
    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|category| category.code() == code)
    }
}

member_set! {
    /// A set of categories.
    CategorySet(u16) of Category, every member in Category::ALL
}

/// Why data is accessed: the HL7 v3 purpose-of-use codes MediGate accepts.
///
/// The discriminants are part of the chain's encoding: never reorder them.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum Purpose {
    /// `TREAT`: treatment.
    Treatment = 0,
    /// `ETREAT`: emergency treatment.
    EmergencyTreatment = 1,
    /// `BTG`: break the glass.
    BreakTheGlass = 2,
    /// `HPAYMT`: healthcare payment.
    Payment = 3,
    /// `HOPERAT`: healthcare operations.
    Operations = 4,
    /// `HRESCH`: healthcare research.
    Research = 5,
}

impl Purpose {
    /// Every purpose, in code order.
    pub const ALL: [Purpose; 6] = [
        Purpose::Treatment,
        Purpose::EmergencyTreatment,
        Purpose::BreakTheGlass,
        Purpose::Payment,
        Purpose::Operations,
        Purpose::Research,
    ];

    /// The HL7 v3 `PurposeOfUse` code.
    pub const fn code(self) -> &'static str {
        match self {
            Purpose::Treatment => "TREAT",
            Purpose::EmergencyTreatment => "ETREAT",
            Purpose::BreakTheGlass => "BTG",
            Purpose::Payment => "HPAYMT",
            Purpose::Operations => "HOPERAT",
            Purpose::Research => "HRESCH",
        }
    }

    /// The purpose with the given HL7 code, if MediGate accepts it.
    pub fn from_code(code: &str) -> Option<Purpose> {
        Purpose::ALL
            .into_iter()
            .find(|purpose| purpose.code() == code)
    }

    /// The roles of which an accessor needs a current attestation to access
    /// someone else's records for this purpose (any one of them suffices).
    pub const fn permitted_roles(self) -> RoleSet {
        match self {
            Purpose::Treatment => RoleSet::empty()
                .with(Role::Provider)
                .with(Role::Organization),
            Purpose::EmergencyTreatment | Purpose::BreakTheGlass => RoleSet::empty()
                .with(Role::EmergencyResponder)
                .with(Role::Provider),
            Purpose::Payment => RoleSet::empty().with(Role::Insurer),
            Purpose::Operations => RoleSet::empty()
                .with(Role::Organization)
                .with(Role::Provider),
            Purpose::Research => RoleSet::empty().with(Role::Researcher),
        }
    }
}

/// What is done with a record.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum Action {
    /// Read (fetch and decrypt) the record.
    Read = 0,
    /// Write (anchor a new record or version) to the patient.
    Write = 1,
}

impl Action {
    /// Every action, in code order.
    pub const ALL: [Action; 2] = [Action::Read, Action::Write];
}

member_set! {
    /// A set of actions.
    ActionSet(u8) of Action, every member in Action::ALL
}

impl ActionSet {
    /// Reading only.
    pub const fn read() -> Self {
        Self::empty().with(Action::Read)
    }

    /// Reading and writing.
    pub const fn read_write() -> Self {
        Self::read().with(Action::Write)
    }
}

/// A role an authority attests to an account.
///
/// The discriminants are part of the chain's encoding: never reorder them.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum Role {
    /// A licensed clinician.
    Provider = 0,
    /// A hospital, clinic or laboratory.
    Organization = 1,
    /// An emergency responder (paramedic, emergency physician).
    EmergencyResponder = 2,
    /// A researcher under an ethics approval.
    Researcher = 3,
    /// An insurer.
    Insurer = 4,
    /// A custodian of emergency key shares.
    Custodian = 5,
    /// A vault: stores envelopes and commits the receipts of the reads it
    /// serves.
    Vault = 6,
}

impl Role {
    /// Every role, in code order.
    pub const ALL: [Role; 7] = [
        Role::Provider,
        Role::Organization,
        Role::EmergencyResponder,
        Role::Researcher,
        Role::Insurer,
        Role::Custodian,
        Role::Vault,
    ];
}

member_set! {
    /// A set of roles.
    RoleSet(u8) of Role, every member in Role::ALL
}

/// Which of a patient's records a grant or restriction covers.
///
/// `Records` lists record ids; the chain stores them bounded, the decision
/// only needs to look them up.
#[derive(
    Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub enum Scope<RecordIds> {
    /// Every record of the patient.
    All,
    /// The records of these categories.
    Categories(CategorySet),
    /// Exactly these records.
    Records(RecordIds),
}

impl<RecordIds> Scope<RecordIds> {
    /// Whether the scope covers the record `id` of `category`.
    pub fn covers<RecordId: PartialEq>(&self, id: &RecordId, category: Category) -> bool
    where
        RecordIds: AsRef<[RecordId]>,
    {
        match self {
            Scope::All => true,
            Scope::Categories(categories) => categories.contains(category),
            Scope::Records(records) => records.as_ref().contains(id),
        }
    }
}
