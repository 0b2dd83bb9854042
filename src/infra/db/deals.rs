//! Deals: their values, owners, whom they are with, and where in their
//! pipeline they stand (see `pipelines` for the stages).

use rust_decimal::Decimal;
use sqlx::{Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::keyset::like_escape;
use super::pipelines::Stage;
use crate::domain::StageOutcome;
use crate::infra::tenancy::TenantTx;

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
    pub company_name: Option<String>,
    pub conversation_id: Option<Uuid>,
    pub lost_reason: Option<String>,
    pub closed_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

impl Deal {
    /// "BRL 1,234.50".
    pub fn amount(&self) -> String {
        crate::domain::money::shown(self.value, &self.currency)
    }
}

/// What a deal's edit form changes (checked).
#[derive(Debug, Clone)]
pub struct DealDetails {
    pub title: String,
    pub value: Decimal,
    pub currency: String,
    pub expected_close: Option<Date>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
}

/// A new deal: where it starts and whom it is with.
#[derive(Debug, Clone)]
pub struct DealFields {
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    pub details: DealDetails,
    pub contact_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
}

const DEAL_COLUMNS: &str = "d.id, d.pipeline_id, d.stage_id, d.title, d.value, d.currency, \
    d.expected_close, d.owner_id, u.name as owner_name, d.contact_id, c.name as contact_name, \
    d.company_id, co.name as company_name, d.conversation_id, d.lost_reason, d.closed_at, \
    d.updated_at";

const DEAL_FROM: &str = "deals d left join users u on u.id = d.owner_id \
    left join contacts c on c.org_id = d.org_id and c.id = d.contact_id \
    left join companies co on co.org_id = d.org_id and co.id = d.company_id";

/// `query_as!(Deal, ...)`: [`DEAL_COLUMNS`] of [`DEAL_FROM`] (as literals:
/// the macro reads only its input; keep the three in step) followed by
/// `$tail`. The joined names are nullable (`?`): their rows may be missing.
macro_rules! select_deals {
    ($tail:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Deal,
            r#"select d.id, d.pipeline_id, d.stage_id, d.title, d.value, d.currency,
                 d.expected_close, d.owner_id, u.name as "owner_name?", d.contact_id,
                 c.name as "contact_name?", d.company_id, co.name as "company_name?",
                 d.conversation_id, d.lost_reason, d.closed_at, d.updated_at
               from deals d left join users u on u.id = d.owner_id
               left join contacts c on c.org_id = d.org_id and c.id = d.contact_id
               left join companies co on co.org_id = d.org_id and co.id = d.company_id "#
                + $tail,
            $($arg),+
        )
    };
}

