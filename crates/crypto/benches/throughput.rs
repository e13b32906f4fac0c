//! Record encryption and decryption throughput against raw
//! XChaCha20-Poly1305 on the same machine, in the same run.
//!
//! `cargo bench -p medigate-crypto --bench throughput` (or
//! `bench/crypto.sh`) encrypts and decrypts a 64 MiB record in several runs
//! after one warm-up run. Each run measures raw AEAD over 64 KiB chunks (the
//! floor any chunked encryption pays) right before envelope encryption
//! (chunks, STREAM nonces, header, BLAKE3 content id), and again right
//! before envelope decryption, and takes each envelope direction's share of
//! the raw speed measured next to it. It prints the median throughputs, and
//! the median, lowest and highest of those per-run shares: measuring the
//! two back to back keeps a noisy machine's swings out of the share as far
//! as possible.

use std::time::{Duration, Instant};

use chacha20poly1305::{AeadInOut, KeyInit, XChaCha20Poly1305, XNonce};
use medigate_crypto::record::{self, Anchored, CHUNK_LEN, RecordBinding, RecordKey};

const RECORD_LEN: usize = 64 * 1024 * 1024;
const RUNS: usize = 7;

fn median<T: Copy + PartialOrd>(samples: &[T]) -> T {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("comparable samples"));
    sorted[sorted.len() / 2]
}

fn megabytes_per_second(duration: Duration) -> f64 {
    RECORD_LEN as f64 / duration.as_secs_f64() / 1e6
}

/// The time `work` takes.
fn time(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

/// One direction's samples: its times and its shares of the raw speed
/// measured right before it.
#[derive(Default)]
struct Samples {
    raw: Vec<Duration>,
    envelope: Vec<Duration>,
    share: Vec<f64>,
}

impl Samples {
    fn push(&mut self, raw: Duration, envelope: Duration) {
        self.raw.push(raw);
        self.envelope.push(envelope);
        self.share
            .push(100.0 * raw.as_secs_f64() / envelope.as_secs_f64());
    }

    fn report(&self, name: &str) {
        let lowest = self.share.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = self.share.iter().copied().fold(0.0, f64::max);
        println!(
            "{name:<24} {:8.0} MB/s  (raw beside it {:6.0} MB/s)  \
             {:3.0} % of raw (runs {lowest:.0} to {highest:.0} %)",
            megabytes_per_second(median(&self.envelope)),
            megabytes_per_second(median(&self.raw)),
            median(&self.share),
        );
    }
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
    let mut anchored = None;

    let mut buffer = plaintext.clone();
    let mut raw = || {
        buffer.copy_from_slice(&plaintext);
        time(|| {
            for chunk in buffer.chunks_mut(CHUNK_LEN) {
                let tag = cipher
                    .encrypt_inout_detached(&nonce, b"", chunk.into())
                    .expect("encrypts");
                std::hint::black_box(tag);
            }
        })
    };
    let mut envelope = Vec::with_capacity(record::envelope_len(RECORD_LEN as u64) as usize);
    let mut opened = Vec::with_capacity(RECORD_LEN);
    let mut encryption = Samples::default();
    let mut decryption = Samples::default();
    for run in 0..=RUNS {
        let raw_before_encryption = raw();
        envelope.clear();
        let encrypt = time(|| {
            let encrypted = record::encrypt(&key, binding, plaintext.as_slice(), &mut envelope)
                .expect("encrypts");
            anchored = Some(Anchored::of(binding, encrypted.content_id));
        });
        let anchored = anchored.expect("encrypted");

        let raw_before_decryption = raw();
        opened.clear();
        let decrypt = time(|| {
            record::decrypt(&key, &anchored, envelope.as_slice(), &mut opened).expect("decrypts");
        });
        assert!(opened == plaintext);

        // Run 0 warms up caches, page tables and the allocator.
        if run > 0 {
            encryption.push(raw_before_encryption, encrypt);
            decryption.push(raw_before_decryption, decrypt);
        }
    }
    println!(
        "record of {} MiB, {RUNS} runs after a warm-up; medians, and each run's \
         envelope time against the raw XChaCha20-Poly1305 (64 KiB chunks, in place) \
         measured right before it",
        RECORD_LEN >> 20
    );
    encryption.report("envelope encryption");
    decryption.report("envelope decryption");
}
