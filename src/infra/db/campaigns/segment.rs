//! Who a campaign goes to: the segment's SQL, its audience, and the
//! recipients stored from it at the start.

use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

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
        // A WhatsApp group is a chat, not a customer to write to.
        sql.push(" and c.wa_group is null");
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

/// How many contacts the segment holds now, and how many of them would be
/// skipped (opted out, blocked, no number).
pub async fn audience(tx: &mut TenantTx, segment: &Segment) -> sqlx::Result<(i64, i64)> {
    // runtime SQL: the campaign's chosen conditions (static `$n is null or` loses the semi-join).
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
    // runtime SQL: the segment's conditions (see `audience`).
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
    // runtime SQL: the segment's conditions (see `audience`).
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
    let org_id = tx.org_id();
    sqlx::query!(
        "delete from campaign_recipients where org_id = $1 and campaign_id = $2",
        org_id,
        campaign_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
