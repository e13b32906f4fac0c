//! Record encryption: a fresh key per record version, XChaCha20-Poly1305 in
//! 64 KiB chunks with STREAM nonces (a random 19-byte prefix, a 32-bit
//! big-endian chunk counter and a last-chunk flag), so that truncating,
//! reordering or splicing chunks is detected. Both directions stream: memory
//! use is a few chunks whatever the record's size (decryption one;
//! encryption up to 34 while a second thread hashes the envelope for its
//! content id), beside the input reader's own buffer. A chunk is encrypted
//! or decrypted straight out of that buffer when it shows a whole chunk and
//! more, so a record given as a byte slice is not copied on the way in.
//!
//! The envelope starts with a header that names the record (id, version,
//! owner); the whole header is every chunk's associated data, so an envelope
//! cannot be passed off as another record's. The byte layout is in
//! `crates/crypto/ENVELOPE.md`. The content id anchored on chain is the
//! BLAKE3-256 hash of the whole envelope; [`decrypt`] opens an envelope only
//! against its anchor ([`Anchored`]), so what a reader is shown is always
//! what the chain anchors.

use std::io::{self, BufRead, Write};

use chacha20poly1305::{AeadInOut, KeyInit, Tag, XChaCha20Poly1305, XNonce, aead::inout::InOutBuf};
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
/// A chunk's nonce: the prefix, a 32-bit counter and the last-chunk flag.
const NONCE_LEN: usize = NONCE_PREFIX_LEN + 4 + 1;

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
        XChaCha20Poly1305::new((&*self.0).into())
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

/// The content id of `envelope`: its BLAKE3-256 hash, what the chain
/// anchors.
pub fn content_id(envelope: &[u8]) -> [u8; 32] {
    *blake3::hash(envelope).as_bytes()
}

/// The envelope length of a plaintext of `plaintext_len` bytes.
pub fn envelope_len(plaintext_len: u64) -> u64 {
    let chunks = plaintext_len.div_ceil(CHUNK_LEN as u64).max(1);
    HEADER_LEN as u64 + plaintext_len + chunks * TAG_LEN as u64
}

/// A full chunk as the envelope holds it: ciphertext and tag.
const SEALED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;

/// Chunks handed to the hashing thread at a time.
const HASH_BATCH: usize = 16;

/// The error for a record that would need more than 2^32 chunks.
fn too_large() -> CryptoError {
    CryptoError::MalformedEnvelope("the record is too large (over 2^32 chunks)")
}

/// The STREAM state of one envelope: the cipher, the next chunk's counter
/// and the associated data every chunk is sealed with.
///
/// Chunk *i*'s nonce is the header's 19-byte prefix, *i* as a big-endian
/// `u32` and a last-chunk flag byte (1 for the last chunk, else 0). A chunk
/// that is not the last needs a successor, so counter `u32::MAX` is only
/// ever the last chunk's: an envelope holds at most 2^32 chunks. Once the
/// last chunk is sealed or opened, the stream refuses any further chunk, so
/// no nonce is used twice.
struct ChunkStream {
    cipher: XChaCha20Poly1305,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// The next chunk's counter; `None` once the last chunk has been taken.
    counter: Option<u32>,
    aad: [u8; CHUNK_AAD_LEN],
}

impl ChunkStream {
    fn new(key: &RecordKey, header: &EnvelopeHeader) -> Self {
        Self {
            cipher: key.cipher(),
            nonce_prefix: header.nonce_prefix,
            counter: Some(0),
            aad: chunk_aad(&header.to_bytes()),
        }
    }

