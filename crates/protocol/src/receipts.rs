//! The Merkle tree over a batch of access receipts, as the audit pallet
//! commits its root: `binary-merkle-tree` over the receipts' SCALE
//! encodings, hashed with BLAKE2b-256 (the chain's `BlakeTwo256`). Off
//! chain, a gateway builds with it the path that proves a receipt is in its
//! batch (to prove a forged one); the audit pallet's tests check that both
//! sides build the same root and paths.

use alloc::vec::Vec;
use blake2::{Blake2b, Digest, digest::consts::U32};

/// BLAKE2b with a 256-bit output: the tree's hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Blake2b256;

impl hash_db::Hasher for Blake2b256 {
    type Out = [u8; 32];
    type StdHasher = hash256_std_hasher::Hash256StdHasher;
    const LENGTH: usize = 32;

    fn hash(bytes: &[u8]) -> [u8; 32] {
        Blake2b::<U32>::digest(bytes).into()
    }
}

/// The root of the batch whose receipts encode to `leaves`, in order.
pub fn root<Leaf: AsRef<[u8]>>(leaves: impl IntoIterator<Item = Leaf>) -> [u8; 32] {
    binary_merkle_tree::merkle_root::<Blake2b256, _>(leaves)
}

/// The Merkle path that proves leaf `index` of `leaves` is in their batch:
/// what the audit pallet's `report_forged_receipt` takes. Empty for an
/// index past the leaves.
pub fn path<Leaf: AsRef<[u8]>>(leaves: Vec<Leaf>, index: u32) -> Vec<[u8; 32]> {
    if index as usize >= leaves.len() {
        return Vec::new();
    }
    binary_merkle_tree::merkle_proof::<Blake2b256, _, _>(leaves, index).proof
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_of_one_is_its_leafs_hash_with_an_empty_path() {
        let leaf = b"a receipt".to_vec();
        assert_eq!(root([&leaf]), <Blake2b256 as hash_db::Hasher>::hash(&leaf));
        assert!(path(alloc::vec![leaf], 0).is_empty());
    }

    #[test]
    fn paths_are_as_long_as_the_tree_is_deep() {
        let leaves: Vec<Vec<u8>> = (0u8..5).map(|byte| alloc::vec![byte; 3]).collect();
        assert_eq!(path(leaves.clone(), 0).len(), 3);
        assert!(path(leaves, 5).is_empty(), "no leaf 5");
    }
}
