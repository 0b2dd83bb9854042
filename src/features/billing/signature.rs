//! `Stripe-Signature`: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1`
//! the lowercase hex HMAC-SHA256 of `"<t>.<raw body>"` keyed with the
//! endpoint secret as it is written (`whsec_…`). Valid when any `v1`
//! matches (secrets roll over with two) and `t` is within 300 s of now;
//! compared in constant time, before anything in the body is read.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

pub const HEADER: &str = "stripe-signature";

/// How far a signature's time may be from ours (Stripe's libraries').
const TOLERANCE_SECS: i64 = 300;

/// Whether `header` signs `body` with `secret` at a time near `now`.
pub fn verify(secret: &str, body: &[u8], header: Option<&str>, now: OffsetDateTime) -> bool {
    let Some(header) = header else {
        return false;
    };
    let mut timestamp = None;
    let mut signatures = vec![];
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v1)) => signatures.extend(hex::decode(v1).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now.unix_timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    signatures.iter().any(|signature| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    })
}

/// The header Stripe sends for `body` at `timestamp` (the tests' fake).
pub fn sign(secret: &str, body: &[u8], timestamp: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn good_stale_wrong_and_rotated_signatures() {
        let now = OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap();
        let t = now.unix_timestamp();
        let body = br#"{"id":"evt_1","object":"event"}"#;
        let header = sign(SECRET, body, t);
        assert!(verify(SECRET, body, Some(&header), now));
        // Within the tolerance either way, not beyond.
        assert!(verify(
            SECRET,
            body,
            Some(&sign(SECRET, body, t - 300)),
            now
        ));
        assert!(!verify(
            SECRET,
            body,
            Some(&sign(SECRET, body, t - 301)),
            now
        ));
        assert!(!verify(
            SECRET,
            body,
            Some(&sign(SECRET, body, t + 301)),
            now
        ));
        assert!(!verify("whsec_other", body, Some(&header), now));
        assert!(!verify(SECRET, b"{}", Some(&header), now));
        assert!(!verify(SECRET, body, None, now));
        assert!(!verify(SECRET, body, Some("v1=abc"), now));
        assert!(!verify(SECRET, body, Some(&format!("t={t}")), now));
        // Several v1 values: any one matching is enough.
        let good = header.split("v1=").nth(1).unwrap();
        let rotated = format!("t={t},v1={},v1={good},v0=ignored", "0".repeat(64));
        assert!(verify(SECRET, body, Some(&rotated), now));
        // The timestamp is part of what is signed.
        let moved = header.replace(&format!("t={t}"), &format!("t={}", t - 1));
        assert!(!verify(SECRET, body, Some(&moved), now));
    }
}
