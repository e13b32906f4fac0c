//! A runtime for the audit tests: registry and audit, sr25519 accounts
//! signing their reads as on the real chain; `vault()` is an attested vault,
//! `other_vault()` only an organization.

use crate as pallet_audit;
use frame_support::{derive_impl, traits::ConstU32};
use frame_system::EnsureRoot;
use medigate_access_policy::{Role, RoleSet};
use sp_core::{Pair as _, sr25519};
use sp_runtime::{AccountId32, BuildStorage, traits::IdentityLookup};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Registry: pallet_registry,
        Audit: pallet_audit,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId32;
    type Lookup = IdentityLookup<AccountId32>;
}

impl pallet_registry::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = EnsureRoot<AccountId32>;
    type SponsorshipPeriod = frame_support::traits::ConstU64<10>;
    type MaxSponsorships = frame_support::traits::ConstU32<3>;
    type MaxKeyHistory = frame_support::traits::ConstU32<4>;
    type WeightInfo = ();
}

/// The most receipts per batch in the mock.
pub const MAX_RECEIPTS: u32 = 8;

impl pallet_audit::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type RequestSignature = crate::Sr25519RequestSignature;
    type MaxReceiptsPerBatch = ConstU32<MAX_RECEIPTS>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = Signer;
}

/// The key pair named `name` (`//name`).
pub fn pair(name: &str) -> sr25519::Pair {
    sr25519::Pair::from_string(&format!("//{name}"), None).expect("a valid derivation")
}

/// The account of key pair `name`.
pub fn account(name: &str) -> AccountId32 {
    pair(name).public().into()
}

/// The patient.
pub fn patient() -> AccountId32 {
    account("patient")
}

/// The doctor, who reads.
pub fn doctor() -> AccountId32 {
    account("doctor")
}

/// The attested vault.
pub fn vault() -> AccountId32 {
    account("vault")
}

/// An organization that is not attested as a vault.
pub fn other_vault() -> AccountId32 {
    account("other-vault")
}

/// Signs the benchmarks' reads with key pairs `//accessor{index}`.
#[cfg(feature = "runtime-benchmarks")]
pub struct Signer;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_audit::BenchmarkHelper<AccountId32, crate::Sr25519RequestSignature> for Signer {
    fn signed(index: u32, message: &[u8]) -> (AccountId32, crate::Sr25519RequestSignature) {
        let pair = pair(&format!("accessor{index}"));
        (
            pair.public().into(),
            crate::Sr25519RequestSignature(pair.sign(message).0),
        )
    }
}

/// Patient, doctor and two vaults registered; only `vault()` is attested as
/// a vault, `other_vault()` as an organization.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| {
        System::set_block_number(1);
        for (number, account) in [patient(), doctor(), vault(), other_vault()]
            .into_iter()
            .enumerate()
        {
            Registry::register(RuntimeOrigin::signed(account), [number as u8; 32]).unwrap();
        }
        let board = account("board");
        Registry::add_authority(
            RuntimeOrigin::root(),
            board.clone(),
            RoleSet::empty().with(Role::Organization).with(Role::Vault),
        )
        .unwrap();
        for (account, role) in [(vault(), Role::Vault), (other_vault(), Role::Organization)] {
            Registry::attest(
                RuntimeOrigin::signed(board.clone()),
                account,
                role,
                None,
                None,
            )
            .unwrap();
        }
    });
    ext
}
