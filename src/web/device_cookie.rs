//! "Remember this device": a cookie holding a random token whose SHA-256 is
//! stored (`remembered_devices`), so a second factor is not asked again on
//! this browser for [`REMEMBER_FOR`]. The password always is.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use time::Duration;
use tower_sessions::cookie::{Cookie, SameSite};

pub const REMEMBER_FOR: Duration = Duration::days(30);

fn name(secure: bool) -> &'static str {
    // `__Host-` pins the cookie to this host and path, but needs Secure.
    if secure {
        "__Host-wacrm_device"
    } else {
        "wacrm_device"
    }
}

/// The device token this browser sent, if any.
pub fn token(headers: &HeaderMap, secure: bool) -> Option<String> {
    super::cookies::request_cookie(headers, name(secure))
}

/// Adds the `Set-Cookie` that remembers this device with `token`.
pub fn set(headers: &mut HeaderMap, token: &str, secure: bool) {
    let cookie = Cookie::build((name(secure), token.to_owned()))
        .path("/")
        .max_age(REMEMBER_FOR)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        headers.append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_set_is_the_cookie_read() {
        let mut sent = HeaderMap::new();
        set(&mut sent, "abc123", true);
        let set_cookie = sent[SET_COOKIE].to_str().unwrap();
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=2592000",
        ] {
            assert!(set_cookie.contains(attribute), "{set_cookie}");
        }
        let mut received = HeaderMap::new();
        received.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("__Host-wacrm=s; __Host-wacrm_device=abc123"),
        );
        assert_eq!(token(&received, true).as_deref(), Some("abc123"));
        assert_eq!(token(&received, false), None);
    }
}
