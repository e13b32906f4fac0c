//! FHIR R4 for MediGate: how FHIR resources map onto the records a patient
//! grants access to.
//!
//! - [`category`]: the MediGate [`Category`](medigate_access_policy::Category)
//!   of a resource (allergies, medications, labs, vitals...).

pub mod category;

pub use category::category_of;
