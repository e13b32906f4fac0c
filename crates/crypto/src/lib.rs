//! MediGate's cryptography, with as few ways to misuse it as we could manage.
//!
//! - [`keys`]: an [`Identity`](keys::Identity) from a BIP-39 mnemonic: the
//!   chain signing key (sr25519, as Substrate wallets derive it) and the X25519
//!   encryption key, derived apart with domain separation.
//! - [`keystore`]: the mnemonic sealed under a passphrase (Argon2id +
//!   XChaCha20-Poly1305), as a file.
//! - [`record`]: record encryption: a fresh key per record version,
//!   XChaCha20-Poly1305 in 64 KiB chunks (STREAM), streaming both ways, the
//!   record id, version and owner bound as associated data. The envelope format
//!   is specified in `crates/crypto/ENVELOPE.md`.
//! - [`wrap`]: a record key sealed to a grantee's X25519 key with HPKE
//!   (RFC 9180), bound to the content id, the grantee and the grant.
//! - [`request`]: vault requests signed with the chain key, covering method,
//!   path, body hash, timestamp and nonce.
//! - [`shares`]: Shamir k-of-n sharing of 32-byte keys (emergency and
//!   recovery keys), and shares sealed to their holder;
//! - [`card`]: the offline emergency card (a patient, their emergency key,
//!   the vault holding their summary);
//! - [`note`]: small private values a gateway keeps about its user's own
//!   actions, sealed under a key of the user's seed.
//!
//! Secrets zeroize when dropped; errors say what failed, never why a secret
//! did not match.

pub mod card;
pub mod keys;
pub mod keystore;
pub mod note;
pub mod record;
pub mod request;
pub mod shares;
pub mod wrap;

mod error;

pub use error::CryptoError;
