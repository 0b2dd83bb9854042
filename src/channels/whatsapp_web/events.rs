//! What a linked-device session reports, written to its workspace: the
//! status the owner sees, customers' messages through the same idempotent
//! ingest as every channel, receipts through the same delivery reports.

use time::OffsetDateTime;
use uuid::Uuid;

use super::link::{Inbox, MEDIA_REF_KEY, SessionEvent, WebGroup, WebInbound};
use crate::channels::cloud_api::webhook::StatusReport;
use crate::domain::PhoneE164;
use crate::features::environment::Environment;
use crate::features::inbox::ingest::{self, GroupPost, Inbound, Ingested};
use crate::infra::db;
use crate::infra::db::messages::Author;
use crate::infra::db::web_sessions::WebStatus;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Sealing purpose of a shown QR code (it carries the device's keys).
const QR_PURPOSE: &str = "whatsapp-web-qr";

/// Whether the session goes on after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Over: logged out, outdated or never scanned; stop it.
    End,
    /// Stop it, and let nobody start it again for this long.
    Pause(std::time::Duration),
}

/// Records one event in the session's workspace.
pub async fn apply(
    env: &Environment,
    org_id: Uuid,
    channel_id: Uuid,
    event: SessionEvent,
) -> anyhow::Result<Next> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let next = apply_in(env, &mut tx, channel_id, event).await?;
    tx.commit().await?;
    Ok(next)
}

