//! The on-chain core on a real dev node, through the generated client: a
//! patient and a provider register, the patient anchors a record, the
//! provider asks for access, the patient approves, the chain's `check_access`
//! allows the read; after revocation it denies it; a vault commits the access
//! receipt and the receipt is provable against the committed batch root.
//! Participants pay no fees for these calls, up to their budget per window;
//! strangers pay; a flood of participants' calls does not hold back a
//! patient's revocation.

use medigate_chain_client::{
    AccessChecker, AccessQuestion, ChainError, Client, MediGateConfig, account_id as account,
    anchor as read_anchor, anchors as read_anchors, chain_time, connect_http, free_balance,
    is_registered,
    medigate::{
        self,
        runtime_types::{
            bounded_collections::bounded_vec::BoundedVec,
            medigate_access_policy::{
                decision::Reason,
                terms::{Action, ActionSet, Category, CategorySet, Purpose, Role, RoleSet, Scope},
            },
            medigate_runtime::RuntimeCall,
            pallet_audit::{AccessReceipt, RequestEvidence, Sr25519RequestSignature},
            pallet_records::AnchorRequest,
            pallet_registry::pallet::Call as RegistryCall,
        },
    },
    submit_and_wait,
    subxt::{
        extrinsics::ExtrinsicEvents,
        tx::Payload,
        utils::{AccountId32, H256},
    },
    subxt_signer::sr25519::{Keypair, dev},
};
use medigate_testnet::DevNode;

const NODE: &str = env!("CARGO_BIN_EXE_medigate-node");

/// Signs `call` with `signer`, waits for finality and fails on any error.
async fn submit<Call: Payload>(
    client: &Client,
    call: &Call,
    signer: &Keypair,
) -> ExtrinsicEvents<MediGateConfig> {
    submit_and_wait(client, call, signer)
        .await
        .expect("the transaction succeeds in a finalised block")
}

/// Governance (sudo on the dev chain) appoints `board` an authority for the
/// roles of `attested`, and the board attests each (a provider with a
/// licence commitment).
async fn attest_by_board(
    client: &Client,
    (governance, board): (&Keypair, &Keypair),
    attested: &[(&Keypair, Role)],
) {
    let roles = attested
        .iter()
        .fold(0u8, |roles, (_, role)| roles | 1 << role.clone() as u8);
    let appoint = RuntimeCall::Registry(RegistryCall::add_authority {
        authority: account(board),
        roles: RoleSet(roles),
    });
    submit(client, &medigate::tx().sudo().sudo(appoint), governance).await;
    for (keypair, role) in attested {
        let licence = matches!(role, Role::Provider).then(|| H256::repeat_byte(9));
        submit(
            client,
            &medigate::tx()
                .registry()
                .attest(account(keypair), role.clone(), licence, None),
            board,
        )
        .await;
    }
}

