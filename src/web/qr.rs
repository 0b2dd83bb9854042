//! QR codes drawn as inline SVG (a phone scans them off the page).

use crate::error::{AppError, Result};

/// A QR code as an SVG image (black on white, a quiet zone around it).
pub fn qr_svg(code: &[u8]) -> Result<String> {
    let qr = qrcode::QrCode::new(code).map_err(|e| AppError::Internal(e.into()))?;
    Ok(qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(264, 264)
        .quiet_zone(true)
        .build())
}
