//! `/api/v1/channels`: the workspace's channels (the built-in sandbox and
//! WhatsApp Cloud API numbers); connect and delete numbers. The access
//! token and app secret go in and are never shown again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, IdPath};
use super::{ErrorBody, created, field_first, rfc3339};
use crate::channels::cloud_api::connect::{self, ConnectError, NumberSettings};
use crate::error::AppError;
use crate::features::billing::limits::{self, Counted};
use crate::infra::db;
use crate::infra::db::channels::{Channel, ChannelKind};
use crate::infra::tenancy::api_client::{ApiClient, ApiError};
use crate::state::AppState;

/// A channel as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ChannelOut {
    id: Uuid,
    /// `sandbox` or `whatsapp_cloud`.
    kind: String,
    name: String,
    enabled: bool,
    /// WhatsApp numbers: the Cloud API phone number id.
    phone_number_id: Option<String>,
    /// WhatsApp numbers: the name and number "check connection" last read.
    display_name: Option<String>,
    /// WhatsApp numbers: the callback URL for Meta's dashboard.
    webhook_url: Option<String>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
}

/// A connected number: its id and what to paste into Meta's dashboard.
#[derive(Serialize, ToSchema)]
pub struct ConnectedOut {
    id: Uuid,
    kind: String,
    name: String,
    webhook_url: String,
    /// Shown here and on the number's settings page.
    verify_token: String,
}

/// What connecting a number takes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewChannel {
    /// `whatsapp_cloud` (the only kind that can be added).
    kind: String,
    name: String,
    phone_number_id: String,
    waba_id: String,
    /// A permanent (system user) token; stored encrypted, never returned.
    access_token: String,
    /// The Meta app's secret (signs webhook deliveries); stored encrypted.
    app_secret: String,
}

fn webhook_url(state: &AppState, id: Uuid) -> String {
    state.url(&format!("/webhooks/whatsapp/{id}"))
}

async fn describe(
    state: &AppState,
    client: &mut ApiClient,
    channel: Channel,
) -> Result<ChannelOut, AppError> {
    let cloud = match channel.kind {
        ChannelKind::WhatsappCloud => db::cloud_channels::find(&mut client.tx, channel.id).await?,
        _ => None,
    };
    Ok(ChannelOut {
        id: channel.id,
        kind: channel.kind.as_str().to_owned(),
        name: channel.name,
        enabled: cloud.as_ref().is_none_or(|c| c.enabled),
        phone_number_id: cloud.as_ref().map(|c| c.phone_number_id.clone()),
        display_name: cloud.as_ref().and_then(|c| c.display_name.clone()),
        webhook_url: cloud.map(|c| webhook_url(state, c.id)),
        created_at: rfc3339(channel.created_at),
    })
}

/// The workspace's channels, oldest first.
#[utoipa::path(
    get, path = "/api/v1/channels", tag = "channels",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ChannelOut>), (status = 401, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    mut client: ApiClient,
) -> Result<Json<Vec<ChannelOut>>, ApiError> {
    let channels = db::channels::list(&mut client.tx).await?;
    let mut out = Vec::with_capacity(channels.len());
    for channel in channels {
        out.push(describe(&state, &mut client, channel).await?);
    }
    client.tx.commit().await?;
    Ok(Json(out))
}

/// One channel.
#[utoipa::path(
    get, path = "/api/v1/channels/{id}", tag = "channels",
    params(("id" = Uuid, Path, description = "The channel's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ChannelOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    mut client: ApiClient,
    IdPath(id): IdPath,
) -> Result<Json<ChannelOut>, ApiError> {
    let channel = db::channels::find(&mut client.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let out = describe(&state, &mut client, channel).await?;
    client.tx.commit().await?;
    Ok(Json(out))
}

/// Connects a WhatsApp Cloud API number.
#[utoipa::path(
    post, path = "/api/v1/channels", tag = "channels",
    request_body = NewChannel,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Connected", body = ConnectedOut),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "The workspace already has this number", body = ErrorBody),
        (status = 422, description = "Invalid (the field is named)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    mut client: ApiClient,
    ApiJson(input): ApiJson<NewChannel>,
) -> Result<Response, ApiError> {
    limits::check_one(&state.config, &mut client.tx, Counted::Channels)
        .await
        .map_err(AppError::from)?
        .map_err(AppError::from)?;
    if input.kind != ChannelKind::WhatsappCloud.as_str() {
        return Err(AppError::Unprocessable(
            "kind: only whatsapp_cloud channels can be added.".into(),
        )
        .into());
    }
    let settings = NumberSettings {
        name: input.name,
        phone_number_id: input.phone_number_id,
        waba_id: input.waba_id,
        access_token: input.access_token,
        app_secret: input.app_secret,
    };
    const FIELDS: [&str; 5] = [
        "Name",
        "Phone number ID",
        "WhatsApp Business Account ID",
        "Access token",
        "App secret",
    ];
    let connected = match connect::connect(&mut client.tx, &state.secrets, &settings).await {
        Ok(connected) => connected,
        Err(ConnectError::Invalid(problems)) => {
            let first = problems.first().map(String::as_str).unwrap_or_default();
            let named = field_first(first, &FIELDS)
                .replacen("phone number id", "phone_number_id", 1)
                .replacen("whatsapp business account id", "waba_id", 1)
                .replacen("access token", "access_token", 1)
                .replacen("app secret", "app_secret", 1);
            return Err(AppError::Unprocessable(named).into());
        }
        Err(ConnectError::NumberTaken) => {
            return Err(AppError::Conflict(
                "phone_number_id: this workspace already has a channel for that number.".into(),
            )
            .into());
        }
        Err(ConnectError::Failed(e)) => return Err(AppError::Internal(e).into()),
    };
    client.tx.commit().await?;
    let body = ConnectedOut {
        id: connected.id,
        kind: ChannelKind::WhatsappCloud.as_str().to_owned(),
        name: settings.name.trim().to_owned(),
        webhook_url: webhook_url(&state, connected.id),
        verify_token: connected.verify_token,
    };
    Ok(created(format!("/api/v1/channels/{}", connected.id), body))
}

/// Deletes a WhatsApp number with its conversations and messages
/// (contacts stay). The sandbox cannot be deleted.
#[utoipa::path(
    delete, path = "/api/v1/channels/{id}", tag = "channels",
    params(("id" = Uuid, Path, description = "The channel's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted with its history"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "The sandbox", body = ErrorBody),
    )
)]
pub async fn delete(mut client: ApiClient, IdPath(id): IdPath) -> Result<StatusCode, ApiError> {
    let channel = db::channels::find(&mut client.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if channel.kind != ChannelKind::WhatsappCloud {
        return Err(AppError::Unprocessable("id: the sandbox cannot be deleted.".into()).into());
    }
    db::cloud_channels::delete(&mut client.tx, id).await?;
    client.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
