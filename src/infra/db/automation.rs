//! Automation rules, their runs, and members' availability.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// What a rule does, in this order: label, priority, assignee, reply,
/// status, mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Actions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_text: Option<String>,
    /// An approved WhatsApp template: sent when the 24-hour window is
    /// closed (or when there is no text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_template: Option<TemplateAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_label: Option<Uuid>,
    /// A member's user id, or `round_robin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<String>,
    /// A member's user id: mailed about the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<Uuid>,
}

impl Actions {
    pub fn is_empty(&self) -> bool {
        *self == Actions::default()
    }
}

/// A template a rule sends: its name, language and body values (which may
/// hold `{{first_name}}` and the like).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateAction {
    pub name: String,
    pub language: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rule {
    pub id: Uuid,
    pub name: String,
    pub enabled: bool,
    pub trigger: String,
    pub keywords: Vec<String>,
    pub idle_minutes: Option<i32>,
    pub channel_id: Option<Uuid>,
    pub label_id: Option<Uuid>,
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
    pub actions: sqlx::types::Json<Actions>,
    pub cooldown_minutes: Option<i32>,
    pub builtin: Option<String>,
}

/// A rule as its form gives it.
#[derive(Debug, Clone)]
pub struct RuleInput {
    pub name: String,
    pub trigger: String,
    pub keywords: Vec<String>,
    pub idle_minutes: Option<i32>,
    pub channel_id: Option<Uuid>,
    pub label_id: Option<Uuid>,
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
    pub actions: Actions,
    pub cooldown_minutes: Option<i32>,
}

/// `query_as!` of [`Rule`]s from `automation_rules`, then `$rest`. A macro
/// so that the SQL stays one literal the compiler checks.
macro_rules! select_rules {
    ($rest:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Rule,
            r#"select id, name, enabled, trigger, keywords, idle_minutes, channel_id, label_id,
               attribute_key, attribute_value, actions as "actions: sqlx::types::Json<Actions>",
               cooldown_minutes, builtin from automation_rules "#
                + $rest,
            $($arg),+
        )
    };
}

const WELCOME_TEXT: &str =
    "Hi {{first_name}}! Thanks for writing to {{workspace}}. We will answer you here shortly.";
const AWAY_TEXT: &str =
    "Thanks for your message! We are closed right now and will answer as soon as we open.";