/// Records what a session received (messages, edits, deletions) in one
/// transaction, in order: all of it or, on an error, none. The session
/// acknowledges it to WhatsApp only after this returns `Ok`.
pub async fn commit(
    env: &Environment,
    org_id: Uuid,
    channel_id: Uuid,
    received: Vec<SessionEvent>,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    for event in received {
        apply_in(env, &mut tx, channel_id, event).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A session's [`Inbox`]: its workspace, through [`commit`].
pub struct WorkspaceInbox {
    pub env: Environment,
    pub org_id: Uuid,
    pub channel_id: Uuid,
}

#[async_trait::async_trait]
impl Inbox for WorkspaceInbox {
    async fn commit(&self, received: Vec<SessionEvent>) -> anyhow::Result<()> {
        commit(&self.env, self.org_id, self.channel_id, received).await
    }
}

/// [`apply`] in the caller's transaction.
async fn apply_in(
    env: &Environment,
    tx: &mut TenantTx,
    channel_id: Uuid,
    event: SessionEvent,
) -> anyhow::Result<Next> {
    let org_id = tx.org_id();
    let now = OffsetDateTime::now_utc();
    let next = match event {
        SessionEvent::Qr { code, valid_for } => {
            let sealed =
                env.secrets
                    .seal(org_id, &qr_purpose(channel_id), channel_id, code.as_bytes())?;
            db::web_sessions::show_qr(tx, channel_id, &sealed, now + valid_for).await?;
            Next::Continue
        }
        SessionEvent::PairCode { code, valid_for } => {
            db::web_sessions::show_pair_code(tx, channel_id, &code, now + valid_for).await?;
            Next::Continue
        }
        SessionEvent::Linked { phone, name } => {
            db::web_sessions::linked(tx, channel_id, &phone, &name).await?;
            Next::Continue
        }
        SessionEvent::Disconnected => {
            let current = db::web_sessions::find(tx, channel_id).await?;
            if current.is_some_and(|s| s.status == WebStatus::Linked) {
                db::web_sessions::set_status(tx, channel_id, WebStatus::Disconnected).await?;
            }
            Next::Continue
        }
        SessionEvent::LoggedOut { reason } => {
            tracing::warn!(%channel_id, %reason, "whatsapp web: logged out from the phone");
            if db::web_sessions::set_status(tx, channel_id, WebStatus::LoggedOut).await? {
                tell_admins_logged_out(env, tx, channel_id).await?;
            }
            Next::End
        }
        SessionEvent::Outdated => {
            db::web_sessions::set_status(tx, channel_id, WebStatus::Outdated).await?;
            Next::End
        }
        SessionEvent::Paused {
            reason,
            retry_after,
        } => {
            tracing::warn!(%channel_id, %reason, "whatsapp web: session paused");
            db::web_sessions::paused(tx, channel_id, &reason).await?;
            Next::Pause(retry_after)
        }
        SessionEvent::QrExpired => {
            db::web_sessions::set_status(tx, channel_id, WebStatus::Expired).await?;
            Next::End
        }
        SessionEvent::Messages(messages) => {
            store_messages(env, tx, channel_id, Author::Customer, &messages).await?;
            Next::Continue
        }
        SessionEvent::Undecryptable(messages) => {
            store_messages(env, tx, channel_id, Author::CustomerUndecrypted, &messages).await?;
            Next::Continue
        }
        SessionEvent::SentFromPhone(messages) => {
            store_messages(env, tx, channel_id, Author::BusinessPhone, &messages).await?;
            Next::Continue
        }
        SessionEvent::History { customers, ours } => {
            store_history(env, tx, channel_id, customers, ours).await?;
            Next::Continue
        }
        SessionEvent::Edited { message_id, body } => {
            let edited = db::messages::edit_inbound(tx, channel_id, &message_id, &body).await?;
            if let Some(conversation_id) = edited {
                db::conversations::notify(tx, conversation_id).await?;
            }
            Next::Continue
        }
        SessionEvent::GroupNamed { group, name } => {
            if is_group_id(&group) {
                db::contacts::name_group(tx, &group, &name).await?;
            }
            Next::Continue
        }
        SessionEvent::Revoked { message_id } => {
            let deleted = db::messages::delete_inbound(tx, channel_id, &message_id).await?;
            if let Some(conversation_id) = deleted {
                db::conversations::notify(tx, conversation_id).await?;
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
                crate::features::inbox::delivery::report(tx, channel_id, &report).await?;
            }
            Next::Continue
        }
    };
    Ok(next)
}

/// Mails the workspace's owners and admins that a phone was logged out
/// (the layout's banner says it too).
async fn tell_admins_logged_out(
    env: &Environment,
    tx: &mut TenantTx,
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

/// Earlier messages of the phone's chats, within the days the phone's
/// setting asks for (none when 0), imported as read; counted on its page.
async fn store_history(
    env: &Environment,
    tx: &mut TenantTx,
    channel_id: Uuid,
    customers: Vec<WebInbound>,
    ours: Vec<WebInbound>,
) -> anyhow::Result<()> {
    let Some(session) = db::web_sessions::find(tx, channel_id).await? else {
        return Ok(());
    };
    if session.history_days == 0 {
        return Ok(());
    }
    let since = OffsetDateTime::now_utc() - time::Duration::days(i64::from(session.history_days));
    // Undated messages are left out: their place in the chat is unknown.
    let recent = |messages: Vec<WebInbound>| -> Vec<WebInbound> {
        messages
            .into_iter()
            .filter(|m| m.sent_at.is_some_and(|at| at >= since))
            .collect()
    };
    let mut imported = 0;
    for (author, messages) in [
        (Author::CustomerHistory, recent(customers)),
        (Author::BusinessPhoneHistory, recent(ours)),
    ] {
        imported += store_messages(env, tx, channel_id, author, &messages).await?;
    }
    if imported > 0 {
        db::web_sessions::count_imported(tx, channel_id, imported).await?;
    }
    Ok(())
}

/// Customers' messages, stored once each (a session delivers again after a
/// reconnect; the message id decides); files to fetch
/// (`source_url` on WAHA, `wa` on a session run here) are queued with them.
async fn store_messages(
    env: &Environment,
    tx: &mut TenantTx,
    channel_id: Uuid,
    author: Author,
    messages: &[WebInbound],
) -> anyhow::Result<i64> {
    if messages.is_empty() {
        return Ok(0);
    }
    let Some(channel) = db::channels::find(tx, channel_id).await? else {
        return Ok(0);
    };
    let shows_groups = db::channels::shows_groups(tx, channel_id).await?;
    let mut arrivals = Vec::with_capacity(messages.len());
    let mut fetch = Vec::with_capacity(messages.len());
    for message in messages {
        let group = match &message.group {
            // Groups are opt-in per channel: off, they are left out.
            Some(_) if !shows_groups => continue,
            Some(group) => match group_post(group, message.push_name.as_deref()) {
                Some(post) => Some(post),
                None => {
                    tracing::warn!(%channel_id, "whatsapp web: a group message with a malformed address");
                    continue;
                }
            },
            None => None,
        };
        let from = match &message.from {
            Some(digits) => match PhoneE164::parse(&format!("+{digits}"), None) {
                Ok(phone) => Some(phone),
                Err(_) => {
                    tracing::warn!(%channel_id, "whatsapp web: a sender that is not a phone number");
                    continue;
                }
            },
            None => None,
        };
        let lid = message
            .lid
            .as_deref()
            .filter(|l| !l.is_empty() && l.len() <= 30 && l.bytes().all(|b| b.is_ascii_digit()));
        if from.is_none() && lid.is_none() && group.is_none() {
            tracing::warn!(%channel_id, "whatsapp web: a sender with neither number nor LID");
            continue;
        }
        arrivals.push(Inbound {
            from,
            lid,
            user_id: None,
            profile_name: message.push_name.as_deref(),
            provider_message_id: &message.id,
            kind: message.kind,
            body: &message.body,
            media: message.media.clone(),
            raw: message.raw.clone(),
            sent_at: message.sent_at,
            reply_to: message.reply_to.as_deref(),
            group,
        });
        fetch.push(
            message
                .media
                .as_ref()
                .is_some_and(|m| m.get("source_url").is_some() || m.get(MEDIA_REF_KEY).is_some()),
        );
    }
    let outcomes = match author {
        Author::Customer => ingest::ingest_all(tx, &env.secrets, &channel, &arrivals).await?,
        Author::BusinessPhone => {
            ingest::sent_from_phone(tx, &env.secrets, &channel, &arrivals).await?
        }
        Author::CustomerUndecrypted => {
            ingest::undecrypted(tx, &env.secrets, &channel, &arrivals).await?
        }
        Author::CustomerHistory | Author::BusinessPhoneHistory => {
            let ours = author.is_business();
            ingest::from_history(tx, &env.secrets, &channel, &arrivals, ours).await?
        }
    };
    let mut stored = 0;
    for (outcome, fetch) in outcomes.into_iter().zip(fetch) {
        if let Ingested::Stored { message_id, .. } = outcome {
            stored += 1;
            if fetch {
                crate::channels::media::queue_fetch(tx, &env.secrets, message_id).await?;
            }
        }
    }
    Ok(stored)
}

/// A group message's place as ingest takes it, when its addresses are
/// well formed (the group's id; the member's digits or `<lid>@lid`).
fn group_post<'a>(group: &'a WebGroup, member_name: Option<&'a str>) -> Option<GroupPost<'a>> {
    if !is_group_id(&group.id) {
        return None;
    }
    let member = match group.member.as_deref() {
        Some(member) => {
            let digits = member.strip_suffix("@lid").unwrap_or(member);
            let valid = !digits.is_empty()
                && digits.len() <= 30
                && digits.bytes().all(|b| b.is_ascii_digit());
            if !valid {
                return None;
            }
            Some(member)
        }
        None => None,
    };
    Some(GroupPost {
        id: &group.id,
        member,
        // At most 200 characters, as stored.
        member_name: member_name
            .map(|name| match name.char_indices().nth(200) {
                Some((end, _)) => &name[..end],
                None => name,
            })
            .filter(|name| !name.trim().is_empty()),
    })
}

/// A WhatsApp group's id: digits, or (older groups) the creator's number
/// and a time joined by a dash.
fn is_group_id(id: &str) -> bool {
    let (head, tail) = id.split_once('-').unwrap_or((id, "1"));
    let digits = |part: &str, max: usize| {
        !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
    };
    digits(head, 30) && digits(tail, 20)
}
