//! The keystore: an identity's mnemonic sealed under a passphrase.
//!
//! File layout (all integers little-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 4 | magic `MGKS` |
//! | 1 | format version, 1 |
//! | 4 | Argon2id memory cost, KiB |
//! | 4 | Argon2id iterations |
//! | 4 | Argon2id parallelism |
//! | 16 | Argon2id salt |
//! | 24 | XChaCha20-Poly1305 nonce |
//! | rest | the sealed mnemonic entropy (16 to 32 bytes) and its 16-byte tag |
//!
//! The key is Argon2id(passphrase, salt); everything before the sealed bytes
//! is authenticated as associated data, so altering the cost parameters is
//! detected like a wrong passphrase.

use std::{fs, io::Write, path::Path};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::{CryptoError, keys::Identity};

const MAGIC: &[u8; 4] = b"MGKS";
const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 4 + 4 + 16 + 24;
/// The most memory a keystore file may ask for (4 GiB): a file is untrusted
/// input and must not be able to exhaust the machine.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 16;

/// How hard the passphrase is to guess: Argon2id's costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeystoreParams {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KeystoreParams {
    /// 64 MiB, 3 passes, 1 lane: about half a second on a laptop core.
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KeystoreParams {
    fn check(&self) -> Result<Params, CryptoError> {
        if self.memory_kib > MAX_MEMORY_KIB
            || self.iterations > MAX_ITERATIONS
            || self.parallelism > MAX_PARALLELISM
        {
            return Err(CryptoError::MalformedKeystore(
                "key-derivation costs beyond what MediGate ever writes",
            ));
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|error| CryptoError::KeyDerivation(error.to_string()))
    }

    fn derive_key(
        &self,
        passphrase: &str,
        salt: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.check()?);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
            .map_err(|error| CryptoError::KeyDerivation(error.to_string()))?;
        Ok(key)
    }
}

/// Seals `identity` under `passphrase`: the bytes of a keystore file.
pub fn seal(
    identity: &Identity,
    passphrase: &str,
    params: KeystoreParams,
) -> Result<Vec<u8>, CryptoError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let mut sealed = Vec::with_capacity(HEADER_LEN + 48);
    sealed.extend_from_slice(MAGIC);
    sealed.push(FORMAT_VERSION);
    sealed.extend_from_slice(&params.memory_kib.to_le_bytes());
    sealed.extend_from_slice(&params.iterations.to_le_bytes());
    sealed.extend_from_slice(&params.parallelism.to_le_bytes());
    sealed.extend_from_slice(&salt);
    sealed.extend_from_slice(&nonce);
    let key = params.derive_key(passphrase, &salt)?;
    let cipher = XChaCha20Poly1305::new((&*key).into());
    let entropy = identity.entropy();
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &entropy,
                aad: &sealed,
            },
        )
        .map_err(|_| CryptoError::KeyDerivation("encryption failed".into()))?;
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// Opens a keystore's bytes with `passphrase`.
pub fn open(sealed: &[u8], passphrase: &str) -> Result<Identity, CryptoError> {
    if sealed.len() < HEADER_LEN {
        return Err(CryptoError::MalformedKeystore("the file is too short"));
    }
    let (header, ciphertext) = sealed.split_at(HEADER_LEN);
    if &header[..4] != MAGIC {
        return Err(CryptoError::MalformedKeystore(
            "it does not start with MGKS",
        ));
    }
    if header[4] != FORMAT_VERSION {
        return Err(CryptoError::MalformedKeystore("an unknown format version"));
    }
    if !(16 + 16..=32 + 16).contains(&ciphertext.len()) {
        return Err(CryptoError::MalformedKeystore(
            "the sealed key has the wrong length",
        ));
    }
    let field = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().expect("4 bytes"));
    let params = KeystoreParams {
        memory_kib: field(5),
        iterations: field(9),
        parallelism: field(13),
    };
    let salt = &header[17..33];
    let nonce = XNonce::try_from(&header[33..57]).expect("24 bytes");
    let key = params.derive_key(passphrase, salt)?;
    let cipher = XChaCha20Poly1305::new((&*key).into());
    let entropy = Zeroizing::new(
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: header,
                },
            )
            .map_err(|_| CryptoError::WrongPassphrase)?,
    );
    Identity::from_entropy(&entropy)
}

/// Writes the sealed `identity` to `path`, readable by its owner only. The
/// file is written beside its final name, synced, then renamed over it, so a
/// crash leaves either the old keystore or the new one, never half of one.
pub fn save(
    path: &Path,
    identity: &Identity,
    passphrase: &str,
    params: KeystoreParams,
) -> Result<(), CryptoError> {
    let sealed = seal(identity, passphrase, params)?;
    let partial = path.with_extension("partial");
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&partial)?;
        file.write_all(&sealed)?;
        file.sync_all()?;
    }
    fs::rename(&partial, path)?;
    if let Some(directory) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        fs::File::open(directory)?.sync_all()?;
    }
    Ok(())
}

/// Reads and opens the keystore at `path`.
pub fn load(path: &Path, passphrase: &str) -> Result<Identity, CryptoError> {
    open(&fs::read(path)?, passphrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap costs: the tests check the format, not the hardness.
    const FAST: KeystoreParams = KeystoreParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn public(identity: &Identity) -> [u8; 32] {
        identity.encryption_secret().public_key().0
    }

    #[test]
    fn the_right_passphrase_opens_what_was_sealed() {
        let identity = Identity::generate();
        let sealed = seal(&identity, "correct horse", FAST).unwrap();
        assert_eq!(
            public(&open(&sealed, "correct horse").unwrap()),
            public(&identity)
        );
    }

    #[test]
    fn a_wrong_passphrase_is_refused() {
        let sealed = seal(&Identity::generate(), "correct horse", FAST).unwrap();
        assert!(matches!(
            open(&sealed, "battery staple"),
            Err(CryptoError::WrongPassphrase)
        ));
    }

    #[test]
    fn every_altered_byte_is_detected() {
        let sealed = seal(&Identity::generate(), "pass", FAST).unwrap();
        for index in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[index] ^= 0x01;
            assert!(open(&altered, "pass").is_err(), "byte {index}");
        }
    }

    #[test]
    fn a_file_asking_for_absurd_costs_is_refused_before_deriving() {
        let mut sealed = seal(&Identity::generate(), "pass", FAST).unwrap();
        sealed[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            open(&sealed, "pass"),
            Err(CryptoError::MalformedKeystore(_))
        ));
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let sealed = seal(&Identity::generate(), "pass", FAST).unwrap();
        assert!(matches!(
            open(&sealed[..10], "pass"),
            Err(CryptoError::MalformedKeystore(_))
        ));
        assert!(matches!(
            open(&sealed[..sealed.len() - 1], "pass"),
            Err(CryptoError::WrongPassphrase)
        ));
        assert!(matches!(
            open(b"{\"json\": true, \"not\": \"a keystore at all\"}", "pass"),
            Err(CryptoError::MalformedKeystore(_))
        ));
    }

    #[test]
    fn save_then_load_round_trips_and_keeps_the_file_private() {
        let directory =
            std::env::temp_dir().join(format!("medigate-keystore-{}", std::process::id()));
        fs::create_dir_all(&directory).unwrap();
        let path = directory.join("patient.keystore");
        let identity = Identity::generate();
        save(&path, &identity, "pass", FAST).unwrap();
        assert_eq!(public(&load(&path, "pass").unwrap()), public(&identity));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(!path.with_extension("partial").exists());
        fs::remove_dir_all(&directory).unwrap();
    }
}
