//! Record encryption: a fresh key per record version, XChaCha20-Poly1305 in
//! 64 KiB chunks with STREAM nonces (a random 19-byte prefix, a 32-bit
//! big-endian chunk counter and a last-chunk flag), so that truncating,
//! reordering or splicing chunks is detected. Both directions stream: memory
//! use is a few chunks whatever the record's size (decryption two;
//! encryption up to 34 while a second thread hashes the envelope for its
//! content id).
//!
//! The envelope starts with a header that names the record (id, version,
//! owner); the whole header is every chunk's associated data, so an envelope
//! cannot be passed off as another record's. The byte layout is in
//! `crates/crypto/ENVELOPE.md`. The content id anchored on chain is the
//! BLAKE3-256 hash of the whole envelope.

use std::io::{self, Read, Write};

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305,
    aead::stream::{DecryptorBE32, EncryptorBE32},
};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
/// The authentication tag after each chunk.
pub const TAG_LEN: usize = 16;
/// The header's length.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 32 + 4 + 32 + NONCE_PREFIX_LEN;

const MAGIC: &[u8; 4] = b"MGE1";
const FORMAT_VERSION: u8 = 1;
/// log2 of [`CHUNK_LEN`], as written in the header.
const CHUNK_LEN_LOG2: u8 = 16;
const NONCE_PREFIX_LEN: usize = 19;

/// The associated data of every chunk: the header, zero-padded to a multiple
/// of 64 bytes. Poly1305's vectorised code authenticates four 16-byte blocks
/// at a time; associated data of a whole number of such groups keeps the
/// chunk's ciphertext on that path (a 93-byte header would cost about a
/// quarter of the throughput).
const CHUNK_AAD_LEN: usize = HEADER_LEN.next_multiple_of(64);

/// The associated data of every chunk of the envelope whose header is
/// `header`.
fn chunk_aad(header: &[u8]) -> [u8; CHUNK_AAD_LEN] {
    let mut aad = [0u8; CHUNK_AAD_LEN];
    aad[..HEADER_LEN].copy_from_slice(&header[..HEADER_LEN]);
    aad
}

/// A record version's symmetric key: 256 random bits, zeroized when dropped.
pub struct RecordKey(Zeroizing<[u8; 32]>);

impl RecordKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// A key recovered from a key wrap.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw key, for wrapping it to a grantee.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }
}

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordKey(<secret>)")
    }
}

/// What an envelope is bound to: which record, which version, whose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordBinding {
    /// The record's id (stable across versions).
    pub record_id: [u8; 32],
    /// The version number.
    pub version: u32,
    /// The owner's (the patient's) account.
    pub owner: [u8; 32],
}

/// An envelope's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// The record it encrypts.
    pub binding: RecordBinding,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl EnvelopeHeader {
    fn new(binding: RecordBinding) -> Self {
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        OsRng.fill_bytes(&mut nonce_prefix);
        Self {
            binding,
            nonce_prefix,
        }
    }

    /// The header's bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[..4].copy_from_slice(MAGIC);
        bytes[4] = FORMAT_VERSION;
        bytes[5] = CHUNK_LEN_LOG2;
        bytes[6..38].copy_from_slice(&self.binding.record_id);
        bytes[38..42].copy_from_slice(&self.binding.version.to_le_bytes());
        bytes[42..74].copy_from_slice(&self.binding.owner);
        bytes[74..].copy_from_slice(&self.nonce_prefix);
        bytes
    }

    /// Parses a header (the first [`HEADER_LEN`] bytes of an envelope).
    pub fn parse(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() < HEADER_LEN {
            return Err(CryptoError::MalformedEnvelope("shorter than its header"));
        }
        if &bytes[..4] != MAGIC {
            return Err(CryptoError::MalformedEnvelope(
                "it does not start with MGE1",
            ));
        }
        if bytes[4] != FORMAT_VERSION {
            return Err(CryptoError::MalformedEnvelope("an unknown format version"));
        }
        if bytes[5] != CHUNK_LEN_LOG2 {
            return Err(CryptoError::MalformedEnvelope("an unsupported chunk size"));
        }
        let array = |range: std::ops::Range<usize>| -> [u8; 32] {
            bytes[range].try_into().expect("32 bytes")
        };
        Ok(Self {
            binding: RecordBinding {
                record_id: array(6..38),
                version: u32::from_le_bytes(bytes[38..42].try_into().expect("4 bytes")),
                owner: array(42..74),
            },
            nonce_prefix: bytes[74..HEADER_LEN].try_into().expect("19 bytes"),
        })
    }
}

