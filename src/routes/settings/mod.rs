//! Workspace settings (owners and admins), API tokens, WhatsApp numbers,
//! deleting the workspace.

mod api_tokens;
mod channels;
mod workspace;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(workspace::show).post(workspace::update))
        .route("/settings/delete-workspace", post(workspace::delete))
        .route(
            "/settings/api-tokens",
            get(api_tokens::index).post(api_tokens::create),
        )
        .route("/settings/api-tokens/{id}/revoke", post(api_tokens::revoke))
        .route(
            "/settings/channels",
            get(channels::index).post(channels::create),
        )
        .route("/settings/channels/{id}", get(channels::show))
        .route("/settings/channels/{id}/check", post(channels::check))
        .route(
            "/settings/channels/{id}/templates",
            post(channels::sync_templates),
        )
        .route(
            "/settings/channels/{id}/enabled",
            post(channels::set_enabled),
        )
        .route("/settings/channels/{id}/delete", post(channels::delete))
}
