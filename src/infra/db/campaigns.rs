//! Campaigns and their recipients.

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// Where a template variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableSource {
    /// `first_name`, `name`, `phone`, `email`, `company`, `attribute` (its
    /// `key`) or `text` (the same `text` for everyone).
    pub source: String,
    #[serde(default)]
    pub key: String,
    /// The fixed text, or what to use when the contact's field is empty.
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub channel_id: Uuid,
    pub channel_kind: String,
    pub channel_name: String,
    pub label_ids: Vec<Uuid>,
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
    pub wrote_within_days: Option<i32>,
    pub silent_for_days: Option<i32>,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
    pub variables: sqlx::types::Json<Vec<VariableSource>>,
    pub body: Option<String>,
    pub rate_per_minute: i32,
    pub state: String,
    pub state_reason: Option<String>,
    pub scheduled_at: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub resumed_at: Option<OffsetDateTime>,
    pub queued_since_resume: i32,
    pub dispatch_run: i32,
    pub finished_at: Option<OffsetDateTime>,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

impl Campaign {
    pub fn segment(&self) -> Segment {
        Segment {
            label_ids: self.label_ids.clone(),
            attribute: self
                .attribute_key
                .clone()
                .map(|k| (k, self.attribute_value.clone().unwrap_or_default())),
            wrote_within_days: self.wrote_within_days,
            silent_for_days: self.silent_for_days,
        }
    }

    pub fn is_draft(&self) -> bool {
        self.state == "draft"
    }
}

const COLUMNS: &str = "c.id, c.name, c.channel_id, ch.kind as channel_kind, \
    ch.name as channel_name, c.label_ids, c.attribute_key, c.attribute_value, \
    c.wrote_within_days, c.silent_for_days, c.template_name, c.template_language, c.variables, \
    c.body, c.rate_per_minute, c.state, c.state_reason, c.scheduled_at, c.started_at, \
    c.resumed_at, c.queued_since_resume, c.dispatch_run, c.finished_at, c.created_by, c.created_at";

const FROM: &str =
    "from campaigns c join channels ch on ch.org_id = c.org_id and ch.id = c.channel_id";

/// Who a campaign goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    /// Any of these labels (none: every contact).
    pub label_ids: Vec<Uuid>,
    /// This attribute with this value (any case).
    pub attribute: Option<(String, String)>,
    /// Wrote to the workspace within this many days.
    pub wrote_within_days: Option<i32>,
    /// Has not written for this many days (or never).
    pub silent_for_days: Option<i32>,
}

impl Segment {
    /// The segment's conditions on `contacts c` (after a `where`).
    fn push_conditions(&self, sql: &mut QueryBuilder<Postgres>) {
        if !self.label_ids.is_empty() {
            sql.push(" and exists (select 1 from unnest(")
                .push_bind(self.label_ids.clone())
                .push(
                    "::uuid[]) as l(id) join contact_labels cl on cl.org_id = c.org_id \
                 and cl.contact_id = c.id and cl.label_id = l.id)",
                );
        }
        if let Some((key, value)) = &self.attribute {
            sql.push(" and lower(trim(c.attributes ->> ")
                .push_bind(key.clone())
                .push(")) = lower(trim(")
                .push_bind(value.clone())
                .push("))");
        }
        let wrote = "select 1 from conversations v where v.org_id = c.org_id \
                     and v.contact_id = c.id and v.last_inbound_at >= now() - make_interval(days => ";
        if let Some(days) = self.wrote_within_days {
            sql.push(format!(" and exists ({wrote}"))
                .push_bind(days)
                .push("))");
        }
        if let Some(days) = self.silent_for_days {
            sql.push(format!(" and not exists ({wrote}"))
                .push_bind(days)
                .push("))");
        }
    }
}

