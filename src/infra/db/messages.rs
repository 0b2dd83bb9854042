//! Messages of a conversation, and their delivery status.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{DeliveryStatus, Direction, MessageKind, SenderKind};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub channel_id: Uuid,
    pub direction: Direction,
    pub kind: MessageKind,
    pub body: String,
    pub media: Option<serde_json::Value>,
    pub sender_kind: SenderKind,
    pub sender_name: Option<String>,
    pub private: bool,
    pub provider_message_id: Option<String>,
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    /// The message this one quotes or reacts to, and what it said (when
    /// wacrm still has it).
    pub reply_to_id: Option<Uuid>,
    pub quoted_kind: Option<MessageKind>,
    pub quoted_body: Option<String>,
    pub quoted_provider_id: Option<String>,
    /// When the customer edited it on WhatsApp (the body is the new text).
    pub edited_at: Option<OffsetDateTime>,
    /// When the customer deleted it for everyone (body and file dropped).
    pub deleted_at: Option<OffsetDateTime>,
    /// Sent by the bot or an automation, not by a person.
    pub automated: bool,
    /// Typed on the business's own phone, not in wacrm.
    pub from_phone: bool,
    /// A customer's message whose content has not arrived yet.
    pub awaiting_content: bool,
    /// In a group chat: who in the group wrote it (their number's digits,
    /// or `<lid>@lid`) and the name their profile gave.
    pub group_member: Option<String>,
    pub group_member_name: Option<String>,
    /// The group member who wrote the quoted message.
    pub quoted_group_member: Option<String>,
}

impl Message {
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    pub fn is_inbound(&self) -> bool {
        self.direction == Direction::In
    }

    /// Who in a group wrote this message, as the conversation shows it:
    /// their name and number, or their name alone when the number is
    /// hidden. `None` outside groups and for our own messages.
    pub fn group_member_label(&self) -> Option<String> {
        let member = self.group_member.as_deref()?;
        let number = match member.strip_suffix("@lid") {
            Some(_) => None,
            None => Some(format!("+{member}")),
        };
        let name = self
            .group_member_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        Some(match (name, number) {
            (Some(name), Some(number)) => format!("{name} · {number}"),
            (Some(name), None) => name.to_owned(),
            (None, Some(number)) => number,
            (None, None) => "A member (number hidden)".to_owned(),
        })
    }

    /// What the quoted message said, in a line (`None` when this quotes
    /// nothing wacrm has).
    pub fn quoted(&self) -> Option<String> {
        Some(one_line(
            self.quoted_kind?,
            self.quoted_body.as_deref().unwrap_or(""),
        ))
    }

    /// What this message says, in a line (as a reply to it quotes it).
    pub fn line(&self) -> Option<String> {
        Some(one_line(self.kind(), &self.body))
    }

    /// Whether a reply or reaction can point at it on WhatsApp: a
    /// customer's or sent message (not a note, not still queued).
    pub fn can_be_answered(&self) -> bool {
        // A message still waiting for its content has nothing to quote.
        !self.private
            && !self.awaiting_content
            && self.provider_message_id.is_some()
            && self.kind() != MessageKind::Reaction
    }

    /// Why the media could not be fetched, if it could not.
    pub fn media_unavailable(&self) -> Option<&str> {
        self.media.as_ref()?.get("unavailable")?.as_str()
    }

    pub fn media_url(&self) -> Option<&str> {
        self.media.as_ref()?.get("url")?.as_str()
    }

    /// An image stored by wacrm (`/media/{id}`), shown inline; a provider's
    /// URL never is.
    pub fn stored_image(&self) -> Option<&str> {
        let url = self.media_url()?;
        let id = url.strip_prefix("/media/")?;
        (matches!(self.kind(), MessageKind::Image | MessageKind::Sticker)
            && Uuid::try_parse(id).is_ok())
        .then_some(url)
    }
}

