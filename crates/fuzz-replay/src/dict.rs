//! libFuzzer dictionaries (`-dict=`): one token a line, `"text"` or
//! `name="text"`, with `\\`, `\"` and `\xNN` escapes; `#` starts a comment.

use std::fmt;

/// Why a dictionary line is not a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictError {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for DictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dictionary line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for DictError {}

/// The tokens of a dictionary's text, in order.
pub fn parse(text: &str) -> Result<Vec<Vec<u8>>, DictError> {
    let mut tokens = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |reason| DictError {
            line: index + 1,
            reason,
        };
        let quoted = match line.find('"') {
            Some(start) => &line[start..],
            None => return Err(error("no quoted token")),
        };
        if quoted.len() < 2 || !quoted.ends_with('"') {
            return Err(error(
                "the token's quotes are not closed at the end of the line",
            ));
        }
        tokens.push(unescape(&quoted[1..quoted.len() - 1]).map_err(error)?);
    }
    Ok(tokens)
}

fn unescape(text: &str) -> Result<Vec<u8>, &'static str> {
    let mut bytes = text.bytes();
    let mut token = Vec::with_capacity(text.len());
    while let Some(byte) = bytes.next() {
        if byte != b'\\' {
            token.push(byte);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => token.push(b'\\'),
            Some(b'"') => token.push(b'"'),
            Some(b'x') => {
                let high = bytes.next().and_then(hex_digit);
                let low = bytes.next().and_then(hex_digit);
                match (high, low) {
                    (Some(high), Some(low)) => token.push(high << 4 | low),
                    _ => return Err("\\x is not followed by two hex digits"),
                }
            }
            _ => return Err("an unknown escape (only \\\\, \\\" and \\xNN are known)"),
        }
    }
    Ok(token)
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_named_and_escaped_tokens() {
        let text = "# a comment\n\"MGE1\"\nkey=\"\\x01\\x10\"\n\n  \"a\\\"b\\\\\"\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![b"MGE1".to_vec(), vec![1, 0x10], b"a\"b\\".to_vec()]
        );
    }

    #[test]
    fn refuses_broken_lines_naming_them() {
        assert_eq!(parse("\"ok\"\nnope").unwrap_err().line, 2);
        assert_eq!(parse("\"open").unwrap_err().line, 1);
        assert_eq!(parse("\"\\x4\"").unwrap_err().line, 1);
        assert_eq!(parse("\"\\n\"").unwrap_err().line, 1);
    }
}