/// A campaign as its form sets it.
#[derive(Debug, Clone)]
pub struct CampaignFields {
    pub name: String,
    pub channel_id: Uuid,
    pub segment: Segment,
    pub template: Option<(String, String)>,
    pub variables: Vec<VariableSource>,
    pub body: Option<String>,
    pub rate_per_minute: i32,
}

pub async fn insert(
    tx: &mut TenantTx,
    fields: &CampaignFields,
    created_by: Uuid,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into campaigns (org_id, id, created_by, name, channel_id, label_ids, \
         attribute_key, attribute_value, wrote_within_days, silent_for_days, template_name, \
         template_language, variables, body, rate_per_minute) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(tx.org_id())
    .bind(id)
    .bind(created_by)
    .bind_fields(fields)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Changes a draft; false if it is not one (any more).
pub async fn update(tx: &mut TenantTx, id: Uuid, fields: &CampaignFields) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update campaigns set name = $4, channel_id = $5, label_ids = $6, attribute_key = $7, \
         attribute_value = $8, wrote_within_days = $9, silent_for_days = $10, \
         template_name = $11, template_language = $12, variables = $13, body = $14, \
         rate_per_minute = $15, state_reason = null, updated_at = now() \
         where org_id = $1 and id = $2 and state = $3",
    )
    .bind(tx.org_id())
    .bind(id)
    .bind("draft")
    .bind_fields(fields)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Binds $4..$15 of [`insert`] and [`update`].
trait BindFields<'q> {
    fn bind_fields(self, fields: &'q CampaignFields) -> Self;
}

impl<'q> BindFields<'q>
    for sqlx::query::Query<'q, Postgres, <Postgres as sqlx::Database>::Arguments>
{
    fn bind_fields(self, f: &'q CampaignFields) -> Self {
        let (key, value) = f
            .segment
            .attribute
            .clone()
            .map_or((None, None), |(k, v)| (Some(k), Some(v)));
        let (template_name, template_language) = f
            .template
            .clone()
            .map_or((None, None), |(n, l)| (Some(n), Some(l)));
        self.bind(&f.name)
            .bind(f.channel_id)
            .bind(&f.segment.label_ids)
            .bind(key)
            .bind(value)
            .bind(f.segment.wrote_within_days)
            .bind(f.segment.silent_for_days)
            .bind(template_name)
            .bind(template_language)
            .bind(sqlx::types::Json(&f.variables))
            .bind(&f.body)
            .bind(f.rate_per_minute)
    }
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} {FROM} where c.org_id = $1 and c.id = $2"
    )))
    .bind(tx.org_id())
    .bind(id)
    .fetch_optional(tx.conn())
    .await
}

/// The campaign, locked until the transaction ends: one state change or
/// dispatch step at a time.
pub async fn lock(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} {FROM} where c.org_id = $1 and c.id = $2 for update of c"
    )))
    .bind(tx.org_id())
    .bind(id)
    .fetch_optional(tx.conn())
    .await
}

/// A campaign in the list, with how far it got.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    pub id: Uuid,
    pub name: String,
    pub channel_name: String,
    pub state: String,
    pub scheduled_at: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub recipients: i64,
    pub reached: i64,
    pub created_at: OffsetDateTime,
}

/// The latest 200 campaigns.
pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Listed>> {
    sqlx::query_as(
        "select c.id, c.name, ch.name as channel_name, c.state, c.scheduled_at, c.started_at, \
           coalesce(n.recipients, 0) as recipients, coalesce(n.reached, 0) as reached, c.created_at \
         from campaigns c join channels ch on ch.org_id = c.org_id and ch.id = c.channel_id \
         left join lateral (select count(*) filter (where r.state <> 'skipped') as recipients, \
             count(*) filter (where r.state in ('sent', 'delivered', 'read', 'replied')) as reached \
           from campaign_recipients r where r.org_id = c.org_id and r.campaign_id = c.id) n on true \
         where c.org_id = $1 order by c.created_at desc limit 200",
    )
    .bind(tx.org_id())
    .fetch_all(tx.conn())
    .await
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "delete from campaigns where org_id = $1 and id = $2 \
         and state in ('draft', 'done', 'canceled')",
    )
    .bind(tx.org_id())
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a campaign to `state` with the reason shown beside it.
pub async fn set_state(
    tx: &mut TenantTx,
    id: Uuid,
    state: &str,
    reason: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update campaigns set state = $3, state_reason = $4, updated_at = now(), \
           finished_at = case when $3 in ('done', 'canceled') then now() else finished_at end \
         where org_id = $1 and id = $2",
    )
    .bind(tx.org_id())
    .bind(id)
    .bind(state)
    .bind(reason)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Only the reason shown beside the state.