/// A message in a line of at most 120 characters.
fn one_line(kind: MessageKind, body: &str) -> String {
    let line = kind.preview(body);
    let mut short: String = line.chars().take(120).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// `query_as!` of [`Message`]s: the columns of the message `m` and the
/// joins they read, then `$rest`. A macro so that the SQL stays one literal
/// the compiler checks.
macro_rules! select_messages {
    ($rest:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Message,
            r#"select m.id, m.conversation_id, m.channel_id,
               m.direction as "direction: Direction", m.kind as "kind: MessageKind", m.body, m.media,
               m.sender_kind as "sender_kind: SenderKind", u.name as "sender_name?", m.private,
               m.provider_message_id, m.status as "status: DeliveryStatus", m.error, m.created_at, m.reply_to_id,
               q.kind as "quoted_kind?: MessageKind", q.body as "quoted_body?",
               q.provider_message_id as "quoted_provider_id?", m.edited_at, m.deleted_at,
               m.automated, m.from_phone, m.awaiting_content, m.group_member, m.group_member_name,
               q.group_member as "quoted_group_member?"
               from messages m
               left join users u on u.id = m.sender_user_id
               left join messages q on q.org_id = m.org_id and q.id = m.reply_to_id "#
                + $rest,
            $($arg),+
        )
    };
}

/// A message to store; `provider_message_id` makes storing it idempotent.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub conversation_id: Uuid,
    pub channel_id: Uuid,
    pub inbound: bool,
    pub kind: MessageKind,
    pub body: &'a str,
    pub media: Option<serde_json::Value>,
    pub sender_user_id: Option<Uuid>,
    pub private: bool,
    pub provider_message_id: Option<&'a str>,
    pub status: DeliveryStatus,
    pub raw: Option<serde_json::Value>,
    pub created_at: Option<OffsetDateTime>,
    pub reply_to_id: Option<Uuid>,
}

