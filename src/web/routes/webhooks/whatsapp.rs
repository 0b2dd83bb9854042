//! `GET/POST /webhooks/whatsapp/{channel_id}`: Meta's verification
//! handshake and event deliveries for one Cloud API channel.
//!
//! A delivery is trusted only after its `X-Hub-Signature-256` matches the
//! channel's app secret; it is then stored in one transaction and answered
//! 200 only once that has committed, so anything failing midway makes Meta
//! deliver it again (and a replay is harmless: provider ids are unique per
//! channel).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

use super::{answer, plain};
use crate::channels::cloud_api::{APP_SECRET_PURPOSE, signature, webhook};
use crate::channels::media;
use crate::domain::PhoneE164;
use crate::features::inbox::ingest::{self, Inbound, Ingested};
use crate::infra::db;
use crate::infra::db::cloud_channels::CloudChannel;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;
use crate::state::AppState;

/// Meta's payloads go up to 3 MB; anything larger is refused (413).
pub const MAX_DELIVERY_BYTES: usize = 3 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/whatsapp/{channel_id}",
            get(handshake).post(deliver),
        )
        .layer(DefaultBodyLimit::max(MAX_DELIVERY_BYTES))
}

/// The Cloud API channel and its workspace's context.
async fn channel(state: &AppState, id: &str) -> anyhow::Result<Option<(TenantTx, CloudChannel)>> {
    super::channel(state, id, db::cloud_channels::find).await
}

/// Meta's subscription check: echo `hub.challenge` for the right verify
/// token, 403 for anything else (an unknown channel included).
async fn handshake(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (mut mode, mut token, mut challenge) = (None, None, None);
    // Parsed literally: the keys contain dots.
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "hub.mode" => mode = Some(value.into_owned()),
            "hub.verify_token" => token = Some(value.into_owned()),
            "hub.challenge" => challenge = Some(value.into_owned()),
            _ => {}
        }
    }
    let found = match channel(&state, &id).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "webhook handshake: database");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "Try again later.");
        }
    };
    let verified = match (&found, mode.as_deref(), token, challenge.as_deref()) {
        (Some((_, channel)), Some("subscribe"), Some(token), Some(challenge))
            if !challenge.is_empty() =>
        {
            bool::from(token.as_bytes().ct_eq(channel.verify_token.as_bytes()))
        }
        _ => false,
    };
    match challenge {
        Some(challenge) if verified => plain(StatusCode::OK, &challenge),
        _ => plain(StatusCode::FORBIDDEN, "Verification failed."),
    }
}

async fn deliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&id, receive(&state, &id, &headers, &body).await)
}