/// What encrypting a record produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encrypted {
    /// BLAKE3-256 of the envelope: the content id anchored on chain.
    pub content_id: [u8; 32],
    /// The envelope's length in bytes.
    pub envelope_len: u64,
    /// The plaintext's length in bytes.
    pub plaintext_len: u64,
}

/// The envelope length of a plaintext of `plaintext_len` bytes.
pub fn envelope_len(plaintext_len: u64) -> u64 {
    let chunks = plaintext_len.div_ceil(CHUNK_LEN as u64).max(1);
    HEADER_LEN as u64 + plaintext_len + chunks * TAG_LEN as u64
}

/// Reads until `buffer` holds `want` bytes or the input ends; returns how
/// many it holds. The buffer's earlier contents are overwritten, not zeroed
/// first: only bytes it never held are initialised.
fn fill(input: &mut impl Read, buffer: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    buffer.resize(want, 0);
    let mut filled = 0;
    while filled < want {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    buffer.truncate(filled);
    Ok(filled)
}

/// Chunks handed to the hashing thread at a time.
const HASH_BATCH: usize = 16;

/// Encrypts the plaintext read from `plaintext` under `key` for `binding`,
/// writing the envelope to `envelope`.
///
/// A record longer than one chunk is hashed (for its content id) on a second
/// thread, in batches of chunks, while the next chunks are encrypted; memory
/// use stays at a few batches of chunks.
pub fn encrypt(
    key: &RecordKey,
    binding: RecordBinding,
    mut plaintext: impl Read,
    mut envelope: impl Write,
) -> Result<Encrypted, CryptoError> {
    let header = EnvelopeHeader::new(binding);
    let header_bytes = header.to_bytes();
    let mut encryptor = EncryptorBE32::from_aead(key.cipher(), header.nonce_prefix.as_ref().into());
    let too_large =
        |_| CryptoError::MalformedEnvelope("the record is too large (over 2^32 chunks)");
    let mut hasher = blake3::Hasher::new();
    let aad = chunk_aad(&header_bytes);
    hasher.update(&header_bytes);
    envelope.write_all(&header_bytes)?;
    let mut envelope_len = HEADER_LEN as u64;
    let mut current = Vec::with_capacity(CHUNK_LEN + TAG_LEN);
    let mut plaintext_len = fill(&mut plaintext, &mut current, CHUNK_LEN)? as u64;

    if current.len() < CHUNK_LEN {
        // One chunk: nothing to overlap.
        encryptor
            .encrypt_last_in_place(&aad, &mut current)
            .map_err(too_large)?;
        envelope.write_all(&current)?;
        envelope.flush()?;
        hasher.update(&current);
        return Ok(Encrypted {
            content_id: *hasher.finalize().as_bytes(),
            envelope_len: envelope_len + current.len() as u64,
            plaintext_len,
        });
    }

    std::thread::scope(|scope| {
        // Chunk buffers circulate: filled here, hashed there, returned.
        let (written, to_hash) = std::sync::mpsc::channel::<Vec<Vec<u8>>>();
        let (hashed, free) = std::sync::mpsc::channel::<Vec<u8>>();
        for _ in 0..2 * HASH_BATCH + 2 {
            hashed
                .send(Vec::with_capacity(CHUNK_LEN + TAG_LEN))
                .expect("the receiving end is here");
        }
        let hashing = scope.spawn(move || {
            for batch in to_hash {
                for chunk in batch {
                    hasher.update(&chunk);
                    // The encrypting side may have finished and hung up.
                    let _ = hashed.send(chunk);
                }
            }
            hasher
        });
        let mut batch = Vec::with_capacity(HASH_BATCH);
        let mut next = free.recv().expect("buffers are in the pool");
        // A full chunk is the last only if nothing follows it.
        while current.len() == CHUNK_LEN && fill(&mut plaintext, &mut next, CHUNK_LEN)? > 0 {
            encryptor
                .encrypt_next_in_place(&aad, &mut current)
                .map_err(too_large)?;
            envelope.write_all(&current)?;
            envelope_len += current.len() as u64;
            plaintext_len += next.len() as u64;
            batch.push(std::mem::replace(&mut current, next));
            if batch.len() == HASH_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(HASH_BATCH));
                written
                    .send(full)
                    .expect("the hashing thread runs until hung up");
            }
            next = free.recv().expect("the hashing thread returns buffers");
        }
        encryptor
            .encrypt_last_in_place(&aad, &mut current)
            .map_err(too_large)?;
        envelope.write_all(&current)?;
        envelope.flush()?;
        envelope_len += current.len() as u64;
        batch.push(current);
        written
            .send(batch)
            .expect("the hashing thread runs until hung up");
        drop(written);
        let hasher = hashing.join().expect("the hashing thread does not panic");
        Ok(Encrypted {
            content_id: *hasher.finalize().as_bytes(),
            envelope_len,
            plaintext_len,
        })
    })
}

