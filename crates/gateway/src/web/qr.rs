//! QR codes of account ids: drawn for the patient's card, read from a photo
//! a clinician takes of it.

use qrcode::{QrCode, render::svg};

/// What a patient's QR code says before the account id.
pub const PREFIX: &str = "medigate:patient:";

/// The widest and tallest photo read, in pixels (a 48-megapixel phone photo
/// is 8,000 × 6,000).
pub const MAX_PHOTO_SIDE: u32 = 8_192;

/// The largest form with a photo the app reads (a card's QR code,
/// photographed), in bytes: a phone's full-size photo fits.
pub const PHOTO_FORM_LIMIT: usize = 32 << 20;

/// The most memory decoding one photo may take, in bytes.
const MAX_PHOTO_ALLOC: u64 = 320 << 20;

/// Why a photo gave no account id.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The file is not a PNG or JPEG image.
    #[error("the file is not a PNG or JPEG image")]
    NotAnImage,
    /// The image is larger than a photo of a card needs to be.
    #[error(
        "the image is too large to read (at most {MAX_PHOTO_SIDE} × {MAX_PHOTO_SIDE} pixels): send a smaller photo"
    )]
    TooLarge,
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
    let text = text.trim();
    crate::consent::parse_account(text.strip_prefix(PREFIX).unwrap_or(text)).ok()
}

/// The texts of the QR codes read in a photo (PNG or JPEG), in the order
/// found; codes that do not decode are left out.
fn texts_in(image_bytes: &[u8]) -> Result<Vec<String>, QrError> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(image_bytes))
        .with_guessed_format()
        .map_err(|_| QrError::NotAnImage)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PHOTO_SIDE);
    limits.max_image_height = Some(MAX_PHOTO_SIDE);
    limits.max_alloc = Some(MAX_PHOTO_ALLOC);
    reader.limits(limits);
    let picture = reader
        .decode()
        .map_err(|error| match error {
            image::ImageError::Limits(_) => QrError::TooLarge,
            _ => QrError::NotAnImage,
        })?
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

/// [`read_text`] on the blocking pool: decoding a photo is CPU work that
/// must not hold up the threads serving other requests.
pub async fn read_text_apart(image_bytes: Vec<u8>) -> Result<String, QrError> {
    tokio::task::spawn_blocking(move || read_text(&image_bytes))
        .await
        .unwrap_or(Err(QrError::NotAnImage))
}

/// [`read_account`] on the blocking pool.
pub async fn read_account_apart(image_bytes: Vec<u8>) -> Result<[u8; 32], QrError> {
    tokio::task::spawn_blocking(move || read_account(&image_bytes))
        .await
        .unwrap_or(Err(QrError::NotAnImage))
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
    fn an_image_larger_than_a_photo_is_refused_before_it_is_decoded() {
        // A PNG that claims 100,000 × 100,000 pixels (ten gigapixels): only
        // its header is read.
        let mut huge = png_of("MGEC1.card");
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // The header chunk's CRC-32 (over its type and data), made right.
        let crc = !huge[12..29].iter().fold(!0u32, |crc, byte| {
            (0..8).fold(crc ^ u32::from(*byte), |crc, _| {
                if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                }
            })
        });
        huge[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(read_text(&huge), Err(QrError::TooLarge));
        let tall = image::GrayImage::from_pixel(4, MAX_PHOTO_SIDE + 1, image::Luma([255]));
        let mut png = Vec::new();
        tall.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(read_text(&png), Err(QrError::TooLarge));
    }

    #[tokio::test]
    async fn photos_are_read_apart_from_the_async_threads() {
        assert_eq!(
            read_text_apart(png_of("MGEC1.card")).await,
            Ok("MGEC1.card".into())
        );
        assert_eq!(
            read_account_apart(b"not an image".to_vec()).await,
            Err(QrError::NotAnImage)
        );
    }

    #[test]
    fn account_ids_read_with_or_without_the_prefix() {
        let hex_id = "11".repeat(32);
        assert_eq!(account_in(&hex_id), Some([0x11; 32]));
        assert_eq!(account_in(&format!("{PREFIX}{hex_id}")), Some([0x11; 32]));
        assert_eq!(account_in("medigate:patient:12"), None);
    }
}