/// Stores the message; `None` if the channel already delivered one with
/// this provider id (a retried webhook), which is then left as it was.
pub async fn insert(tx: &mut TenantTx, new: &NewMessage<'_>) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    let sender_kind = match (new.inbound, new.sender_user_id) {
        (true, _) => SenderKind::Contact,
        (false, Some(_)) => SenderKind::Member,
        (false, None) => SenderKind::Bot,
    };
    sqlx::query_scalar!(
        "insert into messages (org_id, id, conversation_id, channel_id, direction, kind, body, \
           media, sender_kind, sender_user_id, private, provider_message_id, status, raw, created_at, \
           reply_to_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, coalesce($15, now()), $16) \
         on conflict (org_id, channel_id, provider_message_id) where provider_message_id is not null \
         do nothing returning id",
        org_id,
        Uuid::now_v7(),
        new.conversation_id,
        new.channel_id,
        if new.inbound { Direction::In } else { Direction::Out }.as_str(),
        new.kind.as_str(),
        new.body,
        new.media.as_ref(),
        sender_kind.as_str(),
        new.sender_user_id,
        new.private,
        new.provider_message_id,
        new.status.as_str(),
        new.raw.as_ref(),
        new.created_at,
        new.reply_to_id
    )
    .fetch_optional(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Message>> {
    let org_id = tx.org_id();
    select_messages!("where m.org_id = $1 and m.id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

/// Where a page of a conversation's messages ends.
#[derive(Debug, Clone, Copy)]
pub enum PageEnd {
    /// The newest messages.
    Latest,
    /// Messages before this `(created_at, id)`.
    Before((OffsetDateTime, Uuid)),
    /// Messages up to and including this one (a search result opened).
    Through((OffsetDateTime, Uuid)),
}

/// A conversation's newest `limit` messages up to `end`, returned oldest
/// first for display.
pub async fn page(
    tx: &mut TenantTx,
    conversation_id: Uuid,
    end: PageEnd,
    limit: i64,
) -> sqlx::Result<Vec<Message>> {
    let org_id = tx.org_id();
    // One static query per end: each keeps its own plan (a bound that may
    // be null would leave a cached plan scanning from the newest message).
    let mut messages = match end {
        PageEnd::Latest => {
            select_messages!(
                "where m.org_id = $1 and m.conversation_id = $2 \
                 order by m.created_at desc, m.id desc limit $3",
                org_id,
                conversation_id,
                limit
            )
            .fetch_all(tx.conn())
            .await?
        }
        PageEnd::Before((at, id)) => {
            select_messages!(
                "where m.org_id = $1 and m.conversation_id = $2 \
                 and (m.created_at, m.id) < ($3, $4) \
                 order by m.created_at desc, m.id desc limit $5",
                org_id,
                conversation_id,
                at,
                id,
                limit
            )
            .fetch_all(tx.conn())
            .await?
        }
        PageEnd::Through((at, id)) => {
            select_messages!(
                "where m.org_id = $1 and m.conversation_id = $2 \
                 and (m.created_at, m.id) <= ($3, $4) \
                 order by m.created_at desc, m.id desc limit $5",
                org_id,
                conversation_id,
                at,
                id,
                limit
            )
            .fetch_all(tx.conn())
            .await?
        }
    };
    messages.reverse();
    Ok(messages)
}

/// Records a delivery report if it moves the status forward; `false` if it
/// was stale or names no message of this channel.
pub async fn advance_status(
    tx: &mut TenantTx,
    message_id: Uuid,
    status: DeliveryStatus,
    error: Option<&str>,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update messages set status = $3, error = $4 \
         where org_id = $1 and id = $2 and status not in ('received', 'failed') \
         and $3 <> 'received' \
         and case when $3 = 'failed' then status <> 'read' \
                  else message_status_rank($3) > message_status_rank(status) end",
        org_id,
        message_id,
        status.as_str(),
        error
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a message sent, with the id the provider gave it.
pub async fn mark_sent(
    tx: &mut TenantTx,
    message_id: Uuid,
    provider_id: &str,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update messages set provider_message_id = $3 where org_id = $1 and id = $2",
        org_id,
        message_id,
        provider_id
    )
    .execute(tx.conn())
    .await?;
    advance_status(tx, message_id, DeliveryStatus::Sent, None).await
}

/// The messages these provider ids name on the channel, by provider id
/// (those it has).
pub async fn ids_by_provider_ids(
    tx: &mut TenantTx,
    channel_id: Uuid,
    provider_ids: &[&str],
) -> sqlx::Result<HashMap<String, Uuid>> {
    let org_id = tx.org_id();
    // Key by key (see `crate::infra::db`).
    let found = sqlx::query!(
        r#"select k.provider_id as "provider_id!", m.id as "id!"
           from unnest($3::text[]) as k(provider_id)
           cross join lateral (select id from messages where org_id = $1 and channel_id = $2
             and provider_message_id = k.provider_id limit 1) m"#,
        org_id,
        channel_id,
        provider_ids as &[&str]
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(found.into_iter().map(|r| (r.provider_id, r.id)).collect())
}

/// The content of customers' messages stored as waiting for it (see
/// [`Author::CustomerUndecrypted`]): each placeholder with one of these
/// provider ids takes its row's kind, text, file, raw payload and quote.
/// Returns, by provider id, the filled message and its conversation.
pub async fn fill_awaiting(
    tx: &mut TenantTx,
    channel_id: Uuid,
    rows: &[InboundRow<'_>],
) -> sqlx::Result<HashMap<String, (Uuid, Uuid)>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let org_id = tx.org_id();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body).collect();
    let media: Vec<Option<serde_json::Value>> = rows.iter().map(|r| r.media.clone()).collect();
    let provider_ids: Vec<&str> = rows.iter().map(|r| r.provider_message_id).collect();
    let raws: Vec<Option<serde_json::Value>> = rows.iter().map(|r| r.raw.clone()).collect();
    let replies: Vec<Option<Uuid>> = rows.iter().map(|r| r.reply_to_id).collect();
    let filled = sqlx::query!(
        r#"update messages m set kind = u.kind, body = u.body, media = u.media, raw = u.raw,
             reply_to_id = u.reply_to_id, awaiting_content = false
           from unnest($3::text[], $4::text[], $5::jsonb[], $6::text[], $7::jsonb[], $8::uuid[])
             as u(kind, body, media, provider_id, raw, reply_to_id)
           where m.org_id = $1 and m.channel_id = $2 and m.provider_message_id = u.provider_id
             and m.awaiting_content
           returning m.provider_message_id as "provider_id!", m.id, m.conversation_id"#,
        org_id,
        channel_id,
        &kinds as &[&str],
        &bodies as &[&str],
        &media as &[Option<serde_json::Value>],
        &provider_ids as &[&str],
        &raws as &[Option<serde_json::Value>],
        &replies as &[Option<Uuid>]
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(filled
        .into_iter()
        .map(|r| (r.provider_id, (r.id, r.conversation_id)))
        .collect())
}

/// Customer messages to mark read on WhatsApp, newest first.
#[derive(Debug, Clone)]
pub struct ReadReceipt {
    pub channel_id: Uuid,
    pub conversation_id: Uuid,
    pub provider_ids: Vec<String>,
}

/// The customer's messages of a conversation that arrived after `since`
/// (all if `None`) up to `through`, newest first, at most `limit`; `None`
/// if there are none.
pub async fn to_mark_read(
    tx: &mut TenantTx,
    conversation_id: Uuid,
    since: Option<OffsetDateTime>,
    through: OffsetDateTime,
    limit: i64,
) -> sqlx::Result<Option<ReadReceipt>> {
    let org_id = tx.org_id();
    let rows = sqlx::query!(
        r#"select channel_id, provider_message_id as "provider_id!" from messages
           where org_id = $1 and conversation_id = $2 and direction = 'in'
             and provider_message_id is not null and not awaiting_content and deleted_at is null
             and ($3::timestamptz is null or created_at > $3) and created_at <= $4
           order by created_at desc, id desc limit $5"#,
        org_id,
        conversation_id,
        since,
        through,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    let Some(channel_id) = rows.first().map(|r| r.channel_id) else {
        return Ok(None);
    };
    Ok(Some(ReadReceipt {
        channel_id,
        conversation_id,
        provider_ids: rows.into_iter().map(|r| r.provider_id).collect(),
    }))
}

/// A customer's message to store (see [`insert_arrivals`]).
#[derive(Debug, Clone)]
pub struct InboundRow<'a> {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub kind: MessageKind,
    pub body: &'a str,
    pub media: Option<serde_json::Value>,
    pub provider_message_id: &'a str,
    pub raw: Option<serde_json::Value>,
    pub created_at: OffsetDateTime,
    pub reply_to_id: Option<Uuid>,
    /// In a group chat: who wrote it (see [`Message::group_member`]).
    pub group_member: Option<&'a str>,
    pub group_member_name: Option<&'a str>,
}

/// Who wrote messages a channel hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The customer: inbound, received.
    Customer,
    /// The business, on its own phone: ours, sent, a person's reply.
    BusinessPhone,
    /// The customer, in a message that could not be decrypted yet: kept
    /// as waiting for its content ([`fill_awaiting`] fills it in).
    CustomerUndecrypted,
    /// The customer, in a message from the phone's chat history: already
    /// read on the phone, so it counts as neither new nor unread.
    CustomerHistory,
    /// The business, in a message from the phone's chat history.
    BusinessPhoneHistory,
}

impl Author {
    /// Written by the business (on its phone), else by the customer.
    pub fn is_business(self) -> bool {
        matches!(self, Author::BusinessPhone | Author::BusinessPhoneHistory)
    }

    /// From the phone's chat history (earlier messages, imported).
    pub fn is_history(self) -> bool {
        matches!(self, Author::CustomerHistory | Author::BusinessPhoneHistory)
    }
}

/// Stores messages arriving on a channel in one statement; returns the
/// ids of those stored. One whose provider id the channel already
/// delivered (a concurrent retry) is left out, as [`insert`] does.
pub async fn insert_arrivals(
    tx: &mut TenantTx,
    channel_id: Uuid,
    author: Author,
    rows: &[InboundRow<'_>],
) -> sqlx::Result<HashSet<Uuid>> {
    let org_id = tx.org_id();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let conversations: Vec<Uuid> = rows.iter().map(|r| r.conversation_id).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body).collect();
    let media: Vec<Option<serde_json::Value>> = rows.iter().map(|r| r.media.clone()).collect();
    let provider_ids: Vec<&str> = rows.iter().map(|r| r.provider_message_id).collect();
    let raws: Vec<Option<serde_json::Value>> = rows.iter().map(|r| r.raw.clone()).collect();
    let created: Vec<OffsetDateTime> = rows.iter().map(|r| r.created_at).collect();
    let replies: Vec<Option<Uuid>> = rows.iter().map(|r| r.reply_to_id).collect();
    let members: Vec<Option<&str>> = rows.iter().map(|r| r.group_member).collect();
    let member_names: Vec<Option<&str>> = rows.iter().map(|r| r.group_member_name).collect();
    let (direction, sender, status) = match author {
        Author::Customer | Author::CustomerUndecrypted | Author::CustomerHistory => {
            (Direction::In, SenderKind::Contact, DeliveryStatus::Received)
        }
        Author::BusinessPhone | Author::BusinessPhoneHistory => {
            (Direction::Out, SenderKind::Member, DeliveryStatus::Sent)
        }
    };
    let from_phone = author.is_business();
    let awaiting = author == Author::CustomerUndecrypted;
    // In provider-id order: two deliveries of the same messages wait for
    // each other on the unique index instead of deadlocking.
    let stored = sqlx::query_scalar!(
        "insert into messages (org_id, id, conversation_id, channel_id, direction, kind, body, \
           media, sender_kind, private, provider_message_id, status, raw, created_at, reply_to_id, \
           from_phone, awaiting_content, group_member, group_member_name) \
         select $1, u.id, u.conversation_id, $2, $12, u.kind, u.body, u.media, $13, false, \
           u.provider_id, $14, u.raw, u.created_at, u.reply_to_id, $15, $16, u.member, u.member_name \
         from unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::jsonb[], $8::text[], \
           $9::jsonb[], $10::timestamptz[], $11::uuid[], $17::text[], $18::text[]) \
           as u(id, conversation_id, kind, body, media, provider_id, raw, created_at, reply_to_id, \
             member, member_name) \
         order by u.provider_id \
         on conflict (org_id, channel_id, provider_message_id) where provider_message_id is not null \
         do nothing returning id",
        org_id,
        channel_id,
        &ids,
        &conversations,
        &kinds as &[&str],
        &bodies as &[&str],
        &media as &[Option<serde_json::Value>],
        &provider_ids as &[&str],
        &raws as &[Option<serde_json::Value>],
        &created,
        &replies as &[Option<Uuid>],
        direction.as_str(),
        sender.as_str(),
        status.as_str(),
        from_phone,
        awaiting,
        &members as &[Option<&str>],
        &member_names as &[Option<&str>]
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(stored.into_iter().collect())
}

/// Whether an earlier message of ours in the same conversation, written
/// within the last hour, is still queued: sends keep the order messages
/// were written in, across workers and instances. Older ones do not hold
/// the conversation up forever.
pub async fn earlier_still_queued(tx: &mut TenantTx, message: &Message) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from messages where org_id = $1 and conversation_id = $2
             and status = 'queued' and (created_at, id) < ($3, $4)
             and created_at > now() - interval '1 hour') as "queued!""#,
        org_id,
        message.conversation_id,
        message.created_at,
        message.id
    )
    .fetch_one(tx.conn())
    .await
}

/// When a send of this queued message last started (see the column's
/// comment in the migration), if one did.
pub async fn send_attempted_at(
    tx: &mut TenantTx,
    id: Uuid,
) -> sqlx::Result<Option<OffsetDateTime>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select send_attempted_at from messages where org_id = $1 and id = $2",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
    .map(Option::flatten)
}

