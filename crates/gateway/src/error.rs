//! What can go wrong in a gateway, with what the user can do about it, and
//! how each failure is answered over HTTP.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use medigate_fhir::{BundleError, FhirError, person::PersonMismatch};

/// Why a gateway operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The keystore is locked, so nothing can be signed or decrypted.
    #[error("the keystore is locked: unlock it first (`medigate unlock`)")]
    Locked,
    /// The passphrase does not open the keystore.
    #[error("the passphrase does not open the keystore at {0}")]
    WrongPassphrase(String),
    /// The keystore file cannot be read.
    #[error("cannot open the keystore: {0}")]
    Keystore(String),
    /// The request carried no valid API token.
    #[error(
        "missing or wrong API token: send `Authorization: Bearer <token>` with the token in the gateway's api-token file"
    )]
    Unauthorized,
    /// The input is not valid FHIR R4.
    #[error(transparent)]
    Fhir(#[from] FhirError),
    /// The Bundle cannot be imported as one patient's records.
    #[error(transparent)]
    Bundle(BundleError),
    /// The Bundle is about another person than the one whose records the
    /// account holds.
    #[error(transparent)]
    OtherPerson(#[from] PersonMismatch),
    /// A malformed request parameter.
    #[error("{what} is malformed: {expected}")]
    BadRequest {
        /// What was wrong.
        what: String,
        /// What was expected.
        expected: String,
    },
    /// The body is larger than the gateway accepts.
    #[error("the body is larger than the gateway's limit of {0} bytes")]
    TooLarge(usize),
    /// Nothing with that id that the user may see.
    #[error("{0} was not found among the records you may see")]
    NotFound(String),
    /// The chain refused access (no grant, revoked, expired, other purpose).
    #[error("access denied by the patient's consent on chain: {0}")]
    Denied(String),
    /// The user's account is not registered on the chain.
    #[error("the account {0} is not registered on the chain: run `medigate register` first")]
    NotRegistered(String),
    /// A chain read or transaction failed.
    #[error("the chain: {0}")]
    Chain(String),
    /// The vault refused or failed a request.
    #[error("the vault: {0}")]
    Vault(String),
    /// The index database failed.
    #[error("the index database: {0}")]
    Database(#[from] sqlx::Error),
    /// A record could not be decrypted or its key unwrapped.
    #[error("record {0} cannot be decrypted with this account's keys")]
    Undecryptable(String),
    /// A record served by a vault is not proven against its anchor on
    /// chain: its envelope was altered or replaced, or its key wrap was made
    /// by an account the anchor does not allow to share it. It is not shown.
    #[error("record {record} was refused as not the one anchored on chain: {reason}")]
    Unproven {
        /// The record's content id (hex).
        record: String,
        /// What failed, as the cryptography tells it.
        reason: medigate_crypto::CryptoError,
    },
    /// Another import is under way.
    #[error("another import is under way; wait for it to finish")]
    Busy,
    /// A custodian could not be reached or answered nonsense.
    #[error("a custodian: {0}")]
    Custodian(String),
    /// Emergency access cannot go on (disabled, not enough custodians, no
    /// summary...); the message says why and what to do.
    #[error("{0}")]
    Emergency(String),
    /// An emergency card is malformed.
    #[error(transparent)]
    Card(#[from] medigate_crypto::card::CardError),
    /// The account cannot pay the registration fee and no one sponsored it.
    #[error(
        "the account {0} has no funds for the registration fee and no sponsor: ask a hospital (an attested organization) to enrol it (`medigate enrol {0}`, or Patients › Enrol a new patient in its web app), then register again"
    )]
    NeedsSponsor(String),
    /// The user may not sponsor newcomers.
    #[error(
        "only an attested organization (a hospital) or an authority enrols new patients; this account is neither"
    )]
    NotASponsor,
}

impl From<medigate_chain_client::ChainError> for GatewayError {
    fn from(error: medigate_chain_client::ChainError) -> Self {
        GatewayError::Chain(error.to_string())
    }
}

impl From<BundleError> for GatewayError {
    fn from(error: BundleError) -> Self {
        match error {
            BundleError::Invalid(invalid) => GatewayError::Fhir(invalid),
            other => GatewayError::Bundle(other),
        }
    }
}

