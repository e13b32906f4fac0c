//! Record encryption and decryption throughput against raw
//! XChaCha20-Poly1305 on the same machine, in the same run.
//!
//! `cargo bench -p medigate-crypto --bench throughput` (or
//! `bench/crypto.sh`) prints, for a 64 MiB record, the median of several
//! runs of: raw AEAD over 64 KiB chunks (the floor any chunked encryption
//! pays), envelope encryption (chunks, STREAM nonces, header, BLAKE3 content
//! id) and envelope decryption, and the envelope's share of the raw speed.

use std::time::{Duration, Instant};

use chacha20poly1305::{AeadInPlace, KeyInit, XChaCha20Poly1305, XNonce};
use medigate_crypto::record::{self, CHUNK_LEN, RecordBinding, RecordKey};

const RECORD_LEN: usize = 64 * 1024 * 1024;
const RUNS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn megabytes_per_second(duration: Duration) -> f64 {
    RECORD_LEN as f64 / duration.as_secs_f64() / 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let plaintext: Vec<u8> = (0..RECORD_LEN).map(|index| (index * 31) as u8).collect();
    let key = RecordKey::generate();
    let binding = RecordBinding {
        record_id: [1; 32],
        version: 1,
        owner: [2; 32],
    };
    let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
    let nonce = XNonce::from([7u8; 24]);

    let mut raw = Vec::new();
    let mut encrypt = Vec::new();
    let mut decrypt = Vec::new();
    let mut buffer = plaintext.clone();
    let mut envelope = Vec::with_capacity(record::envelope_len(RECORD_LEN as u64) as usize);
    let mut opened = Vec::with_capacity(RECORD_LEN);
    for _ in 0..RUNS {
        buffer.copy_from_slice(&plaintext);
        let started = Instant::now();
        for chunk in buffer.chunks_mut(CHUNK_LEN) {
            let tag = cipher
                .encrypt_in_place_detached(&nonce, b"", chunk)
                .expect("encrypts");
            std::hint::black_box(tag);
        }
        raw.push(started.elapsed());

        envelope.clear();
        let started = Instant::now();
        record::encrypt(&key, binding, plaintext.as_slice(), &mut envelope).expect("encrypts");
        encrypt.push(started.elapsed());

        opened.clear();
        let started = Instant::now();
        record::decrypt(&key, binding, envelope.as_slice(), &mut opened).expect("decrypts");
        decrypt.push(started.elapsed());
        assert_eq!(opened.len(), RECORD_LEN);
    }
    let (raw, encrypt, decrypt) = (median(raw), median(encrypt), median(decrypt));
    println!("record of {} MiB, median of {RUNS} runs", RECORD_LEN >> 20);
    println!(
        "raw XChaCha20-Poly1305 (64 KiB chunks)   {:8.0} MB/s",
        megabytes_per_second(raw)
    );
    println!(
        "envelope encryption                      {:8.0} MB/s  ({:.0} % of raw)",
        megabytes_per_second(encrypt),
        100.0 * raw.as_secs_f64() / encrypt.as_secs_f64()
    );
    println!(
        "envelope decryption                      {:8.0} MB/s  ({:.0} % of raw)",
        megabytes_per_second(decrypt),
        100.0 * raw.as_secs_f64() / decrypt.as_secs_f64()
    );
}
