//! The `--dev` node: it produces and finalises blocks, includes a signed
//! transaction, and keeps its chain and state across a restart on the same
//! base path.

use std::time::Duration;

use medigate_chain_client::{
    connect,
    medigate::{self, balances::events::Transfer},
    subxt::utils::AccountId32,
    subxt_signer::sr25519::{Keypair, dev},
};
use medigate_testnet::DevNode;

const NODE: &str = env!("CARGO_BIN_EXE_medigate-node");
const STARTUP: Duration = Duration::from_secs(180);

/// The free balance of `account` at the best block of the node at `url`.
async fn free_balance(url: &str, account: &AccountId32) -> u128 {
    let client = connect(url).await.expect("connects to the dev node");
    medigate_chain_client::free_balance(&client, account)
        .await
        .expect("reads System.Account")
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_node_includes_a_signed_transaction_and_keeps_it_across_a_restart() {
    let mut node = DevNode::start(NODE).await.expect("the dev node starts");
    node.process()
        .wait_for_finalized(3, STARTUP)
        .await
        .expect("block #3 is finalised");

    // A transfer signed by Alice to an account that did not exist before.
    let url = node.process().ws_url();
    let client = connect(&url).await.expect("connects to the dev node");
    let recipient = Keypair::from_uri(&"//MediGateRestartTest".parse().unwrap()).unwrap();
    let recipient_account: AccountId32 = recipient.public_key().into();
    let amount: u128 = 1_234_567_890_000;
    let transfer = medigate::transactions()
        .balances()
        .transfer_keep_alive(recipient_account.clone().into(), amount);
    let included = client
        .at_current_block()
        .await
        .expect("reads the best block")
        .transactions()
        .sign_and_submit_then_watch_default(&transfer, &dev::alice())
        .await
        .expect("the node accepts the signed transfer")
        .wait_for_finalized()
        .await
        .expect("the transfer is included in a finalised block");
    let events = included
        .wait_for_success()
        .await
        .expect("the transfer succeeds");
    let event = events
        .find_first::<Transfer>()
        .expect("decodes events")
        .expect("a Transfer event");
    assert_eq!(event.to, recipient_account);
    assert_eq!(event.amount, amount);

    let block_hash = format!("{:?}", included.block_hash());
    let header = node
        .process()
        .rpc()
        .header(&block_hash)
        .await
        .expect("reads the block header");
    let block_number = u32::from_str_radix(
        header["number"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(free_balance(&url, &recipient_account).await, amount);
    let finalized_before = node.process().rpc().finalized_number().await.unwrap();
    let best_before = node.process().rpc().best_number().await.unwrap();
    drop(client);

    // Restart on the same base path: the chain and the transfer are still there.
    node.stop().expect("the node stops gracefully");
    node.restart()
        .await
        .expect("the node starts again on the same base path");
    let rpc = node.process().rpc().clone();
    assert_eq!(
        rpc.block_hash(block_number).await.unwrap(),
        Some(block_hash),
        "the block holding the transfer survives the restart"
    );
    assert!(
        rpc.finalized_number().await.unwrap() >= finalized_before,
        "finality survives the restart"
    );
    assert_eq!(
        free_balance(&url, &recipient_account).await,
        amount,
        "state survives the restart"
    );

    // And the chain goes on from where it was.
    node.process()
        .wait_for_finalized(best_before + 2, STARTUP)
        .await
        .expect("the restarted node produces and finalises new blocks");
}
