//! The vocabulary of consent: record categories, purposes of use, actions,
//! roles and scopes.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

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

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of categories.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct CategorySet(u16);

impl CategorySet {
    /// No category.
    pub const fn empty() -> Self {
        CategorySet(0)
    }

    /// Every category.
    pub const fn all() -> Self {
        CategorySet((1 << Category::ALL.len()) - 1)
    }

    /// This set plus `category`.
    pub const fn with(self, category: Category) -> Self {
        CategorySet(self.0 | category.bit())
    }

    /// Whether `category` is in the set.
    pub const fn contains(self, category: Category) -> bool {
        self.0 & category.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 & Self::all().0 == 0
    }

    /// Whether every category of `self` is in `other`.
    pub const fn is_subset_of(self, other: CategorySet) -> bool {
        self.0 & !other.0 & Self::all().0 == 0
    }

    /// The categories in the set, in code order.
    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL
            .into_iter()
            .filter(move |category| self.contains(*category))
    }
}

impl FromIterator<Category> for CategorySet {
    fn from_iter<I: IntoIterator<Item = Category>>(categories: I) -> Self {
        categories
            .into_iter()
            .fold(CategorySet::empty(), CategorySet::with)
    }
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

/// A set of actions.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct ActionSet(u8);

impl ActionSet {
    /// No action.
    pub const fn empty() -> Self {
        ActionSet(0)
    }

    /// Reading only.
    pub const fn read() -> Self {
        Self::empty().with(Action::Read)
    }

    /// Reading and writing.
    pub const fn read_write() -> Self {
        Self::read().with(Action::Write)
    }

    /// This set plus `action`.
    pub const fn with(self, action: Action) -> Self {
        ActionSet(self.0 | 1 << (action as u8))
    }

    /// Whether `action` is in the set.
    pub const fn contains(self, action: Action) -> bool {
        self.0 & 1 << (action as u8) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 & 0b11 == 0
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
}

/// A set of roles.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct RoleSet(u8);

impl RoleSet {
    /// No role.
    pub const fn empty() -> Self {
        RoleSet(0)
    }

    /// This set plus `role`.
    pub const fn with(self, role: Role) -> Self {
        RoleSet(self.0 | 1 << (role as u8))
    }

    /// This set without `role`.
    pub const fn without(self, role: Role) -> Self {
        RoleSet(self.0 & !(1 << (role as u8)))
    }

    /// Whether `role` is in the set.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & 1 << (role as u8) != 0
    }

    /// Whether the two sets share a role.
    pub const fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }
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
