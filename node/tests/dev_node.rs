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
    let events = medigate_chain_client::submit_and_wait(&client, &transfer, &dev::alice())
        .await
        .expect("the transfer succeeds in a finalised block");
    let event = events
        .find_first::<Transfer>()
        .expect("decodes events")
        .expect("a Transfer event");
    assert_eq!(event.to, recipient_account);
    assert_eq!(event.amount, amount);

    // The finalised head now holds the transfer (in it or an ancestor).
    let block_hash = node
        .process()
        .rpc()
        .finalized_hash()
        .await
        .expect("reads the finalised head");
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
        "the finalised block holding the transfer survives the restart"
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

/// The pool answers a transaction it already holds with an "already
/// imported" status and stops following it for that submission (its
/// fork-aware pool can give the same answer to a single submission that
/// races its upkeep); such a transaction is found in a finalized block by
/// its hash all the same, and one whose nonce another transaction took
/// counts as lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_the_pool_stopped_following_is_found_in_a_finalized_block() {
    use medigate_chain_client::{
        ALREADY_IMPORTED, ChainError, SentTransaction, find_finalized,
        subxt::{config::DefaultExtrinsicParamsBuilder, transactions::TransactionStatus},
    };
    let mut node = DevNode::start(NODE).await.expect("the dev node starts");
    node.process()
        .wait_for_finalized(1, STARTUP)
        .await
        .expect("block #1 is finalised");
    let client = connect(&node.process().ws_url())
        .await
        .expect("connects to the dev node");
    let alice = dev::alice();
    let account: AccountId32 = alice.public_key().into();
    let recipient = Keypair::from_uri(&"//MediGateLostAndFound".parse().unwrap()).unwrap();
    let amount: u128 = 2_000_000_000_000;
    let transfer = medigate::transactions()
        .balances()
        .transfer_keep_alive(recipient.public_key().into(), amount);
    let at_block = client.at_current_block().await.unwrap();
    let transactions = at_block.transactions();
    let nonce = transactions.account_nonce(&account).await.unwrap();
    let params = DefaultExtrinsicParamsBuilder::new().nonce(nonce).build();
    let signed = transactions
        .create_signable_offline(&transfer, params)
        .and_then(|mut signable| signable.sign(&alice))
        .unwrap();

    // The same bytes twice: the second submission is not followed.
    let first = signed.submit_and_watch().await.expect("the pool takes it");
    let mut second = signed
        .submit_and_watch()
        .await
        .expect("the node answers the second submission with a status");
    let status = loop {
        match second.next().await.expect("a status").expect("a status") {
            TransactionStatus::Validated | TransactionStatus::Broadcasted => continue,
            other => break other,
        }
    };
    match status {
        // The pool still held the first: the copy is refused as such.
        TransactionStatus::Invalid { message } if message.contains(ALREADY_IMPORTED) => {}
        // On a busy machine the first may be in a block before the copy
        // arrives: then the copy's nonce is spent, or the pool follows the
        // copy as the transaction it already included.
        TransactionStatus::Invalid { message } if message.contains("outdated") => {}
        TransactionStatus::InBestBlock(_) | TransactionStatus::InFinalizedBlock(_) => {}
        TransactionStatus::Invalid { message }
        | TransactionStatus::Dropped { message }
        | TransactionStatus::Error { message } => {
            panic!("a transaction submitted twice is refused the second time, not: {message}")
        }
        _ => panic!("a transaction submitted twice is refused the second time"),
    }

    let sent = SentTransaction {
        hash: first.extrinsic_hash(),
        account: account.clone(),
        nonce,
        signed_at: at_block.block_number(),
    };
    let events = find_finalized(&client, &sent)
        .await
        .expect("the transaction is found in a finalized block");
    let event = events
        .find_first::<Transfer>()
        .expect("decodes events")
        .expect("the transfer's own events");
    assert_eq!(event.amount, amount);
    // The first submission sees it through, unless the pool stopped
    // following it too (its answer to a submission that raced its
    // upkeep): then the finalized block found above is the only proof.
    use medigate_chain_client::subxt::error::{
        TransactionFinalizedSuccessError, TransactionProgressError, TransactionStatusError,
    };
    match first.wait_for_finalized_success().await {
        Ok(events) => assert_eq!(
            events.extrinsic_hash(),
            sent.hash,
            "the first submission saw the same transaction through"
        ),
        Err(TransactionFinalizedSuccessError::FinalizationError(
            TransactionProgressError::TransactionStatusError(TransactionStatusError::Invalid(
                message,
            )),
        )) if message.contains(ALREADY_IMPORTED) => {}
        Err(error) => panic!("the first submission ends in the finalized block: {error}"),
    }

    // A transaction never sent, at the nonce the transfer took, is lost.
    let never_sent = SentTransaction {
        hash: medigate_chain_client::subxt::utils::H256::repeat_byte(7),
        ..sent
    };
    match find_finalized(&client, &never_sent).await {
        Err(ChainError::Invalid(reason)) => {
            assert!(reason.contains("took nonce"), "the reason is {reason:?}")
        }
        other => panic!("a transaction whose nonce was taken is lost: {other:?}"),
    }
}

