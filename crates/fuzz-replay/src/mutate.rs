//! Mutants of an input, made the way libFuzzer makes them: bytes erased,
//! inserted, flipped, copied, set to boundary values; dictionary tokens
//! inserted or written over; numbers in text replaced; two inputs spliced.
//! Deterministic for a given generator seed.

/// A small, fast, seedable generator (SplitMix64): the same seed gives the
/// same mutants on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next_u64() % bound as u64) as usize
        }
    }

    /// An element of `items`, if it has any.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.below(items.len())])
        }
    }
}

/// Little-endian integers a parser is most likely to get wrong.
const BOUNDARY_VALUES: [u64; 12] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// Numbers written into text where it has digits.
const BOUNDARY_NUMBERS: [&str; 10] = [
    "0",
    "-1",
    "1e308",
    "-0",
    "4294967296",
    "18446744073709551616",
    "99999999999999999999999",
    "0.0000000001",
    "NaN",
    "1.5",
];

/// Makes mutants of inputs, within a length limit.
#[derive(Debug)]
pub struct Mutator<'a> {
    dictionary: &'a [Vec<u8>],
    max_len: usize,
}

impl<'a> Mutator<'a> {
    /// A mutator that uses `dictionary`'s tokens and never makes an input
    /// longer than `max_len` bytes.
    pub fn new(dictionary: &'a [Vec<u8>], max_len: usize) -> Self {
        Self {
            dictionary,
            max_len,
        }
    }

    /// A mutant of `input`: one to four mutations stacked; `other` is
    /// another input it may be spliced with.
    pub fn mutant(&self, rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut data = input.to_vec();
        for _ in 0..=rng.below(4) {
            self.mutate_once(rng, &mut data, other);
        }
        data.truncate(self.max_len);
        data
    }

    fn mutate_once(&self, rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
        let len = data.len();
        match rng.below(11) {
            // Erase a run of bytes.
            0 if len > 0 => {
                let start = rng.below(len);
                let end = start + 1 + rng.below((len - start).min(64));
                data.drain(start..end);
            }
            // Insert random bytes, or one byte repeated.
            1 => {
                let at = rng.below(len + 1);
                let count = 1 + rng.below(16);
                let repeated = rng.below(2) == 0;
                let first = rng.next_u64() as u8;
                let bytes: Vec<u8> = (0..count)
                    .map(|_| {
                        if repeated {
                            first
                        } else {
                            rng.next_u64() as u8
                        }
                    })
                    .collect();
                data.splice(at..at, bytes);
            }
            // Flip one bit.
            2 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            // Set one byte at random.
            3 if len > 0 => {
                let at = rng.below(len);
                data[at] = rng.next_u64() as u8;
            }
            // Copy a run of bytes elsewhere in the input.
            4 if len > 1 => {
                let from = rng.below(len);
                let count = 1 + rng.below((len - from).min(64));
                let chunk = data[from..from + count].to_vec();
                let at = rng.below(len + 1);
                if rng.below(2) == 0 {
                    data.splice(at..at, chunk);
                } else {
                    let end = (at + count).min(len);
                    data.splice(at..end, chunk);
                }
            }
            // Write a boundary value as a little- or big-endian integer.
            5 if len > 0 => {
                let width = [1, 2, 4, 8][rng.below(4)];
                let value = BOUNDARY_VALUES[rng.below(BOUNDARY_VALUES.len())];
                let bytes = if rng.below(2) == 0 {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                let at = rng.below(len);
                let end = (at + width).min(len);
                data[at..end].copy_from_slice(&bytes[..end - at]);
            }
            // Insert a dictionary token, or write one over the input.
            6 | 7 => {
                let Some(token) = rng.pick(self.dictionary) else {
                    return;
                };
                let at = rng.below(len + 1);
                if rng.below(2) == 0 || at == len {
                    data.splice(at..at, token.iter().copied());
                } else {
                    let end = (at + token.len()).min(len);
                    data.splice(at..end, token.iter().copied());
                }
            }
            // Replace a number written in text.
            8 => {
                let digits: Vec<usize> = (0..len).filter(|&i| data[i].is_ascii_digit()).collect();
                let Some(&start) = rng.pick(&digits) else {
                    return;
                };
                let end = (start..len)
                    .find(|&i| !data[i].is_ascii_digit())
                    .unwrap_or(len);
                let number = BOUNDARY_NUMBERS[rng.below(BOUNDARY_NUMBERS.len())];
                data.splice(start..end, number.bytes());
            }
            // Splice with the other input: this one's head, its tail.
            9 if !other.is_empty() => {
                let head = rng.below(len + 1);
                let tail = rng.below(other.len());
                data.truncate(head);
                data.extend_from_slice(&other[tail..]);
            }
            // Cut the input short.
            10 if len > 0 => {
                data.truncate(rng.below(len));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutants() {
        let dictionary = vec![b"MGE1".to_vec()];
        let mutator = Mutator::new(&dictionary, 1024);
        let make = |seed| {
            let mut rng = Rng::new(seed);
            (0..100)
                .map(|_| mutator.mutant(&mut rng, b"{\"a\": 12345}", b"other"))
                .collect::<Vec<_>>()
        };
        assert_eq!(make(7), make(7));
        assert_ne!(make(7), make(8));
    }

    #[test]
    fn mutants_differ_from_their_input_and_keep_the_length_limit() {
        let dictionary = vec![b"token".to_vec()];
        let mutator = Mutator::new(&dictionary, 40);
        let mut rng = Rng::new(1);
        let input = b"0123456789abcdef0123456789abcdef";
        let mutants: Vec<_> = (0..1000)
            .map(|_| mutator.mutant(&mut rng, input, input))
            .collect();
        assert!(mutants.iter().all(|mutant| mutant.len() <= 40));
        let changed = mutants
            .iter()
            .filter(|mutant| mutant[..] != input[..])
            .count();
        assert!(changed > 900, "only {changed} of 1000 mutants differ");
        assert!(
            mutants
                .iter()
                .any(|mutant| mutant.windows(5).any(|w| w == b"token"))
        );
    }

    #[test]
    fn an_empty_input_grows() {
        let mutator = Mutator::new(&[], 64);
        let mut rng = Rng::new(3);
        assert!((0..100).any(|_| !mutator.mutant(&mut rng, b"", b"").is_empty()));
    }
}
