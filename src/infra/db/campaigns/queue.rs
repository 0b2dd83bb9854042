//! Sending: the rate, and handing recipients to the send queue one batch
//! at a time.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// Schedules a draft for `at` (now, to start at once).
pub async fn schedule(tx: &mut TenantTx, id: Uuid, at: OffsetDateTime) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update campaigns set state = 'scheduled', scheduled_at = $3, state_reason = null, \
         updated_at = now() where org_id = $1 and id = $2",
        org_id,
        id,
        at
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Starts or resumes sending: the rate counts from now, and a new
/// dispatch run (returned) takes over from any older one.
pub async fn run(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<i32> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "update campaigns set state = 'running', state_reason = null, \
           started_at = coalesce(started_at, now()), resumed_at = now(), \
           queued_since_resume = 0, dispatch_run = dispatch_run + 1, updated_at = now() \
         where org_id = $1 and id = $2 returning dispatch_run",
        org_id,
        id
    )
    .fetch_one(tx.conn())
    .await
}

/// Recipients handed to the send queue in the last 60 seconds.
pub async fn queued_in_last_minute(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from campaign_recipients where org_id = $1 and campaign_id = $2
           and queued_at > now() - interval '60 seconds'"#,
        org_id,
        id
    )
    .fetch_one(tx.conn())
    .await
}

/// Counts `n` more handed to the send queue since the last (re)start.
pub async fn count_queued(tx: &mut TenantTx, id: Uuid, n: i32) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update campaigns set queued_since_resume = queued_since_resume + $3 \
         where org_id = $1 and id = $2",
        org_id,
        id,
        n
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether any recipient still waits to be handed to the send queue.
pub async fn any_pending(tx: &mut TenantTx, campaign_id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from campaign_recipients
            where org_id = $1 and campaign_id = $2 and state = 'pending') as "any!""#,
        org_id,
        campaign_id
    )
    .fetch_one(tx.conn())
    .await
}

/// A recipient about to be sent to, with what its message may use.
#[derive(Debug, Clone)]
pub struct Pending {
    pub contact_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub attributes: serde_json::Value,
    pub opted_out: bool,
    pub blocked: bool,
}

/// The next `limit` recipients not yet handed to the send queue, in order,
/// locked until the transaction ends.
pub async fn next_pending(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Pending>> {
    let org_id = tx.org_id();
    // The company's row may be missing (left join).
    sqlx::query_as!(
        Pending,
        r#"select r.contact_id, ct.name, ct.phone, ct.email, co.name as "company?", ct.attributes,
             ct.opted_out, ct.blocked
           from campaign_recipients r
           join contacts ct on ct.org_id = r.org_id and ct.id = r.contact_id
           left join companies co on co.org_id = ct.org_id and co.id = ct.company_id
           where r.org_id = $1 and r.campaign_id = $2 and r.state = 'pending'
           order by r.position limit $3 for update of r skip locked"#,
        org_id,
        campaign_id,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// A contact's data for a preview or test, as [`Pending`].
pub async fn contact_for_preview(
    tx: &mut TenantTx,
    contact_id: Uuid,
) -> sqlx::Result<Option<Pending>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Pending,
        r#"select ct.id as contact_id, ct.name, ct.phone, ct.email, co.name as "company?",
             ct.attributes, ct.opted_out, ct.blocked
           from contacts ct left join companies co on co.org_id = ct.org_id and co.id = ct.company_id
           where ct.org_id = $1 and ct.id = $2"#,
        org_id,
        contact_id
    )
    .fetch_optional(tx.conn())
    .await
}

/// The recipient was handed to the send queue as `message_id`.
pub async fn mark_queued(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    contact_id: Uuid,
    message_id: Uuid,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update campaign_recipients set state = 'queued', message_id = $4, queued_at = now() \
         where org_id = $1 and campaign_id = $2 and contact_id = $3 and state = 'pending'",
        org_id,
        campaign_id,
        contact_id,
        message_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The recipient is not sent to, for `reason`.
pub async fn skip(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    contact_id: Uuid,
    reason: &str,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update campaign_recipients set state = 'skipped', reason = $4 \
         where org_id = $1 and campaign_id = $2 and contact_id = $3 and state = 'pending'",
        org_id,
        campaign_id,
        contact_id,
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Every recipient not yet handed over is skipped (a canceled campaign).
pub async fn skip_pending(tx: &mut TenantTx, campaign_id: Uuid, reason: &str) -> sqlx::Result<u64> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update campaign_recipients set state = 'skipped', reason = $3 \
         where org_id = $1 and campaign_id = $2 and state = 'pending'",
        org_id,
        campaign_id,
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}
