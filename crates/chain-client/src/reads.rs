//! Reads of the chain's state at the best block: its clock, balances,
//! participants, anchors, delegates and attestations.

use crate::{
    ChainError, Client, HttpRpc, medigate,
    medigate::runtime_types::{medigate_access_policy::terms::Role, pallet_records::RecordAnchor},
};
use subxt::{
    ext::codec::Decode,
    utils::{AccountId32, H256},
};

/// The chain as of one block.
pub(crate) type AtBlock = subxt::client::OnlineClientAtBlock<crate::MediGateConfig>;

/// An anchor as read from the chain.
pub type ChainAnchor = RecordAnchor<AccountId32, u32>;

fn storage_error(item: &'static str) -> impl Fn(String) -> ChainError {
    move |reason| ChainError::Storage { item, reason }
}

/// The chain's time at the best block, in milliseconds since the Unix epoch
/// (the time consent windows are checked against).
pub async fn chain_time(client: &Client) -> Result<u64, ChainError> {
    let storage_error = storage_error("Timestamp.Now");
    client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?
        .storage()
        .entry(medigate::storage().timestamp().now())
        .map_err(|error| storage_error(error.to_string()))?
        .fetch(())
        .await
        .map_err(|error| storage_error(error.to_string()))?
        .decode()
        .map_err(|error| storage_error(error.to_string()))
}

/// The free balance of `account` at the best block (zero for an account the
/// chain does not know).
pub async fn free_balance(client: &Client, account: &AccountId32) -> Result<u128, ChainError> {
    let address = medigate::storage().system().account();
    Ok(
        fetch_entry(client, address, (account.clone(),), "System.Account")
            .await?
            .map_or(0, |info| info.data.free),
    )
}

/// Reads one entry of a storage map at the best block: `None` when absent.
async fn fetch_entry<Address: subxt::storage::Address>(
    client: &Client,
    address: Address,
    key: Address::KeyParts,
    item: &'static str,
) -> Result<Option<Address::Value>, ChainError> {
    let at_block = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
    fetch_entry_at(&at_block, address, key, item).await
}

/// Reads one entry of a storage map at `at_block`: `None` when absent.
async fn fetch_entry_at<Address: subxt::storage::Address>(
    at_block: &AtBlock,
    address: Address,
    key: Address::KeyParts,
    item: &'static str,
) -> Result<Option<Address::Value>, ChainError> {
    let storage_error = storage_error(item);
    let value = at_block
        .storage()
        .entry(address)
        .map_err(|error| storage_error(error.to_string()))?
        .try_fetch(key)
        .await
        .map_err(|error| storage_error(error.to_string()))?;
    value
        .map(|value| {
            value
                .decode()
                .map_err(|error| storage_error(error.to_string()))
        })
        .transpose()
}

/// Whether `account` is a registered participant, at the best block.
pub async fn is_registered(client: &Client, account: &AccountId32) -> Result<bool, ChainError> {
    let address = medigate::storage().registry().participants();
    Ok(
        fetch_entry(client, address, (account.clone(),), "Registry.Participants")
            .await?
            .is_some(),
    )
}

/// The open sponsorship of `account` at the best block: its sponsor and the
/// block from which it no longer counts; `None` when it has none that still
/// counts (never sponsored, registered since, or ended).
pub async fn sponsorship(
    client: &Client,
    account: &AccountId32,
) -> Result<Option<(AccountId32, u32)>, ChainError> {
    let at_block = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
    let best = at_block.block_number();
    let address = medigate::storage().registry().sponsorships();
    let found = fetch_entry_at(
        &at_block,
        address,
        (account.clone(),),
        "Registry.Sponsorships",
    )
    .await?;
    // A transaction sent now goes into the next block, which must be
    // before the end.
    Ok(found.filter(|(_, until)| u64::from(*until) > best + 1))
}

/// Whether `account` is an authority (appointed by governance to attest
/// roles), at the best block.
pub async fn is_authority(client: &Client, account: &AccountId32) -> Result<bool, ChainError> {
    let address = medigate::storage().registry().authorities();
    Ok(
        fetch_entry(client, address, (account.clone(),), "Registry.Authorities")
            .await?
            .is_some(),
    )
}

