//! Synchronizer-token CSRF check on every state-changing browser request:
//! the session's token must come back in the `csrf_token` form field or the
//! `X-CSRF-Token` header. Webhooks and the bearer API are exempt (no cookies).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::app::AppState;
use crate::tenancy::session_state::AuthSession;

/// Form posts are small; uploads carry the token in the query string.
const MAX_FORM_BYTES: usize = 256 * 1024;
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

fn exempt(path: &str) -> bool {
    path.starts_with("/webhooks/") || path.starts_with("/api/")
}

pub async fn require_token(
    State(_state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return refused();
    };
    let expected = match AuthSession::new(session).existing_csrf_token().await {
        Ok(Some(token)) => token,
        _ => return refused(),
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
    match provided {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
            next.run(Request::from_parts(parts, body)).await
        }
        _ => refused(),
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
