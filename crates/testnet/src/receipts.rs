//! Reading access receipts back from a chain's events.

use medigate_chain_client::{Client, Receipt, medigate, subxt::utils::H256};

use crate::RpcClient;

/// The receipts of `accessor` recorded in blocks `from` to the best block,
/// each with the number of the block holding it.
pub async fn receipts_of(
    client: &Client,
    rpc: &RpcClient,
    from: u32,
    accessor: [u8; 32],
) -> Vec<(u32, Receipt)> {
    let best = rpc.best_number().await.expect("the node answers");
    let mut found = Vec::new();
    for number in from..=best {
        let hash: H256 = rpc
            .block_hash(number)
            .await
            .expect("the node answers")
            .expect("a block below the best one exists")
            .parse()
            .expect("a block hash");
        let events = client
            .at_block(hash)
            .await
            .expect("the block is readable")
            .events()
            .fetch()
            .await
            .expect("its events are readable");
        for event in events.find::<medigate::audit::events::AccessRecorded>() {
            let event = event.expect("an AccessRecorded event decodes");
            if event.receipt.accessor.0 == accessor {
                found.push((number, event.receipt));
            }
        }
    }
    found
}