pub async fn set_reason(tx: &mut TenantTx, id: Uuid, reason: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "update campaigns set state_reason = $3 where org_id = $1 and id = $2 \
         and state_reason is distinct from $3",
    )
    .bind(tx.org_id())
    .bind(id)
    .bind(reason)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Schedules a draft for `at` (now, to start at once).
pub async fn schedule(tx: &mut TenantTx, id: Uuid, at: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query(
        "update campaigns set state = 'scheduled', scheduled_at = $3, state_reason = null, \
         updated_at = now() where org_id = $1 and id = $2",
    )
    .bind(tx.org_id())
    .bind(id)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Starts or resumes sending: the rate counts from now, and a new
/// dispatch run (returned) takes over from any older one.
pub async fn run(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "update campaigns set state = 'running', state_reason = null, \
           started_at = coalesce(started_at, now()), resumed_at = now(), \
           queued_since_resume = 0, dispatch_run = dispatch_run + 1, updated_at = now() \
         where org_id = $1 and id = $2 returning dispatch_run",
    )
    .bind(tx.org_id())
    .bind(id)
    .fetch_one(tx.conn())
    .await
}

/// Recipients handed to the send queue in the last 60 seconds.
pub async fn queued_in_last_minute(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from campaign_recipients where org_id = $1 and campaign_id = $2 \
         and queued_at > now() - interval '60 seconds'",
    )
    .bind(tx.org_id())
    .bind(id)
    .fetch_one(tx.conn())
    .await
}

/// Counts `n` more handed to the send queue since the last (re)start.
pub async fn count_queued(tx: &mut TenantTx, id: Uuid, n: i32) -> sqlx::Result<()> {
    sqlx::query(
        "update campaigns set queued_since_resume = queued_since_resume + $3 \
         where org_id = $1 and id = $2",
    )
    .bind(tx.org_id())
    .bind(id)
    .bind(n)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How many contacts the segment holds now, and how many of them would be
/// skipped (opted out, blocked, no number).
pub async fn audience(tx: &mut TenantTx, segment: &Segment) -> sqlx::Result<(i64, i64)> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select count(*), count(*) filter (where c.opted_out or c.blocked or c.phone is null) \
         from contacts c where c.org_id = ",
    );
    sql.push_bind(tx.org_id());
    segment.push_conditions(&mut sql);
    sql.build_query_as()
        .persistent(false)
        .fetch_one(tx.conn())
        .await
}

/// Up to `limit` contacts of the segment, by name (to preview with).
pub async fn sample(
    tx: &mut TenantTx,
    segment: &Segment,
    limit: i64,
) -> sqlx::Result<Vec<(Uuid, String, Option<String>)>> {
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new("select c.id, c.name, c.phone from contacts c where c.org_id = ");
    sql.push_bind(tx.org_id());
    segment.push_conditions(&mut sql);
    sql.push(" and c.phone is not null and not c.opted_out and not c.blocked order by lower(c.name), c.id limit ")
        .push_bind(limit);
    sql.build_query_as()
        .persistent(false)
        .fetch_all(tx.conn())
        .await
}

/// Recipients stored at the start, with those to skip already marked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Materialized {
    pub to_send: i64,
    pub skipped: i64,
}