/// A fresh dev node that finalises, and a client connected to it.
async fn start_dev_node() -> (DevNode, Client) {
    DevNode::start_connected(NODE)
        .await
        .expect("the dev node starts and finalises")
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_gates_access_and_every_access_is_provable() {
    let (mut node, client) = start_dev_node().await;
    let (governance, patient, doctor, board, vault) = (
        dev::alice(),
        dev::bob(),
        dev::charlie(),
        dev::dave(),
        dev::eve(),
    );

    // Everyone registers with an encryption key; governance (sudo on the dev
    // chain) appoints a board that attests the doctor and the vault.
    for (keypair, key) in [(&patient, [1u8; 32]), (&doctor, [2; 32]), (&vault, [3; 32])] {
        submit(&client, &medigate::tx().registry().register(key), keypair).await;
    }
    attest_by_board(
        &client,
        (&governance, &board),
        &[(&doctor, Role::Provider), (&vault, Role::Vault)],
    )
    .await;

    // From here on, every call of the patient, the doctor and the vault is a
    // registered participant's MediGate call: fee-less.
    let balances_before = balances(&client, [&patient, &doctor, &vault]).await;

    // The patient anchors a lab result (its content id is the hash of its ciphertext).
    let record = H256::repeat_byte(0x42);
    let anchor = AnchorRequest {
        content_id: record,
        category: Category::Labs,
        size: 4096,
        previous: None,
    };
    submit(
        &client,
        &medigate::tx().records().anchor(account(&patient), anchor),
        &patient,
    )
    .await;

    // Asked as a vault asks: the consent API over HTTP, no transaction.
    let checker = AccessChecker::new(&node.process().http_url()).unwrap();
    let check = |action: Action| {
        let checker = checker.clone();
        let (doctor, patient) = (account(&doctor), account(&patient));
        async move {
            checker
                .check_access(&doctor, &patient, record, Purpose::Treatment, action)
                .await
                .expect("check_access answers")
        }
    };
    let before = check(Action::Read).await;
    assert!(!before.allowed, "default deny: {before:?}");
    assert!(matches!(before.reason, Reason::NoGrant));

    // The doctor asks; the patient approves for an hour.
    let labs = Scope::Categories(CategorySet(1 << Category::Labs as u16));
    let events = submit(
        &client,
        &medigate::tx().consent().request_access(
            account(&patient),
            labs,
            Purpose::Treatment,
            ActionSet(1),
            H256::repeat_byte(7),
        ),
        &doctor,
    )
    .await;
    let requested = events
        .find_first::<medigate::consent::events::AccessRequested>()
        .unwrap()
        .expect("AccessRequested");
    let now = chain_time(&client).await.unwrap();
    let events = submit(
        &client,
        &medigate::tx()
            .consent()
            .approve_request(requested.request, None, now + 3_600_000),
        &patient,
    )
    .await;
    let granted = events
        .find_first::<medigate::consent::events::AccessGranted>()
        .unwrap()
        .expect("AccessGranted");

    let allowed = check(Action::Read).await;
    assert!(allowed.allowed, "{allowed:?}");
    assert_eq!(allowed.grant, Some(granted.grant));
    assert!(
        !check(Action::Write).await.allowed,
        "a read grant allows no write"
    );
    // Many questions in one call get the same answers, in order.
    let question = |accessor: &Keypair, purpose: Purpose, action: Action| AccessQuestion {
        accessor: account(accessor),
        patient: account(&patient),
        record,
        purpose,
        action,
    };
    let answers = checker
        .check_access_many(&[
            question(&doctor, Purpose::Treatment, Action::Write),
            question(&doctor, Purpose::Treatment, Action::Read),
            question(&doctor, Purpose::Research, Action::Read),
            question(&vault, Purpose::Treatment, Action::Read),
        ])
        .await
        .expect("check_access_many answers");
    let allowed_answers: Vec<bool> = answers.iter().map(|answer| answer.allowed).collect();
    assert_eq!(allowed_answers, [false, true, false, false]);
    assert_eq!(answers[1].grant, Some(granted.grant));

    // Reads over HTTP see the same chain as the WebSocket client.
    let reads = connect_http(&node.process().http_url()).await.unwrap();
    assert!(is_registered(&reads, &account(&doctor)).await.unwrap());
    assert!(
        !is_registered(&reads, &AccountId32([0xee; 32]))
            .await
            .unwrap()
    );
    let anchored = read_anchor(&reads, &account(&patient), record)
        .await
        .unwrap()
        .expect("the anchor");
    assert_eq!(anchored.owner, account(&patient));
    // Many anchors are read at once, in the order asked, with `None` for an
    // id the chain does not anchor.
    let unknown = H256([0xee; 32]);
    let many = read_anchors(
        &reads,
        checker.rpc(),
        &account(&patient),
        &[unknown, record, unknown],
    )
    .await
    .unwrap();
    assert_eq!(
        many.iter()
            .map(|found| found.as_ref().map(|anchor| anchor.owner.clone()))
            .collect::<Vec<_>>(),
        [None, Some(account(&patient)), None]
    );
    assert!(
        read_anchors(&reads, checker.rpc(), &account(&patient), &[])
            .await
            .unwrap()
            .is_empty()
    );

    // Revocation denies at once.
    submit(
        &client,
        &medigate::tx().consent().revoke_grant(granted.grant),
        &patient,
    )
    .await;
    let revoked = check(Action::Read).await;
    assert!(!revoked.allowed);
    assert!(matches!(revoked.reason, Reason::Revoked));

    // The vault commits the receipt of the read it served while allowed,
    // with the doctor's signature of the read.
    let (signed_at, nonce) = (now + 990, [0x5a; 16]);
    let read = medigate_protocol::request::read_message(
        &account(&vault).0,
        &record.0,
        &account(&patient).0,
        medigate_access_policy::Purpose::Treatment,
        signed_at,
        &nonce,
    );
    let signature = doctor.sign(&read).0;
    let receipt = AccessReceipt {
        accessor: account(&doctor),
        patient: account(&patient),
        record,
        purpose: Purpose::Treatment,
        action: Action::Read,
        grant: Some(granted.grant),
        vault: account(&vault),
        accessed_at: now + 1_000,
        request: RequestEvidence {
            signed_at,
            nonce,
            signature: Sr25519RequestSignature(signature),
        },
    };
    let events = submit(
        &client,
        &medigate::tx()
            .audit()
            .commit_receipts(BoundedVec(vec![receipt.clone()])),
        &vault,
    )
    .await;
    let recorded = events
        .find_first::<medigate::audit::events::AccessRecorded>()
        .unwrap()
        .expect("AccessRecorded");
    assert_eq!(
        recorded.receipt.patient,
        account(&patient),
        "the patient finds the access in the events"
    );
    let committed = events
        .find_first::<medigate::audit::events::BatchCommitted>()
        .unwrap()
        .expect("BatchCommitted");

    assert_eq!(
        balances(&client, [&patient, &doctor, &vault]).await,
        balances_before,
        "participants paid no fees for their calls"
    );

    // An account not attested as a vault commits no receipt at all.
    let commit = |receipt| {
        medigate::tx()
            .audit()
            .commit_receipts(BoundedVec(vec![receipt]))
    };
    let mut own = receipt.clone();
    own.vault = account(&doctor);
    let refused = submit_and_wait(&client, &commit(own), &doctor).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("NotAVault")),
        "{refused:?}"
    );

    // The same receipt, as the audit pallet encodes it, is provable against the root on chain.
    let native = pallet_audit::AccessReceipt {
        accessor: sp_account(&doctor),
        patient: sp_account(&patient),
        record: sp_core_h256(record),
        purpose: medigate_access_policy::Purpose::Treatment,
        action: medigate_access_policy::Action::Read,
        grant: Some(granted.grant),
        vault: sp_account(&vault),
        accessed_at: now + 1_000,
        request: pallet_audit::RequestEvidence {
            signed_at,
            nonce,
            signature: pallet_audit::Sr25519RequestSignature(signature),
        },
    };
    // A batch of one: its root is the hash of the receipt's encoding, so equal
    // roots mean the client and the chain encode receipts alike.
    assert_eq!(
        pallet_audit::receipts_root(std::slice::from_ref(&native)),
        sp_core_h256(committed.root)
    );
    let path = pallet_audit::merkle_path(std::slice::from_ref(&native), 0);
    let root = sp_core_h256(committed.root);
    assert!(pallet_audit::verify_path(
        &root,
        committed.receipts,
        recorded.index,
        &native,
        path.clone()
    ));
    let mut forged = native.clone();
    forged.accessor = sp_account(&vault);
    assert!(!pallet_audit::verify_path(
        &root,
        committed.receipts,
        recorded.index,
        &forged,
        path
    ));

    // Nobody can frame the doctor: a vault's receipt of a read the doctor
    // did not sign (their signature, moved to another record) is proven
    // forged by the doctor from the chain's own record of it, and the vault
    // loses its attestation; a genuine receipt cannot be passed off as
    // forged.
    let report = |batch: u64, receipt: medigate_chain_client::Receipt| {
        // A batch of one receipt: its Merkle path is empty.
        medigate::tx()
            .audit()
            .report_forged_receipt(batch, 0, receipt, BoundedVec(Vec::new()))
    };
    let refused =
        submit_and_wait(&client, &report(committed.batch, receipt.clone()), &doctor).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("SignedByAccessor")),
        "{refused:?}"
    );
    let mut framed = receipt.clone();
    framed.record = H256::repeat_byte(0x43);
    let events = submit(&client, &commit(framed.clone()), &vault).await;
    let framing = events
        .find_first::<medigate::audit::events::BatchCommitted>()
        .unwrap()
        .expect("BatchCommitted");
    let events = submit(&client, &report(framing.batch, framed.clone()), &doctor).await;
    let proven = events
        .find_first::<medigate::audit::events::ReceiptProvenForged>()
        .unwrap()
        .expect("ReceiptProvenForged");
    assert_eq!(
        (proven.batch, proven.vault.clone(), proven.accessor.clone()),
        (framing.batch, account(&vault), account(&doctor))
    );
    assert!(proven.vault_attestation_ended);
    let refused = submit_and_wait(&client, &report(framing.batch, framed), &doctor).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("AlreadyProvenForged")),
        "{refused:?}"
    );
    let refused = submit_and_wait(&client, &commit(receipt), &vault).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("NotAVault")),
        "a vault caught forging commits no more: {refused:?}"
    );
}

