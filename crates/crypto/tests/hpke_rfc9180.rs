//! The HPKE suite that wraps record keys, checked against RFC 9180's own
//! test vector for it (appendix A.2.1: DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, ChaCha20-Poly1305, base mode, first message).

use hpke::{
    Deserializable, Kem, OpModeR, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
    kem::X25519HkdfSha256,
};

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
const SK_R: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
const PK_R: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
const PK_E: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
const PLAINTEXT: &str = "4265617574792069732074727574682c20747275746820626561757479";
const AAD: &str = "436f756e742d30";
const CIPHERTEXT: &str =
    "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28";

#[test]
fn key_pairs_derive_as_in_the_rfc() {
    let (private, public) = X25519HkdfSha256::derive_keypair(&unhex(IKM_R));
    // The crate stores X25519 secrets clamped (RFC 7748); the RFC lists them
    // as derived.
    let mut clamped = unhex(SK_R);
    clamped[0] &= 248;
    clamped[31] &= 127;
    clamped[31] |= 64;
    assert_eq!(private.to_bytes().to_vec(), clamped);
    assert_eq!(public.to_bytes().to_vec(), unhex(PK_R));
    let (_, ephemeral) = X25519HkdfSha256::derive_keypair(&unhex(IKM_E));
    assert_eq!(ephemeral.to_bytes().to_vec(), unhex(PK_E));
}

#[test]
fn the_rfc_ciphertext_opens_to_the_rfc_plaintext() {
    let private = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(&unhex(SK_R)).unwrap();
    let encapped = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&unhex(PK_E)).unwrap();
    let opened = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &private,
        &encapped,
        &unhex(INFO),
        &unhex(CIPHERTEXT),
        &unhex(AAD),
    )
    .unwrap();
    assert_eq!(opened, unhex(PLAINTEXT));
}