/// Stores the segment's contacts as the campaign's recipients, in one
/// statement: opted-out, blocked and number-less contacts, and a second
/// contact with the same WhatsApp number (a Brazilian mobile written with
/// and without its ninth digit is one account), are stored skipped.
pub async fn materialize(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    segment: &Segment,
) -> sqlx::Result<Materialized> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "with segment as (select c.id, c.phone, c.opted_out, c.blocked, c.created_at, \
           row_number() over (partition by regexp_replace(c.phone, '^\\+55([0-9]{2})9([0-9]{8})$', '+55\\1\\2') \
                              order by c.created_at, c.id) as nth \
         from contacts c where c.org_id = ",
    );
    sql.push_bind(tx.org_id());
    segment.push_conditions(&mut sql);
    sql.push(
        "), inserted as (insert into campaign_recipients \
           (org_id, campaign_id, contact_id, position, phone, state, reason) \
         select ",
    )
    .push_bind(tx.org_id())
    .push(", ")
    .push_bind(campaign_id)
    .push(
        ", s.id, row_number() over (order by s.created_at, s.id), s.phone, \
           case when s.phone is null or s.opted_out or s.blocked or s.nth > 1 \
                then 'skipped' else 'pending' end, \
           case when s.phone is null then 'No phone number' \
                when s.blocked then 'Blocked' \
                when s.opted_out then 'Opted out' \
                when s.nth > 1 then 'Same WhatsApp number as another recipient' end \
         from segment s returning state) \
         select count(*) filter (where state = 'pending'), count(*) filter (where state = 'skipped') \
         from inserted",
    );
    let (to_send, skipped): (i64, i64) = sql
        .build_query_as()
        .persistent(false)
        .fetch_one(tx.conn())
        .await?;
    Ok(Materialized { to_send, skipped })
}

