//! The whole application's router: every route with sessions, CSRF, body
//! reading, timeouts, security headers, request ids and tracing.

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::middleware;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::infra::session_store::PgSessionStore;
use crate::infra::tenancy::session_state::IDLE_TIMEOUT;
use crate::state::AppState;
use crate::web;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: routes, sessions, CSRF, security headers, tracing.
pub fn router(state: AppState) -> Router {
    let secure = state.config.secure_cookies();
    let sessions = SessionManagerLayer::new(PgSessionStore::new(
        state.pool.clone(),
        state.session_cache.clone(),
    ))
    // `__Host-` pins the cookie to this host and path, but needs Secure.
    .with_name(if secure {
        "__Host-wacrm"
    } else {
        "wacrm_session"
    })
    .with_secure(secure)
    .with_http_only(true)
    .with_same_site(SameSite::Lax)
    .with_path("/")
    .with_expiry(Expiry::OnInactivity(IDLE_TIMEOUT));
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
    });
    let body_deadline = web::request_body::BodyDeadline(std::time::Duration::from_secs(
        state.config.body_timeout_secs,
    ));
    // A handler that does not answer in time is cut off with 503 (its
    // transaction rolls back); the body is read before the clock starts.
    let handler_timeout = TimeoutLayer::with_status_code(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        std::time::Duration::from_secs(state.config.request_timeout_secs),
    );
    crate::web::routes::router()
        .layer(handler_timeout)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::csrf::require_token,
        ))
        .layer(sessions)
        .layer(middleware::from_fn(web::busy::answer_busy_saves))
        .layer(middleware::from_fn_with_state(
            body_deadline,
            web::request_body::read_first,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::headers::security_headers,
        ))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
