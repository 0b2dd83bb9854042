//! The retention sweep: owners are told when an unpaid workspace turns
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

use super::standing::RETENTION;
use crate::features::retention::{Doomed, Going, RowLock, sweeper_tx};
use crate::infra::db;
use crate::infra::tenancy::bootstrap;
use crate::state::AppState;

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

/// Workspaces and when they were canceled (`sql` selects them).
async fn listed(state: &AppState, sql: &'static str) -> sqlx::Result<Vec<(Uuid, OffsetDateTime)>> {
    let mut tx = sweeper_tx(state).await?;
    let rows = sqlx::query_as(sql).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Canceled workspaces: id and when they were canceled.
async fn canceled(state: &AppState) -> sqlx::Result<Vec<(Uuid, OffsetDateTime)>> {
    listed(
        state,
        "select org_id, canceled_at from billing_accounts \
         where status = 'canceled' and canceled_at is not null",
    )
    .await
}

/// Workspaces whose payment is failing: id and since when.
async fn past_due(state: &AppState) -> sqlx::Result<Vec<(Uuid, OffsetDateTime)>> {
    listed(
        state,
        "select org_id, past_due_since from billing_accounts \
         where status in ('past_due', 'unpaid') and past_due_since is not null \
           and read_only_warned_at is null",
    )
    .await
}

/// Mails the owners once that the grace is over and the workspace is
/// read-only until paid; true if this sweep sent it.
async fn warn_read_only(state: &AppState, org_id: Uuid) -> anyhow::Result<bool> {
    let link = state.url("/settings/billing");
    warn_owners_once(
        state,
        org_id,
        "read_only_warned_at",
        "status in ('past_due', 'unpaid')",
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
async fn deleted(state: &AppState) -> sqlx::Result<Vec<(Uuid, OffsetDateTime)>> {
    listed(
        state,
        "select id, deletion_requested_at from organizations \
         where deletion_requested_at is not null",
    )
    .await
}

pub async fn sweep(state: &AppState) -> anyhow::Result<Swept> {
    let mut swept = Swept::default();
    let now = state.clock.now();
    for (org_id, requested_at) in deleted(state).await? {
        if now >= requested_at + RETENTION {
            let (purged, files_removed) = purge(state, org_id, Going::Deleted).await?;
            swept.files_removed += files_removed;
            if purged {
                swept.purged.push(org_id);
            }
        }
    }
    if !state.config.billing_enabled() {
        return Ok(swept);
    }
    swept.events_pruned = sqlx::query("delete from stripe_events where processed_at < $1")
        .bind(now - STRIPE_EVENTS_KEPT)
        .execute(&state.pool)
        .await?
        .rows_affected();
    for (org_id, since) in past_due(state).await? {
        if now >= since + super::standing::GRACE {
            swept.warned += usize::from(warn_read_only(state, org_id).await?);
        }
    }
    for (org_id, canceled_at) in canceled(state).await? {
        let purge_at = canceled_at + RETENTION;
        if now >= purge_at {
            let (purged, files_removed) = purge(state, org_id, Going::Canceled).await?;
            swept.files_removed += files_removed;
            if purged {
                swept.purged.push(org_id);
            }
        } else if now >= purge_at - Duration::days(1) {
            swept.warned += usize::from(warn(state, org_id, purge_at, "purge_warned_1d_at").await?);
        } else if now >= purge_at - Duration::days(7) {
            swept.warned += usize::from(warn(state, org_id, purge_at, "purge_warned_7d_at").await?);
        }
    }
    Ok(swept)
}

/// Mails the owners once that the data goes at `purge_at` (`column`
/// records it); true if this sweep sent it.
async fn warn(
    state: &AppState,
    org_id: Uuid,
    purge_at: OffsetDateTime,
    column: &'static str,
) -> anyhow::Result<bool> {
    let when = super::standing::date(&purge_at);
    let link = state.url("/settings/billing");
    warn_owners_once(
        state,
        org_id,
        column,
        "status = 'canceled'",
        |name| format!("wacrm: “{name}” will be deleted on {when}"),
        |name, member| {
            format!(
                "Hello {member},\n\nThe subscription of the workspace “{name}” was canceled. Its contacts, conversations and files are kept until {when} and then deleted for good.\n\nTo keep them, subscribe again here before then: {link}\n\nTo take a copy first, export your contacts from the Contacts page.\n"
            )
        },
    )
    .await
}

/// Mails the workspace's owners once: the sweep that marks `column` (still
/// empty, the account still matching `still`) sends it, no other. The
/// subject and body are made from the workspace's name (and the owner's).
async fn warn_owners_once(
    state: &AppState,
    org_id: Uuid,
    column: &'static str,
    still: &'static str,
    subject: impl Fn(&str) -> String,
    body: impl Fn(&str, &str) -> String,
) -> anyhow::Result<bool> {
    let mut tx = bootstrap::for_job(&state.pool, org_id).await?;
    let taken: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "update billing_accounts set {column} = now() \
         where org_id = $1 and {still} and {column} is null returning org_id"
    )))
    .bind(org_id)
    .fetch_optional(tx.conn())
    .await?;
    if taken.is_none() {
        return Ok(false);
    }
    let name = db::orgs::get(&mut tx)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    crate::infra::jobs::mail_members(
        &mut tx,
        &state.secrets,
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
async fn purge(state: &AppState, org_id: Uuid, why: Going) -> anyhow::Result<(bool, usize)> {
    // Its messages first, in short batches (with their files), so a large
    // workspace is not one giant transaction; each batch checks it is still
    // going.
    let messages =
        crate::features::retention::delete_messages(state, org_id, Doomed::Workspace(why)).await?;
    let mut tx = bootstrap::for_job(&state.pool, org_id).await?;
    if !why.still(&mut tx, RowLock::Update).await? {
        return Ok((false, messages.files_removed));
    }
    let files: Vec<String> = sqlx::query_scalar(
        "select distinct sha256 from media where org_id = $1 and sha256 is not null",
    )
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    let customer = db::billing::account(&mut tx).await?.stripe_customer_id;
    db::orgs::delete(&mut tx).await?;
    // Stripe's events about it name its customer (and hold its details).
    if let Some(customer) = customer {
        sqlx::query("delete from stripe_events where payload #>> '{data,object,customer}' = $1")
            .bind(customer)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    tracing::info!(%org_id, "canceled workspace deleted after its retention");
    crate::features::export::remove_workspace_exports(&state.config, org_id).await?;
    // Files another workspace also has stay.
    let removed = crate::features::retention::remove_unshared_files(state, files).await?;
    Ok((true, messages.files_removed + removed))
}
