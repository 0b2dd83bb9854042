//! Extractors that answer bad input in the API's JSON error shape, where
//! axum's own would answer plain text: a body that is not JSON (400), JSON
//! of the wrong shape (422, naming the field), a body over the limit (413),
//! a query string that does not fit (400), and an id that is not a UUID
//! (404, like a missing one).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::AppError;
use crate::infra::tenancy::api_client::ApiError;
use crate::web::path::PathId;

/// A JSON request body. The `Content-Type` is not insisted on: the body is
/// read as JSON whatever it says. Unknown fields are ignored.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError(AppError::BadRequest(
                    "The request body could not be read.".into(),
                ))
                .into_response()
            }
        })?;
        // Syntax first, so a broken body is a 400 whatever its shape.
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Err(e) => {
                return Err(ApiError(AppError::BadRequest(format!(
                    "The body is not valid JSON ({e})."
                )))
                .into_response());
            }
            Ok(value) if !value.is_object() => {
                return Err(ApiError(AppError::Unprocessable(
                    "The body must be a JSON object.".into(),
                ))
                .into_response());
            }
            Ok(_) => {}
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text);
                Err(ApiError(AppError::Unprocessable(detail.to_owned())).into_response())
            }
            Err(e) => Err(ApiError(AppError::BadRequest(format!(
                "The body is not valid JSON ({}).",
                e.body_text()
            )))
            .into_response()),
        }
    }
}

fn too_large() -> Response {
    ApiError(AppError::TooLarge(format!(
        "The request body is too large ({} KiB at most).",
        super::MAX_BODY_BYTES / 1024
    )))
    .into_response()
}

/// Query parameters; a query string that does not fit is a 400.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| {
                ApiError(AppError::BadRequest(format!(
                    "The query string could not be read: {}",
                    e.body_text()
                )))
            })
    }
}

/// The `{id}` of a route: the pages' [`PathId`] (anything that is not a
/// UUID names nothing: 404), answered in the JSON shape.
pub struct IdPath(pub Uuid);

impl<S> FromRequestParts<S> for IdPath
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathId(id) = PathId::<Uuid>::from_request_parts(parts, state)
            .await
            .map_err(ApiError)?;
        Ok(IdPath(id))
    }
}

/// For PATCH bodies: tells a field given as `null` (`Some(None)`) from one
/// left out (`None`, with `#[serde(default)]`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Some)
}
