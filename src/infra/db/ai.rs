//! A workspace's AI settings and its metered use.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::Direction;
use crate::domain::transcript::{Line, Speaker};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Default)]
pub struct AiSettings {
    pub enabled: bool,
    pub enabled_at: Option<OffsetDateTime>,
    pub enabled_by_name: Option<String>,
    /// The workspace's own key, sealed (`crate::infra::secrets`, purpose
    /// [`KEY_PURPOSE`]).
    pub api_key_sealed: Option<Vec<u8>>,
    pub model: Option<String>,
}

/// What a sealed workspace key is bound to.
pub const KEY_PURPOSE: &str = "ai-api-key";

/// What a save does to the workspace's own key.
pub enum KeyChange {
    Keep,
    Set(Vec<u8>),
    Remove,
}

pub async fn settings(tx: &mut TenantTx) -> sqlx::Result<AiSettings> {
    let org_id = tx.org_id();
    // The member who turned it on may be gone (`?`).
    let row = sqlx::query_as!(
        AiSettings,
        r#"select s.enabled, s.enabled_at, u.name as "enabled_by_name?", s.api_key_sealed,
             s.model
           from ai_settings s left join users u on u.id = s.enabled_by
           where s.org_id = $1"#,
        org_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.unwrap_or_default())
}

/// Saves the settings; turning AI on records who did it and when.
pub async fn save(
    tx: &mut TenantTx,
    enabled: bool,
    by: Uuid,
    key: KeyChange,
    model: Option<&str>,
) -> sqlx::Result<()> {
    let (set_key, new_key) = match key {
        KeyChange::Keep => (false, None),
        KeyChange::Set(sealed) => (true, Some(sealed)),
        KeyChange::Remove => (true, None),
    };
    let org_id = tx.org_id();
    // `$3::uuid`: described without bound types, a bare `$3` in the case
    // would be taken for text (the bind is a uuid either way).
    sqlx::query!(
        "insert into ai_settings (org_id, enabled, enabled_by, enabled_at, api_key_sealed, model) \
         values ($1, $2, case when $2 then $3::uuid end, case when $2 then now() end, $5, $6) \
         on conflict (org_id) do update set \
           enabled = excluded.enabled, \
           enabled_by = case when excluded.enabled and not ai_settings.enabled then $3 \
                             when excluded.enabled then ai_settings.enabled_by end, \
           enabled_at = case when excluded.enabled and not ai_settings.enabled then now() \
                             when excluded.enabled then ai_settings.enabled_at end, \
           api_key_sealed = case when $4 then excluded.api_key_sealed else ai_settings.api_key_sealed end, \
           model = excluded.model, \
           updated_at = now()",
        org_id,
        enabled,
        by,
        set_key,
        new_key,
        model
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Counts one call this month before it is made; the month it counts in.
pub async fn count_call(tx: &mut TenantTx) -> sqlx::Result<Date> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "insert into ai_usage (org_id, month, calls) \
         values ($1, date_trunc('month', now() at time zone 'UTC')::date, 1) \
         on conflict (org_id, month) do update set calls = ai_usage.calls + 1 \
         returning month",
        org_id
    )
    .fetch_one(tx.conn())
    .await
}

/// Adds what a call cost, in the month it was counted in.
pub async fn add_tokens(
    tx: &mut TenantTx,
    month: Date,
    prompt_tokens: i64,
    completion_tokens: i64,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update ai_usage set prompt_tokens = prompt_tokens + $3, \
           completion_tokens = completion_tokens + $4 \
         where org_id = $1 and month = $2",
        org_id,
        month,
        prompt_tokens,
        completion_tokens
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A call that failed is not counted.
pub async fn uncount_call(tx: &mut TenantTx, month: Date) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update ai_usage set calls = greatest(calls - 1, 0) where org_id = $1 and month = $2",
        org_id,
        month
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MonthUsage {
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// This calendar month's (UTC) use.
pub async fn this_month(tx: &mut TenantTx) -> sqlx::Result<MonthUsage> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        "select calls, prompt_tokens, completion_tokens from ai_usage \
         where org_id = $1 and month = date_trunc('month', now() at time zone 'UTC')::date",
        org_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map_or_else(MonthUsage::default, |r| MonthUsage {
        calls: i64::from(r.calls),
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
    }))
}

/// The conversation's latest `n` messages a prompt may carry, oldest
/// first: no private notes, nothing deleted, no reactions; a file without
/// a caption as `[image]` and the like.
pub async fn transcript(
    tx: &mut TenantTx,
    conversation_id: Uuid,
    n: i64,
) -> sqlx::Result<Vec<Line>> {
    let org_id = tx.org_id();
    let rows = sqlx::query!(
        r#"select direction as "direction: Direction", kind, body from messages
           where org_id = $1 and conversation_id = $2 and not private and deleted_at is null
             and kind <> 'reaction'
           order by created_at desc, id desc limit $3"#,
        org_id,
        conversation_id,
        n
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .rev()
        .map(|r| Line {
            speaker: if r.direction == Direction::In {
                Speaker::Customer
            } else {
                Speaker::Agent
            },
            text: if r.body.trim().is_empty() {
                format!("[{}]", r.kind)
            } else {
                r.body
            },
        })
        .collect())
}
