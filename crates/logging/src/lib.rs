//! The logs of MediGate's services (gateway, vault, custodian).
//!
//! Services log what clients sent them: ids, names, error texts. A client
//! that puts terminal control sequences in those could rewrite what an
//! operator sees in a terminal, or attack the terminal itself. The Polkadot
//! SDK pins `tracing-subscriber` at a version that does not escape them
//! (RUSTSEC-2025-0055; see `deny.toml`), so the services write their logs
//! through [`EscapingWriter`], which escapes every control character but
//! the line break and the tab, and log without colours.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;

/// Starts the process's log: events at `default_filter` (or as `RUST_LOG`
/// says), one line each, on standard error, control characters escaped.
pub fn init(default_filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .with_ansi(false)
        .with_writer(|| EscapingWriter::new(io::stderr()))
        .init();
}

/// A writer that passes text on with its control characters escaped:
/// C0 controls (but `\n` and `\t`), DEL and the C1 controls (U+0080 to
/// U+009F, which some terminals obey as ESC sequences) become `\u{..}`.
#[derive(Debug)]
pub struct EscapingWriter<W: Write> {
    inner: W,
    /// The last byte of the previous write was 0xC2, the first byte of a C1
    /// control's UTF-8 encoding, and was held back.
    held_c2: bool,
}

impl<W: Write> EscapingWriter<W> {
    /// Escapes what is written before passing it to `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            held_c2: false,
        }
    }
}

/// Appends the escaped form of `code` (a control character) to `out`.
fn escape(code: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("\\u{{{code:x}}}").as_bytes());
}

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Nothing to decide a held 0xC2 by: keep holding it.
        if buf.is_empty() {
            return Ok(0);
        }
        let mut out = Vec::with_capacity(buf.len());
        let mut bytes = buf.iter().copied().peekable();
        if self.held_c2 {
            self.held_c2 = false;
            match bytes.peek() {
                Some(&next @ 0x80..=0x9F) => {
                    bytes.next();
                    escape(u32::from(next), &mut out);
                }
                _ => out.push(0xC2),
            }
        }
        while let Some(byte) = bytes.next() {
            match byte {
                b'\n' | b'\t' => out.push(byte),
                0x00..=0x1F | 0x7F => escape(u32::from(byte), &mut out),
                0xC2 => match bytes.peek() {
                    Some(&next @ 0x80..=0x9F) => {
                        bytes.next();
                        escape(u32::from(next), &mut out);
                    }
                    Some(_) => out.push(byte),
                    None => self.held_c2 = true,
                },
                _ => out.push(byte),
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for EscapingWriter<W> {
    fn drop(&mut self) {
        if self.held_c2 {
            let _ = self.inner.write_all(&[0xC2]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(chunks: &[&[u8]]) -> String {
        let mut out = Vec::new();
        let mut writer = EscapingWriter::new(&mut out);
        for chunk in chunks {
            // One write each, empty ones too (`write_all` skips those).
            assert_eq!(writer.write(chunk).unwrap(), chunk.len());
        }
        drop(writer);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn terminal_sequences_are_escaped_and_text_is_kept() {
        assert_eq!(
            escaped(&[b"id \x1b]0;owned\x07 \x1b[2J done\n"]),
            "id \\u{1b}]0;owned\\u{7} \\u{1b}[2J done\n"
        );
        assert_eq!(
            escaped(&["tab\there, é, 漢字\r\n".as_bytes()]),
            "tab\there, é, 漢字\\u{d}\n"
        );
        assert_eq!(escaped(&[b"del\x7f"]), "del\\u{7f}");
    }

    #[test]
    fn c1_controls_are_escaped_even_split_across_writes() {
        // U+009B, the one-character CSI, encoded 0xC2 0x9B.
        assert_eq!(escaped(&["a\u{9b}31m".as_bytes()]), "a\\u{9b}31m");
        assert_eq!(escaped(&[b"a\xC2", b"\x9b31m"]), "a\\u{9b}31m");
        assert_eq!(escaped(&[b"a\xC2", b"", b"\x9b31m"]), "a\\u{9b}31m");
        // 0xC2 before another continuation byte is ordinary text (U+00A0…).
        assert_eq!(
            escaped(&[b"\xC2", "\u{a0}".as_bytes()[1..].as_ref()]),
            "\u{a0}"
        );
        assert_eq!(escaped(&["x\u{a9}".as_bytes()]), "x\u{a9}");
    }
}
