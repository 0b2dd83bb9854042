//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the app secret,
//! as `sha256=<lowercase hex>`, checked in constant time before anything in
//! the body is read.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header Meta signs each delivery with.
pub const HEADER: &str = "x-hub-signature-256";

/// Whether `header` is the signature of `body` under `app_secret`. A
/// missing, malformed or wrong header is `false` alike.
pub fn verify(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

/// The header value for `body` (what Meta sends; the tests' deliveries).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_anything_else_does_not() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign(b"app-secret", body);
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
        assert!(verify(b"app-secret", body, Some(&header)));
        assert!(!verify(b"other-secret", body, Some(&header)));
        assert!(!verify(b"app-secret", b"{}", Some(&header)));
        assert!(!verify(b"app-secret", body, None));
        assert!(!verify(b"app-secret", body, Some("sha256=zz")));
        assert!(!verify(
            b"app-secret",
            body,
            Some(&header.replace("sha256=", "sha1="))
        ));
        assert!(!verify(b"app-secret", body, Some(&header[..40])));
    }

    #[test]
    fn a_known_vector_matches() {
        // RFC 4231 test case 2.
        let header = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            header,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
