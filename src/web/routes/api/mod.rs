//! The JSON API for integrations (`/api/v1`), bearer-token authenticated.
//!
//! Every handler works through the token's tenant transaction
//! (`ApiClient::tx`), so row-level security backs every query; another
//! workspace's ids answer 404 like missing ones. Bad input is answered in
//! the JSON error shape too: see [`extract`].

mod channels;
mod companies;
mod contacts;
mod conversations;
mod extract;
mod media;
mod messages;
mod openapi;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, http::StatusCode};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;
use crate::infra::db;
use crate::infra::tenancy::api_client::{ApiClient, ApiError};
use crate::state::AppState;

/// Largest request body the API reads.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Page size of the lists when `limit` is not given, and the most allowed.
const DEFAULT_LIMIT: i64 = 25;
const MAX_LIMIT: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/openapi.json", get(openapi::document))
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::show)
                .patch(contacts::update)
                .delete(contacts::delete),
        )
        .route("/channels", get(channels::list).post(channels::create))
        .route(
            "/channels/{id}",
            get(channels::show).delete(channels::delete),
        )
        .route("/companies", get(companies::list).post(companies::create))
        .route(
            "/companies/{id}",
            get(companies::show)
                .patch(companies::update)
                .delete(companies::delete),
        )
        .route(
            "/conversations",
            get(conversations::list).post(conversations::create),
        )
        .route(
            "/conversations/{id}",
            get(conversations::show).patch(conversations::update),
        )
        .route(
            "/conversations/{id}/messages",
            get(messages::list).post(messages::send),
        )
        .route("/conversations/{id}/notes", post(messages::note))
        // Its own limit: the others' would refuse any real file.
        .route(
            "/media",
            post(media::upload).layer(DefaultBodyLimit::max(
                crate::features::inbox::attachment::MAX_BYTES + 64 * 1024,
            )),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(|| async { ApiError(AppError::NotFound) })
}

/// The error body every failure has.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `unauthorized`, `not_found`, `bad_request`, `invalid`, `conflict`,
    /// `too_large`, `rate_limited` or `internal`.
    pub code: String,
    /// What went wrong, for a person; an `invalid` one names the field.
    pub message: String,
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    org: MeOrg,
    token: MeToken,
}

#[derive(Serialize, ToSchema)]
struct MeOrg {
    id: Uuid,
    name: String,
}

#[derive(Serialize, ToSchema)]
struct MeToken {
    name: String,
}

/// The workspace and the token this call is made with.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "workspace",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, body = ErrorBody),
    )
)]
async fn me(mut client: ApiClient) -> Result<Json<Me>, ApiError> {
    let org = db::orgs::get(&mut client.tx)
        .await?
        .ok_or(AppError::NotFound)?;
    client.tx.commit().await?;
    Ok(Json(Me {
        org: MeOrg {
            id: org.id,
            name: org.name,
        },
        token: MeToken {
            name: client.token_name,
        },
    }))
}

/// A timestamp as the API writes it: RFC 3339 in UTC.
fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The `limit` parameter: 1 or more, at most [`MAX_LIMIT`] (larger asks are
/// capped), [`DEFAULT_LIMIT`] when empty.
fn page_limit(param: &str) -> Result<i64, AppError> {
    match param.trim() {
        "" => Ok(DEFAULT_LIMIT),
        typed => typed
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(MAX_LIMIT))
            .ok_or_else(|| {
                AppError::BadRequest(format!("limit: a whole number from 1 to {MAX_LIMIT}."))
            }),
    }
}

/// `201 Created` with a `Location` header and the new resource.
fn created<T: Serialize>(location: String, body: T) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// Label ids of these names (any case); every unknown name is an error
/// naming `field`.
async fn label_ids(
    tx: &mut crate::infra::tenancy::TenantTx,
    names: &[String],
    field: &str,
) -> Result<Vec<Uuid>, AppError> {
    let labels = db::labels::list(tx).await?;
    let mut ids = Vec::with_capacity(names.len());
    let mut unknown = vec![];
    for name in names {
        match labels
            .iter()
            .find(|l| l.name.to_lowercase() == name.trim().to_lowercase())
        {
            Some(label) => ids.push(label.id),
            None => unknown.push(format!("“{}”", name.trim())),
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::Unprocessable(format!(
            "{field}: this workspace has no label named {}.",
            unknown.join(", ")
        )));
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The forms' messages start with the field's name as a person reads it
/// (`Phone: …`, `Name is too long…`); the API names it as in the JSON.
fn field_first(message: &str, fields: &[&str]) -> String {
    for field in fields {
        if let Some(rest) = message.strip_prefix(field)
            && (rest.starts_with(':') || rest.starts_with(' '))
        {
            return format!("{}{rest}", field.to_lowercase());
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_messages_name_the_json_field() {
        let fields = ["Name", "Phone"];
        assert_eq!(
            field_first("Phone: “12” is not a valid phone number.", &fields),
            "phone: “12” is not a valid phone number."
        );
        assert_eq!(
            field_first("Name is too long (200 characters at most).", &fields),
            "name is too long (200 characters at most)."
        );
        assert_eq!(
            field_first("Enter at least a name.", &fields),
            "Enter at least a name."
        );
        assert_eq!(field_first("Nameless: x", &fields), "Nameless: x");
    }

    #[test]
    fn limits_default_cap_and_refuse_nonsense() {
        assert_eq!(page_limit("").ok(), Some(DEFAULT_LIMIT));
        assert_eq!(page_limit(" 7 ").ok(), Some(7));
        assert_eq!(page_limit("5000").ok(), Some(MAX_LIMIT));
        for bad in ["0", "-1", "ten", "1.5"] {
            assert!(page_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = OffsetDateTime::from_unix_timestamp(1_764_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(time::macros::offset!(+2));
        assert_eq!(rfc3339(at), "2025-11-24T16:00:00Z");
    }
}
