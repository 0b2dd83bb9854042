//! Synchronizer-token CSRF check on every state-changing browser request:
//! the session's token must come back in the `csrf_token` form field or the
//! `X-CSRF-Token` header. Webhooks and the bearer API are exempt (no cookies).
//! A visitor without a session (signing in or up) gets a visitor cookie
//! instead, whose token is its MAC: page views before signing in store no
//! session row.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use tower_sessions::cookie::{Cookie, SameSite};

use crate::infra::tenancy::session_state::{AuthSession, VisitorCsrf};
use crate::infra::tokens::random_secret;
use crate::state::AppState;

/// Form posts are small; uploads carry the token in the query string.
const MAX_FORM_BYTES: usize = 256 * 1024;
const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

fn exempt(path: &str) -> bool {
    path.starts_with("/webhooks/") || path.starts_with("/api/")
}

pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let secure = state.config.secure_cookies();
    let visitor = visitor_cookie(request.headers(), secure);
    let visitor_token = visitor.as_deref().and_then(|v| visitor_token(&state, v));
    if safe {
        // A browser without a visitor cookie gets one, so the forms it is
        // shown can carry a token without a session row per page view.
        let issued = match visitor_token {
            Some(token) => {
                request.extensions_mut().insert(VisitorCsrf(token));
                None
            }
            None => new_visitor(&state).inspect(|(_, token)| {
                request.extensions_mut().insert(VisitorCsrf(token.clone()));
            }),
        };
        let mut response = next.run(request).await;
        if let Some((value, _)) = issued {
            set_visitor_cookie(response.headers_mut(), &value, secure);
        }
        return response;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return refused();
    };
    let expected = match AuthSession::new(session).existing_csrf_token().await {
        Ok(Some(token)) => token,
        Ok(None) => match visitor_token {
            Some(ref token) => token.clone(),
            None => return refused(),
        },
        Err(_) => return refused(),
    };
    let (parts, body) = request.into_parts();
    let header_token = parts
        .headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    // An upload form can't carry a header without a script, and its body is
    // too large to read here: its token comes in the action's query string.
    let is_multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let (provided, body) = match header_token {
        Some(token) => (Some(token), body),
        None if is_multipart => (
            parts
                .uri
                .query()
                .and_then(|q| form_field(q.as_bytes(), FIELD)),
            body,
        ),
        None if is_form => {
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
            };
            let token = form_field(&bytes, FIELD);
            (token, Body::from(bytes))
        }
        None => (None, body),
    };
    let mut request = Request::from_parts(parts, body);
    if let Some(token) = visitor_token {
        request.extensions_mut().insert(VisitorCsrf(token));
    }
    match provided {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
            next.run(request).await
        }
        _ => refused(),
    }
}

/// The visitor cookie: a random value, kept by the browser only.
fn visitor_cookie_name(secure: bool) -> &'static str {
    // `__Host-` pins the cookie to this host and path, but needs Secure.
    if secure {
        "__Host-wacrm_visitor"
    } else {
        "wacrm_visitor"
    }
}

fn visitor_cookie(headers: &HeaderMap, secure: bool) -> Option<String> {
    super::cookies::request_cookie(headers, visitor_cookie_name(secure))
        .filter(|value| value.len() <= 128)
}

/// The token of a visitor cookie: its MAC under the deployment's key, so
/// only the browser holding the cookie (and this site) knows it.
fn visitor_token(state: &AppState, cookie: &str) -> Option<String> {
    let mac = state.secrets.mac("visitor-csrf", cookie.as_bytes())?;
    Some(URL_SAFE_NO_PAD.encode(mac))
}

/// A new visitor cookie value and its token.
fn new_visitor(state: &AppState) -> Option<(String, String)> {
    let value = random_secret().ok()?;
    let token = visitor_token(state, &value)?;
    Some((value, token))
}

fn set_visitor_cookie(headers: &mut HeaderMap, value: &str, secure: bool) {
    let cookie = Cookie::build((visitor_cookie_name(secure), value.to_owned()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        headers.append(header::SET_COOKIE, value);
    }
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn refused() -> Response {
    crate::error::AppError::Forbidden(
        "send this form without a valid security token. Go back, reload the page and try again",
    )
    .into_response()
}
