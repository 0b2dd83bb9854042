//! How a campaign did: counts, reasons, replies, the progress chart and
//! the recipients' export.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::RecipientState;
use crate::infra::tenancy::TenantTx;

/// How many recipients are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: i64,
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub replied: i64,
    pub failed: i64,
    pub skipped: i64,
}

impl Counts {
    pub fn total(&self) -> i64 {
        self.pending
            + self.queued
            + self.sent
            + self.delivered
            + self.read
            + self.replied
            + self.failed
            + self.skipped
    }

    /// Handed to WhatsApp (whatever happened next, failures aside).
    pub fn reached(&self) -> i64 {
        self.sent + self.delivered + self.read + self.replied
    }

    /// Sent to or still to be sent to (not skipped).
    pub fn to_send(&self) -> i64 {
        self.total() - self.skipped
    }
}

pub async fn counts(tx: &mut TenantTx, campaign_id: Uuid) -> sqlx::Result<Counts> {
    let org_id = tx.org_id();
    let rows = sqlx::query!(
        r#"select state as "state: RecipientState", count(*) as "n!" from campaign_recipients
           where org_id = $1 and campaign_id = $2 group by state"#,
        org_id,
        campaign_id
    )
    .fetch_all(tx.conn())
    .await?;
    let mut counts = Counts::default();
    for row in rows {
        let slot = match row.state {
            RecipientState::Pending => &mut counts.pending,
            RecipientState::Queued => &mut counts.queued,
            RecipientState::Sent => &mut counts.sent,
            RecipientState::Delivered => &mut counts.delivered,
            RecipientState::Read => &mut counts.read,
            RecipientState::Replied => &mut counts.replied,
            RecipientState::Failed => &mut counts.failed,
            RecipientState::Skipped => &mut counts.skipped,
        };
        *slot = row.n;
    }
    Ok(counts)
}

/// Recipients still waiting to be handed to WhatsApp by the send queue.
pub async fn in_flight(tx: &mut TenantTx, campaign_id: Uuid) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from campaign_recipients
           where org_id = $1 and campaign_id = $2 and state = 'queued'"#,
        org_id,
        campaign_id
    )
    .fetch_one(tx.conn())
    .await
}

/// The reason of a failure since `since` that names one of Meta's error
/// `codes` (as "error N)" ends our reasons), if any.
pub async fn failure_with_code(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    since: OffsetDateTime,
    codes: &[i64],
) -> sqlx::Result<Option<String>> {
    let pattern = format!(
        "error ({})\\)",
        codes
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join("|")
    );
    let org_id = tx.org_id();
    // `reason ~ $4` holds only for a reason that is there.
    sqlx::query_scalar!(
        r#"select reason as "reason!" from campaign_recipients
           where org_id = $1 and campaign_id = $2 and state = 'failed' and failed_at >= $3
             and reason ~ $4 limit 1"#,
        org_id,
        campaign_id,
        since,
        pattern
    )
    .fetch_optional(tx.conn())
    .await
}

/// Customers who wrote: their campaign messages of the last week count as
/// replied.
pub async fn note_replies(tx: &mut TenantTx, contact_ids: &[Uuid]) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update campaign_recipients r set state = 'replied', replied_at = now() \
         from unnest($2::uuid[]) as k(contact_id) \
         where r.org_id = $1 and r.contact_id = k.contact_id \
           and r.state in ('sent', 'delivered', 'read') and r.sent_at > now() - interval '7 days'",
        org_id,
        contact_ids
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How many of each reason, for recipients in `state` (failed, skipped).
pub async fn reasons(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    state: RecipientState,
) -> sqlx::Result<Vec<(String, i64)>> {
    let org_id = tx.org_id();
    let rows = sqlx::query!(
        r#"select coalesce(reason, 'No reason given') as "reason!", count(*) as "n!"
           from campaign_recipients
           where org_id = $1 and campaign_id = $2 and state = $3
           group by 1 order by 2 desc, 1 limit 50"#,
        org_id,
        campaign_id,
        state.as_str()
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(|r| (r.reason, r.n)).collect())
}

/// One point of the progress chart: from `at`, how many were sent,
/// delivered, read and replied within `bucket_secs`.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub replied: i64,
}

pub async fn timeline(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    from: OffsetDateTime,
    bucket_secs: i64,
) -> sqlx::Result<Vec<Point>> {
    let org_id = tx.org_id();
    // Every bucket has events, and date_bin of a present time is present.
    sqlx::query_as!(
        Point,
        r#"with events as (
             select kind, date_bin(make_interval(secs => $4), at, $3) as at
             from campaign_recipients r,
               lateral (values ('sent', r.sent_at), ('delivered', r.delivered_at),
                               ('read', r.read_at), ('replied', r.replied_at)) as e(kind, at)
             where r.org_id = $1 and r.campaign_id = $2 and e.at is not null)
           select at as "at!", count(*) filter (where kind = 'sent') as "sent!",
             count(*) filter (where kind = 'delivered') as "delivered!",
             count(*) filter (where kind = 'read') as "read!",
             count(*) filter (where kind = 'replied') as "replied!"
           from events group by at order by at limit 500"#,
        org_id,
        campaign_id,
        from,
        bucket_secs as f64
    )
    .fetch_all(tx.conn())
    .await
}

/// A recipient as the CSV export lists it.
#[derive(Debug, Clone)]
pub struct RecipientRow {
    pub position: i32,
    pub name: String,
    pub phone: Option<String>,
    pub state: RecipientState,
    pub reason: Option<String>,
    pub queued_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    pub read_at: Option<OffsetDateTime>,
    pub replied_at: Option<OffsetDateTime>,
    pub failed_at: Option<OffsetDateTime>,
}

/// Recipients after `after` (a position) in order, at most `limit`.
pub async fn recipients_page(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    after: i32,
    limit: i64,
) -> sqlx::Result<Vec<RecipientRow>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        RecipientRow,
        r#"select r.position, ct.name, r.phone, r.state as "state: RecipientState", r.reason,
             r.queued_at, r.sent_at, r.delivered_at, r.read_at, r.replied_at, r.failed_at
           from campaign_recipients r join contacts ct on ct.org_id = r.org_id and ct.id = r.contact_id
           where r.org_id = $1 and r.campaign_id = $2 and r.position > $3
           order by r.position limit $4"#,
        org_id,
        campaign_id,
        after,
        limit
    )
    .fetch_all(tx.conn())
    .await
}