/// The pipeline's deals, most recently changed first within each stage
/// (at most `limit`).
pub async fn in_pipeline(
    tx: &mut TenantTx,
    pipeline_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Deal>> {
    let org_id = tx.org_id();
    select_deals!(
        "where d.org_id = $1 and d.pipeline_id = $2 order by d.updated_at desc, d.id limit $3",
        org_id,
        pipeline_id,
        limit
    )
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
    // A group has rows, so its count and sum (of a not-null column) are not null.
    sqlx::query_as!(
        StageTotal,
        r#"select stage_id, currency, count(*) as "deals!", sum(value) as "value!" from deals
           where org_id = $1 and pipeline_id = $2 group by stage_id, currency order by currency"#,
        org_id,
        pipeline_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Deal>> {
    let org_id = tx.org_id();
    select_deals!("where d.org_id = $1 and d.id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

pub async fn insert(tx: &mut TenantTx, fields: &DealFields) -> sqlx::Result<Uuid> {
    let org_id = tx.org_id();
    let id = Uuid::new_v4();
    sqlx::query!(
        "insert into deals (org_id, id, pipeline_id, stage_id, title, value, currency, \
           expected_close, owner_id, contact_id, conversation_id, company_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        org_id,
        id,
        fields.pipeline_id,
        fields.stage_id,
        fields.details.title,
        fields.details.value,
        fields.details.currency,
        fields.details.expected_close,
        fields.details.owner_id,
        fields.contact_id,
        fields.conversation_id,
        fields.details.company_id
    )
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
    let updated = sqlx::query!(
        "update deals set stage_id = $3, \
           closed_at = case when $4 = 'open' then null else coalesce( \
             case when stage_id = $3 then closed_at end, now()) end, \
           lost_reason = case when $4 = 'lost' then $5 else null end, updated_at = now() \
         where org_id = $1 and id = $2 and pipeline_id = $6",
        org_id,
        id,
        stage.id,
        stage.outcome.as_str(),
        lost_reason,
        stage.pipeline_id
    )
    .execute(tx.conn())
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn update(tx: &mut TenantTx, id: Uuid, details: &DealDetails) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let updated = sqlx::query!(
        "update deals set title = $3, value = $4, currency = $5, expected_close = $6, \
           owner_id = $7, company_id = $8, updated_at = now() \
         where org_id = $1 and id = $2",
        org_id,
        id,
        details.title,
        details.value,
        details.currency,
        details.expected_close,
        details.owner_id,
        details.company_id
    )
    .execute(tx.conn())
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let deleted = sqlx::query!(
        "delete from deals where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// A contact's deals: open ones first, then the most recently changed.
pub async fn of_contact(
    tx: &mut TenantTx,
    contact_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Deal>> {
    let org_id = tx.org_id();
    select_deals!(
        "where d.org_id = $1 and d.contact_id = $2 \
         order by d.closed_at is not null, d.updated_at desc, d.id limit $3",
        org_id,
        contact_id,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// Whether a deal is still open or how it closed (its stage's outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Any,
    Open,
    Won,
    Lost,
}

impl Status {
    pub fn parse(typed: &str) -> Self {
        match typed {
            "open" => Status::Open,
            "won" => Status::Won,
            "lost" => Status::Lost,
            _ => Status::Any,
        }
    }

    fn outcome(self) -> Option<StageOutcome> {
        match self {
            Status::Any => None,
            Status::Open => Some(StageOutcome::Open),
            Status::Won => Some(StageOutcome::Won),
            Status::Lost => Some(StageOutcome::Lost),
        }
    }
}

/// The list view's filters (all within one pipeline).
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    pub pipeline_id: Uuid,
    pub stage_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    /// Deals nobody owns.
    pub unowned: bool,
    pub status: Status,
    /// Part of the title, the contact's or the company's name.
    pub search: String,
    pub closing_from: Option<Date>,
    pub closing_to: Option<Date>,
}

fn push_filter(sql: &mut QueryBuilder<Postgres>, org_id: Uuid, filter: &DealFilter) {
    sql.push(" where d.org_id = ").push_bind(org_id);
    sql.push(" and d.pipeline_id = ")
        .push_bind(filter.pipeline_id);
    if let Some(stage) = filter.stage_id {
        sql.push(" and d.stage_id = ").push_bind(stage);
    }
    if let Some(owner) = filter.owner_id {
        sql.push(" and d.owner_id = ").push_bind(owner);
    } else if filter.unowned {
        sql.push(" and d.owner_id is null");
    }
    if let Some(outcome) = filter.status.outcome() {
        sql.push(
            " and d.stage_id in (select id from pipeline_stages s \
             where s.org_id = d.org_id and s.outcome = ",
        )
        .push_bind(outcome.as_str())
        .push(")");
    }
    if !filter.search.is_empty() {
        let pattern = format!("%{}%", like_escape(&filter.search.to_lowercase()));
        sql.push(" and (lower(d.title) like ")
            .push_bind(pattern.clone())
            .push(" or lower(c.name) like ")
            .push_bind(pattern.clone())
            .push(" or lower(co.name) like ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(from) = filter.closing_from {
        sql.push(" and d.expected_close >= ").push_bind(from);
    }
    if let Some(to) = filter.closing_to {
        sql.push(" and d.expected_close <= ").push_bind(to);
    }
}

/// The filtered deals, soonest expected close first (undated last), at
/// most `limit`.
pub async fn list(tx: &mut TenantTx, filter: &DealFilter, limit: i64) -> sqlx::Result<Vec<Deal>> {
    let org_id = tx.org_id();
    // runtime SQL: the list view's user-chosen filters (`push_filter`).
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("select {DEAL_COLUMNS} from {DEAL_FROM}"));
    push_filter(&mut sql, org_id, filter);
    sql.push(" order by d.expected_close nulls last, d.updated_at desc, d.id limit ")
        .push_bind(limit);
    sql.build_query_as()
        .persistent(false)
        .fetch_all(tx.conn())
        .await
}

/// Counts and sums per stage and currency of every deal the filter takes
/// (not only the ones listed).
pub async fn filtered_totals(
    tx: &mut TenantTx,
    filter: &DealFilter,
) -> sqlx::Result<Vec<StageTotal>> {
    let org_id = tx.org_id();
    // runtime SQL: the same user-chosen filters as `list`.
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "select d.stage_id, d.currency, count(*) as deals, sum(d.value) as value from {DEAL_FROM}"
    ));
    push_filter(&mut sql, org_id, filter);
    sql.push(" group by d.stage_id, d.currency order by d.currency");
    sql.build_query_as()
        .persistent(false)
        .fetch_all(tx.conn())
        .await
}
