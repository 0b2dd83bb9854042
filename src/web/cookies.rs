//! Reading one cookie of a request.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use tower_sessions::cookie::Cookie;

/// The value of the cookie called `name`, if the request carries it.
pub fn request_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|cookie| cookie.ok())
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}