/// The nonce of `account` at the finalized block: how many of its
/// transactions are final (zero for an account the chain does not know).
pub async fn final_nonce(client: &Client, account: &AccountId32) -> Result<u64, ChainError> {
    let at_block = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
    nonce_at(&at_block, account).await
}

/// The nonce of `account` at `at_block`: how many of its transactions that
/// block's state counts.
pub(crate) async fn nonce_at(at_block: &AtBlock, account: &AccountId32) -> Result<u64, ChainError> {
    let address = medigate::storage().system().account();
    Ok(
        fetch_entry_at(at_block, address, (account.clone(),), "System.Account")
            .await?
            .map_or(0, |info| u64::from(info.nonce)),
    )
}

/// The anchor of `patient`'s record `content_id` at the best block, if it
/// is anchored to them and not erased. Content ids are the patient's own:
/// the same id anchored by someone else to their records is another anchor.
pub async fn anchor(
    client: &Client,
    patient: &AccountId32,
    content_id: H256,
) -> Result<Option<ChainAnchor>, ChainError> {
    let address = medigate::storage().records().anchors();
    fetch_entry(
        client,
        address,
        (patient.clone(), content_id),
        "Records.Anchors",
    )
    .await
}

/// Storage keys asked in one `state_queryStorageAt` request: about 100 KB
/// of request and 400 KB of answer for anchors.
const KEYS_PER_QUERY: usize = 1000;

/// The anchors of many of `patient`'s records (each `None` if not anchored
/// to them, or erased), in the order asked, all read at the same block: one
/// `state_queryStorageAt` request through `rpc` per thousand records,
/// rather than one request each. `client` and `rpc` must speak to the same
/// node.
pub async fn anchors(
    client: &Client,
    rpc: &HttpRpc,
    patient: &AccountId32,
    content_ids: &[H256],
) -> Result<Vec<Option<ChainAnchor>>, ChainError> {
    anchors_at(client, rpc, patient, content_ids, None).await
}

/// [`anchors`] at the node's best block rather than the finalized one:
/// anchors included there may still be retracted.
pub async fn best_anchors(
    client: &Client,
    rpc: &HttpRpc,
    patient: &AccountId32,
    content_ids: &[H256],
) -> Result<Vec<Option<ChainAnchor>>, ChainError> {
    let answer = rpc
        .request("chain_getBlockHash", None)
        .await
        .map_err(|error| storage_error("the best block's hash")(error.to_string()))?;
    let best: H256 = serde_json::from_str(answer.get())
        .map_err(|error| storage_error("the best block's hash")(error.to_string()))?;
    anchors_at(client, rpc, patient, content_ids, Some(best)).await
}

