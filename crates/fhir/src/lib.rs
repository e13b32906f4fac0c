//! FHIR R4 for MediGate: how FHIR resources map onto the records a patient
//! grants access to.
//!
//! - [`validate`]: FHIR R4 JSON checked against HL7's R4 JSON schema, the
//!   first invalid element named by its path.
//! - [`bundle`]: one patient's Bundle split into records by category, and
//!   a patient's `$everything` Bundle rebuilt from them.
//! - [`ips`]: a patient's International Patient Summary, a `document`
//!   Bundle made from their resources.
//! - [`person`]: whether a Patient is the person an account holds records
//!   of (by name, birth date and sex), and `Patient.link` between the same
//!   person's records.
//! - [`raw`]: a Bundle taken apart into each resource's exact JSON text
//!   (decimals as written), and searchset Bundles put together from texts.
//! - [`synthetic`]: Synthea-shaped patients, deterministic, for tests and
//!   benchmarks.
//! - [`category`]: the MediGate [`Category`](medigate_access_policy::Category)
//!   of a resource (allergies, medications, labs, vitals...).

pub mod bundle;
pub mod category;
pub mod ips;
pub mod person;
pub mod raw;
pub mod synthetic;
pub mod validate;

pub use bundle::{BundleError, BundleRecord, PatientBundle, everything_bundle, split_bundle};
pub use category::category_of;
pub use ips::{Authored, IpsError, patient_summary, patient_summary_attributed};
pub use validate::{FhirError, parse, validate};

/// Whether `id` is a valid FHIR logical id: 1 to 64 letters, digits, `-`
/// and `.`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}