/// Sends `request` (HTTP/1.1, `Connection: close`) to `port` on 127.0.0.1;
/// returns the status code, the header block (lower case) and the body.
async fn exchange(port: u16, request: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the RPC port is open on loopback");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {answer}"));
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (status, head.to_lowercase(), body.to_string())
}

/// One JSON-RPC `method` call (no parameters) to the node's RPC `port`, as
/// a service makes it (no Origin); returns the status code and the body.
async fn rpc_call(port: u16, method: &str) -> (u16, String) {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _, body) = exchange(port, &request).await;
    (status, body)
}

/// Whether the node lets a web page at `origin` call it: the preflight a
/// browser sends before a JSON POST, answered with that origin (or any)
/// allowed.
async fn lets_page_call(port: u16, origin: &str) -> bool {
    let request = format!(
        "OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\
         Connection: close\r\n\r\n"
    );
    let (_, head, _) = exchange(port, &request).await;
    head.lines().any(|line| {
        line.strip_prefix("access-control-allow-origin:")
            .is_some_and(|allowed| {
                let allowed = allowed.trim();
                allowed == "*" || allowed == origin.to_lowercase()
            })
    })
}

/// The address of this machine on its network (not loopback), if it has
/// one: the source address of a route out (a UDP "connection" sends
/// nothing).
fn network_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let address = socket.local_addr().ok()?.ip();
    (!address.is_loopback() && !address.is_unspecified()).then_some(address)
}

/// A development node as `medigate dev` and the tests start it is an
/// attacker's target on a shared machine or network: nothing but this
/// machine reaches it (peers and RPC on loopback), no unsafe RPC method
/// (inserting keys, managing peers) answers, and no web page may call it.
#[tokio::test(flavor = "multi_thread")]
async fn the_dev_node_serves_loopback_only_no_unsafe_rpc_and_no_web_page() {
    let mut node = DevNode::start(NODE).await.expect("the dev node starts");
    node.process()
        .wait_for_finalized(1, STARTUP)
        .await
        .expect("block #1 is finalised");
    let options = node.process().options().clone();

    // Services (no Origin) are served, but no unsafe method: making the
    // node new session keys (which `--dev` allows) is refused.
    let (status, head) = rpc_call(options.rpc_port, "chain_getFinalizedHead").await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("\"result\""), "{head}");
    let (_, answer) = rpc_call(options.rpc_port, "author_rotateKeys").await;
    assert!(
        answer.contains("\"error\"") && answer.contains("unsafe"),
        "author_rotateKeys: {answer}"
    );

    // A web page of another site, or of another port of this machine, may
    // not call the node: the browser's preflight is not answered with its
    // origin. The node's own origin is, which no page is served from.
    for origin in [
        "https://evil.example",
        "http://localhost:8080",
        "http://127.0.0.1:1",
        "null",
    ] {
        assert!(
            !lets_page_call(options.rpc_port, origin).await,
            "a page at {origin} may call the node"
        );
    }
    let own = format!("http://127.0.0.1:{}", options.rpc_port);
    assert!(lets_page_call(options.rpc_port, &own).await, "{own}");

    // Peers: loopback only. The port is open on 127.0.0.1 and closed on the
    // machine's network address.
    let p2p = options.p2p_port;
    tokio::net::TcpStream::connect(("127.0.0.1", p2p))
        .await
        .expect("peers reach the node on loopback");
    match network_address() {
        Some(address) => assert!(
            tokio::net::TcpStream::connect((address, p2p))
                .await
                .is_err(),
            "the node takes peers on {address}:{p2p}"
        ),
        None => {
            eprintln!("no network address besides loopback: the peer port's reach is not tried")
        }
    }
}
