//! The participants a vault scenario needs on a dev chain: a patient, a
//! doctor attested as a provider, and a vault attested as an organization,
//! with a keystore the vault process opens.

use std::path::Path;

use medigate_chain_client::{
    ChainError, Client, account_id, medigate,
    medigate::runtime_types::{
        medigate_access_policy::terms::{Role, RoleSet},
        medigate_runtime::RuntimeCall,
        pallet_registry::pallet::Call as RegistryCall,
    },
    submit_and_wait,
    subxt::utils::{H256, MultiAddress},
    subxt_signer::sr25519::{Keypair, dev},
};
use medigate_crypto::{keys::Identity, keystore};

/// What a fresh account receives for its registration fee.
const FUNDING: u128 = 1_000_000_000_000_000;

/// Keystore costs for tests: cheap, not for real keys.
pub const TEST_KEYSTORE: keystore::KeystoreParams = keystore::KeystoreParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    parallelism: 1,
};

/// A patient, a doctor and a vault, registered on a dev chain.
pub struct Participants {
    /// The patient (the dev account Bob).
    pub patient: Keypair,
    /// The doctor, attested as a provider.
    pub doctor: Identity,
    /// The vault, attested as an organization.
    pub vault: Identity,
}

impl Participants {
    /// Registers the patient, a new doctor and a new vault on the dev chain
    /// behind `client` (Alice, its sudo key, funds them and appoints Dave as
    /// the board that attests them).
    pub async fn enrol(client: &Client) -> Result<Self, ChainError> {
        let (governance, patient, board) = (dev::alice(), dev::bob(), dev::dave());
        let (doctor, vault) = (Identity::generate(), Identity::generate());
        let (doctor_keypair, vault_keypair) = (doctor.signing_keypair(), vault.signing_keypair());

        for keypair in [&doctor_keypair, &vault_keypair] {
            let transfer = medigate::tx()
                .balances()
                .transfer_keep_alive(MultiAddress::Id(account_id(keypair)), FUNDING);
            submit_and_wait(client, &transfer, &governance).await?;
        }
        for (keypair, identity) in [
            (&patient, None),
            (&doctor_keypair, Some(&doctor)),
            (&vault_keypair, Some(&vault)),
        ] {
            let key = identity.map_or([1; 32], |identity| {
                identity.encryption_secret().public_key().0
            });
            submit_and_wait(client, &medigate::tx().registry().register(key), keypair).await?;
        }
        let appoint = RuntimeCall::Registry(RegistryCall::add_authority {
            authority: account_id(&board),
            roles: RoleSet(1 << Role::Provider as u8 | 1 << Role::Organization as u8),
        });
        submit_and_wait(client, &medigate::tx().sudo().sudo(appoint), &governance).await?;
        let licence = Some(H256::repeat_byte(9));
        let attest_doctor = medigate::tx().registry().attest(
            account_id(&doctor_keypair),
            Role::Provider,
            licence,
            None,
        );
        submit_and_wait(client, &attest_doctor, &board).await?;
        let attest_vault = medigate::tx().registry().attest(
            account_id(&vault_keypair),
            Role::Organization,
            None,
            None,
        );
        submit_and_wait(client, &attest_vault, &board).await?;
        Ok(Self {
            patient,
            doctor,
            vault,
        })
    }

    /// Writes the vault's keystore to `path` under `passphrase`.
    pub fn save_vault_keystore(&self, path: &Path, passphrase: &str) {
        keystore::save(path, &self.vault, passphrase, TEST_KEYSTORE)
            .expect("the vault's keystore is written");
    }
}