async fn receive(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> anyhow::Result<Response> {
    let Some((mut tx, channel)) = channel(state, id).await? else {
        return Ok(plain(StatusCode::NOT_FOUND, "No such channel."));
    };
    let org_id = tx.org_id();
    let app_secret = state.secrets.open(
        org_id,
        APP_SECRET_PURPOSE,
        channel.id,
        &channel.app_secret_sealed,
    )?;
    let header = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    if !signature::verify(&app_secret, body, header) {
        tracing::warn!(channel = %channel.id, "webhook delivery with a bad or missing signature");
        return Ok(plain(StatusCode::UNAUTHORIZED, "Bad signature."));
    }
    if !channel.enabled {
        // Meta keeps retrying for days: enabling the channel again in time
        // loses nothing.
        return Ok((
            [(header::RETRY_AFTER, "3600")],
            plain(StatusCode::SERVICE_UNAVAILABLE, "This channel is disabled."),
        )
            .into_response());
    }
    let delivery = match webhook::parse(body) {
        Ok(delivery) => delivery,
        Err(e) => {
            tracing::warn!(channel = %channel.id, error = %e, "webhook delivery not understood");
            return Ok(plain(StatusCode::BAD_REQUEST, "Not a WhatsApp delivery."));
        }
    };
    for batch in &delivery.batches {
        // Skipped rather than refused: a 400 would make Meta send the
        // delivery again for days, and the good messages with it.
        for what in &batch.skipped {
            tracing::warn!(channel = %channel.id, skipped = %what, "malformed part of a delivery skipped");
        }
        // An app's numbers may share one callback URL: each batch goes to
        // the workspace's channel for its number.
        let target = match batch.phone_number_id.as_deref() {
            None => channel.clone(),
            Some(number) if number == channel.phone_number_id => channel.clone(),
            Some(number) => match db::cloud_channels::find_by_number(&mut tx, number).await? {
                Some(other) => other,
                None => {
                    tracing::warn!(channel = %channel.id, number, "delivery for a number no channel has");
                    continue;
                }
            },
        };
        for error in &batch.errors {
            tracing::warn!(channel = %target.id, error, "WhatsApp reported a problem");
        }
        store_batch(&mut tx, &state.secrets, &target, batch).await?;
    }
    for what in &delivery.skipped {
        tracing::warn!(channel = %channel.id, skipped = %what, "malformed part of a delivery skipped");
    }
    // Meta's review of a template: the list and the inbox see it at once.
    for update in &delivery.template_updates {
        let changed = db::templates::apply_status_update(&mut tx, &channel.waba_id, update).await?;
        if changed == 0 {
            tracing::info!(
                channel = %channel.id,
                template_id = update.template_id.as_deref().unwrap_or_default(),
                event = %update.event,
                "status update for a template wacrm does not have: ignored"
            );
        }
    }
    tx.commit().await?;
    Ok(plain(StatusCode::OK, "OK"))
}

async fn store_batch(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &CloudChannel,
    batch: &webhook::Batch,
) -> anyhow::Result<()> {
    let shared = channel.channel();
    let mut arrivals = Vec::with_capacity(batch.messages.len());
    let mut sources = Vec::with_capacity(batch.messages.len());
    for message in &batch.messages {
        let from = match &message.wa_id {
            Some(wa_id) => match PhoneE164::parse(&format!("+{wa_id}"), None) {
                Ok(phone) => Some(phone),
                Err(_) => {
                    tracing::warn!(channel = %channel.id, %wa_id, "sender is not a phone number");
                    continue;
                }
            },
            // Known by their business-scoped user id alone.
            None => None,
        };
        arrivals.push(Inbound {
            from,
            lid: None,
            user_id: message.user_id.as_deref(),
            profile_name: message.profile_name.as_deref(),
            provider_message_id: &message.id,
            kind: message.kind,
            body: &message.body,
            media: message.media.clone(),
            raw: message.raw.clone(),
            sent_at: message.sent_at,
            reply_to: message.reply_to.as_deref(),
            group: None,
        });
        sources.push(message);
    }
    let outcomes = ingest::ingest_all(tx, secrets, &shared, &arrivals).await?;
    for (message, outcome) in sources.iter().zip(outcomes) {
        let Ingested::Stored {
            message_id,
            conversation_id,
        } = outcome
        else {
            continue;
        };
        if message.kind.has_media() && message.media.is_some() {
            media::queue_fetch(tx, secrets, message_id).await?;
        }
        // The ad or product the customer came from stays on the
        // conversation (the first one; in order, so the earlier message's).
        if let Some(referral) = &message.referral {
            db::conversation_referrals::keep(tx, conversation_id, referral).await?;
        }
    }
    let mut reports: Vec<&webhook::StatusReport> = batch.statuses.iter().collect();
    // Our messages' rows in one order (by provider id), so concurrent
    // deliveries wait instead of deadlocking (statuses only move forward,
    // so their order does not matter otherwise).
    reports.sort_by(|a, b| a.provider_message_id.cmp(&b.provider_message_id));
    for report in reports {
        crate::features::inbox::delivery::report(tx, channel.id, report).await?;
    }
    Ok(())
}