/// The welcome and away messages wacrm ships, switched off, once per
/// workspace.
pub async fn install_builtin(tx: &mut TenantTx) -> sqlx::Result<()> {
    for (builtin, name, trigger, text, cooldown) in [
        (
            "welcome",
            "Welcome message",
            "conversation_created",
            WELCOME_TEXT,
            None,
        ),
        (
            "away",
            "Away message",
            "outside_hours",
            AWAY_TEXT,
            Some(720),
        ),
    ] {
        let actions = Actions {
            send_text: Some(text.to_owned()),
            ..Actions::default()
        };
        sqlx::query!(
            "insert into automation_rules \
               (org_id, id, name, trigger, actions, cooldown_minutes, builtin) \
             values ($1, $2, $3, $4, $5, $6, $7) \
             on conflict (org_id, builtin) where builtin is not null do nothing",
            tx.org_id(),
            Uuid::now_v7(),
            name,
            trigger,
            sqlx::types::Json(&actions) as _,
            cooldown,
            builtin
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Rule>> {
    select_rules!(
        "where org_id = $1 order by builtin nulls last, created_at, id",
        tx.org_id()
    )
    .fetch_all(tx.conn())
    .await
}

/// The enabled rules of these triggers.
pub async fn enabled(tx: &mut TenantTx, triggers: &[&str]) -> sqlx::Result<Vec<Rule>> {
    select_rules!(
        "where org_id = $1 and enabled and trigger = any($2) order by created_at, id",
        tx.org_id(),
        triggers as &[&str]
    )
    .fetch_all(tx.conn())
    .await
}

/// Whether any rule reacting to customers' messages is on (checked once
/// per delivery).
pub async fn any_on_arrival(tx: &mut TenantTx) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from automation_rules where org_id = $1 and enabled
             and trigger <> 'idle') as "any!""#,
        tx.org_id()
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Rule>> {
    select_rules!("where org_id = $1 and id = $2", tx.org_id(), id)
        .fetch_optional(tx.conn())
        .await
}

/// Saves a new rule (`None`) or changes one; its id, `None` if not found.
pub async fn save(
    tx: &mut TenantTx,
    id: Option<Uuid>,
    rule: &RuleInput,
) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    let actions = sqlx::types::Json(&rule.actions);
    // Both statements take the same twelve values, `$2` the rule's id: a
    // macro so that each stays one literal the compiler checks.
    macro_rules! save {
        ($sql:literal, $id:expr) => {
            sqlx::query_scalar!(
                $sql,
                org_id,
                $id,
                &rule.name,
                &rule.trigger,
                &rule.keywords,
                rule.idle_minutes,
                rule.channel_id,
                rule.label_id,
                rule.attribute_key.as_deref(),
                rule.attribute_value.as_deref(),
                actions as _,
                rule.cooldown_minutes
            )
            .fetch_optional(tx.conn())
            .await
        };
    }
    match id {
        Some(id) => save!(
            "update automation_rules set name = $3, trigger = $4, keywords = $5, \
               idle_minutes = $6, channel_id = $7, label_id = $8, attribute_key = $9, \
               attribute_value = $10, actions = $11, cooldown_minutes = $12, \
               updated_at = now() \
             where org_id = $1 and id = $2 returning id",
            id
        ),
        None => save!(
            "insert into automation_rules (org_id, id, name, trigger, keywords, idle_minutes, \
               channel_id, label_id, attribute_key, attribute_value, actions, cooldown_minutes) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
            Uuid::now_v7()
        ),
    }
}

pub async fn set_enabled(tx: &mut TenantTx, id: Uuid, enabled: bool) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update automation_rules set enabled = $3, updated_at = now() where org_id = $1 and id = $2",
        tx.org_id(),
        id,
        enabled
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from automation_rules where org_id = $1 and id = $2",
        tx.org_id(),
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims a rule's run for this occasion; `false` if it already ran.
pub async fn claim_run(
    tx: &mut TenantTx,
    rule: &Rule,
    occasion: &str,
    conversation_id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "insert into automation_runs (org_id, rule_id, occasion, conversation_id, rule_name, done) \
         values ($1, $2, $3, $4, $5, '') on conflict do nothing",
        tx.org_id(),
        rule.id,
        occasion,
        conversation_id,
        &rule.name
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records what the run did.
pub async fn record_done(
    tx: &mut TenantTx,
    rule_id: Uuid,
    occasion: &str,
    done: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update automation_runs set done = $4 where org_id = $1 and rule_id = $2 and occasion = $3",
        tx.org_id(),
        rule_id,
        occasion,
        done
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether the rule ran in this conversation within `minutes`.
pub async fn ran_within(
    tx: &mut TenantTx,
    rule_id: Uuid,
    conversation_id: Uuid,
    minutes: i32,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from automation_runs where org_id = $1 and rule_id = $2
             and conversation_id = $3 and created_at > now() - make_interval(mins => $4))
           as "ran!""#,
        tx.org_id(),
        rule_id,
        conversation_id,
        minutes
    )
    .fetch_one(tx.conn())
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Run {
    pub rule_name: String,
    pub done: String,
    pub created_at: OffsetDateTime,
}

/// The conversation's latest runs, newest first.
pub async fn runs_of(
    tx: &mut TenantTx,
    conversation_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Run>> {
    sqlx::query_as!(
        Run,
        "select rule_name, done, created_at from automation_runs \
         where org_id = $1 and conversation_id = $2 order by created_at desc limit $3",
        tx.org_id(),
        conversation_id,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// The next available member after the rule's last one (by name), and
/// remembers them; `None` if nobody is available.
pub async fn next_in_turn(tx: &mut TenantTx, rule_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    // The rule's row is locked so two conversations at once get two people.
    let last = sqlx::query_scalar!(
        "select last_assignee from automation_rules where org_id = $1 and id = $2 for update",
        tx.org_id(),
        rule_id
    )
    .fetch_optional(tx.conn())
    .await?;
    let available = sqlx::query_scalar!(
        "select m.user_id from memberships m join users u on u.id = m.user_id \
         where m.org_id = $1 and m.available order by lower(u.name), m.user_id",
        tx.org_id()
    )
    .fetch_all(tx.conn())
    .await?;
    let last = last.flatten();
    let next = match last.and_then(|l| available.iter().position(|u| *u == l)) {
        Some(i) => available.get((i + 1) % available.len()).copied(),
        None => available.first().copied(),
    };
    if let Some(next) = next {
        sqlx::query!(
            "update automation_rules set last_assignee = $3 where org_id = $1 and id = $2",
            tx.org_id(),
            rule_id,
            next
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(next)
}

pub async fn set_available(tx: &mut TenantTx, user_id: Uuid, available: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "update memberships set available = $3 where org_id = $1 and user_id = $2",
        tx.org_id(),
        user_id,
        available
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn is_available(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<bool> {
    let available = sqlx::query_scalar!(
        "select available from memberships where org_id = $1 and user_id = $2",
        tx.org_id(),
        user_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(available.unwrap_or(false))
}
