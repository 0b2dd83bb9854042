//! The JSON API for integrations (`/api/v1`), bearer-token authenticated.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::tenancy::api_client::{ApiClient, ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .fallback(|| async { ApiError(AppError::NotFound) })
}

async fn me(mut client: ApiClient) -> Result<Json<Value>, ApiError> {
    let org = db::orgs::get(&mut client.tx)
        .await?
        .ok_or(AppError::NotFound)?;
    client.tx.commit().await?;
    Ok(Json(json!({
        "org": { "id": org.id.to_string(), "name": org.name },
        "token": { "name": client.token_name },
    })))
}
