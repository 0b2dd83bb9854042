//! Lapsed workspaces (not message retention, `crate::features::retention`):
//! owners are told when an unpaid workspace turns
//! read-only after its grace; a canceled workspace's data is kept 30 days (its
//! owners are mailed 7 days and 1 day before), as is one an owner deleted,
//! then every row of it is
//! deleted (its messages in batches, `crate::features::retention`, then the workspace
//! row, which cascades to the rest) and every file no other workspace
//! shares. Subscribing again before that keeps everything:
//! the sweep only takes workspaces still canceled. Safe to run in several
//! instances at once (each warning is taken by one; deleting twice deletes
//! nothing more).

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::features::environment::Environment;
use crate::features::retention::{Doomed, Going, RowLock, sweeper_tx};
use crate::infra::db;
use crate::infra::tenancy::standing::RETENTION;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub warned: usize,
    pub purged: Vec<Uuid>,
    pub files_removed: usize,
    /// Processed Stripe events dropped after `STRIPE_EVENTS_KEPT`.
    pub events_pruned: u64,
}

/// How long a processed Stripe event is kept (to answer a redelivery once
/// and to look back at what happened); Stripe itself retries for 3 days.
const STRIPE_EVENTS_KEPT: Duration = Duration::days(90);

/// Canceled workspaces: id and when they were canceled.
async fn canceled(env: &Environment) -> sqlx::Result<Vec<(Uuid, OffsetDateTime)>> {
    let mut tx = sweeper_tx(env).await?;
    let rows = sqlx::query!(
        r#"select org_id, canceled_at as "canceled_at!" from billing_accounts
           where status = 'canceled' and canceled_at is not null"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.org_id, r.canceled_at))
        .collect())
}

/// Workspaces whose payment is failing: id and since when.
async fn past_due(env: &Environment) -> sqlx::Result<Vec<(Uuid, OffsetDateTime)>> {
    let mut tx = sweeper_tx(env).await?;
    let rows = sqlx::query!(
        r#"select org_id, past_due_since as "past_due_since!" from billing_accounts
           where status in ('past_due', 'unpaid') and past_due_since is not null
             and read_only_warned_at is null"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.org_id, r.past_due_since))
        .collect())
}

/// Mails the owners once that the grace is over and the workspace is
/// read-only until paid; true if this sweep sent it.
async fn warn_read_only(env: &Environment, org_id: Uuid) -> anyhow::Result<bool> {
    let link = env.url("/settings/billing");
    warn_owners_once(
        env,
        org_id,
        Warning::ReadOnly,
        |name| format!("wacrm: “{name}” is read-only until paid"),
        |name, member| {
            format!(
                "Hello {member},\n\nThe payment for the workspace “{name}” has failed for more than 7 days, so it is now read-only: your team can read and export, but not send messages or import. Nothing is deleted.\n\nPay here and everything works again at once: {link}\n"
            )
        },
    )
    .await
}

/// Workspaces an owner deleted: id and when.
async fn deleted(env: &Environment) -> sqlx::Result<Vec<(Uuid, OffsetDateTime)>> {
    let mut tx = sweeper_tx(env).await?;
    let rows = sqlx::query!(
        r#"select id, deletion_requested_at as "deletion_requested_at!" from organizations
           where deletion_requested_at is not null"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.deletion_requested_at))
        .collect())
}

pub async fn sweep(env: &Environment) -> anyhow::Result<Swept> {
    let mut swept = Swept::default();
    let now = env.clock.now();
    for (org_id, requested_at) in deleted(env).await? {
        if now >= requested_at + RETENTION {
            let (purged, files_removed) = purge(env, org_id, Going::Deleted).await?;
            swept.files_removed += files_removed;
            if purged {
                swept.purged.push(org_id);
            }
        }
    }
    if !env.config.billing_enabled() {
        return Ok(swept);
    }
    swept.events_pruned = sqlx::query!(
        "delete from stripe_events where processed_at < $1",
        now - STRIPE_EVENTS_KEPT
    )
    .execute(&env.pool)
    .await?
    .rows_affected();
    for (org_id, since) in past_due(env).await? {
        if now >= since + crate::infra::tenancy::standing::GRACE {
            swept.warned += usize::from(warn_read_only(env, org_id).await?);
        }
    }
    for (org_id, canceled_at) in canceled(env).await? {
        let purge_at = canceled_at + RETENTION;
        if now >= purge_at {
            let (purged, files_removed) = purge(env, org_id, Going::Canceled).await?;
            swept.files_removed += files_removed;
            if purged {
                swept.purged.push(org_id);
            }
        } else if now >= purge_at - Duration::days(1) {
            swept.warned += usize::from(warn(env, org_id, purge_at, Warning::PurgeIn1d).await?);
        } else if now >= purge_at - Duration::days(7) {
            swept.warned += usize::from(warn(env, org_id, purge_at, Warning::PurgeIn7d).await?);
        }
    }
    Ok(swept)
}