/// Forgets the recipients (a start that could not go ahead).
pub async fn clear_recipients(tx: &mut TenantTx, campaign_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("delete from campaign_recipients where org_id = $1 and campaign_id = $2")
        .bind(tx.org_id())
        .bind(campaign_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A recipient about to be sent to, with what its message may use.
#[derive(Debug, Clone, sqlx::FromRow)]
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
    sqlx::query_as(
        "select r.contact_id, ct.name, ct.phone, ct.email, co.name as company, ct.attributes, \
           ct.opted_out, ct.blocked \
         from campaign_recipients r \
         join contacts ct on ct.org_id = r.org_id and ct.id = r.contact_id \
         left join companies co on co.org_id = ct.org_id and co.id = ct.company_id \
         where r.org_id = $1 and r.campaign_id = $2 and r.state = 'pending' \
         order by r.position limit $3 for update of r skip locked",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(tx.conn())
    .await
}

/// A contact's data for a preview or test, as [`Pending`].
pub async fn contact_for_preview(
    tx: &mut TenantTx,
    contact_id: Uuid,
) -> sqlx::Result<Option<Pending>> {
    sqlx::query_as(
        "select ct.id as contact_id, ct.name, ct.phone, ct.email, co.name as company, \
           ct.attributes, ct.opted_out, ct.blocked \
         from contacts ct left join companies co on co.org_id = ct.org_id and co.id = ct.company_id \
         where ct.org_id = $1 and ct.id = $2",
    )
    .bind(tx.org_id())
    .bind(contact_id)
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
    sqlx::query(
        "update campaign_recipients set state = 'queued', message_id = $4, queued_at = now() \
         where org_id = $1 and campaign_id = $2 and contact_id = $3 and state = 'pending'",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(contact_id)
    .bind(message_id)
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
    sqlx::query(
        "update campaign_recipients set state = 'skipped', reason = $4 \
         where org_id = $1 and campaign_id = $2 and contact_id = $3 and state = 'pending'",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(contact_id)
    .bind(reason)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Every recipient not yet handed over is skipped (a canceled campaign).
pub async fn skip_pending(tx: &mut TenantTx, campaign_id: Uuid, reason: &str) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "update campaign_recipients set state = 'skipped', reason = $3 \
         where org_id = $1 and campaign_id = $2 and state = 'pending'",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(reason)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

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
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select state, count(*) from campaign_recipients \
         where org_id = $1 and campaign_id = $2 group by state",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .fetch_all(tx.conn())
    .await?;
    let mut counts = Counts::default();
    for (state, n) in rows {
        let slot = match state.as_str() {
            "pending" => &mut counts.pending,
            "queued" => &mut counts.queued,
            "sent" => &mut counts.sent,
            "delivered" => &mut counts.delivered,
            "read" => &mut counts.read,
            "replied" => &mut counts.replied,
            "failed" => &mut counts.failed,
            _ => &mut counts.skipped,
        };
        *slot = n;
    }
    Ok(counts)
}

/// Recipients still waiting to be handed to WhatsApp by the send queue.
pub async fn in_flight(tx: &mut TenantTx, campaign_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from campaign_recipients \
         where org_id = $1 and campaign_id = $2 and state = 'queued'",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
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
    sqlx::query_scalar(
        "select reason from campaign_recipients \
         where org_id = $1 and campaign_id = $2 and state = 'failed' and failed_at >= $3 \
           and reason ~ $4 limit 1",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(since)
    .bind(pattern)
    .fetch_optional(tx.conn())
    .await
}

/// Customers who wrote: their campaign messages of the last week count as
/// replied.
pub async fn note_replies(tx: &mut TenantTx, contact_ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query(
        "update campaign_recipients r set state = 'replied', replied_at = now() \
         from unnest($2::uuid[]) as k(contact_id) \
         where r.org_id = $1 and r.contact_id = k.contact_id \
           and r.state in ('sent', 'delivered', 'read') and r.sent_at > now() - interval '7 days'",
    )
    .bind(tx.org_id())
    .bind(contact_ids)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How many of each reason, for recipients in `state` (failed, skipped).
pub async fn reasons(
    tx: &mut TenantTx,
    campaign_id: Uuid,
    state: &str,
) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "select coalesce(reason, 'No reason given'), count(*) from campaign_recipients \
         where org_id = $1 and campaign_id = $2 and state = $3 \
         group by 1 order by 2 desc, 1 limit 50",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(state)
    .fetch_all(tx.conn())
    .await
}

/// One point of the progress chart: from `at`, how many were sent,
/// delivered, read and replied within `bucket_secs`.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
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
    sqlx::query_as(
        "with events as ( \
           select kind, date_bin(make_interval(secs => $4), at, $3) as at \
           from campaign_recipients r, \
             lateral (values ('sent', r.sent_at), ('delivered', r.delivered_at), \
                             ('read', r.read_at), ('replied', r.replied_at)) as e(kind, at) \
           where r.org_id = $1 and r.campaign_id = $2 and e.at is not null) \
         select at, count(*) filter (where kind = 'sent') as sent, \
           count(*) filter (where kind = 'delivered') as delivered, \
           count(*) filter (where kind = 'read') as read, \
           count(*) filter (where kind = 'replied') as replied \
         from events group by at order by at limit 500",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(from)
    .bind(bucket_secs as f64)
    .fetch_all(tx.conn())
    .await
}

/// A recipient as the CSV export lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecipientRow {
    pub position: i32,
    pub name: String,
    pub phone: Option<String>,
    pub state: String,
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
    sqlx::query_as(
        "select r.position, ct.name, r.phone, r.state, r.reason, r.queued_at, r.sent_at, \
           r.delivered_at, r.read_at, r.replied_at, r.failed_at \
         from campaign_recipients r join contacts ct on ct.org_id = r.org_id and ct.id = r.contact_id \
         where r.org_id = $1 and r.campaign_id = $2 and r.position > $3 \
         order by r.position limit $4",
    )
    .bind(tx.org_id())
    .bind(campaign_id)
    .bind(after)
    .bind(limit)
    .fetch_all(tx.conn())
    .await
}
