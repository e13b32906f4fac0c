//! The body of `POST /batches`: many envelopes and key wraps in one signed
//! request, so that a gateway importing thousands of small records does not
//! pay a request, a signature check and a disk sync for each.
//!
//! The body is a sequence of items, each:
//!
//! | bytes | what |
//! | --- | --- |
//! | 1 | kind: 1 an envelope, 2 a key wrap |
//! | 32 | the content id |
//! | 32 | the grantee (key wraps only) |
//! | 4 | the length of what follows, little-endian |
//! | length | the envelope or the key wrap |
//!
//! [`parse`] checks the whole body before anything is stored: a batch is
//! taken whole or refused whole.

use crate::store::Id;

/// Kind byte of an envelope.
const ENVELOPE: u8 = 1;
/// Kind byte of a key wrap.
const KEY_WRAP: u8 = 2;
/// The most items in one batch.
pub const MAX_ITEMS: usize = 10_000;
/// The largest batch body, in bytes.
pub const MAX_BATCH_BYTES: usize = 64 << 20;
/// The largest key wrap in a batch, in bytes (as for `PUT /wraps`).
pub const MAX_WRAP_BYTES: usize = 4096;

/// One item of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchItem<'a> {
    /// An envelope, stored under its content id.
    Envelope {
        /// Its content id (BLAKE3 of its bytes).
        content_id: Id,
        /// Its bytes.
        bytes: &'a [u8],
    },
    /// A key wrap of a record for a grantee.
    KeyWrap {
        /// The record's content id.
        content_id: Id,
        /// The grantee's account.
        grantee: Id,
        /// The wrap.
        bytes: &'a [u8],
    },
}

/// Why a batch body is malformed; `item` counts from 0.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The body ends inside an item.
    #[error("item {item} of the batch is cut short")]
    Truncated {
        /// The item.
        item: usize,
    },
    /// An unknown kind byte.
    #[error("item {item} of the batch has kind {kind}; kinds are 1 (envelope) and 2 (key wrap)")]
    UnknownKind {
        /// The item.
        item: usize,
        /// Its kind byte.
        kind: u8,
    },
    /// A key wrap larger than a wrap can be.
    #[error(
        "item {item} of the batch is a key wrap of {length} bytes; a wrap is at most {MAX_WRAP_BYTES}"
    )]
    WrapTooLarge {
        /// The item.
        item: usize,
        /// Its length.
        length: usize,
    },
    /// More items than a batch takes.
    #[error("the batch holds more than {MAX_ITEMS} items; send several batches")]
    TooManyItems,
    /// No item at all.
    #[error("the batch is empty")]
    Empty,
}

fn take<'a>(body: &mut &'a [u8], length: usize, item: usize) -> Result<&'a [u8], BatchError> {
    if body.len() < length {
        return Err(BatchError::Truncated { item });
    }
    let (taken, rest) = body.split_at(length);
    *body = rest;
    Ok(taken)
}

fn take_id(body: &mut &[u8], item: usize) -> Result<Id, BatchError> {
    Ok(take(body, 32, item)?.try_into().expect("32 bytes"))
}

/// Parses a whole batch body.
pub fn parse(mut body: &[u8]) -> Result<Vec<BatchItem<'_>>, BatchError> {
    let mut items = Vec::new();
    while !body.is_empty() {
        let item = items.len();
        if item == MAX_ITEMS {
            return Err(BatchError::TooManyItems);
        }
        let kind = take(&mut body, 1, item)?[0];
        let content_id = take_id(&mut body, item)?;
        let grantee = match kind {
            ENVELOPE => None,
            KEY_WRAP => Some(take_id(&mut body, item)?),
            kind => return Err(BatchError::UnknownKind { item, kind }),
        };
        let length =
            u32::from_le_bytes(take(&mut body, 4, item)?.try_into().expect("4 bytes")) as usize;
        if grantee.is_some() && length > MAX_WRAP_BYTES {
            return Err(BatchError::WrapTooLarge { item, length });
        }
        let bytes = take(&mut body, length, item)?;
        items.push(match grantee {
            None => BatchItem::Envelope { content_id, bytes },
            Some(grantee) => BatchItem::KeyWrap {
                content_id,
                grantee,
                bytes,
            },
        });
    }
    if items.is_empty() {
        return Err(BatchError::Empty);
    }
    Ok(items)
}

/// Appends `item` to a batch body (what clients send).
pub fn encode(item: &BatchItem<'_>, body: &mut Vec<u8>) {
    match item {
        BatchItem::Envelope { content_id, bytes } => {
            body.push(ENVELOPE);
            body.extend_from_slice(content_id);
            body.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            body.extend_from_slice(bytes);
        }
        BatchItem::KeyWrap {
            content_id,
            grantee,
            bytes,
        } => {
            body.push(KEY_WRAP);
            body.extend_from_slice(content_id);
            body.extend_from_slice(grantee);
            body.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            body.extend_from_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<BatchItem<'static>> {
        vec![
            BatchItem::Envelope {
                content_id: [1; 32],
                bytes: b"envelope",
            },
            BatchItem::KeyWrap {
                content_id: [1; 32],
                grantee: [2; 32],
                bytes: b"wrap",
            },
        ]
    }

    #[test]
    fn a_batch_parses_back_to_its_items() {
        let mut body = Vec::new();
        for item in &sample() {
            encode(item, &mut body);
        }
        assert_eq!(parse(&body).unwrap(), sample());
    }

    #[test]
    fn a_cut_body_names_the_item_cut_short() {
        let mut body = Vec::new();
        for item in &sample() {
            encode(item, &mut body);
        }
        for cut in [1, 40, body.len() - 1] {
            let expected = if cut < 45 { 0 } else { 1 };
            assert_eq!(
                parse(&body[..cut]),
                Err(BatchError::Truncated { item: expected }),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn unknown_kinds_oversized_wraps_and_empty_batches_are_refused() {
        assert_eq!(
            parse(&[7; 50]),
            Err(BatchError::UnknownKind { item: 0, kind: 7 })
        );
        assert_eq!(parse(&[]), Err(BatchError::Empty));
        let mut body = vec![KEY_WRAP];
        body.extend_from_slice(&[0; 64]);
        body.extend_from_slice(&(MAX_WRAP_BYTES as u32 + 1).to_le_bytes());
        assert_eq!(
            parse(&body),
            Err(BatchError::WrapTooLarge {
                item: 0,
                length: MAX_WRAP_BYTES + 1
            })
        );
    }
}
