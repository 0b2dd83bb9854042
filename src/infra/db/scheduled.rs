//! Scheduled messages: a member's text waiting for its time, and what
//! became of it. Only a row still `scheduled` changes; the send job locks it.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::ScheduledState;
use crate::infra::db::conversations::Visibility;
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Scheduled {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub channel_id: Uuid,
    pub contact_name: String,
    pub contact_phone: Option<String>,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub body: String,
    pub send_at: OffsetDateTime,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
    pub template_values: Vec<String>,
    pub state: ScheduledState,
    pub reason: String,
    pub message_id: Option<Uuid>,
    pub updated_at: OffsetDateTime,
}

impl Scheduled {
    /// The contact's name, or their number when they have none.
    pub fn contact(&self) -> &str {
        match (&self.contact_name, &self.contact_phone) {
            (name, _) if !name.is_empty() => name,
            (_, Some(phone)) => phone,
            _ => "Unknown contact",
        }
    }

    pub fn is_scheduled(&self) -> bool {
        self.state == ScheduledState::Scheduled
    }

    /// The template sent instead when the window is closed, if one was chosen.
    pub fn fallback(&self) -> Option<Fallback> {
        match (&self.template_name, &self.template_language) {
            (Some(name), Some(language)) => Some(Fallback {
                name: name.clone(),
                language: language.clone(),
                values: self.template_values.clone(),
            }),
            _ => None,
        }
    }
}

/// An approved template and its body values, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub name: String,
    pub language: String,
    pub values: Vec<String>,
}

/// What a member can change while it waits.
#[derive(Debug, Clone)]
pub struct Draft {
    pub body: String,
    pub send_at: OffsetDateTime,
    pub fallback: Option<Fallback>,
}

/// `query_as!` of [`Scheduled`]: its columns and joins, then `$rest` (the
/// conditions on `s`, its conversation `c`). A macro so that the SQL stays
/// one literal the compiler checks.
macro_rules! select_scheduled {
    ($rest:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Scheduled,
            r#"select s.id, s.conversation_id, c.channel_id, ct.name as contact_name,
               ct.phone as contact_phone, s.author_id, u.name as "author_name?", s.body,
               s.send_at, s.template_name, s.template_language, s.template_values, s.state as "state: ScheduledState",
               s.reason, s.message_id, s.updated_at
               from scheduled_messages s
               join conversations c on c.org_id = s.org_id and c.id = s.conversation_id
               join contacts ct on ct.org_id = c.org_id and ct.id = c.contact_id
               left join users u on u.id = s.author_id "#
                + $rest,
            $($arg),+
        )
    };
}

fn fallback_columns(draft: &Draft) -> (Option<&str>, Option<&str>, Vec<String>) {
    match &draft.fallback {
        Some(f) => (Some(&f.name), Some(&f.language), f.values.clone()),
        None => (None, None, Vec::new()),
    }
}

pub async fn insert(
    tx: &mut TenantTx,
    conversation_id: Uuid,
    author_id: Uuid,
    draft: &Draft,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let (name, language, values) = fallback_columns(draft);
    sqlx::query!(
        "insert into scheduled_messages (org_id, id, conversation_id, author_id, body, send_at, \
         template_name, template_language, template_values) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        tx.org_id(),
        id,
        conversation_id,
        author_id,
        &draft.body,
        draft.send_at,
        name,
        language,
        &values
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// One, if the viewer may see its conversation.
pub async fn find(
    tx: &mut TenantTx,
    id: Uuid,
    viewer: Uuid,
    visibility: Visibility,
) -> sqlx::Result<Option<Scheduled>> {
    select_scheduled!(
        "where s.org_id = $1 and s.id = $3 \
         and (not $4::bool or c.assignee_id = $2 or c.assignee_id is null)",
        tx.org_id(),
        viewer,
        id,
        visibility.restricted()
    )
    .fetch_optional(tx.conn())
    .await
}

/// Those still waiting, soonest first: the workspace's (as far as the
/// viewer sees), or one conversation's.
pub async fn upcoming(
    tx: &mut TenantTx,
    viewer: Uuid,
    visibility: Visibility,
    conversation_id: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Scheduled>> {
    select_scheduled!(
        "where s.org_id = $1 and s.state = 'scheduled' \
         and (not $5::bool or c.assignee_id = $2 or c.assignee_id is null) \
         and ($3::uuid is null or s.conversation_id = $3) \
         order by s.send_at, s.id limit $4",
        tx.org_id(),
        viewer,
        conversation_id,
        limit,
        visibility.restricted()
    )
    .fetch_all(tx.conn())
    .await
}

/// Those sent, failed or canceled, the latest first.
pub async fn recent(
    tx: &mut TenantTx,
    viewer: Uuid,
    visibility: Visibility,
    limit: i64,
) -> sqlx::Result<Vec<Scheduled>> {
    select_scheduled!(
        "where s.org_id = $1 and s.state <> 'scheduled' \
         and (not $4::bool or c.assignee_id = $2 or c.assignee_id is null) \
         order by s.updated_at desc, s.id desc limit $3",
        tx.org_id(),
        viewer,
        limit,
        visibility.restricted()
    )
    .fetch_all(tx.conn())
    .await
}

/// Changes text, time and fallback; false when it is no longer waiting.
pub async fn update(tx: &mut TenantTx, id: Uuid, draft: &Draft) -> sqlx::Result<bool> {
    let (name, language, values) = fallback_columns(draft);
    let done = sqlx::query!(
        "update scheduled_messages set body = $3, send_at = $4, template_name = $5, \
         template_language = $6, template_values = $7, updated_at = now() \
         where org_id = $1 and id = $2 and state = 'scheduled'",
        tx.org_id(),
        id,
        &draft.body,
        draft.send_at,
        name,
        language,
        &values
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Due now: the new time, or `None` when it is no longer waiting.
pub async fn move_to_now(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<OffsetDateTime>> {
    sqlx::query_scalar!(
        "update scheduled_messages set send_at = now(), updated_at = now() \
         where org_id = $1 and id = $2 and state = 'scheduled' returning send_at",
        tx.org_id(),
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Never to be sent; false when it is no longer waiting.
pub async fn cancel(tx: &mut TenantTx, id: Uuid, reason: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update scheduled_messages set state = 'canceled', reason = $3, updated_at = now() \
         where org_id = $1 and id = $2 and state = 'scheduled'",
        tx.org_id(),
        id,
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The row, locked until the transaction ends, if it is still waiting and
/// due (within a second: a job runs at its time, not before). An edit or a
/// cancel waits for the lock, then finds it no longer waiting.
pub async fn lock_due(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Scheduled>> {
    select_scheduled!(
        "where s.org_id = $1 and s.id = $2 and s.state = 'scheduled' \
         and s.send_at <= now() + interval '1 second' for update of s",
        tx.org_id(),
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// It became `message_id`; `reason` says how if not as written.
pub async fn mark_sent(
    tx: &mut TenantTx,
    id: Uuid,
    message_id: Uuid,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update scheduled_messages set state = 'sent', message_id = $3, reason = $4, \
         updated_at = now() where org_id = $1 and id = $2",
        tx.org_id(),
        id,
        message_id,
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// It was not sent, and why; false when it was no longer waiting.
pub async fn mark_failed(tx: &mut TenantTx, id: Uuid, reason: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update scheduled_messages set state = 'failed', reason = $3, updated_at = now() \
         where org_id = $1 and id = $2 and state = 'scheduled'",
        tx.org_id(),
        id,
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
