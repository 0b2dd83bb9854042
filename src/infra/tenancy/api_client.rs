//! The bearer-token extractor for `/api/v1`: an org API token opens that
//! workspace's tenant context; anything else is 401 in the JSON error shape.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use uuid::Uuid;

use super::TenantTx;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::infra::config::Config;
use crate::infra::db;
use crate::infra::tokens::TenantToken;

/// Prefix of workspace API tokens.
pub const API_TOKEN_PREFIX: &str = "wacrm";

/// An [`AppError`] rendered as JSON (`{"error": {"code", "message"}}`).
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_json_response()
    }
}

/// An integration calling with a live API token of a workspace.
pub struct ApiClient {
    pub org_id: Uuid,
    pub token_id: Uuid,
    pub token_name: String,
    pub tx: TenantTx,
    /// Whether the workspace's payments let it send and import.
    pub standing: super::standing::Standing,
}

impl<S> FromRequestParts<S> for ApiClient
where
    S: Send + Sync,
    PgPool: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Clock: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|v| TenantToken::parse(API_TOKEN_PREFIX, v))
            .ok_or(ApiError(AppError::Unauthorized))?;
        let mut tx = TenantTx::open(&PgPool::from_ref(state), token.org_id).await?;
        let Some(row) = db::api_tokens::authenticate(&mut tx, &token.hash()).await? else {
            return Err(ApiError(AppError::Unauthorized));
        };
        let standing = super::standing::of_workspace(
            &Arc::<Config>::from_ref(state),
            &Clock::from_ref(state),
            &mut tx,
        )
        .await?;
        Ok(ApiClient {
            org_id: token.org_id,
            token_id: row.id,
            token_name: row.name,
            tx,
            standing,
        })
    }
}
