//! The crate's errors.

/// What went wrong. Messages say what failed and what to do, never anything
/// about a secret.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The words are not a valid BIP-39 English mnemonic.
    #[error("not a valid recovery phrase: {0} (expected 12 or 24 English BIP-39 words)")]
    InvalidMnemonic(String),
    /// A keystore file is not one this version can read.
    #[error("not a MediGate keystore: {0}")]
    MalformedKeystore(&'static str),
    /// The passphrase does not open the keystore (or the file was altered).
    #[error("wrong passphrase, or the keystore file was altered")]
    WrongPassphrase,
    /// An encrypted record's envelope is not well formed.
    #[error("not a MediGate record envelope: {0}")]
    MalformedEnvelope(&'static str),
    /// A key wrap is not well formed.
    #[error("not a MediGate key wrap: {0}")]
    MalformedWrap(&'static str),
    /// An encrypted record failed authentication: wrong key, altered,
    /// truncated or reordered ciphertext, or another record's header.
    #[error(
        "the record does not decrypt: wrong key, or the ciphertext was altered, truncated or reordered"
    )]
    Tampered,
    /// The envelope is bound to another record (id, version or owner differ
    /// from the ones expected).
    #[error(
        "the envelope belongs to another record: its id, version or owner differ from the ones asked for"
    )]
    OtherRecord,
    /// The envelope is not the one the chain anchors: its BLAKE3-256 hash
    /// is not the anchored content id.
    #[error(
        "the record is not the one anchored on chain: its content hash differs from the anchored content id (the vault or the network altered or replaced it)"
    )]
    NotAnchored,
    /// A key wrap was made by an account the record's anchor does not
    /// allow to share it.
    #[error(
        "the key wrap was made by an account that may not share this record (only its owner or its author may)"
    )]
    WrapMakerNotAllowed,
    /// A key wrap's maker signature does not verify.
    #[error("the key wrap's signature does not verify for the account that claims to have made it")]
    WrapForged,
    /// A key share, or a request to split or combine shares, is not valid.
    #[error("invalid key shares: {0}")]
    MalformedShare(&'static str),
    /// A request signature does not verify for the account that claims it.
    #[error("the signature does not match the account and the request")]
    BadSignature,
    /// A key share is not one its patient dealt to the custodian that gave
    /// it: the patient's endorsement does not match the share, the
    /// custodian, the key generation or the dealing.
    #[error(
        "the key share is not one the patient dealt to this custodian for this key and custodian set"
    )]
    ForeignShare,
    /// Reading or writing a stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Key derivation with the given parameters failed.
    #[error("key derivation failed: {0}")]
    KeyDerivation(String),
}