impl GatewayError {
    /// The HTTP status of this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::Locked => StatusCode::LOCKED,
            GatewayError::WrongPassphrase(_) | GatewayError::Unauthorized => {
                StatusCode::UNAUTHORIZED
            }
            GatewayError::Fhir(_)
            | GatewayError::Bundle(_)
            | GatewayError::OtherPerson(_)
            | GatewayError::BadRequest { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            GatewayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::Denied(_) | GatewayError::NotRegistered(_) => StatusCode::FORBIDDEN,
            GatewayError::Busy => StatusCode::CONFLICT,
            GatewayError::Card(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GatewayError::Emergency(_)
            | GatewayError::NeedsSponsor(_)
            | GatewayError::NotASponsor => StatusCode::FORBIDDEN,
            GatewayError::Custodian(_)
            | GatewayError::Keystore(_)
            | GatewayError::Chain(_)
            | GatewayError::Vault(_)
            | GatewayError::Database(_)
            | GatewayError::Undecryptable(_)
            | GatewayError::Unproven { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// A stable code for clients (the CLI maps it to its exit code).
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Locked => "keystore_locked",
            GatewayError::WrongPassphrase(_) => "wrong_passphrase",
            GatewayError::Keystore(_) => "keystore",
            GatewayError::Unauthorized => "unauthorized",
            GatewayError::Fhir(_) => "invalid_fhir",
            // A Bundle of no one's records (a directory of hospitals or
            // clinicians, as Synthea writes beside its patients).
            GatewayError::Bundle(BundleError::NoPatient) => "no_patient",
            GatewayError::Bundle(_) => "not_importable",
            GatewayError::OtherPerson(_) => "other_patient",
            GatewayError::BadRequest { .. } => "bad_request",
            GatewayError::TooLarge(_) => "too_large",
            GatewayError::NotFound(_) => "not_found",
            GatewayError::Denied(_) => "denied",
            GatewayError::NotRegistered(_) => "not_registered",
            GatewayError::Chain(_) => "chain",
            GatewayError::Vault(_) => "vault",
            GatewayError::Database(_) => "database",
            GatewayError::Undecryptable(_) => "undecryptable",
            GatewayError::Unproven { .. } => "unproven",
            GatewayError::Busy => "busy",
            GatewayError::Custodian(_) => "custodian",
            GatewayError::Emergency(_) => "emergency",
            GatewayError::Card(_) => "bad_card",
            GatewayError::NeedsSponsor(_) => "needs_sponsor",
            GatewayError::NotASponsor => "not_a_sponsor",
        }
    }

    /// The FHIR OperationOutcome describing this failure.
    pub fn operation_outcome(&self) -> serde_json::Value {
        let code = match self.status() {
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED | StatusCode::LOCKED => "security",
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE => "invalid",
            StatusCode::CONFLICT => "conflict",
            _ => "transient",
        };
        let mut issue = serde_json::json!({
            "severity": "error",
            "code": code,
            "details": {
                "coding": [{"system": ERROR_CODE_SYSTEM, "code": self.code()}],
            },
            "diagnostics": self.to_string(),
        });
        if let GatewayError::Fhir(FhirError::Invalid { path, .. }) = self {
            issue["expression"] = serde_json::json!([path]);
        }
        serde_json::json!({"resourceType": "OperationOutcome", "issue": [issue]})
    }
}

/// The code system of the gateway's error codes ([`GatewayError::code`]),
/// as an OperationOutcome's `issue.details` names them.
pub const ERROR_CODE_SYSTEM: &str = "urn:medigate:gateway-error";

/// A failure answered as JSON `{"error": code, "message": text}` (the
/// management API).
impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code(), "message": self.to_string()});
        (self.status(), Json(body)).into_response()
    }
}

/// A failure answered as a FHIR OperationOutcome (the `/fhir` facade).
#[derive(Debug)]
pub struct FhirFailure(pub GatewayError);

impl From<GatewayError> for FhirFailure {
    fn from(error: GatewayError) -> Self {
        FhirFailure(error)
    }
}

impl IntoResponse for FhirFailure {
    fn into_response(self) -> Response {
        let mut response = (self.0.status(), Json(self.0.operation_outcome())).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static(crate::fhir_api::FHIR_JSON),
        );
        response
    }
}