/// [`anchors`] at block `at`, or at the finalized block.
async fn anchors_at(
    client: &Client,
    rpc: &HttpRpc,
    patient: &AccountId32,
    content_ids: &[H256],
    at: Option<H256>,
) -> Result<Vec<Option<ChainAnchor>>, ChainError> {
    if content_ids.is_empty() {
        return Ok(Vec::new());
    }
    let storage_error = storage_error("Records.Anchors");
    let at_block = client
        .at_current_block()
        .await
        .map_err(|error| ChainError::BestBlock(Box::new(error)))?;
    let entry = at_block
        .storage()
        .entry(medigate::storage().records().anchors())
        .map_err(|error| storage_error(error.to_string()))?;
    let keys = content_ids
        .iter()
        .map(|content_id| entry.fetch_key((patient.clone(), *content_id)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| storage_error(error.to_string()))?;
    let at = at.unwrap_or_else(|| at_block.block_hash());
    let values = futures::future::try_join_all(
        keys.chunks(KEYS_PER_QUERY)
            .map(|chunk| values_at(rpc, chunk, at, "Records.Anchors")),
    )
    .await?;
    values
        .into_iter()
        .flatten()
        .map(|value| {
            value
                .map(|bytes| {
                    ChainAnchor::decode(&mut bytes.as_slice())
                        .map_err(|error| storage_error(error.to_string()))
                })
                .transpose()
        })
        .collect()
}

/// The values of the storage `keys` of `item` at block `at`, in the order
/// asked (`None` where there is none), through one `state_queryStorageAt`
/// request.
async fn values_at(
    rpc: &HttpRpc,
    keys: &[Vec<u8>],
    at: H256,
    item: &'static str,
) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
    /// One block's answer: each key asked, with its value if any.
    #[derive(serde::Deserialize)]
    struct ChangeSet {
        changes: Vec<(String, Option<String>)>,
    }
    let storage_error = storage_error(item);
    let hex_keys: Vec<String> = keys
        .iter()
        .map(|key| format!("0x{}", hex::encode(key)))
        .collect();
    let params = serde_json::value::to_raw_value(&(&hex_keys, format!("0x{}", hex::encode(at.0))))
        .expect("keys and a hash serialize");
    let answer = rpc
        .request("state_queryStorageAt", Some(&params))
        .await
        .map_err(|error| storage_error(error.to_string()))?;
    let sets: Vec<ChangeSet> =
        serde_json::from_str(answer.get()).map_err(|error| storage_error(error.to_string()))?;
    let mut found: std::collections::HashMap<String, String> = sets
        .into_iter()
        .flat_map(|set| set.changes)
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .collect();
    hex_keys
        .iter()
        .map(|key| {
            found
                .remove(key)
                .map(|value| {
                    hex::decode(value.trim_start_matches("0x"))
                        .map_err(|error| storage_error(format!("a value not in hex: {error}")))
                })
                .transpose()
        })
        .collect()
}

/// Whether `patient`'s record `content_id` was erased (a tombstone stands
/// in its anchor's place).
pub async fn is_erased(
    client: &Client,
    patient: &AccountId32,
    content_id: H256,
) -> Result<bool, ChainError> {
    let address = medigate::storage().records().tombstones();
    Ok(fetch_entry(
        client,
        address,
        (patient.clone(), content_id),
        "Records.Tombstones",
    )
    .await?
    .is_some())
}

/// Whether `account` manages `patient`'s consent as a delegate.
pub async fn is_delegate(
    client: &Client,
    patient: &AccountId32,
    account: &AccountId32,
) -> Result<bool, ChainError> {
    let address = medigate::storage().consent().delegates();
    Ok(fetch_entry(
        client,
        address,
        (patient.clone(), account.clone()),
        "Consent.Delegates",
    )
    .await?
    .is_some())
}

/// The chain's own type of `role`, for the calls and storage that name a
/// role (the codes are the same: a test below compares their encodings).
pub fn chain_role(role: medigate_access_policy::Role) -> Role {
    use medigate_access_policy::Role as Policy;
    match role {
        Policy::Provider => Role::Provider,
        Policy::Organization => Role::Organization,
        Policy::EmergencyResponder => Role::EmergencyResponder,
        Policy::Researcher => Role::Researcher,
        Policy::Insurer => Role::Insurer,
        Policy::Custodian => Role::Custodian,
        Policy::Vault => Role::Vault,
    }
}

/// Whether `account` holds a current attestation of `role`.
pub async fn holds_role(
    client: &Client,
    account: &AccountId32,
    role: Role,
) -> Result<bool, ChainError> {
    let address = medigate::storage().registry().attestations();
    let attestation = fetch_entry(
        client,
        address,
        (account.clone(), role),
        "Registry.Attestations",
    )
    .await?;
    Ok(attestation.is_some_and(|attestation| attestation.revoked_at.is_none()))
}

/// A grant as read from the chain.
pub type ChainGrant = medigate::runtime_types::medigate_access_policy::decision::GrantTerms<
    AccountId32,
    medigate::runtime_types::bounded_collections::bounded_vec::BoundedVec<H256>,
    u64,
>;

/// A pending access request as read from the chain.
pub type ChainRequest = medigate::runtime_types::pallet_consent::PendingRequest<
    AccountId32,
    medigate::runtime_types::medigate_access_policy::terms::Scope<
        medigate::runtime_types::bounded_collections::bounded_vec::BoundedVec<H256>,
    >,
    u32,
>;

