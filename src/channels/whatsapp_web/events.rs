//! What a linked-device session reports, written to its workspace: the
//! status the owner sees, customers' messages through the same idempotent
//! ingest as every channel, receipts through the same delivery reports.

use time::OffsetDateTime;
use uuid::Uuid;

use super::link::{MEDIA_REF_KEY, SessionEvent, WebInbound};
use crate::channels::cloud_api::webhook::StatusReport;
use crate::domain::PhoneE164;
use crate::features::environment::Environment;
use crate::features::inbox::ingest::{self, Inbound, Ingested};
use crate::infra::db;
use crate::infra::db::web_sessions::WebStatus;
use crate::infra::tenancy::bootstrap;

/// Sealing purpose of a shown QR code (it carries the device's keys).
const QR_PURPOSE: &str = "whatsapp-web-qr";

/// Whether the session goes on after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Over: logged out, outdated or never scanned; stop it.
    End,
}

/// Records one event in the session's workspace.
pub async fn apply(
    env: &Environment,
    org_id: Uuid,
    channel_id: Uuid,
    event: SessionEvent,
) -> anyhow::Result<Next> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let now = OffsetDateTime::now_utc();
    let next = match event {
        SessionEvent::Qr { code, valid_for } => {
            let sealed =
                env.secrets
                    .seal(org_id, &qr_purpose(channel_id), channel_id, code.as_bytes())?;
            db::web_sessions::show_qr(&mut tx, channel_id, &sealed, now + valid_for).await?;
            Next::Continue
        }
        SessionEvent::PairCode { code, valid_for } => {
            db::web_sessions::show_pair_code(&mut tx, channel_id, &code, now + valid_for).await?;
            Next::Continue
        }
        SessionEvent::Linked { phone, name } => {
            db::web_sessions::linked(&mut tx, channel_id, &phone, &name).await?;
            Next::Continue
        }
        SessionEvent::Disconnected => {
            let current = db::web_sessions::find(&mut tx, channel_id).await?;
            if current.is_some_and(|s| s.status == WebStatus::Linked) {
                db::web_sessions::set_status(&mut tx, channel_id, WebStatus::Disconnected).await?;
            }
            Next::Continue
        }
        SessionEvent::LoggedOut { reason } => {
            tracing::warn!(%channel_id, %reason, "whatsapp web: logged out from the phone");
            if db::web_sessions::set_status(&mut tx, channel_id, WebStatus::LoggedOut).await? {
                tell_admins_logged_out(env, &mut tx, channel_id).await?;
            }
            Next::End
        }
        SessionEvent::Outdated => {
            db::web_sessions::set_status(&mut tx, channel_id, WebStatus::Outdated).await?;
            Next::End
        }
        SessionEvent::QrExpired => {
            db::web_sessions::set_status(&mut tx, channel_id, WebStatus::Expired).await?;
            Next::End
        }
        SessionEvent::Messages(messages) => {
            store_messages(env, &mut tx, channel_id, &messages).await?;
            Next::Continue
        }
        SessionEvent::Edited { message_id, body } => {
            let edited =
                db::messages::edit_inbound(&mut tx, channel_id, &message_id, &body).await?;
            if let Some(conversation_id) = edited {
                db::conversations::notify(&mut tx, conversation_id).await?;
            }
            Next::Continue
        }
        SessionEvent::Revoked { message_id } => {
            let deleted = db::messages::delete_inbound(&mut tx, channel_id, &message_id).await?;
            if let Some(conversation_id) = deleted {
                db::conversations::notify(&mut tx, conversation_id).await?;
            }
            Next::Continue
        }
        SessionEvent::Receipt {
            message_ids,
            status,
        } => {
            for id in message_ids {
                let report = StatusReport {
                    provider_message_id: id,
                    status,
                    error: None,
                    at: None,
                    callback_data: None,
                };
                crate::features::inbox::delivery::report(&mut tx, channel_id, &report).await?;
            }
            Next::Continue
        }
    };
    tx.commit().await?;
    Ok(next)
}

/// Mails the workspace's owners and admins that a phone was logged out
/// (the layout's banner says it too).
async fn tell_admins_logged_out(
    env: &Environment,
    tx: &mut crate::infra::tenancy::TenantTx,
    channel_id: Uuid,
) -> anyhow::Result<()> {
    let name = db::web_sessions::name(tx, channel_id)
        .await?
        .unwrap_or_else(|| "A linked phone".to_owned());
    let link = env.url(&format!("/settings/linked-devices/{channel_id}"));
    crate::infra::jobs::mail_members(
        tx,
        &env.secrets,
        &["owner", "admin"],
        &format!("WhatsApp: “{name}” was logged out of wacrm"),
        |member| {
            format!(
                "Hello {member},\n\nThe phone “{name}” removed wacrm from its linked devices (or WhatsApp logged it out). Its chats no longer reach the inbox, and replies to them are not sent.\n\nLink it again here: {link}\n\nThe conversations so far are kept.\n"
            )
        },
    )
    .await?;
    Ok(())
}

/// The sealing purpose of a channel's QR code.
pub fn qr_purpose(channel_id: Uuid) -> String {
    format!("{QR_PURPOSE}\n{channel_id}")
}

/// Customers' messages, stored once each (a session delivers again after a
/// reconnect; the message id decides); files to fetch
/// (`source_url` on WAHA, `wa` on a session run here) are queued with them.
async fn store_messages(
    env: &Environment,
    tx: &mut crate::infra::tenancy::TenantTx,
    channel_id: Uuid,
    messages: &[WebInbound],
) -> anyhow::Result<()> {
    let Some(channel) = db::channels::find(tx, channel_id).await? else {
        return Ok(());
    };
    let mut arrivals = Vec::with_capacity(messages.len());
    let mut fetch = Vec::with_capacity(messages.len());
    for message in messages {
        let Ok(from) = PhoneE164::parse(&format!("+{}", message.from), None) else {
            tracing::warn!(%channel_id, "whatsapp web: a sender that is not a phone number");
            continue;
        };
        arrivals.push(Inbound {
            from,
            profile_name: message.push_name.as_deref(),
            provider_message_id: &message.id,
            kind: message.kind,
            body: &message.body,
            media: message.media.clone(),
            raw: message.raw.clone(),
            sent_at: message.sent_at,
            reply_to: message.reply_to.as_deref(),
        });
        fetch.push(
            message
                .media
                .as_ref()
                .is_some_and(|m| m.get("source_url").is_some() || m.get(MEDIA_REF_KEY).is_some()),
        );
    }
    let outcomes = ingest::ingest_all(tx, &env.secrets, &channel, &arrivals).await?;
    for (outcome, fetch) in outcomes.into_iter().zip(fetch) {
        if let (Ingested::Stored { message_id, .. }, true) = (outcome, fetch) {
            crate::channels::media::queue_fetch(tx, &env.secrets, message_id).await?;
        }
    }
    Ok(())
}