    /// The next chunk's nonce, advancing the counter; `None` if the stream
    /// has no nonce left for such a chunk.
    fn next_nonce(&mut self, last: bool) -> Option<XNonce> {
        let counter = self.counter?;
        self.counter = if last {
            None
        } else {
            Some(counter.checked_add(1)?)
        };
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        nonce[NONCE_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&counter.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Some(XNonce::from(nonce))
    }

    /// Seals `plaintext` as the next chunk into `sealed`, which ends up
    /// holding exactly its ciphertext and tag.
    fn seal(
        &mut self,
        plaintext: &[u8],
        sealed: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), CryptoError> {
        let nonce = self.next_nonce(last).ok_or_else(too_large)?;
        sealed.resize(plaintext.len() + TAG_LEN, 0);
        let (ciphertext, tag_out) = sealed.split_at_mut(plaintext.len());
        let buffer = InOutBuf::new(plaintext, ciphertext).expect("slices of the same length");
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &self.aad, buffer)
            .map_err(|_| too_large())?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Seals the plaintext chunk `buffer` holds, in place, and appends its
    /// tag.
    fn seal_in_place(&mut self, buffer: &mut Vec<u8>, last: bool) -> Result<(), CryptoError> {
        let nonce = self.next_nonce(last).ok_or_else(too_large)?;
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &self.aad, buffer.as_mut_slice().into())
            .map_err(|_| too_large())?;
        buffer.extend_from_slice(&tag);
        Ok(())
    }

    /// Opens `sealed` (ciphertext and tag) as the next chunk into
    /// `plaintext`, which ends up holding exactly the chunk's plaintext.
    /// Nothing is decrypted unless the tag is genuine.
    fn open(
        &mut self,
        sealed: &[u8],
        plaintext: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), CryptoError> {
        let (ciphertext, tag) = split_tag(sealed)?;
        let nonce = self.next_nonce(last).ok_or(CryptoError::Tampered)?;
        plaintext.resize(ciphertext.len(), 0);
        let buffer = InOutBuf::new(ciphertext, plaintext).expect("slices of the same length");
        self.cipher
            .decrypt_inout_detached(&nonce, &self.aad, buffer, &tag)
            .map_err(|_| CryptoError::Tampered)
    }

    /// Opens the sealed chunk `buffer` holds, in place, leaving its
    /// plaintext.
    fn open_in_place(&mut self, buffer: &mut Vec<u8>, last: bool) -> Result<(), CryptoError> {
        let (ciphertext, tag) = split_tag(buffer)?;
        let plaintext_len = ciphertext.len();
        let nonce = self.next_nonce(last).ok_or(CryptoError::Tampered)?;
        self.cipher
            .decrypt_inout_detached(
                &nonce,
                &self.aad,
                (&mut buffer[..plaintext_len]).into(),
                &tag,
            )
            .map_err(|_| CryptoError::Tampered)?;
        buffer.truncate(plaintext_len);
        Ok(())
    }
}

/// A sealed chunk's ciphertext and its tag; a chunk too short to hold a tag
/// was tampered with.
fn split_tag(sealed: &[u8]) -> Result<(&[u8], Tag), CryptoError> {
    let ciphertext_len = sealed
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(CryptoError::Tampered)?;
    let (ciphertext, tag) = sealed.split_at(ciphertext_len);
    Ok((ciphertext, Tag::try_from(tag).expect("16 bytes")))
}

/// How [`take_chunk`] delivered a chunk.
enum Taken {
    /// Borrowed from the reader's buffer and handed over as it stood; more
    /// input follows it, so it is not the last chunk.
    Borrowed,
    /// Copied into the caller's buffer; `last` if nothing follows it.
    Copied { last: bool },
}

/// The next `chunk_len` bytes of `input` (fewer at its end), handed to
/// `borrowed` where the reader's buffer shows more than a whole chunk (no
/// copy; such a chunk is not the last), otherwise gathered into `buffer`,
/// which is cleared first.
///
/// A whole chunk is the last only if nothing follows it: after gathering
/// one, the reader is asked whether it has more, without consuming it. The
/// end of the input is seen once: no read is made after one returned
/// nothing.
fn take_chunk<R: BufRead>(
    input: &mut R,
    chunk_len: usize,
    buffer: &mut Vec<u8>,
    borrowed: impl FnOnce(&[u8], &mut Vec<u8>) -> Result<(), CryptoError>,
) -> Result<Taken, CryptoError> {
    buffer.clear();
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error.into()),
        };
        if buffer.is_empty() && available.len() > chunk_len {
            borrowed(&available[..chunk_len], buffer)?;
            input.consume(chunk_len);
            return Ok(Taken::Borrowed);
        }
        if available.is_empty() {
            return Ok(Taken::Copied { last: true });
        }
        let take = available.len().min(chunk_len - buffer.len());
        buffer.extend_from_slice(&available[..take]);
        input.consume(take);
        if buffer.len() == chunk_len {
            return Ok(Taken::Copied {
                last: at_end(input)?,
            });
        }
    }
}

