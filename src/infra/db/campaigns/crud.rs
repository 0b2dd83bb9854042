//! Creating, reading, changing and deleting campaigns, and their state.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

use super::{Campaign, CampaignState, Segment, VariableSource};
use crate::domain::ChannelKind;

/// `query_as!(Campaign, ...)` of one campaign with its channel, then
/// `$tail` (a literal: the macro reads only its input).
macro_rules! select_campaign {
    ($tail:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Campaign,
            r#"select c.id, c.name, c.channel_id, ch.kind as "channel_kind: ChannelKind",
                 ch.name as channel_name, c.label_ids, c.attribute_key, c.attribute_value,
                 c.wrote_within_days, c.silent_for_days, c.template_name, c.template_language,
                 c.variables as "variables: sqlx::types::Json<Vec<VariableSource>>",
                 c.body, c.rate_per_minute, c.state as "state: CampaignState", c.state_reason,
                 c.scheduled_at, c.started_at, c.resumed_at, c.queued_since_resume,
                 c.dispatch_run, c.finished_at, c.created_by, c.created_at
               from campaigns c join channels ch on ch.org_id = c.org_id and ch.id = c.channel_id "#
                + $tail,
            $($arg),+
        )
    };
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
    let org_id = tx.org_id();
    let id = Uuid::now_v7();
    let f = Columns::of(fields);
    sqlx::query!(
        "insert into campaigns (org_id, id, created_by, name, channel_id, label_ids, \
         attribute_key, attribute_value, wrote_within_days, silent_for_days, template_name, \
         template_language, variables, body, rate_per_minute) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        org_id,
        id,
        created_by,
        &fields.name,
        fields.channel_id,
        &fields.segment.label_ids,
        f.attribute_key,
        f.attribute_value,
        fields.segment.wrote_within_days,
        fields.segment.silent_for_days,
        f.template_name,
        f.template_language,
        sqlx::types::Json(&fields.variables) as _,
        fields.body.as_deref(),
        fields.rate_per_minute
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Changes a draft; false if it is not one (any more).
pub async fn update(tx: &mut TenantTx, id: Uuid, fields: &CampaignFields) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let f = Columns::of(fields);
    let done = sqlx::query!(
        "update campaigns set name = $4, channel_id = $5, label_ids = $6, attribute_key = $7, \
         attribute_value = $8, wrote_within_days = $9, silent_for_days = $10, \
         template_name = $11, template_language = $12, variables = $13, body = $14, \
         rate_per_minute = $15, state_reason = null, updated_at = now() \
         where org_id = $1 and id = $2 and state = $3",
        org_id,
        id,
        CampaignState::Draft.as_str(),
        &fields.name,
        fields.channel_id,
        &fields.segment.label_ids,
        f.attribute_key,
        f.attribute_value,
        fields.segment.wrote_within_days,
        fields.segment.silent_for_days,
        f.template_name,
        f.template_language,
        sqlx::types::Json(&fields.variables) as _,
        fields.body.as_deref(),
        fields.rate_per_minute
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The form's pairs as the table's nullable columns (for [`insert`] and
/// [`update`]).
struct Columns<'a> {
    attribute_key: Option<&'a str>,
    attribute_value: Option<&'a str>,
    template_name: Option<&'a str>,
    template_language: Option<&'a str>,
}

impl<'a> Columns<'a> {
    fn of(f: &'a CampaignFields) -> Self {
        let attribute = f.segment.attribute.as_ref();
        let template = f.template.as_ref();
        Columns {
            attribute_key: attribute.map(|(k, _)| k.as_str()),
            attribute_value: attribute.map(|(_, v)| v.as_str()),
            template_name: template.map(|(n, _)| n.as_str()),
            template_language: template.map(|(_, l)| l.as_str()),
        }
    }
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Campaign>> {
    let org_id = tx.org_id();
    select_campaign!("where c.org_id = $1 and c.id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

/// The campaign, locked until the transaction ends: one state change or
/// dispatch step at a time.
pub async fn lock(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Campaign>> {
    let org_id = tx.org_id();
    select_campaign!(
        "where c.org_id = $1 and c.id = $2 for update of c",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// A campaign in the list, with how far it got.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: Uuid,
    pub name: String,
    pub channel_name: String,
    pub state: CampaignState,
    pub scheduled_at: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub recipients: i64,
    pub reached: i64,
    pub created_at: OffsetDateTime,
}

/// The latest 200 campaigns.
pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Listed>> {
    let org_id = tx.org_id();
    // coalesce over the lateral's counts: never null.
    sqlx::query_as!(
        Listed,
        r#"select c.id, c.name, ch.name as channel_name, c.state as "state: CampaignState",
             c.scheduled_at, c.started_at,
             coalesce(n.recipients, 0) as "recipients!", coalesce(n.reached, 0) as "reached!",
             c.created_at
           from campaigns c join channels ch on ch.org_id = c.org_id and ch.id = c.channel_id
           left join lateral (select count(*) filter (where r.state <> 'skipped') as recipients,
               count(*) filter (where r.state in ('sent', 'delivered', 'read', 'replied')) as reached
             from campaign_recipients r where r.org_id = c.org_id and r.campaign_id = c.id) n on true
           where c.org_id = $1 order by c.created_at desc limit 200"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from campaigns where org_id = $1 and id = $2 \
         and state in ('draft', 'done', 'canceled')",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a campaign to `state` with the reason shown beside it.
pub async fn set_state(
    tx: &mut TenantTx,
    id: Uuid,
    state: CampaignState,
    reason: Option<&str>,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    // Bound as its word: the column is text.
    sqlx::query!(
        "update campaigns set state = $3, state_reason = $4, updated_at = now(), \
           finished_at = case when $3 in ('done', 'canceled') then now() else finished_at end \
         where org_id = $1 and id = $2",
        org_id,
        id,
        state.as_str(),
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Only the reason shown beside the state.
pub async fn set_reason(tx: &mut TenantTx, id: Uuid, reason: Option<&str>) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update campaigns set state_reason = $3 where org_id = $1 and id = $2 \
         and state_reason is distinct from $3",
        org_id,
        id,
        reason
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
