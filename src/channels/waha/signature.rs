//! WAHA's webhook signature: `X-Webhook-Hmac` is the lowercase hex
//! HMAC-SHA512 of the raw body under the key given in the session's
//! webhook config (`X-Webhook-Hmac-Algorithm: sha512`), checked in
//! constant time before anything in the body is read.

use hmac::{Hmac, Mac};
use sha2::Sha512;

pub const HEADER: &str = "x-webhook-hmac";

/// Whether `header` signs `body` under `key`; missing, malformed or wrong
/// alike are `false`.
pub fn verify(key: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(Ok(expected)) = header.map(|h| hex::decode(h.trim())) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value WAHA sends for `body` (the tests' fake WAHA).
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_anything_else_does_not() {
        let body = br#"{"event":"message","session":"default","payload":{}}"#;
        let header = sign(b"webhook-key", body);
        assert_eq!(header.len(), 128);
        assert!(verify(b"webhook-key", body, Some(&header)));
        assert!(verify(b"webhook-key", body, Some(&header.to_uppercase())));
        assert!(!verify(b"other-key", body, Some(&header)));
        assert!(!verify(b"webhook-key", b"{}", Some(&header)));
        assert!(!verify(b"webhook-key", body, None));
        assert!(!verify(b"webhook-key", body, Some("zz")));
        assert!(!verify(b"webhook-key", body, Some(&header[..64])));
    }

    #[test]
    fn matches_the_example_in_wahas_documentation() {
        let body = br#"{"event":"message","session":"default","engine":"WEBJS"}"#;
        let header = sign(b"my-secret-key", body);
        assert!(
            header.starts_with("208f8a55") && header.ends_with("53fa89"),
            "{header}"
        );
    }
}