/// Mails the owners once that the data goes at `purge_at` (`warning`
/// records it); true if this sweep sent it.
async fn warn(
    env: &Environment,
    org_id: Uuid,
    purge_at: OffsetDateTime,
    warning: Warning,
) -> anyhow::Result<bool> {
    let when = crate::infra::tenancy::standing::date(&purge_at);
    let link = env.url("/settings/billing");
    warn_owners_once(
        env,
        org_id,
        warning,
        |name| format!("wacrm: “{name}” will be deleted on {when}"),
        |name, member| {
            format!(
                "Hello {member},\n\nThe subscription of the workspace “{name}” was canceled. Its contacts, conversations and files are kept until {when} and then deleted for good.\n\nTo keep them, subscribe again here before then: {link}\n\nTo take a copy first, export your contacts from the Contacts page.\n"
            )
        },
    )
    .await
}

/// A mail the owners get once, with the column of `billing_accounts` that
/// records it was sent.
#[derive(Debug, Clone, Copy)]
enum Warning {
    /// `read_only_warned_at`, while the payment is failing.
    ReadOnly,
    /// `purge_warned_7d_at`, while canceled.
    PurgeIn7d,
    /// `purge_warned_1d_at`, while canceled.
    PurgeIn1d,
}

/// Marks `warning` sent, unless it was already or the account no longer
/// calls for it; true if this call marked it.
async fn mark_sent(tx: &mut TenantTx, warning: Warning) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let taken = match warning {
        Warning::ReadOnly => {
            sqlx::query_scalar!(
                "update billing_accounts set read_only_warned_at = now() \
                 where org_id = $1 and status in ('past_due', 'unpaid') \
                   and read_only_warned_at is null returning org_id",
                org_id
            )
            .fetch_optional(tx.conn())
            .await?
        }
        Warning::PurgeIn7d => {
            sqlx::query_scalar!(
                "update billing_accounts set purge_warned_7d_at = now() \
                 where org_id = $1 and status = 'canceled' \
                   and purge_warned_7d_at is null returning org_id",
                org_id
            )
            .fetch_optional(tx.conn())
            .await?
        }
        Warning::PurgeIn1d => {
            sqlx::query_scalar!(
                "update billing_accounts set purge_warned_1d_at = now() \
                 where org_id = $1 and status = 'canceled' \
                   and purge_warned_1d_at is null returning org_id",
                org_id
            )
            .fetch_optional(tx.conn())
            .await?
        }
    };
    Ok(taken.is_some())
}

/// Mails the workspace's owners once: the sweep that marks `warning` sent
/// (see [`mark_sent`]) sends it, no other. The subject and body are made
/// from the workspace's name (and the owner's).
async fn warn_owners_once(
    env: &Environment,
    org_id: Uuid,
    warning: Warning,
    subject: impl Fn(&str) -> String,
    body: impl Fn(&str, &str) -> String,
) -> anyhow::Result<bool> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let taken = mark_sent(&mut tx, warning).await?;
    if !taken {
        return Ok(false);
    }
    let name = db::orgs::get(&mut tx)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    crate::infra::jobs::mail_members(
        &mut tx,
        &env.secrets,
        &["owner"],
        &subject(&name),
        |member| body(&name, member),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes the workspace and the files only it had: whether it went (it
/// may have been subscribed again or restored since the list was read),
/// and how many files were removed.
async fn purge(env: &Environment, org_id: Uuid, why: Going) -> anyhow::Result<(bool, usize)> {
    // Its messages first, in short batches (with their files), so a large
    // workspace is not one giant transaction; each batch checks it is still
    // going.
    let messages =
        crate::features::retention::delete_messages(env, org_id, Doomed::Workspace(why)).await?;
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    if !why.still(&mut tx, RowLock::Update).await? {
        return Ok((false, messages.files_removed));
    }
    let files: Vec<String> = sqlx::query_scalar!(
        r#"select distinct sha256 as "sha256!" from media where org_id = $1 and sha256 is not null"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await?;
    let customer = db::billing::account(&mut tx).await?.stripe_customer_id;
    db::orgs::delete(&mut tx).await?;
    // Stripe's events about it name its customer (and hold its details).
    if let Some(customer) = customer {
        sqlx::query!(
            "delete from stripe_events where payload #>> '{data,object,customer}' = $1",
            customer
        )
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    tracing::info!(%org_id, "canceled workspace deleted after its retention");
    crate::features::export::remove_workspace_exports(&env.config, org_id).await?;
    // Files another workspace also has stay.
    let removed = crate::features::retention::remove_unshared_files(env, files).await?;
    Ok((true, messages.files_removed + removed))
}