/// The current X25519 encryption key of `account`, if it is registered.
pub async fn encryption_key(
    client: &Client,
    account: &AccountId32,
) -> Result<Option<[u8; 32]>, ChainError> {
    let address = medigate::storage().registry().participants();
    Ok(
        fetch_entry(client, address, (account.clone(),), "Registry.Participants")
            .await?
            .map(|participant| participant.encryption_key),
    )
}

/// The grant `grant`, if it exists (revoked grants stay, marked revoked).
pub async fn grant(client: &Client, grant: u64) -> Result<Option<ChainGrant>, ChainError> {
    let address = medigate::storage().consent().grants();
    fetch_entry(client, address, (grant,), "Consent.Grants").await
}

/// The access request `request`, while it waits for an answer.
pub async fn pending_request(
    client: &Client,
    request: u64,
) -> Result<Option<ChainRequest>, ChainError> {
    let address = medigate::storage().consent().requests();
    fetch_entry(client, address, (request,), "Consent.Requests").await
}

/// A patient's emergency policy as read from the chain.
pub type ChainEmergencyPolicy =
    medigate::runtime_types::pallet_emergency::EmergencyPolicy<AccountId32>;

/// A break-glass as read from the chain.
pub type ChainBreakGlass = medigate::runtime_types::pallet_emergency::BreakGlass<AccountId32>;

/// The emergency policy of `patient`, if they set one.
pub async fn emergency_policy(
    client: &Client,
    patient: &AccountId32,
) -> Result<Option<ChainEmergencyPolicy>, ChainError> {
    let address = medigate::storage().emergency().policies();
    fetch_entry(client, address, (patient.clone(),), "Emergency.Policies").await
}

/// The content id of `patient`'s current emergency summary, if they have one.
pub async fn emergency_summary(
    client: &Client,
    patient: &AccountId32,
) -> Result<Option<H256>, ChainError> {
    let address = medigate::storage().emergency().summaries();
    fetch_entry(client, address, (patient.clone(),), "Emergency.Summaries").await
}

/// Whether receipt `index` of audit batch `batch` was proven forged.
pub async fn is_proven_forged(client: &Client, batch: u64, index: u32) -> Result<bool, ChainError> {
    let address = medigate::storage().audit().forged_receipts();
    let reporter: Option<AccountId32> =
        fetch_entry(client, address, (batch, index), "Audit.ForgedReceipts").await?;
    Ok(reporter.is_some())
}

/// Break-glass `id`, if it exists.
pub async fn break_glass(client: &Client, id: u64) -> Result<Option<ChainBreakGlass>, ChainError> {
    let address = medigate::storage().emergency().break_glasses();
    fetch_entry(client, address, (id,), "Emergency.BreakGlasses").await
}

/// The custodians of emergency key shares and how many must release theirs
/// (none and 0 until governance names them).
pub async fn custodian_set(client: &Client) -> Result<(Vec<AccountId32>, u8), ChainError> {
    let custodians = fetch_entry(
        client,
        medigate::storage().emergency().custodians(),
        (),
        "Emergency.Custodians",
    )
    .await?;
    let threshold = fetch_entry(
        client,
        medigate::storage().emergency().threshold(),
        (),
        "Emergency.Threshold",
    )
    .await?;
    Ok((
        custodians.map(|list| list.0).unwrap_or_default(),
        threshold.unwrap_or_default(),
    ))
}

/// The latest break-glass of `responder` on `patient`'s records (id, purpose,
/// opening and end), running or not.
pub async fn latest_break_glass(
    client: &Client,
    patient: &AccountId32,
    responder: &AccountId32,
) -> Result<Option<medigate::runtime_types::pallet_emergency::OpenGrant>, ChainError> {
    let address = medigate::storage().emergency().latest();
    fetch_entry(
        client,
        address,
        (patient.clone(), responder.clone()),
        "Emergency.Latest",
    )
    .await
}

#[cfg(test)]
mod tests {
    use codec::Encode;

    use super::chain_role;

    #[test]
    fn every_role_has_the_chains_code() {
        for role in medigate_access_policy::Role::ALL {
            assert_eq!(chain_role(role).encode(), role.encode(), "{role:?}");
        }
    }
}
