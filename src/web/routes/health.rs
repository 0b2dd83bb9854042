//! Liveness and readiness.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::infra::tenancy::member::MaybeUser;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/", get(home))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match sqlx::query!("select 1 as ready")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn home(MaybeUser(user): MaybeUser) -> Redirect {
    match user {
        Some(_) => Redirect::to("/dashboard"),
        None => Redirect::to("/login"),
    }
}
