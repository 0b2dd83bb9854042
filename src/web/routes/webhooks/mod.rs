//! What providers deliver to wacrm: WhatsApp Cloud API (Meta) and WAHA
//! events for a channel, and Stripe's billing events. Each is trusted only
//! once its signature checks out.

mod stripe;
mod waha;
mod whatsapp;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::bootstrap;
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

/// The channel a delivery's route names, loaded by `find` inside its
/// workspace's context, with that context; `None` for an id that names no
/// such channel (not a uuid, no workspace, or not this provider's).
async fn channel<T>(
    state: &AppState,
    id: &str,
    find: impl AsyncFnOnce(&mut TenantTx, Uuid) -> sqlx::Result<Option<T>>,
) -> anyhow::Result<Option<(TenantTx, T)>> {
    let Ok(id) = Uuid::try_parse(id) else {
        return Ok(None);
    };
    let Some(mut tx) = bootstrap::for_webhook(&state.pool, id).await? else {
        return Ok(None);
    };
    Ok(find(&mut tx, id).await?.map(|found| (tx, found)))
}