/// Whether `input` has nothing more, without consuming anything.
fn at_end(input: &mut impl BufRead) -> io::Result<bool> {
    loop {
        match input.fill_buf() {
            Ok(available) => return Ok(available.is_empty()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Reads the next plaintext chunk from `plaintext` and seals it into
/// `sealed`; returns the chunk's plaintext length and whether it was the
/// last.
fn seal_next(
    stream: &mut ChunkStream,
    plaintext: &mut impl BufRead,
    sealed: &mut Vec<u8>,
) -> Result<(usize, bool), CryptoError> {
    let taken = take_chunk(plaintext, CHUNK_LEN, sealed, |chunk, sealed| {
        stream.seal(chunk, sealed, false)
    })?;
    match taken {
        Taken::Borrowed => Ok((CHUNK_LEN, false)),
        Taken::Copied { last } => {
            let len = sealed.len();
            stream.seal_in_place(sealed, last)?;
            Ok((len, last))
        }
    }
}

/// Reads the next sealed chunk from `envelope`, adds it to `hasher` and
/// opens it into `chunk`; returns whether it was the last.
fn open_next(
    stream: &mut ChunkStream,
    hasher: &mut blake3::Hasher,
    envelope: &mut impl BufRead,
    chunk: &mut Vec<u8>,
) -> Result<bool, CryptoError> {
    let taken = take_chunk(envelope, SEALED_CHUNK_LEN, chunk, |sealed, chunk| {
        hasher.update(sealed);
        stream.open(sealed, chunk, false)
    })?;
    match taken {
        Taken::Borrowed => Ok(false),
        Taken::Copied { last } => {
            hasher.update(chunk);
            stream.open_in_place(chunk, last)?;
            Ok(last)
        }
    }
}

/// Encrypts the plaintext read from `plaintext` under `key` for `binding`,
/// writing the envelope to `envelope`.
///
/// The input is a [`BufRead`]: a byte slice, or a file or socket wrapped
/// in a [`std::io::BufReader`]. Where the reader's buffer shows more than a
/// whole chunk (a byte slice does for every chunk but its last), the chunk
/// is encrypted straight out of it; otherwise the chunk is gathered into a
/// chunk buffer first.
///
/// A record longer than one chunk is hashed (for its content id) on a second
/// thread, in batches of chunks, while the next chunks are encrypted; memory
/// use stays at a few batches of chunks.
pub fn encrypt(
    key: &RecordKey,
    binding: RecordBinding,
    plaintext: impl BufRead,
    envelope: impl Write,
) -> Result<Encrypted, CryptoError> {
    encrypt_with_header(key, EnvelopeHeader::new(binding), plaintext, envelope)
}

/// [`encrypt`] under a given header (its nonce prefix included).
fn encrypt_with_header(
    key: &RecordKey,
    header: EnvelopeHeader,
    mut plaintext: impl BufRead,
    mut envelope: impl Write,
) -> Result<Encrypted, CryptoError> {
    let header_bytes = header.to_bytes();
    let mut stream = ChunkStream::new(key, &header);
    let mut hasher = blake3::Hasher::new();
    hasher.update(&header_bytes);
    envelope.write_all(&header_bytes)?;
    let mut current = Vec::with_capacity(SEALED_CHUNK_LEN);
    let (read, last) = seal_next(&mut stream, &mut plaintext, &mut current)?;
    envelope.write_all(&current)?;
    let mut plaintext_len = read as u64;
    let mut envelope_len = (HEADER_LEN + current.len()) as u64;

    if last {
        // One chunk: nothing to overlap.
        envelope.flush()?;
        hasher.update(&current);
        return Ok(Encrypted {
            content_id: *hasher.finalize().as_bytes(),
            envelope_len,
            plaintext_len,
        });
    }

    std::thread::scope(|scope| {
        // Chunk buffers circulate: filled here, hashed there, returned.
        // With `current`, 2 * HASH_BATCH + 2 of them exist.
        let (written, to_hash) = std::sync::mpsc::channel::<Vec<Vec<u8>>>();
        let (hashed, free) = std::sync::mpsc::channel::<Vec<u8>>();
        for _ in 0..2 * HASH_BATCH + 1 {
            hashed
                .send(Vec::with_capacity(SEALED_CHUNK_LEN))
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
        batch.push(current);
        loop {
            if batch.len() == HASH_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(HASH_BATCH));
                written
                    .send(full)
                    .expect("the hashing thread runs until hung up");
            }
            let mut sealed = free.recv().expect("the hashing thread returns buffers");
            let (read, last) = seal_next(&mut stream, &mut plaintext, &mut sealed)?;
            envelope.write_all(&sealed)?;
            plaintext_len += read as u64;
            envelope_len += sealed.len() as u64;
            batch.push(sealed);
            if last {
                break;
            }
        }
        envelope.flush()?;
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

/// What the chain anchors of a record version: what a reader checks an
/// envelope against before it believes a byte of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchored {
    /// The content id anchored on chain: BLAKE3-256 of the whole envelope.
    pub content_id: [u8; 32],
    /// The owner (the patient) the anchor names.
    pub owner: [u8; 32],
    /// The version number the anchor names.
    pub version: u32,
    /// The record's id where the reader knows it (its own records, the
    /// emergency summary); anchors do not hold it, so a reader of a shared
    /// record learns it from the envelope's header.
    pub record_id: Option<[u8; 32]>,
}

impl Anchored {
    /// The anchor of the envelope with content id `content_id` bound to
    /// `binding`, record id included (as its encryption returned them).
    pub fn of(binding: RecordBinding, content_id: [u8; 32]) -> Self {
        Self {
            content_id,
            owner: binding.owner,
            version: binding.version,
            record_id: Some(binding.record_id),
        }
    }

    /// Whether an envelope bound to `binding` is the record this anchor
    /// names.
    fn names(&self, binding: &RecordBinding) -> bool {
        binding.owner == self.owner
            && binding.version == self.version
            && self
                .record_id
                .is_none_or(|record_id| record_id == binding.record_id)
    }
}

/// What opening an envelope found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The record the envelope is bound to (its header).
    pub binding: RecordBinding,
    /// The plaintext's length in bytes.
    pub plaintext_len: u64,
}

/// Decrypts the envelope read from `envelope` with `key`, writing the
/// plaintext to `plaintext`. The envelope must be the one `anchored` names:
/// its header bound to the anchor's owner and version (and record id, where
/// given), else [`CryptoError::OtherRecord`] before anything is decrypted;
/// and its BLAKE3-256 hash the anchored content id, else
/// [`CryptoError::NotAnchored`]. This is the only way to open an envelope,
/// so no reader can show a record without proving it against its anchor.
///
/// The input is a [`BufRead`], as for [`encrypt`]: a sealed chunk is
/// decrypted straight out of the reader's buffer when that shows more than
/// a whole sealed chunk, otherwise it is gathered into a chunk buffer first.
///
/// Chunks are written as they are verified, and the hash is known only at
/// the end: if this fails, whatever was written is not the record and must
/// be discarded.
pub fn decrypt(
    key: &RecordKey,
    anchored: &Anchored,
    mut envelope: impl BufRead,
    mut plaintext: impl Write,
) -> Result<Opened, CryptoError> {
    let mut header_bytes = Vec::with_capacity(HEADER_LEN);
    gather(&mut envelope, &mut header_bytes, HEADER_LEN)?;
    let header = EnvelopeHeader::parse(&header_bytes)?;
    if !anchored.names(&header.binding) {
        return Err(CryptoError::OtherRecord);
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(&header_bytes);
    let mut stream = ChunkStream::new(key, &header);
    let mut chunk = Vec::with_capacity(SEALED_CHUNK_LEN);
    let mut written = 0u64;
    loop {
        let last = open_next(&mut stream, &mut hasher, &mut envelope, &mut chunk)?;
        plaintext.write_all(&chunk)?;
        written += chunk.len() as u64;
        if last {
            break;
        }
    }
    if hasher.finalize().as_bytes() != &anchored.content_id {
        return Err(CryptoError::NotAnchored);
    }
    plaintext.flush()?;
    Ok(Opened {
        binding: header.binding,
        plaintext_len: written,
    })
}

/// Appends bytes of `input` to `buffer` until it holds `want` bytes or the
/// input ends.
fn gather(input: &mut impl BufRead, buffer: &mut Vec<u8>, want: usize) -> io::Result<()> {
    while buffer.len() < want {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            break;
        }
        let take = available.len().min(want - buffer.len());
        buffer.extend_from_slice(&available[..take]);
        input.consume(take);
    }
    Ok(())
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

    /// What the chain would anchor of `envelope` made for [`binding`].
    fn anchored(envelope: &[u8]) -> Anchored {
        Anchored::of(binding(), *blake3::hash(envelope).as_bytes())
    }

    /// Opens `envelope` against the anchor of exactly these bytes: the tests
    /// of the cipher's own checks, which come before the hash's.
    fn open(key: &RecordKey, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut plaintext = Vec::new();
        decrypt(key, &anchored(envelope), envelope, &mut plaintext)?;
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
        let (key, envelope, encrypted) = seal(b"allergy: penicillin");
        let right = Anchored::of(binding(), encrypted.content_id);
        let others = [
            Anchored {
                version: 4,
                ..right
            },
            Anchored {
                owner: [9; 32],
                ..right
            },
            Anchored {
                record_id: Some([9; 32]),
                ..right
            },
        ];
        for other in others {
            let result = decrypt(&key, &other, envelope.as_slice(), &mut Vec::new());
            assert!(matches!(result, Err(CryptoError::OtherRecord)), "{other:?}");
        }
        let unknown_id = Anchored {
            record_id: None,
            ..right
        };
        let opened = decrypt(&key, &unknown_id, envelope.as_slice(), &mut Vec::new()).unwrap();
        assert_eq!(opened.binding, binding());
    }

    #[test]
    fn an_envelope_that_is_not_the_anchored_one_is_refused() {
        // Whoever holds the key (an author, a grantee) can make another
        // envelope for the same record that decrypts; it is not the one
        // the chain anchors.
        let (key, envelope, encrypted) = seal(b"allergy: penicillin");
        let mut other = Vec::new();
        encrypt(&key, binding(), &b"allergy: none known"[..], &mut other).unwrap();
        let anchored = Anchored::of(binding(), encrypted.content_id);
        let mut shown = Vec::new();
        let result = decrypt(&key, &anchored, other.as_slice(), &mut shown);
        assert!(
            matches!(result, Err(CryptoError::NotAnchored)),
            "{result:?}"
        );
        let mut plaintext = Vec::new();
        decrypt(&key, &anchored, envelope.as_slice(), &mut plaintext).unwrap();
        assert_eq!(plaintext, b"allergy: penicillin");
    }

    #[test]
    fn a_rewritten_header_is_detected() {
        let (key, mut envelope, _) = seal(b"allergy: penicillin");
        envelope[38] ^= 1; // the version, as if it were another version
        let mut forged = binding();
        forged.version ^= 1;
        let anchored = Anchored::of(forged, *blake3::hash(&envelope).as_bytes());
        let result = decrypt(&key, &anchored, envelope.as_slice(), &mut Vec::new());
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

    /// A reader over `data` whose buffer shows it in pieces of the given
    /// sizes, in turn; a size of 0 is a read interrupted by a signal.
    struct Pieces<'a> {
        data: &'a [u8],
        sizes: &'a [usize],
        turn: usize,
        shown: usize,
    }

    impl<'a> Pieces<'a> {
        fn new(data: &'a [u8], sizes: &'a [usize]) -> Self {
            Self {
                data,
                sizes,
                turn: 0,
                shown: 0,
            }
        }
    }

    impl io::Read for Pieces<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let available = self.fill_buf()?;
            let len = available.len().min(out.len());
            out[..len].copy_from_slice(&available[..len]);
            self.consume(len);
            Ok(len)
        }
    }

    impl BufRead for Pieces<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if self.shown == 0 {
                let size = self.sizes[self.turn % self.sizes.len()];
                self.turn += 1;
                if size == 0 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                self.shown = size.min(self.data.len());
            }
            Ok(&self.data[..self.shown])
        }

        fn consume(&mut self, amount: usize) {
            self.data = &self.data[amount..];
            self.shown -= amount;
        }
    }

    /// Piece sizes that mix chunks taken from the reader's buffer with
    /// chunks gathered across several reads, and interrupted reads.
    const AWKWARD: &[usize] = &[
        0,
        7,
        CHUNK_LEN + 1,
        0,
        CHUNK_LEN,
        1,
        2 * CHUNK_LEN + TAG_LEN + 3,
        CHUNK_LEN - 1,
        TAG_LEN,
        SEALED_CHUNK_LEN,
        SEALED_CHUNK_LEN + 1,
    ];

    fn fixed_header() -> EnvelopeHeader {
        EnvelopeHeader {
            binding: binding(),
            nonce_prefix: [9; NONCE_PREFIX_LEN],
        }
    }

    /// Every way of reading `bytes` the tests try, by name.
    fn readers(bytes: &[u8]) -> Vec<(&'static str, Box<dyn BufRead + '_>)> {
        vec![
            ("a slice", Box::new(bytes)),
            (
                "a 7-byte buffer",
                Box::new(io::BufReader::with_capacity(7, bytes)),
            ),
            (
                "a one-chunk buffer",
                Box::new(io::BufReader::with_capacity(CHUNK_LEN, bytes)),
            ),
            (
                "a one-sealed-chunk buffer",
                Box::new(io::BufReader::with_capacity(SEALED_CHUNK_LEN, bytes)),
            ),
            ("awkward pieces", Box::new(Pieces::new(bytes, AWKWARD))),
        ]
    }

    #[test]
    fn any_reader_gives_the_same_envelope_and_opens_it() {
        let key = RecordKey::generate();
        for len in [
            0,
            1,
            CHUNK_LEN - 1,
            CHUNK_LEN,
            CHUNK_LEN + 1,
            2 * CHUNK_LEN + 5,
            3 * CHUNK_LEN,
        ] {
            let plaintext: Vec<u8> = (0..len).map(|index| (index % 251) as u8).collect();
            let mut expected = Vec::new();
            let sealed =
                encrypt_with_header(&key, fixed_header(), plaintext.as_slice(), &mut expected)
                    .unwrap();
            assert_eq!(sealed.envelope_len, envelope_len(len as u64), "{len}");
            assert_eq!(sealed.content_id, *blake3::hash(&expected).as_bytes());
            for (name, reader) in readers(&plaintext) {
                let mut envelope = Vec::new();
                let encrypted =
                    encrypt_with_header(&key, fixed_header(), reader, &mut envelope).unwrap();
                assert!(envelope == expected, "{len} bytes through {name}");
                assert_eq!(encrypted, sealed, "{len} bytes through {name}");
            }
            for (name, reader) in readers(&expected) {
                let mut opened_text = Vec::new();
                let opened = decrypt(&key, &anchored(&expected), reader, &mut opened_text);
                assert_eq!(
                    opened.unwrap().plaintext_len,
                    len as u64,
                    "{len} bytes through {name}"
                );
                let opened = opened_text;
                assert!(opened == plaintext, "{len} bytes through {name}");
            }
        }
    }

    #[test]
    fn any_reader_detects_a_cut_or_a_changed_envelope() {
        let plaintext = vec![5u8; 2 * CHUNK_LEN];
        let (key, envelope, _) = seal(&plaintext);
        let cut = &envelope[..HEADER_LEN + SEALED_CHUNK_LEN];
        let mut changed = envelope.clone();
        changed[HEADER_LEN + SEALED_CHUNK_LEN + 3] ^= 1;
        for forged in [cut, changed.as_slice()] {
            for (name, reader) in readers(forged) {
                let result = decrypt(&key, &anchored(forged), reader, &mut Vec::new());
                assert!(matches!(result, Err(CryptoError::Tampered)), "{name}");
            }
        }
    }

    #[test]
    fn a_failing_reader_ends_encryption_and_decryption_with_its_error() {
        struct Failing;
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk error"))
            }
        }
        let key = RecordKey::generate();
        let reader = io::BufReader::new(io::Read::chain(&[3u8; 3 * CHUNK_LEN][..], Failing));
        let result = encrypt(&key, binding(), reader, io::sink());
        assert!(matches!(result, Err(CryptoError::Io(_))), "{result:?}");
        let (key, envelope, _) = seal(&[3u8; 3 * CHUNK_LEN]);
        let reader = io::BufReader::new(io::Read::chain(&envelope[..HEADER_LEN + 10], Failing));
        let result = decrypt(&key, &anchored(&envelope), reader, io::sink());
        assert!(matches!(result, Err(CryptoError::Io(_))), "{result:?}");
    }

    #[test]
    fn nonces_are_prefix_counter_and_last_flag() {
        let key = RecordKey::generate();
        let mut stream = ChunkStream::new(&key, &fixed_header());
        let mut expected = [9u8; NONCE_LEN];
        expected[NONCE_PREFIX_LEN..].copy_from_slice(&[0, 0, 0, 0, 0]);
        assert_eq!(stream.next_nonce(false).unwrap().as_slice(), expected);
        expected[NONCE_PREFIX_LEN..].copy_from_slice(&[0, 0, 0, 1, 0]);
        assert_eq!(stream.next_nonce(false).unwrap().as_slice(), expected);
        expected[NONCE_PREFIX_LEN..].copy_from_slice(&[0, 0, 0, 2, 1]);
        assert_eq!(stream.next_nonce(true).unwrap().as_slice(), expected);
        // Nothing follows the last chunk.
        assert!(stream.next_nonce(false).is_none());
        assert!(stream.next_nonce(true).is_none());
    }

    #[test]
    fn the_counter_never_wraps() {
        let key = RecordKey::generate();
        let mut stream = ChunkStream::new(&key, &fixed_header());
        stream.counter = Some(u32::MAX - 1);
        let mut sealed = Vec::new();
        stream.seal(b"next", &mut sealed, false).unwrap();
        // Counter 2^32 - 1 is left for a last chunk only.
        let result = stream.seal(b"next", &mut sealed, false);
        assert!(
            matches!(result, Err(CryptoError::MalformedEnvelope(message)) if message.contains("2^32")),
            "{result:?}"
        );
        let mut opening = ChunkStream::new(&key, &fixed_header());
        opening.counter = Some(u32::MAX);
        let result = opening.open(&[0; 2 * TAG_LEN], &mut Vec::new(), false);
        assert!(matches!(result, Err(CryptoError::Tampered)), "{result:?}");

        let mut last = ChunkStream::new(&key, &fixed_header());
        last.counter = Some(u32::MAX);
        last.seal(b"last", &mut sealed, true).unwrap();
        let mut opening = ChunkStream::new(&key, &fixed_header());
        opening.counter = Some(u32::MAX);
        let mut opened = Vec::new();
        opening.open(&sealed, &mut opened, true).unwrap();
        assert_eq!(opened, b"last");
    }

    #[test]
    fn encryption_reproduces_the_recorded_envelope() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v1.json");
        let vectors: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let unhex = |name: &str| -> Vec<u8> {
            let text = vectors[name].as_str().unwrap();
            (0..text.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
                .collect()
        };
        let recorded = unhex("envelope");
        let key = RecordKey::from_bytes(unhex("record_key").try_into().unwrap());
        let header = EnvelopeHeader::parse(&recorded).unwrap();
        let mut plaintext = Vec::new();
        let content_id: [u8; 32] = unhex("content_id").try_into().unwrap();
        let anchored = Anchored::of(header.binding, content_id);
        decrypt(&key, &anchored, recorded.as_slice(), &mut plaintext).unwrap();
        for (name, reader) in readers(&plaintext) {
            let mut envelope = Vec::new();
            let encrypted = encrypt_with_header(&key, header, reader, &mut envelope).unwrap();
            assert!(envelope == recorded, "through {name}");
            assert_eq!(encrypted.content_id.to_vec(), unhex("content_id"));
        }
    }
}
