//! What providers deliver to wacrm: WhatsApp Cloud API (Meta) and WAHA
//! events for a channel, and Stripe's billing events. Each is trusted only
//! once its signature checks out.

mod stripe;
mod waha;
mod whatsapp;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(whatsapp::router())
        .merge(waha::router())
        .merge(stripe::router())
}

/// A short text answer (providers log it; no page).
fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

/// A delivery's answer; one that failed midway committed nothing and is
/// answered 503, so that the sender delivers it again.
fn answer(channel: &str, handled: anyhow::Result<Response>) -> Response {
    handled.unwrap_or_else(|e| {
        tracing::error!(%channel, error = %format!("{e:#}"), "webhook delivery failed");
        plain(StatusCode::SERVICE_UNAVAILABLE, "Try again later.")
    })
}