/// The payload kept with a message (for a template send: which template,
/// with which values).
pub async fn raw(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<serde_json::Value>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select raw from messages where org_id = $1 and id = $2",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
    .map(Option::flatten)
}

/// Replaces the message's media description (after a fetch).
pub async fn set_media(tx: &mut TenantTx, id: Uuid, media: &serde_json::Value) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update messages set media = $3 where org_id = $1 and id = $2",
        org_id,
        id,
        media
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Marks (`true`) or clears the start of a send.
pub async fn set_send_attempt(tx: &mut TenantTx, id: Uuid, started: bool) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update messages set send_attempted_at = case when $3 then now() end \
         where org_id = $1 and id = $2",
        org_id,
        id,
        started
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The message (and its conversation) a provider id names on a channel.
pub async fn by_provider_id(
    tx: &mut TenantTx,
    channel_id: Uuid,
    provider_id: &str,
) -> sqlx::Result<Option<(Uuid, Uuid)>> {
    let org_id = tx.org_id();
    let found = sqlx::query!(
        "select id, conversation_id from messages where org_id = $1 and channel_id = $2 \
         and provider_message_id = $3",
        org_id,
        channel_id,
        provider_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.map(|r| (r.id, r.conversation_id)))
}

/// The customer's side of a channel: the contact's non-private messages on
/// it, oldest first (the sandbox simulator's view).
pub async fn customer_view(
    tx: &mut TenantTx,
    channel_id: Uuid,
    contact_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Message>> {
    let org_id = tx.org_id();
    let mut messages = select_messages!(
        "join conversations c on c.org_id = m.org_id and c.id = m.conversation_id \
         where m.org_id = $1 and m.channel_id = $2 and c.contact_id = $3 and not m.private \
         order by m.created_at desc, m.id desc limit $4",
        org_id,
        channel_id,
        contact_id,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    messages.reverse();
    Ok(messages)
}

/// Reports every reply sent to the contact on the channel as `status`
/// (delivered or read), where that moves it forward; returns the
/// conversations touched.
pub async fn report_to_contact(
    tx: &mut TenantTx,
    channel_id: Uuid,
    contact_id: Uuid,
    status: DeliveryStatus,
) -> sqlx::Result<Vec<Uuid>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"with reported as (update messages m set status = $4 from conversations c
           where m.org_id = $1 and m.channel_id = $2 and c.org_id = m.org_id
           and c.id = m.conversation_id and c.contact_id = $3 and m.direction = 'out'
           and not m.private and m.status in ('sent', 'delivered')
           and message_status_rank($4) > message_status_rank(m.status)
           returning m.conversation_id)
           select distinct conversation_id as "conversation_id!" from reported"#,
        org_id,
        channel_id,
        contact_id,
        status.as_str()
    )
    .fetch_all(tx.conn())
    .await
}

