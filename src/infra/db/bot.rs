//! The bot's settings per channel, its state per conversation and its runs.

use uuid::Uuid;

use crate::domain::BotOutcome;

use crate::infra::tenancy::TenantTx;

/// When a channel's bot answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotMode {
    Off,
    Always,
    OutsideHours,
}

impl BotMode {
    pub fn parse(input: &str) -> Option<BotMode> {
        match input {
            "off" => Some(BotMode::Off),
            "always" => Some(BotMode::Always),
            "outside_hours" => Some(BotMode::OutsideHours),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BotMode::Off => "off",
            BotMode::Always => "always",
            BotMode::OutsideHours => "outside_hours",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BotSettings {
    pub channel_id: Uuid,
    pub channel_name: String,
    pub mode: BotMode,
    pub max_turns: i32,
    pub handover_message: String,
}

/// A channel and its saved bot settings, if any.
type Row = (Uuid, String, Option<String>, Option<i32>, Option<String>);

/// `query!` of the bot's settings columns, of `channels c` left-joined to
/// `bot_settings b` (so nullable: `?`), followed by `$tail`; each query is
/// still a literal the macro checks. Yields [`Row`]s.
macro_rules! select_settings {
    ($tail:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query!(
            r#"select c.id, c.name, b.mode as "mode?", b.max_turns as "max_turns?",
                 b.handover_message as "handover_message?" from channels c
               left join bot_settings b on b.org_id = c.org_id and b.channel_id = c.id
               where c.org_id = $1 "# + $tail,
            $($arg),+
        )
        .map(|r| -> Row { (r.id, r.name, r.mode, r.max_turns, r.handover_message) })
    };
}

const DEFAULT_HANDOVER: &str = "Thanks! A person from our team will answer you here soon.";

/// Every channel of the workspace with its bot's settings (defaults where
/// none were saved).
pub async fn all(tx: &mut TenantTx) -> sqlx::Result<Vec<BotSettings>> {
    let org_id = tx.org_id();
    let rows = select_settings!("order by lower(c.name), c.id", org_id)
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(settings_of).collect())
}

fn settings_of((channel_id, channel_name, mode, max_turns, handover): Row) -> BotSettings {
    BotSettings {
        channel_id,
        channel_name,
        mode: mode
            .as_deref()
            .and_then(BotMode::parse)
            .unwrap_or(BotMode::Off),
        max_turns: max_turns.unwrap_or(3),
        handover_message: handover.unwrap_or_else(|| DEFAULT_HANDOVER.to_owned()),
    }
}

/// One channel's bot; `None` if the channel is not this workspace's.
pub async fn of_channel(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<Option<BotSettings>> {
    let org_id = tx.org_id();
    let row = select_settings!("and c.id = $2", org_id, channel_id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(settings_of))
}

/// Whether the channel's bot is on (checked once per delivery).
pub async fn is_on(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from bot_settings
           where org_id = $1 and channel_id = $2 and mode <> 'off') as "on!""#,
        org_id,
        channel_id
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn save(
    tx: &mut TenantTx,
    channel_id: Uuid,
    mode: BotMode,
    max_turns: i32,
    handover_message: &str,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into bot_settings (org_id, channel_id, mode, max_turns, handover_message) \
         values ($1, $2, $3, $4, $5) \
         on conflict (org_id, channel_id) do update set mode = excluded.mode, \
           max_turns = excluded.max_turns, handover_message = excluded.handover_message, \
           updated_at = now()",
        org_id,
        channel_id,
        mode.as_str(),
        max_turns,
        handover_message
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Claims the run for this customer message; `false` if it already ran.
pub async fn claim_run(
    tx: &mut TenantTx,
    message_id: Uuid,
    conversation_id: Uuid,
    outcome: BotOutcome,
    reason: &str,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "insert into bot_runs (org_id, message_id, conversation_id, outcome, reason) \
         values ($1, $2, $3, $4, $5) on conflict do nothing",
        org_id,
        message_id,
        conversation_id,
        outcome.as_str(),
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether this customer message already had its run.
pub async fn has_run(tx: &mut TenantTx, message_id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from bot_runs where org_id = $1 and message_id = $2)
           as "ran!""#,
        org_id,
        message_id
    )
    .fetch_one(tx.conn())
    .await
}

/// The bot's state in a conversation: answers given, handed over.
pub async fn conversation_state(
    tx: &mut TenantTx,
    conversation_id: Uuid,
) -> sqlx::Result<Option<(i32, bool)>> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        r#"select bot_turns, bot_handed_over_at is not null as "handed_over!" from conversations
           where org_id = $1 and id = $2"#,
        org_id,
        conversation_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| (r.bot_turns, r.handed_over)))
}

pub async fn count_answer(tx: &mut TenantTx, conversation_id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update conversations set bot_turns = bot_turns + 1 where org_id = $1 and id = $2",
        org_id,
        conversation_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn hand_over(tx: &mut TenantTx, conversation_id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update conversations set bot_handed_over_at = coalesce(bot_handed_over_at, now()) \
         where org_id = $1 and id = $2",
        org_id,
        conversation_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The conversation's latest bot run, for the page.
pub async fn latest_run(
    tx: &mut TenantTx,
    conversation_id: Uuid,
) -> sqlx::Result<Option<(BotOutcome, String)>> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        r#"select outcome as "outcome: BotOutcome", reason from bot_runs
           where org_id = $1 and conversation_id = $2 order by created_at desc limit 1"#,
        org_id,
        conversation_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| (r.outcome, r.reason)))
}
