use std::time::{SystemTime, UNIX_EPOCH};

use totp_rs::Secret;
use wacrm::features::auth::totp;

use super::super::*;

/// The key shown for typing into an app, decoded.
pub fn secret_on(page: &str) -> Vec<u8> {
    let start = page
        .find("<code id=\"totp-secret\">")
        .expect("secret shown")
        + 23;
    let end = start + page[start..].find("</code>").unwrap();
    let typed = page[start..end].replace(' ', "");
    Secret::Encoded(typed).to_bytes().expect("base32")
}

pub fn recovery_codes_on(page: &str) -> Vec<String> {
    let list = &page[page.find("id=\"recovery-codes\"").expect("codes shown")..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<code>")
        .skip(1)
        .map(|part| part[..part.find("</code>").unwrap()].to_owned())
        .collect()
}

/// As [`enrol`], and the code that confirmed it.
pub async fn enrol_with_code(user: &Browser) -> (Vec<u8>, Vec<String>, String) {
    let (status, page) = user.page("/profile/two-factor").await;
    assert_eq!(status, 200);
    assert!(page.contains("<svg"), "a QR code to scan");
    let secret = secret_on(&page);
    let code = totp::code_at(&secret, unix_now()).unwrap();
    let response = user
        .post_form("/profile/two-factor/enable", &[("code", &code)])
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let codes = recovery_codes_on(&page);
    assert_eq!(codes.len(), 10, "{page}");
    (secret, codes, code)
}

/// Enrols the signed-in user; their secret and recovery codes.
pub async fn enrol(user: &Browser) -> (Vec<u8>, Vec<String>) {
    let (secret, codes, _) = enrol_with_code(user).await;
    (secret, codes)
}

/// Seconds since the Unix epoch, for TOTP codes.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub async fn second_step(browser: &Browser, code: &str) -> reqwest::Response {
    browser
        .post_form("/login/two-factor", &[("code", code)])
        .await
}
