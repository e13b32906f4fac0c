//! QR codes of account ids: drawn for the patient's card, read from a photo
//! a clinician takes of it.

use qrcode::{QrCode, render::svg};

/// What a patient's QR code says before the account id.
pub const PREFIX: &str = "medigate:patient:";

/// Why a photo gave no account id.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The file is not a PNG or JPEG image.
    #[error("the file is not a PNG or JPEG image")]
    NotAnImage,
    /// No QR code could be read in it.
    #[error(
        "no QR code could be read in the image: photograph it closer, straight on and well lit"
    )]
    NoCode,
    /// A QR code was read, but it holds no MediGate account id.
    #[error("the QR code does not hold a MediGate account id")]
    NotAnAccount,
}

/// The SVG drawing of `account`'s QR code.
pub fn account_svg(account: &[u8; 32]) -> String {
    let code = QrCode::new(format!("{PREFIX}{}", hex::encode(account)).as_bytes())
        .expect("an account id fits in a QR code");
    code.render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build()
}

/// The account id in a QR code's text (with or without the prefix).
pub fn account_in(text: &str) -> Option<[u8; 32]> {
    let hex_text = text.trim().strip_prefix(PREFIX).unwrap_or(text.trim());
    hex::decode(hex_text.trim_start_matches("0x"))
        .ok()?
        .try_into()
        .ok()
}

/// The texts of the QR codes read in a photo (PNG or JPEG), in the order
/// found; codes that do not decode are left out.
fn texts_in(image_bytes: &[u8]) -> Result<Vec<String>, QrError> {
    let picture = image::load_from_memory(image_bytes)
        .map_err(|_| QrError::NotAnImage)?
        .to_luma8();
    let (width, height) = picture.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(width as usize, height as usize, |x, y| {
            picture.get_pixel(x as u32, y as u32).0[0]
        });
    Ok(prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect())
}

/// The text of the first QR code read in a photo (PNG or JPEG): an account
/// id, or an emergency card.
pub fn read_text(image_bytes: &[u8]) -> Result<String, QrError> {
    texts_in(image_bytes)?
        .into_iter()
        .next()
        .ok_or(QrError::NoCode)
}

/// Reads the account id from a photo (PNG or JPEG) of a patient's QR code.
pub fn read_account(image_bytes: &[u8]) -> Result<[u8; 32], QrError> {
    let texts = texts_in(image_bytes)?;
    if texts.is_empty() {
        return Err(QrError::NoCode);
    }
    texts
        .iter()
        .find_map(|text| account_in(text))
        .ok_or(QrError::NotAnAccount)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text`'s QR code drawn as a PNG, as a camera would see it (black on
    /// white, scaled up).
    fn png_of(text: &str) -> Vec<u8> {
        let code = QrCode::new(text.as_bytes()).unwrap();
        let picture = code
            .render::<image::Luma<u8>>()
            .min_dimensions(300, 300)
            .build();
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    #[test]
    fn a_drawn_card_reads_back_as_its_account() {
        let account = [7u8; 32];
        let png = png_of(&format!("{PREFIX}{}", hex::encode(account)));
        assert_eq!(read_account(&png), Ok(account));
        assert!(account_svg(&account).starts_with("<?xml"));
    }

    #[test]
    fn any_code_reads_back_as_its_text() {
        assert_eq!(read_text(&png_of("MGEC1.card")), Ok("MGEC1.card".into()));
        assert_eq!(read_text(b"not an image"), Err(QrError::NotAnImage));
    }

    #[test]
    fn other_codes_and_files_are_told_apart() {
        assert_eq!(
            read_account(&png_of("https://example.org")),
            Err(QrError::NotAnAccount)
        );
        assert_eq!(read_account(b"%PDF-1.7"), Err(QrError::NotAnImage));
        let blank = image::GrayImage::from_pixel(50, 50, image::Luma([255]));
        let mut png = Vec::new();
        blank
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(read_account(&png), Err(QrError::NoCode));
    }

    #[test]
    fn account_ids_read_with_or_without_the_prefix() {
        let hex_id = "11".repeat(32);
        assert_eq!(account_in(&hex_id), Some([0x11; 32]));
        assert_eq!(account_in(&format!("{PREFIX}{hex_id}")), Some([0x11; 32]));
        assert_eq!(account_in("medigate:patient:12"), None);
    }
}
