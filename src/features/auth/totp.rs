//! Time-based one-time passwords (RFC 6238, as authenticator apps use them:
//! SHA-1, six digits, 30 s steps) and single-use recovery codes.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Seconds a code lasts.
const STEP_SECONDS: u64 = 30;
/// Steps either side of now that are accepted (a phone's clock drifts).
const SKEW_STEPS: u64 = 1;
const DIGITS: usize = 6;
/// 160 bits, the length RFC 4226 recommends.
const SECRET_LEN: usize = 20;
const RECOVERY_CODE_COUNT: usize = 10;
/// Characters of a recovery code: lower-case base32 without 0/1/8/9, so
/// none is mistaken for another (5 bits each, 50 bits a code).
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const RECOVERY_LEN: usize = 10;

/// A new random TOTP secret.
pub fn new_secret() -> anyhow::Result<Vec<u8>> {
    let mut secret = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
    Ok(secret)
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<TOTP> {
    // The otpauth label may not hold ':' (it separates issuer and account).
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW_STEPS as u8,
        STEP_SECONDS,
        secret.to_vec(),
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
    .map_err(|e| anyhow::anyhow!("TOTP parameters: {e}"))
}

/// What an authenticator app scans: `otpauth://totp/...`.
pub fn enrolment_url(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<String> {
    Ok(totp(secret, issuer, account)?.get_url())
}

/// The secret as typed into an app by hand (base32, in groups of four).
pub fn secret_for_typing(secret: &[u8]) -> anyhow::Result<String> {
    let encoded = totp(secret, "wacrm", "user")?.get_secret_base32();
    Ok(encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" "))
}

/// The step `code` is valid for at `unix_time` (now, the one before or
/// the one after), or `None`. Every candidate is compared, in constant time.
pub fn matching_step(secret: &[u8], code: &str, unix_time: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "wacrm", "user").ok()?;
    let now = unix_time / STEP_SECONDS;
    let mut found = None;
    for step in now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS {
        let expected = totp.generate(step * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The code an app shows at `unix_time` (tests and the bench use it).
pub fn code_at(secret: &[u8], unix_time: u64) -> anyhow::Result<String> {
    Ok(totp(secret, "wacrm", "user")?.generate(unix_time))
}

/// Ten new recovery codes, shown once as `abcde-fghij`.
pub fn new_recovery_codes() -> anyhow::Result<Vec<String>> {
    let mut bytes = [0u8; RECOVERY_CODE_COUNT * RECOVERY_LEN];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
    Ok(bytes
        .chunks(RECOVERY_LEN)
        .map(|chunk| {
            let chars: String = chunk
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect())
}

/// A typed recovery code as stored: lower case, without dashes or spaces;
/// `None` when it cannot be one.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to six digits.
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert_eq!(code_at(secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code_at(secret, 1_234_567_890).unwrap(), "005924");
        assert_eq!(code_at(secret, 2_000_000_000).unwrap(), "279037");
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let secret = b"12345678901234567890";
        let at = 1_111_111_109;
        let code = code_at(secret, at).unwrap();
        let step = at / STEP_SECONDS;
        assert_eq!(matching_step(secret, &code, at), Some(step));
        assert_eq!(matching_step(secret, &code, at + 30), Some(step));
        assert_eq!(matching_step(secret, &code, at - 30), Some(step));
        assert_eq!(matching_step(secret, &code, at + 90), None);
        assert_eq!(matching_step(secret, "081 804", at), Some(step));
        assert_eq!(matching_step(secret, "08180", at), None);
        assert_eq!(matching_step(secret, "abcdef", at), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalize() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODE_COUNT);
        let typed = codes[0].to_uppercase().replace('-', " ");
        assert_eq!(
            normalize_recovery_code(&typed),
            Some(codes[0].replace('-', ""))
        );
        assert_eq!(normalize_recovery_code("short"), None);
        assert_eq!(normalize_recovery_code("abcde-fghi1"), None);
    }

    #[test]
    fn the_enrolment_url_names_issuer_and_account() {
        let url = enrolment_url(b"12345678901234567890", "wacrm", "ana@example.com").unwrap();
        assert!(
            url.starts_with("otpauth://totp/wacrm:ana%40example.com?"),
            "{url}"
        );
        assert!(
            url.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{url}"
        );
        assert_eq!(
            secret_for_typing(b"12345678901234567890").unwrap(),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }
}
