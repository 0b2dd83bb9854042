//! Deals and the pipelines they move through (a workspace's stages, in
//! order, some meaning won or lost).

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stage {
    pub id: Uuid,
    pub pipeline_id: Uuid,
    pub name: String,
    pub position: i32,
    /// `open`, `won` or `lost`.
    pub outcome: String,
}

/// A deal as the board and its page show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Deal {
    pub id: Uuid,
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    pub title: String,
    pub value: Decimal,
    pub currency: String,
    pub expected_close: Option<Date>,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub company_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub lost_reason: Option<String>,
    pub closed_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

/// A deal's fields as checked from a form.
#[derive(Debug, Clone)]
pub struct DealFields {
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    pub title: String,
    pub value: Decimal,
    pub currency: String,
    pub expected_close: Option<Date>,
    pub owner_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
}

/// The stages a new workspace's pipeline starts with: name and outcome.
const DEFAULT_STAGES: [(&str, &str); 5] = [
    ("Lead", "open"),
    ("Qualified", "open"),
    ("Proposal", "open"),
    ("Won", "won"),
    ("Lost", "lost"),
];

/// The workspace's pipelines, creating the default one ("Sales") the first
/// time (two first visits at once make one).
pub async fn pipelines(tx: &mut TenantTx) -> sqlx::Result<Vec<Pipeline>> {
    let org_id = tx.org_id();
    let list: Vec<Pipeline> = sqlx::query_as(
        "select id, name from pipelines where org_id = $1 order by position, lower(name)",
    )
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    if !list.is_empty() {
        return Ok(list);
    }
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "insert into pipelines (org_id, id, name) values ($1, $2, 'Sales') on conflict do nothing",
    )
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 1 {
        let names: Vec<&str> = DEFAULT_STAGES.iter().map(|(n, _)| *n).collect();
        let outcomes: Vec<&str> = DEFAULT_STAGES.iter().map(|(_, o)| *o).collect();
        sqlx::query(
            "insert into pipeline_stages (org_id, id, pipeline_id, name, position, outcome) \
             select $1, gen_random_uuid(), $2, s.name, s.n, s.outcome \
             from unnest($3::text[], $4::text[]) with ordinality as s(name, outcome, n)",
        )
        .bind(org_id)
        .bind(id)
        .bind(&names)
        .bind(&outcomes)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query_as(
        "select id, name from pipelines where org_id = $1 order by position, lower(name)",
    )
    .bind(org_id)
    .fetch_all(tx.conn())
    .await
}

pub async fn stages(tx: &mut TenantTx, pipeline_id: Uuid) -> sqlx::Result<Vec<Stage>> {
    let org_id = tx.org_id();
    sqlx::query_as(
        "select id, pipeline_id, name, position, outcome from pipeline_stages \
         where org_id = $1 and pipeline_id = $2 order by position",
    )
    .bind(org_id)
    .bind(pipeline_id)
    .fetch_all(tx.conn())
    .await
}

pub async fn stage(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Stage>> {
    let org_id = tx.org_id();
    sqlx::query_as(
        "select id, pipeline_id, name, position, outcome from pipeline_stages \
         where org_id = $1 and id = $2",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await
}

const DEAL_COLUMNS: &str = "d.id, d.pipeline_id, d.stage_id, d.title, d.value, d.currency, \
    d.expected_close, d.owner_id, u.name as owner_name, d.contact_id, c.name as contact_name, \
    d.company_id, d.conversation_id, d.lost_reason, d.closed_at, d.updated_at";

const DEAL_FROM: &str = "deals d left join users u on u.id = d.owner_id \
    left join contacts c on c.org_id = d.org_id and c.id = d.contact_id";

/// The pipeline's deals, most recently changed first within each stage
/// (at most `limit`).
pub async fn in_pipeline(
    tx: &mut TenantTx,
    pipeline_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Deal>> {
    let org_id = tx.org_id();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DEAL_COLUMNS} from {DEAL_FROM} where d.org_id = $1 and d.pipeline_id = $2 \
         order by d.updated_at desc, d.id limit $3"
    )))
    .bind(org_id)
    .bind(pipeline_id)
    .bind(limit)
    .fetch_all(tx.conn())
    .await
}

/// How many deals and how much value each stage holds, per currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StageTotal {
    pub stage_id: Uuid,
    pub currency: String,
    pub deals: i64,
    pub value: Decimal,
}

pub async fn totals(tx: &mut TenantTx, pipeline_id: Uuid) -> sqlx::Result<Vec<StageTotal>> {
    let org_id = tx.org_id();
    sqlx::query_as(
        "select stage_id, currency, count(*) as deals, sum(value) as value from deals \
         where org_id = $1 and pipeline_id = $2 group by stage_id, currency order by currency",
    )
    .bind(org_id)
    .bind(pipeline_id)
    .fetch_all(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Deal>> {
    let org_id = tx.org_id();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DEAL_COLUMNS} from {DEAL_FROM} where d.org_id = $1 and d.id = $2"
    )))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await
}

pub async fn insert(tx: &mut TenantTx, fields: &DealFields) -> sqlx::Result<Uuid> {
    let org_id = tx.org_id();
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into deals (org_id, id, pipeline_id, stage_id, title, value, currency, \
           expected_close, owner_id, contact_id, conversation_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(org_id)
    .bind(id)
    .bind(fields.pipeline_id)
    .bind(fields.stage_id)
    .bind(&fields.title)
    .bind(fields.value)
    .bind(&fields.currency)
    .bind(fields.expected_close)
    .bind(fields.owner_id)
    .bind(fields.contact_id)
    .bind(fields.conversation_id)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Moves the deal to a stage of its pipeline: closed (now) when the stage
/// is won or lost, open again otherwise; the reason is kept for lost.
pub async fn move_to(
    tx: &mut TenantTx,
    id: Uuid,
    stage: &Stage,
    lost_reason: Option<&str>,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let updated = sqlx::query(
        "update deals set stage_id = $3, \
           closed_at = case when $4 = 'open' then null else coalesce( \
             case when stage_id = $3 then closed_at end, now()) end, \
           lost_reason = case when $4 = 'lost' then $5 else null end, updated_at = now() \
         where org_id = $1 and id = $2 and pipeline_id = $6",
    )
    .bind(org_id)
    .bind(id)
    .bind(stage.id)
    .bind(&stage.outcome)
    .bind(lost_reason)
    .bind(stage.pipeline_id)
    .execute(tx.conn())
    .await?;
    Ok(updated.rows_affected() == 1)
}