/// A customer edited their message `provider_id` on `channel_id`: it now
/// says `body`. The conversation it is in, or `None` if wacrm does not
/// have it (or it was deleted).
pub async fn edit_inbound(
    tx: &mut TenantTx,
    channel_id: Uuid,
    provider_id: &str,
    body: &str,
) -> sqlx::Result<Option<Uuid>> {
    let preview: String = body.chars().take(140).collect();
    // `preview`: the conversation list's preview follows an edit of the
    // newest message.
    sqlx::query_scalar!(
        r#"with changed as (
             update messages set body = $4, edited_at = now()
             where org_id = $1 and channel_id = $2 and provider_message_id = $3
               and direction = 'in' and deleted_at is null
             returning conversation_id, created_at),
           preview as (
             update conversations c set last_message_preview = $5 from changed
             where c.org_id = $1 and c.id = changed.conversation_id
               and c.last_message_at <= changed.created_at)
           select conversation_id as "conversation_id!" from changed"#,
        tx.org_id(),
        channel_id,
        provider_id,
        body,
        preview
    )
    .fetch_optional(tx.conn())
    .await
}

/// What the conversation list shows for a message deleted for everyone.
pub const DELETED_PREVIEW: &str = "This message was deleted";

/// A customer deleted their message `provider_id` for everyone: its text,
/// file reference and raw payload are dropped. The conversation it is in,
/// or `None` if wacrm does not have it.
pub async fn delete_inbound(
    tx: &mut TenantTx,
    channel_id: Uuid,
    provider_id: &str,
) -> sqlx::Result<Option<Uuid>> {
    // `preview`: the conversation list's preview follows a delete of the
    // newest message.
    sqlx::query_scalar!(
        r#"with changed as (
             update messages set body = '', media = null, raw = null,
                    deleted_at = coalesce(deleted_at, now())
             where org_id = $1 and channel_id = $2 and provider_message_id = $3
               and direction = 'in'
             returning conversation_id, created_at),
           preview as (
             update conversations c set last_message_preview = $4 from changed
             where c.org_id = $1 and c.id = changed.conversation_id
               and c.last_message_at <= changed.created_at)
           select conversation_id as "conversation_id!" from changed"#,
        tx.org_id(),
        channel_id,
        provider_id,
        DELETED_PREVIEW
    )
    .fetch_optional(tx.conn())
    .await
}
