//! Any text as an emergency card: parsed or refused, never a panic; what
//! parses prints back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medigate_crypto::card::EmergencyCard;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(card) = EmergencyCard::parse(text) {
        let again = EmergencyCard::parse(&card.text()).expect("a card's own text parses");
        assert_eq!(again, card);
    }
});
