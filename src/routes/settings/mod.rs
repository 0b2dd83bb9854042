//! Workspace settings (owners and admins), API tokens, deleting the workspace.

mod api_tokens;
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
}
