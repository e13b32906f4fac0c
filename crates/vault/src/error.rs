//! The vault's HTTP errors: a status and a JSON body
//! `{"error": "<code>", "message": "<what to do>"}`.
//!
//! Codes are stable (clients match on them); messages are for people.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use medigate_chain_client::medigate::runtime_types::medigate_access_policy::decision::Reason;

use crate::{
    auth::AuthError,
    receipts::QueueError,
    replay::ReplayError,
    store::{StoreError, hex},
};

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The signed-request headers are missing, malformed, or do not verify.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The signer is not a registered participant of the chain.
    #[error("the account {0} is not registered on the chain; register it before using the vault")]
    UnknownAccount(String),
    /// The chain's `check_access` denied the read.
    #[error("the chain denies this access: {}", reason_text(.0))]
    Denied(Reason),
    /// Only the record's owner (or their delegate, or its author), or only
    /// the grantee, may do this.
    #[error("only {allowed} may {action} {subject}")]
    NotPermitted {
        /// Who may.
        allowed: &'static str,
        /// What was asked, ending with what it was asked of ("erase record").
        action: &'static str,
        /// The content id or account asked about, in hex.
        subject: String,
    },
    /// The record is not anchored on the chain.
    #[error("record {0} is not anchored on the chain; anchor it first")]
    NotAnchored(String),
    /// A path segment or query parameter is not in its format.
    #[error("{what} is malformed: {expected}")]
    Malformed {
        /// What was malformed.
        what: &'static str,
        /// Its expected format.
        expected: &'static str,
    },
    /// A batch body is not in its format.
    #[error(transparent)]
    Batch(#[from] crate::batch::BatchError),
    /// The `purpose` query parameter names no purpose MediGate knows.
    #[error("unknown purpose {0:?}; use one of TREAT, ETREAT, BTG, HPAYMT, HOPERAT, HRESCH")]
    UnknownPurpose(String),
    /// Storage refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The read's receipt cannot be queued: the read is not served.
    #[error("the read cannot be audited right now, so it is not served: {0}")]
    AuditUnavailable(#[from] QueueError),
    /// The chain could not be asked.
    #[error("the chain cannot be reached, so nothing is decided: {0}")]
    ChainUnavailable(String),
}

fn reason_text(reason: &Reason) -> &'static str {
    match reason {
        Reason::Owner | Reason::Delegate | Reason::Granted | Reason::Emergency => "allowed",
        Reason::NotRegistered => "the requester is not a registered participant",
        Reason::RoleMissing => {
            "the requester holds no current attestation of a role this purpose requires"
        }
        Reason::Restricted => "the patient restricted access to this record",
        Reason::NoGrant => "the patient has not granted the requester access",
        Reason::Revoked => "the patient revoked the requester's access",
        Reason::NotYetValid => "the requester's grant is not valid yet",
        Reason::Expired => "the requester's grant has expired",
        Reason::PurposeNotGranted => "the requester's grant is for another purpose",
        Reason::ActionNotGranted => "the requester's grant does not include this action",
        Reason::OutOfScope => "the requester's grant does not cover this record",
        Reason::UnknownRecord => "no record with this id is anchored to this patient",
    }
}

/// The stable code of a denial.
fn reason_code(reason: &Reason) -> &'static str {
    match reason {
        Reason::Owner | Reason::Delegate | Reason::Granted | Reason::Emergency => "allowed",
        Reason::NotRegistered => "unknown_account",
        Reason::RoleMissing => "role_missing",
        Reason::Restricted => "restricted",
        Reason::NoGrant => "no_consent",
        Reason::Revoked => "consent_revoked",
        Reason::NotYetValid => "consent_not_yet_valid",
        Reason::Expired => "consent_expired",
        Reason::PurposeNotGranted => "wrong_purpose",
        Reason::ActionNotGranted => "action_not_granted",
        Reason::OutOfScope => "out_of_scope",
        Reason::UnknownRecord => "unknown_record",
    }
}

impl ApiError {
    /// The HTTP status and the stable error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Auth(AuthError::Missing(_)) => (StatusCode::UNAUTHORIZED, "unsigned"),
            ApiError::Auth(AuthError::Malformed { .. }) => {
                (StatusCode::BAD_REQUEST, "malformed_signature_header")
            }
            ApiError::Auth(AuthError::BadSignature) => (StatusCode::UNAUTHORIZED, "bad_signature"),
            ApiError::Auth(AuthError::BodyNotSigned) => {
                (StatusCode::UNAUTHORIZED, "body_not_signed")
            }
            ApiError::Auth(AuthError::OtherAudience { .. }) => {
                (StatusCode::UNAUTHORIZED, "other_audience")
            }
            ApiError::Auth(AuthError::Replay(ReplayError::Replayed)) => {
                (StatusCode::CONFLICT, "replayed_request")
            }
            ApiError::Auth(AuthError::Replay(_)) => (StatusCode::UNAUTHORIZED, "stale_request"),
            ApiError::UnknownAccount(_) => (StatusCode::FORBIDDEN, "unknown_account"),
            ApiError::Denied(Reason::UnknownRecord) => (StatusCode::NOT_FOUND, "unknown_record"),
            ApiError::Denied(reason) => (StatusCode::FORBIDDEN, reason_code(reason)),
            ApiError::NotPermitted { .. } => (StatusCode::FORBIDDEN, "not_permitted"),
            ApiError::NotAnchored(_) => (StatusCode::NOT_FOUND, "not_anchored"),
            ApiError::Malformed { .. } => (StatusCode::BAD_REQUEST, "malformed_request"),
            ApiError::Batch(_) => (StatusCode::BAD_REQUEST, "malformed_batch"),
            ApiError::UnknownPurpose(_) => (StatusCode::BAD_REQUEST, "unknown_purpose"),
            ApiError::Store(StoreError::ContentIdMismatch { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "content_id_mismatch")
            }
            ApiError::Store(StoreError::TooLarge { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            }
            ApiError::Store(StoreError::NotFound(_)) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Store(StoreError::Interrupted(_)) => {
                (StatusCode::BAD_REQUEST, "upload_interrupted")
            }
            ApiError::Store(StoreError::Backend(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "storage_failed")
            }
            ApiError::AuditUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "audit_unavailable"),
            ApiError::ChainUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "chain_unavailable"),
        }
    }

    /// A refusal naming a content id that is not anchored.
    pub fn not_anchored(content_id: &[u8; 32]) -> Self {
        ApiError::NotAnchored(hex(content_id))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::warn!(error = %self, code, "request failed");
        }
        let body = serde_json::json!({ "error": code, "message": self.to_string() });
        (status, Json(body)).into_response()
    }
}
