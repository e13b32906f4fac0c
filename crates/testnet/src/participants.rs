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
    subxt::utils::{AccountId32, H256, MultiAddress},
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
            roles: RoleSet(1 << Role::Provider as u8 | 1 << Role::Vault as u8),
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
        let attest_vault =
            medigate::tx()
                .registry()
                .attest(account_id(&vault_keypair), Role::Vault, None, None);
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

/// Every role a board can attest.
const ALL_ROLES: [Role; 7] = [
    Role::Provider,
    Role::Organization,
    Role::EmergencyResponder,
    Role::Researcher,
    Role::Insurer,
    Role::Custodian,
    Role::Vault,
];

/// Sends `account` enough for its registration fee (from Alice, the dev
/// chain's sudo key).
pub async fn fund(client: &Client, account: &AccountId32) -> Result<(), ChainError> {
    let transfer = medigate::tx()
        .balances()
        .transfer_keep_alive(MultiAddress::Id(account.clone()), FUNDING);
    submit_and_wait(client, &transfer, &dev::alice()).await?;
    Ok(())
}

/// Appoints Dave, by sudo, as an authority that attests every role.
pub async fn appoint_board(client: &Client) -> Result<(), ChainError> {
    let roles = ALL_ROLES
        .iter()
        .fold(0u8, |bits, role| bits | 1 << role.clone() as u8);
    let appoint = RuntimeCall::Registry(RegistryCall::add_authority {
        authority: account_id(&dev::dave()),
        roles: RoleSet(roles),
    });
    submit_and_wait(client, &medigate::tx().sudo().sudo(appoint), &dev::alice()).await?;
    Ok(())
}

/// Attests `account` in `role`, signed by the board [`appoint_board`] made.
pub async fn attest(client: &Client, account: &AccountId32, role: Role) -> Result<(), ChainError> {
    let licence = matches!(role, Role::Provider).then(|| H256::repeat_byte(9));
    let attest = medigate::tx()
        .registry()
        .attest(account.clone(), role, licence, None);
    submit_and_wait(client, &attest, &dev::dave()).await?;
    Ok(())
}