/// The free balances of `keypairs`' accounts at the best block.
async fn balances<const N: usize>(client: &Client, keypairs: [&Keypair; N]) -> [u128; N] {
    let mut found = [0; N];
    for (balance, keypair) in found.iter_mut().zip(keypairs) {
        *balance = free_balance(client, &account(keypair)).await.unwrap();
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn fee_less_calls_stop_at_the_budget_and_strangers_pay() {
    let (_node, client) = start_dev_node().await;
    let (patient, stranger) = (dev::bob(), dev::ferdie());

    // Registering costs a fee: the newcomer is not yet a participant.
    let [before_registering] = balances(&client, [&patient]).await;
    submit(
        &client,
        &medigate::tx().registry().register([1; 32]),
        &patient,
    )
    .await;
    let [registered] = balances(&client, [&patient]).await;
    assert!(registered < before_registering);

    // A stranger pays for a MediGate call (which fails: strangers anchor nothing).
    let [stranger_before] = balances(&client, [&stranger]).await;
    let anchor = |index: u32| {
        let mut content_id = [0x5a; 32];
        content_id[..4].copy_from_slice(&index.to_le_bytes());
        medigate::tx().records().anchor(
            account(&patient),
            AnchorRequest {
                content_id: H256(content_id),
                category: Category::Vitals,
                size: 512,
                previous: None,
            },
        )
    };
    let refused = submit_and_wait(&client, &anchor(u32::MAX), &stranger).await;
    assert!(matches!(refused, Err(ChainError::Failed(_))), "{refused:?}");
    let [stranger_after] = balances(&client, [&stranger]).await;
    assert!(
        stranger_after < stranger_before,
        "the stranger paid the fee"
    );

    // The patient's whole budget of fee-less calls, submitted at once, is
    // included without fees; one call more is not included.
    let budget = client
        .at_current_block()
        .await
        .unwrap()
        .constants()
        .entry(medigate::constants().fee_waiver().max_waived_per_window())
        .unwrap();
    let calls: Vec<_> = (0..=budget).map(anchor).collect();
    let mut blocks = client.stream_blocks().await.unwrap();
    // The pool counts a call against the budget once a block includes it.
    // If the budget's calls are included while the last ones are still
    // being submitted, the one over budget is refused outright: that call
    // is not included either.
    match medigate_chain_client::submit_all(&client, &calls, &patient).await {
        Ok(()) => {}
        Err(ChainError::Refused(error)) if format!("{error:?}").contains("custom error: 1") => {}
        Err(other) => panic!("the pool refuses calls within the budget: {other:?}"),
    }
    let mut anchored = 0;
    let mut quiet_blocks = 0;
    // Until three blocks in a row anchor nothing more.
    while quiet_blocks < 3 {
        let block = blocks.next().await.expect("blocks go on").unwrap();
        let events = block.at().await.unwrap().events().fetch().await.unwrap();
        let found = events
            .iter()
            .filter_map(Result::ok)
            .filter(|event| {
                event.pallet_name() == "Records" && event.event_name() == "RecordsAnchored"
            })
            .count();
        anchored += found;
        quiet_blocks = if found == 0 && anchored > 0 {
            quiet_blocks + 1
        } else {
            0
        };
    }
    assert_eq!(anchored, budget as usize, "exactly the budget was included");
    assert_eq!(
        balances(&client, [&patient]).await,
        [registered],
        "and it was free"
    );

    // Over budget, the pool refuses the next call outright.
    let over = submit_and_wait(&client, &anchor(budget + 1), &patient).await;
    match over {
        Err(ChainError::Invalid(reason)) => assert!(
            reason.contains("custom error: 1"),
            "refused as over budget: {reason}"
        ),
        other => panic!("expected the pool to refuse the call: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_participant_calls_does_not_hold_back_a_revocation() {
    let (_node, client) = start_dev_node().await;
    let (patient, doctor, flooder) = (dev::bob(), dev::charlie(), dev::dave());
    for (keypair, key) in [
        (&patient, [1u8; 32]),
        (&doctor, [2; 32]),
        (&flooder, [4; 32]),
    ] {
        submit(&client, &medigate::tx().registry().register(key), keypair).await;
    }
    let now = chain_time(&client).await.unwrap();
    let labs = Scope::Categories(CategorySet(1 << Category::Labs as u16));
    let events = submit(
        &client,
        &medigate::tx().consent().grant_access(
            account(&patient),
            account(&doctor),
            labs,
            Purpose::Treatment,
            ActionSet(1),
            None,
            now + 3_600_000,
        ),
        &patient,
    )
    .await;
    let granted = events
        .find_first::<medigate::consent::events::AccessGranted>()
        .unwrap()
        .expect("AccessGranted");

    // The best block, as the node announces it.
    let best = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut best_blocks = client.stream_best_blocks().await.unwrap();
    let seen = best.clone();
    tokio::spawn(async move {
        while let Some(Ok(block)) = best_blocks.next().await {
            seen.fetch_max(block.number().into(), std::sync::atomic::Ordering::SeqCst);
        }
    });

    // Another participant floods the pool with its own fee-less calls, each
    // as heavy as a call may be: many blocks' worth.
    let flood: Vec<_> = (0..FLOOD_BATCHES)
        .map(|batch| {
            let anchors = (0..FLOOD_BATCH_SIZE)
                .map(|index| {
                    let mut content_id = [0x77; 32];
                    content_id[..4].copy_from_slice(&batch.to_le_bytes());
                    content_id[4..8].copy_from_slice(&index.to_le_bytes());
                    AnchorRequest {
                        content_id: H256(content_id),
                        category: Category::Vitals,
                        size: 512,
                        previous: None,
                    }
                })
                .collect();
            medigate::tx()
                .records()
                .anchor_batch(account(&flooder), BoundedVec(anchors))
        })
        .collect();
    let mut finalized = client.stream_blocks().await.unwrap();
    medigate_chain_client::submit_all(&client, &flood, &flooder)
        .await
        .expect("the pool takes the flood");

    // Then the patient revokes.
    let submitted_after = best.load(std::sync::atomic::Ordering::SeqCst);
    medigate_chain_client::submit_all(
        &client,
        &[medigate::tx().consent().revoke_grant(granted.grant)],
        &patient,
    )
    .await
    .expect("the pool takes the revocation");

    // Blocks go by until the flood is all in; the revocation is in the first
    // block built after it reached the pool, or the next, while the flood
    // goes on after it.
    let (mut revoked_in, mut flood_left, mut flood_after_revocation) =
        (None, FLOOD_BATCHES as usize, 0);
    let mut flood_blocks = Vec::new();
    while flood_left > 0 || revoked_in.is_none() {
        let block = tokio::time::timeout(std::time::Duration::from_secs(60), finalized.next())
            .await
            .expect("a block is finalized within a minute while calls wait")
            .expect("blocks go on")
            .unwrap();
        let events = block.at().await.unwrap().events().fetch().await.unwrap();
        let mut batches = 0;
        for event in events.iter().filter_map(Result::ok) {
            match (event.pallet_name(), event.event_name()) {
                ("Records", "RecordsAnchored") => batches += 1,
                ("Consent", "GrantRevoked") => revoked_in = Some(u64::from(block.number())),
                _ => {}
            }
        }
        flood_left = flood_left.saturating_sub(batches);
        if batches > 0 {
            flood_blocks.push(u64::from(block.number()));
        }
        if revoked_in.is_some_and(|revoked| u64::from(block.number()) > revoked) {
            flood_after_revocation += batches;
        }
    }
    let revoked_in = revoked_in.unwrap();
    eprintln!(
        "flood in blocks {flood_blocks:?}; revocation submitted after block {submitted_after}, in block {revoked_in}"
    );
    assert!(
        revoked_in <= submitted_after + 2,
        "the revocation, submitted after block {submitted_after}, is in block {revoked_in}"
    );
    assert!(
        flood_after_revocation > 0,
        "the flood was still waiting when the revocation went in"
    );
}

/// Calls in the flood: together, many blocks' worth.
const FLOOD_BATCHES: u32 = 20;
/// Anchors in each call of the flood.
const FLOOD_BATCH_SIZE: u32 = 1000;

#[tokio::test(flavor = "multi_thread")]
async fn a_requester_cannot_fill_a_patients_inbox() {
    let (_node, client) = start_dev_node().await;
    let (governance, patient, doctor, board) =
        (dev::alice(), dev::bob(), dev::charlie(), dev::dave());
    for (keypair, key) in [(&patient, [1u8; 32]), (&doctor, [2; 32])] {
        submit(&client, &medigate::tx().registry().register(key), keypair).await;
    }
    attest_by_board(&client, (&governance, &board), &[(&doctor, Role::Provider)]).await;

    // The doctor files as many requests as may wait, all at once.
    let most = client
        .at_current_block()
        .await
        .unwrap()
        .constants()
        .entry(medigate::constants().consent().max_open_requests())
        .unwrap();
    let ask = medigate::tx().consent().request_access(
        account(&patient),
        Scope::Categories(CategorySet(1 << Category::Labs as u16)),
        Purpose::Treatment,
        ActionSet(1),
        H256::repeat_byte(7),
    );
    let asks = vec![ask.clone(); most as usize];
    let filed = medigate_chain_client::submit_many(&client, &asks, &doctor)
        .await
        .unwrap();
    let mut first = None;
    for finality in filed {
        let events = finality.await.expect("a request within the bound is filed");
        let requested = events
            .find_first::<medigate::consent::events::AccessRequested>()
            .unwrap()
            .expect("AccessRequested");
        first.get_or_insert(requested.request);
    }

    // One more is refused, and changes nothing.
    let refused = submit_and_wait(&client, &ask, &doctor).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("TooManyOpenRequests")),
        "{refused:?}"
    );

    // Only the doctor withdraws the doctor's request; then one more fits.
    let first = first.unwrap();
    let refused = submit_and_wait(
        &client,
        &medigate::tx().consent().withdraw_request(first),
        &patient,
    )
    .await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("NotTheRequester")),
        "{refused:?}"
    );
    submit(
        &client,
        &medigate::tx().consent().withdraw_request(first),
        &doctor,
    )
    .await;
    assert!(
        medigate_chain_client::pending_request(&client, first)
            .await
            .unwrap()
            .is_none()
    );
    submit(&client, &ask, &doctor).await;
}