/// Decrypts the envelope read from `envelope` with `key`, writing the
/// plaintext to `plaintext`; the envelope must be bound to `expected`.
/// Returns the plaintext's length.
///
/// Chunks are written as they are verified: if this fails, whatever was
/// written is not the record and must be discarded.
pub fn decrypt(
    key: &RecordKey,
    expected: RecordBinding,
    mut envelope: impl Read,
    mut plaintext: impl Write,
) -> Result<u64, CryptoError> {
    let mut header_bytes = Vec::with_capacity(HEADER_LEN);
    fill(&mut envelope, &mut header_bytes, HEADER_LEN)?;
    let header = EnvelopeHeader::parse(&header_bytes)?;
    let aad = chunk_aad(&header_bytes);
    if header.binding != expected {
        return Err(CryptoError::OtherRecord);
    }
    let mut decryptor = DecryptorBE32::from_aead(key.cipher(), header.nonce_prefix.as_ref().into());
    let sealed_chunk = CHUNK_LEN + TAG_LEN;
    let mut current = Vec::with_capacity(sealed_chunk);
    let mut next = Vec::with_capacity(sealed_chunk);
    fill(&mut envelope, &mut current, sealed_chunk)?;
    let mut written = 0u64;
    loop {
        let more = if current.len() == sealed_chunk {
            fill(&mut envelope, &mut next, sealed_chunk)? > 0
        } else {
            false
        };
        if current.len() < TAG_LEN {
            return Err(CryptoError::Tampered);
        }
        if !more {
            decryptor
                .decrypt_last_in_place(&aad, &mut current)
                .map_err(|_| CryptoError::Tampered)?;
            plaintext.write_all(&current)?;
            written += current.len() as u64;
            break;
        }
        decryptor
            .decrypt_next_in_place(&aad, &mut current)
            .map_err(|_| CryptoError::Tampered)?;
        plaintext.write_all(&current)?;
        written += current.len() as u64;
        std::mem::swap(&mut current, &mut next);
    }
    plaintext.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding() -> RecordBinding {
        RecordBinding {
            record_id: [1; 32],
            version: 3,
            owner: [2; 32],
        }
    }

    fn seal(plaintext: &[u8]) -> (RecordKey, Vec<u8>, Encrypted) {
        let key = RecordKey::generate();
        let mut envelope = Vec::new();
        let encrypted = encrypt(&key, binding(), plaintext, &mut envelope).unwrap();
        (key, envelope, encrypted)
    }

    fn open(key: &RecordKey, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut plaintext = Vec::new();
        decrypt(key, binding(), envelope, &mut plaintext)?;
        Ok(plaintext)
    }

    #[test]
    fn sizes_around_chunk_boundaries_round_trip() {
        for len in [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN] {
            let plaintext: Vec<u8> = (0..len).map(|index| index as u8).collect();
            let (key, envelope, encrypted) = seal(&plaintext);
            assert_eq!(encrypted.envelope_len, envelope.len() as u64, "{len}");
            assert_eq!(envelope_len(len as u64), envelope.len() as u64, "{len}");
            assert_eq!(encrypted.plaintext_len, len as u64);
            assert_eq!(encrypted.content_id, *blake3::hash(&envelope).as_bytes());
            assert_eq!(open(&key, &envelope).unwrap(), plaintext, "{len}");
        }
    }

    /// A writer that fails once it has taken `room` bytes.
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if bytes.len() > self.room {
                return Err(io::Error::other("no space left on device"));
            }
            self.room -= bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_writer_ends_a_long_encryption_with_its_error() {
        let plaintext = vec![1u8; 40 * CHUNK_LEN];
        let key = RecordKey::generate();
        let room = HEADER_LEN + 20 * (CHUNK_LEN + TAG_LEN);
        let result = encrypt(&key, binding(), plaintext.as_slice(), FullDisk { room });
        assert!(matches!(result, Err(CryptoError::Io(_))), "{result:?}");
    }

    #[test]
    fn dropping_the_last_chunk_is_detected() {
        let plaintext = vec![7u8; 2 * CHUNK_LEN];
        let (key, envelope, _) = seal(&plaintext);
        let cut = HEADER_LEN + CHUNK_LEN + TAG_LEN;
        assert!(matches!(
            open(&key, &envelope[..cut]),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn swapping_chunks_is_detected() {
        let plaintext: Vec<u8> = (0..3 * CHUNK_LEN)
            .map(|index| (index / CHUNK_LEN) as u8)
            .collect();
        let (key, envelope, _) = seal(&plaintext);
        let sealed = CHUNK_LEN + TAG_LEN;
        let mut swapped = envelope[..HEADER_LEN].to_vec();
        swapped.extend_from_slice(&envelope[HEADER_LEN + sealed..HEADER_LEN + 2 * sealed]);
        swapped.extend_from_slice(&envelope[HEADER_LEN..HEADER_LEN + sealed]);
        swapped.extend_from_slice(&envelope[HEADER_LEN + 2 * sealed..]);
        assert!(matches!(open(&key, &swapped), Err(CryptoError::Tampered)));
    }

    #[test]
    fn another_records_binding_is_refused() {
        let (key, envelope, _) = seal(b"allergy: penicillin");
        let mut other = binding();
        other.version = 4;
        let result = decrypt(&key, other, envelope.as_slice(), &mut Vec::new());
        assert!(matches!(result, Err(CryptoError::OtherRecord)));
    }

    #[test]
    fn a_rewritten_header_is_detected() {
        let (key, mut envelope, _) = seal(b"allergy: penicillin");
        envelope[38] ^= 1; // the version, as if it were another version
        let mut forged = binding();
        forged.version ^= 1;
        let result = decrypt(&key, forged, envelope.as_slice(), &mut Vec::new());
        assert!(matches!(result, Err(CryptoError::Tampered)));
    }

    #[test]
    fn the_wrong_key_is_refused() {
        let (_, envelope, _) = seal(b"allergy: penicillin");
        assert!(matches!(
            open(&RecordKey::generate(), &envelope),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn malformed_headers_are_named() {
        let (key, envelope, _) = seal(b"x");
        assert!(matches!(
            open(&key, &envelope[..10]),
            Err(CryptoError::MalformedEnvelope(_))
        ));
        let mut wrong_magic = envelope.clone();
        wrong_magic[0] = b'X';
        assert!(matches!(
            open(&key, &wrong_magic),
            Err(CryptoError::MalformedEnvelope(_))
        ));
        let mut big_chunks = envelope.clone();
        big_chunks[5] = 20;
        assert!(matches!(
            open(&key, &big_chunks),
            Err(CryptoError::MalformedEnvelope(_))
        ));
    }

    #[test]
    fn the_same_plaintext_encrypts_differently_each_time() {
        let key = RecordKey::generate();
        let mut first = Vec::new();
        let mut second = Vec::new();
        encrypt(&key, binding(), &b"same"[..], &mut first).unwrap();
        encrypt(&key, binding(), &b"same"[..], &mut second).unwrap();
        assert_ne!(first, second);
    }
}
