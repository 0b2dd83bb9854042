//! Sales reports: what a pipeline holds per stage, the revenue of won deals
//! and of orders month by month (in the workspace's time zone). Sums stay
//! exact (`numeric`) and per currency: amounts in different currencies are
//! never added together.
//! Invoices still to be paid, due or overdue on the workspace's today.

use rust_decimal::Decimal;
use time::Date;
use uuid::Uuid;

use crate::domain::StageOutcome;
use crate::infra::tenancy::TenantTx;

/// Months the monthly reports cover, the current one last.
const MONTHS: i32 = 12;

/// One stage of a pipeline and what its deals in one currency are worth;
/// a stage without deals comes once with no currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StageValue {
    pub stage_id: Uuid,
    pub stage_name: String,
    pub outcome: StageOutcome,
    pub currency: Option<String>,
    pub deals: i64,
    pub value: Decimal,
}

/// The pipeline's stages in order, with the count and value of their deals
/// per currency.
pub async fn pipeline_by_stage(
    tx: &mut TenantTx,
    pipeline_id: Uuid,
) -> sqlx::Result<Vec<StageValue>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        StageValue,
        r#"select s.id as stage_id, s.name as stage_name,
             s.outcome as "outcome: StageOutcome", d.currency as "currency?",
             count(d.id) as "deals!", coalesce(sum(d.value), 0) as "value!"
           from pipeline_stages s
           left join deals d on d.org_id = s.org_id and d.stage_id = s.id
           where s.org_id = $1 and s.pipeline_id = $2
           group by s.id, s.name, s.outcome, s.position, d.currency
           order by s.position, s.id, d.currency"#,
        org_id,
        pipeline_id
    )
    .fetch_all(tx.conn())
    .await
}

/// One month's count and sum in one currency (zero when nothing happened).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MonthValue {
    /// The first day of the month, on the workspace's calendar.
    pub month: Date,
    pub currency: String,
    pub count: i64,
    pub value: Decimal,
}

/// The zone the monthly reports group by: the workspace's, or UTC when
/// PostgreSQL does not know that name (the settings check names against
/// jiff's bundled database, which may be newer than the server's).
pub async fn report_zone(tx: &mut TenantTx) -> sqlx::Result<String> {
    let zone = super::orgs::time_zone(tx).await?;
    // A failed statement aborts the transaction: try it in a savepoint.
    sqlx::query!("savepoint report_zone")
        .execute(tx.conn())
        .await?;
    let known = sqlx::query_scalar!("select now() at time zone $1", zone)
        .fetch_one(tx.conn())
        .await;
    match known {
        Ok(_) => {
            sqlx::query!("release savepoint report_zone")
                .execute(tx.conn())
                .await?;
            Ok(zone)
        }
        Err(_) => {
            sqlx::query!("rollback to savepoint report_zone")
                .execute(tx.conn())
                .await?;
            Ok("UTC".to_owned())
        }
    }
}

/// `query_as!(MonthValue, ...)`: every month of the last [`MONTHS`] for
/// every currency that has something in them. `$events` is a literal query
/// of `(happened_at timestamptz, currency, value)` rows for `org_id = $1`;
/// `$2` is the zone. A macro so that each report is one static query.
macro_rules! by_month {
    ($events:literal, $org_id:expr, $zone:expr) => {
        sqlx::query_as!(
            MonthValue,
            r#"with months as (
                 select generate_series(
                   date_trunc('month', now() at time zone $2) - make_interval(months => $3 - 1),
                   date_trunc('month', now() at time zone $2), interval '1 month') as month),
               events as ("# + $events + r#"),
               sums as (
                 select date_trunc('month', happened_at at time zone $2) as month, currency,
                   count(*) as count, sum(value) as value
                 from events
                 where happened_at >= (select min(month) from months) at time zone $2
                   and happened_at < ((select max(month) from months) + interval '1 month') at time zone $2
                 group by 1, 2),
               currencies as (select distinct currency from sums)
               select m.month::date as "month!", c.currency as "currency!",
                 coalesce(s.count, 0) as "count!", coalesce(s.value, 0) as "value!"
               from months m cross join currencies c
               left join sums s on s.month = m.month and s.currency = c.currency
               order by c.currency, m.month"#,
            $org_id,
            $zone,
            MONTHS
        )
    };
}

/// Revenue of deals in a won stage (of any pipeline), by the month they
/// were closed in.
pub async fn won_by_month(tx: &mut TenantTx, zone: &str) -> sqlx::Result<Vec<MonthValue>> {
    let org_id = tx.org_id();
    by_month!(
        "select d.closed_at as happened_at, d.currency, d.value from deals d \
         join pipeline_stages s on s.org_id = d.org_id and s.id = d.stage_id \
         where d.org_id = $1 and s.outcome = 'won' and d.closed_at is not null",
        org_id,
        zone
    )
    .fetch_all(tx.conn())
    .await
}

/// Revenue of orders that were not cancelled, by the month they were made.
pub async fn orders_by_month(tx: &mut TenantTx, zone: &str) -> sqlx::Result<Vec<MonthValue>> {
    let org_id = tx.org_id();
    by_month!(
        "select created_at as happened_at, currency, total as value from orders \
         where org_id = $1 and status <> 'cancelled'",
        org_id,
        zone
    )
    .fetch_all(tx.conn())
    .await
}

/// An issued invoice not yet paid (nor void).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenInvoice {
    pub id: Uuid,
    pub number: i64,
    pub customer_name: String,
    pub due: Option<Date>,
    pub currency: String,
    pub total: Decimal,
}

impl OpenInvoice {
    /// Past its due date on `today` (an invoice without one is never late).
    pub fn overdue(&self, today: Date) -> bool {
        self.due.is_some_and(|due| due < today)
    }
}

/// Invoices sent and not paid, the soonest due first (undated last).
pub async fn open_invoices(tx: &mut TenantTx) -> sqlx::Result<Vec<OpenInvoice>> {
    let org_id = tx.org_id();
    // A sent document has its number.
    sqlx::query_as!(
        OpenInvoice,
        r#"select id, number as "number!", customer_name, second_date as due, currency, total
           from sales_documents where org_id = $1 and kind = 'invoice' and state = 'sent'
           order by second_date nulls last, number"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}