fn sp_account(keypair: &Keypair) -> sp_runtime::AccountId32 {
    sp_runtime::AccountId32::new(keypair.public_key().0)
}

fn sp_core_h256(hash: H256) -> sp_core::H256 {
    sp_core::H256(hash.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restriction_binds_the_patients_delegate_who_cannot_lift_it() {
    let (mut node, client) = start_dev_node().await;
    let (patient, guardian) = (dev::bob(), dev::ferdie());
    for (keypair, key) in [(&patient, [1u8; 32]), (&guardian, [2; 32])] {
        submit(&client, &medigate::tx().registry().register(key), keypair).await;
    }
    submit(
        &client,
        &medigate::tx().consent().add_delegate(account(&guardian)),
        &patient,
    )
    .await;
    let record = H256::repeat_byte(0x43);
    submit(
        &client,
        &medigate::tx().records().anchor(
            account(&patient),
            AnchorRequest {
                content_id: record,
                category: Category::Labs,
                size: 4096,
                previous: None,
            },
        ),
        &patient,
    )
    .await;
    let checker = AccessChecker::new(&node.process().http_url()).unwrap();
    let guardian_reads = || {
        let checker = checker.clone();
        let (guardian, patient) = (account(&guardian), account(&patient));
        async move {
            checker
                .check_access(
                    &guardian,
                    &patient,
                    record,
                    Purpose::Treatment,
                    Action::Read,
                )
                .await
                .expect("check_access answers")
        }
    };
    assert!(guardian_reads().await.allowed, "a delegate reads");

    // The patient restricts their delegate: the delegate is refused.
    let labs = Scope::Categories(CategorySet(1 << Category::Labs as u16));
    submit(
        &client,
        &medigate::tx()
            .consent()
            .restrict(account(&patient), Some(account(&guardian)), labs),
        &patient,
    )
    .await;
    let restricted = guardian_reads().await;
    assert!(!restricted.allowed, "{restricted:?}");
    assert!(matches!(restricted.reason, Reason::Restricted));

    // The delegate tries to lift it: refused on chain, and it still holds.
    let lifted = submit_and_wait(
        &client,
        &medigate::tx()
            .consent()
            .lift_restriction(account(&patient), 0),
        &guardian,
    )
    .await;
    assert!(
        matches!(&lifted, Err(ChainError::Failed(error)) if error.to_string().contains("OnlyThePatientLifts")),
        "{lifted:?}"
    );
    assert!(matches!(guardian_reads().await.reason, Reason::Restricted));

    // The patient lifts it.
    submit(
        &client,
        &medigate::tx()
            .consent()
            .lift_restriction(account(&patient), 0),
        &patient,
    )
    .await;
    assert!(guardian_reads().await.allowed);
}

#[tokio::test(flavor = "multi_thread")]
async fn sponsorship_is_for_organizations_and_bounded_per_day() {
    let (_node, client) = start_dev_node().await;
    let (governance, hospital, patient, board) =
        (dev::alice(), dev::bob(), dev::charlie(), dev::dave());
    for (keypair, key) in [(&hospital, [1u8; 32]), (&patient, [2; 32])] {
        submit(&client, &medigate::tx().registry().register(key), keypair).await;
    }
    attest_by_board(
        &client,
        (&governance, &board),
        &[(&hospital, Role::Organization)],
    )
    .await;
    let sponsor = |who: AccountId32| medigate::tx().registry().sponsor(who);

    // A participant that is not an organization sponsors nobody: it cannot
    // let accounts of its own making in fee-less.
    let made_up = AccountId32([0xee; 32]);
    let refused = submit_and_wait(&client, &sponsor(made_up.clone()), &patient).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("NotASponsor")),
        "{refused:?}"
    );

    // The hospital sponsors as many newcomers a day as it may, all at once;
    // the first is a real key that then registers without funds.
    let most = client
        .at_current_block()
        .await
        .unwrap()
        .constants()
        .entry(medigate::constants().registry().max_sponsorships())
        .unwrap();
    let newcomer = Keypair::from_uri(&"//SponsoredNewcomer".parse().unwrap()).unwrap();
    let newcomers: Vec<AccountId32> = std::iter::once(account(&newcomer))
        .chain((1..most).map(|n| {
            let mut id = [0x5a; 32];
            id[..4].copy_from_slice(&n.to_le_bytes());
            AccountId32(id)
        }))
        .collect();
    let calls: Vec<_> = newcomers.iter().cloned().map(sponsor).collect();
    let sponsored = medigate_chain_client::submit_many(&client, &calls, &hospital)
        .await
        .unwrap();
    for finality in sponsored {
        finality
            .await
            .expect("a sponsorship within the bound is made");
    }

    // One more is refused, and renewing one already made takes no room.
    let refused = submit_and_wait(&client, &sponsor(made_up), &hospital).await;
    assert!(
        matches!(&refused, Err(ChainError::Failed(error)) if error.to_string().contains("TooManySponsorships")),
        "{refused:?}"
    );
    submit(&client, &sponsor(newcomers[1].clone()), &hospital).await;

    // The sponsored newcomer registers with no balance at all.
    assert_eq!(free_balance(&client, &account(&newcomer)).await.unwrap(), 0);
    submit(
        &client,
        &medigate::tx().registry().register([3; 32]),
        &newcomer,
    )
    .await;
    assert!(is_registered(&client, &account(&newcomer)).await.unwrap());
}
