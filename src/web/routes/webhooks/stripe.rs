//! `POST /webhooks/stripe`: Stripe's events. The signature is checked
//! against the raw body before anything is read (400 and nothing stored
//! otherwise); the event is stored by its id (a redelivery finds it) with
//! its job, and answered at once; the job applies it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use secrecy::ExposeSecret;

use super::{answer, plain};
use crate::features::billing::{events, signature};
use crate::state::AppState;

/// Stripe's events are well under this.
const MAX_EVENT_BYTES: usize = 512 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/stripe", post(deliver))
        .layer(DefaultBodyLimit::max(MAX_EVENT_BYTES))
}

async fn deliver(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    answer("stripe", receive(&state, &headers, &body).await)
}

async fn receive(state: &AppState, headers: &HeaderMap, body: &[u8]) -> anyhow::Result<Response> {
    let Some(secret) = state.config.stripe_webhook_secret.as_ref() else {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "Billing is off on this server.",
        ));
    };
    let header = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    let now = state.clock.now();
    if !signature::verify(secret.expose_secret(), body, header, now) {
        tracing::warn!("a Stripe event with a bad, stale or missing signature");
        return Ok(plain(StatusCode::BAD_REQUEST, "Bad signature."));
    }
    let (envelope, event) = match events::envelope(body) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(error = %e, "a signed Stripe delivery that is not an event");
            return Ok(plain(StatusCode::BAD_REQUEST, "Not a Stripe event."));
        }
    };
    if !events::record(&state.env(), &envelope, &event).await? {
        tracing::info!(event = %envelope.id, "a Stripe event received again");
    }
    Ok(plain(StatusCode::OK, "OK"))
}
