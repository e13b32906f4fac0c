//! The gateway's keys: the keystore file, locked until its passphrase opens
//! it. While locked, nothing can be signed, encrypted to the owner or
//! decrypted.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use medigate_crypto::{CryptoError, keys::Identity, keystore};
use parking_lot::RwLock;

use crate::error::GatewayError;

/// The keystore of the gateway's user, locked or unlocked.
#[derive(Clone)]
pub struct Keyring {
    path: PathBuf,
    unlocked: Arc<RwLock<Option<Arc<Identity>>>>,
}

impl Keyring {
    /// A locked keyring over the keystore file at `path`.
    pub fn locked(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            unlocked: Arc::default(),
        }
    }

    /// The keystore file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the keystore with `passphrase`; the keys stay in memory until
    /// [`Keyring::lock`]. Argon2id makes this take a moment: run it off the
    /// async threads.
    pub fn unlock(&self, passphrase: &str) -> Result<Arc<Identity>, GatewayError> {
        let identity = keystore::load(&self.path, passphrase).map_err(|error| match error {
            CryptoError::WrongPassphrase => {
                GatewayError::WrongPassphrase(self.path.display().to_string())
            }
            other => GatewayError::Keystore(format!("{}: {other}", self.path.display())),
        })?;
        let identity = Arc::new(identity);
        *self.unlocked.write() = Some(identity.clone());
        Ok(identity)
    }

    /// Forgets the keys.
    pub fn lock(&self) {
        *self.unlocked.write() = None;
    }

    /// The unlocked identity, or [`GatewayError::Locked`].
    pub fn identity(&self) -> Result<Arc<Identity>, GatewayError> {
        self.unlocked.read().clone().ok_or(GatewayError::Locked)
    }

    /// Whether the keys are unlocked.
    pub fn is_unlocked(&self) -> bool {
        self.identity().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medigate_testnet::TEST_KEYSTORE;

    #[test]
    fn a_keyring_is_locked_until_the_right_passphrase_opens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("user.keystore");
        let identity = Identity::generate();
        keystore::save(&path, &identity, "right", TEST_KEYSTORE).unwrap();

        let keyring = Keyring::locked(&path);
        assert!(matches!(keyring.identity(), Err(GatewayError::Locked)));
        assert!(matches!(
            keyring.unlock("wrong"),
            Err(GatewayError::WrongPassphrase(_))
        ));
        assert!(!keyring.is_unlocked());
        let opened = keyring.unlock("right").unwrap();
        assert_eq!(*opened.phrase(), *identity.phrase());
        keyring.lock();
        assert!(matches!(keyring.identity(), Err(GatewayError::Locked)));
    }
}
