//! The offline emergency card: what a responder needs to fetch and decrypt
//! a patient's emergency summary when the custodians cannot be reached.
//! Its text comes from a photo or a keyboard, so it is untrusted input:
//! [`EmergencyCard::parse`] checks every field and is fuzzed.
//!
//! The card is one line of text, printed as a QR code and beneath it:
//!
//! ```text
//! MGEC1.<patient account, 64 hex digits>.<emergency key, 43 base64url characters>.<vault URL>
//! ```
//!
//! The key opens only the summary; the vault still serves it only under a
//! running break-glass of the reader, recorded on chain, and every read is
//! receipted like any other. A card whose key generation was replaced opens
//! nothing newer.

use base64::Engine as _;
use zeroize::Zeroizing;

/// The card's first field.
pub const CARD_TAG: &str = "MGEC1";

/// Why a card's text is not an emergency card.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// It does not start with `MGEC1.`.
    #[error("this is not a MediGate emergency card: it does not start with {CARD_TAG}.")]
    NotACard,
    /// A field is missing.
    #[error("the emergency card is cut short: it lacks the {0}")]
    Missing(&'static str),
    /// The patient id is not 64 hex digits.
    #[error("the emergency card's patient id is not 64 hex digits")]
    BadPatient,
    /// The key is not 32 bytes of base64url.
    #[error("the emergency card's key is not 32 bytes in base64url")]
    BadKey,
    /// The vault is not an http(s) URL.
    #[error("the emergency card's vault address is not an http:// or https:// URL")]
    BadVault,
}

/// A parsed emergency card. The key zeroizes when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct EmergencyCard {
    /// The patient's account.
    pub patient: [u8; 32],
    /// The key of the patient's emergency summary.
    pub key: Zeroizing<[u8; 32]>,
    /// The vault holding the summary.
    pub vault: String,
}

impl std::fmt::Debug for EmergencyCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmergencyCard")
            .field("patient", &hex::encode(self.patient))
            .field("key", &"<secret>")
            .field("vault", &self.vault)
            .finish()
    }
}

impl EmergencyCard {
    /// The card's text.
    pub fn text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{CARD_TAG}.{}.{}.{}",
            hex::encode(self.patient),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.key.as_slice()),
            self.vault
        ))
    }

    /// Reads a card's text (surrounding white space ignored).
    pub fn parse(text: &str) -> Result<Self, CardError> {
        let mut fields = text.trim().splitn(4, '.');
        if fields.next() != Some(CARD_TAG) {
            return Err(CardError::NotACard);
        }
        let patient = fields.next().ok_or(CardError::Missing("patient id"))?;
        let key = fields.next().ok_or(CardError::Missing("key"))?;
        let vault = fields.next().ok_or(CardError::Missing("vault address"))?;
        let patient: [u8; 32] = hex::decode(patient)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(CardError::BadPatient)?;
        let key = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(key)
                .map_err(|_| CardError::BadKey)?,
        );
        let key: [u8; 32] = key.as_slice().try_into().map_err(|_| CardError::BadKey)?;
        let vault_ok = (vault.starts_with("http://") || vault.starts_with("https://"))
            && vault.len() > "https://".len()
            && vault.len() <= 512
            && vault.bytes().all(|byte| byte.is_ascii_graphic());
        if !vault_ok {
            return Err(CardError::BadVault);
        }
        Ok(Self {
            patient,
            key: Zeroizing::new(key),
            vault: vault.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> EmergencyCard {
        EmergencyCard {
            patient: [0xab; 32],
            key: Zeroizing::new([7; 32]),
            vault: "http://127.0.0.1:8700".into(),
        }
    }

    #[test]
    fn a_card_reads_back_what_it_says_and_hides_its_key() {
        let text = card().text();
        assert!(text.starts_with("MGEC1.abab"));
        assert_eq!(
            EmergencyCard::parse(&format!(" {}\n", *text)).unwrap(),
            card()
        );
        assert!(!format!("{:?}", card()).contains("BwcH"));
    }

    #[test]
    fn malformed_cards_are_told_apart() {
        let text = card().text();
        let fields: Vec<&str> = text.splitn(4, '.').collect();
        let with = |index: usize, value: &str| {
            let mut changed = fields.clone();
            changed[index] = value;
            changed.join(".")
        };
        assert_eq!(EmergencyCard::parse("hello"), Err(CardError::NotACard));
        assert_eq!(
            EmergencyCard::parse(&fields[..2].join(".")),
            Err(CardError::Missing("key"))
        );
        assert_eq!(
            EmergencyCard::parse(&fields[..3].join(".")),
            Err(CardError::Missing("vault address"))
        );
        assert_eq!(
            EmergencyCard::parse(&with(1, "abc")),
            Err(CardError::BadPatient)
        );
        assert_eq!(
            EmergencyCard::parse(&with(2, "AAAA")),
            Err(CardError::BadKey)
        );
        assert_eq!(EmergencyCard::parse(&with(2, "!!")), Err(CardError::BadKey));
        assert_eq!(
            EmergencyCard::parse(&with(3, "ftp://vault")),
            Err(CardError::BadVault)
        );
        assert_eq!(
            EmergencyCard::parse(&with(3, "http://a b")),
            Err(CardError::BadVault)
        );
    }
}
