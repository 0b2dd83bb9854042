//! A workspace's subscription as Stripe last told it (`billing_accounts`),
//! its invoices, and the route from a Stripe customer to its workspace.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{InvoiceStatus, Plan, SubscriptionStatus};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub stripe_customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub plan: Plan,
    pub status: Option<SubscriptionStatus>,
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    pub checkout_started_at: Option<OffsetDateTime>,
    pub past_due_since: Option<OffsetDateTime>,
    pub canceled_at: Option<OffsetDateTime>,
}

/// The workspace's account (a free one with nothing from Stripe if none
/// was recorded yet).
pub async fn account(tx: &mut TenantTx) -> sqlx::Result<Account> {
    let org_id = tx.org_id();
    let found = sqlx::query_as!(
        Account,
        r#"select stripe_customer_id, subscription_id, plan as "plan: Plan",
                  status as "status: SubscriptionStatus",
                  current_period_end, cancel_at_period_end, checkout_started_at,
                  past_due_since, canceled_at
           from billing_accounts where org_id = $1"#,
        org_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.unwrap_or(Account {
        stripe_customer_id: None,
        subscription_id: None,
        plan: Plan::Free,
        status: None,
        current_period_end: None,
        cancel_at_period_end: false,
        checkout_started_at: None,
        past_due_since: None,
        canceled_at: None,
    }))
}

/// Records the workspace's Stripe customer (once: an existing one is kept
/// and returned) and routes its events here.
pub async fn set_customer(tx: &mut TenantTx, customer_id: &str) -> sqlx::Result<String> {
    let org_id = tx.org_id();
    // Never null: the new value is the old one or `customer_id`.
    let kept = sqlx::query_scalar!(
        r#"insert into billing_accounts (org_id, stripe_customer_id) values ($1, $2)
           on conflict (org_id) do update set
             stripe_customer_id = coalesce(billing_accounts.stripe_customer_id, excluded.stripe_customer_id),
             updated_at = now()
           returning stripe_customer_id as "stripe_customer_id!""#,
        org_id,
        customer_id
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query!(
        "insert into billing_customer_routes (stripe_customer_id, org_id) values ($1, $2) \
         on conflict do nothing",
        kept,
        org_id
    )
    .execute(tx.conn())
    .await?;
    Ok(kept)
}

/// A checkout was started: the page says "processing" until Stripe's
/// webhook confirms.
pub async fn checkout_started(tx: &mut TenantTx) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into billing_accounts (org_id, checkout_started_at) values ($1, now()) \
         on conflict (org_id) do update set checkout_started_at = now(), updated_at = now()",
        org_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A subscription's state as of Stripe time `at` (`rank` orders events of
/// the same second: created, updated, deleted). Applied only if no newer
/// state was recorded; false otherwise.
pub struct SubscriptionState<'a> {
    pub subscription_id: &'a str,
    pub plan: &'a str,
    pub status: &'a str,
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    pub at: OffsetDateTime,
    pub rank: i16,
}

pub async fn apply_subscription(
    tx: &mut TenantTx,
    state: &SubscriptionState<'_>,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    // `$7::timestamptz` in the case arms: described without bound types,
    // PostgreSQL would deduce another type there than for `state_at` (the
    // bind is a timestamptz either way).
    let applied = sqlx::query!(
        "insert into billing_accounts as b (org_id, subscription_id, plan, status, \
            current_period_end, cancel_at_period_end, state_at, state_rank, checkout_started_at, \
            past_due_since, canceled_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, null, \
            case when $4 = 'past_due' then $7::timestamptz end, \
            case when $4 = 'canceled' then $7::timestamptz end) \
         on conflict (org_id) do update set subscription_id = excluded.subscription_id, \
            plan = excluded.plan, status = excluded.status, \
            current_period_end = excluded.current_period_end, \
            cancel_at_period_end = excluded.cancel_at_period_end, \
            state_at = excluded.state_at, state_rank = excluded.state_rank, \
            past_due_since = case when excluded.status = 'past_due' \
              then coalesce(b.past_due_since, excluded.state_at) end, \
            read_only_warned_at = case when excluded.status = 'past_due' \
              then b.read_only_warned_at end, \
            canceled_at = case when excluded.status = 'canceled' \
              then coalesce(b.canceled_at, excluded.state_at) end, \
            checkout_started_at = null, updated_at = now() \
         where b.state_at is null \
            or (excluded.state_at, excluded.state_rank) >= (b.state_at, b.state_rank)",
        org_id,
        state.subscription_id,
        state.plan,
        state.status,
        state.current_period_end,
        state.cancel_at_period_end,
        state.at,
        state.rank
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(applied == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invoice {
    pub stripe_invoice_id: String,
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub currency: String,
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Records an invoice as of Stripe time `at` (an older state is not
/// applied over a newer one; `rank` orders the same second).
pub async fn apply_invoice(
    tx: &mut TenantTx,
    invoice: &Invoice,
    at: OffsetDateTime,
    rank: i16,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let applied = sqlx::query!(
        "insert into invoices as i (org_id, stripe_invoice_id, number, status, amount_due, \
            amount_paid, currency, hosted_invoice_url, invoice_pdf, created_at, state_at, state_rank) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         on conflict (org_id, stripe_invoice_id) do update set number = excluded.number, \
            status = excluded.status, amount_due = excluded.amount_due, \
            amount_paid = excluded.amount_paid, currency = excluded.currency, \
            hosted_invoice_url = excluded.hosted_invoice_url, \
            invoice_pdf = excluded.invoice_pdf, state_at = excluded.state_at, \
            state_rank = excluded.state_rank \
         where (excluded.state_at, excluded.state_rank) >= (i.state_at, i.state_rank)",
        org_id,
        invoice.stripe_invoice_id,
        invoice.number,
        invoice.status.as_str(),
        invoice.amount_due,
        invoice.amount_paid,
        invoice.currency,
        invoice.hosted_invoice_url,
        invoice.invoice_pdf,
        invoice.created_at,
        at,
        rank
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(applied == 1)
}

pub async fn invoices(tx: &mut TenantTx) -> sqlx::Result<Vec<Invoice>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Invoice,
        r#"select stripe_invoice_id, number, status as "status: InvoiceStatus", amount_due,
                  amount_paid, currency, hosted_invoice_url, invoice_pdf, created_at
           from invoices where org_id = $1 order by created_at desc limit 100"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

/// The workspace a Stripe customer belongs to (read before any tenant
/// context, through that customer's route only).
pub async fn org_of_customer(pool: &sqlx::PgPool, customer_id: &str) -> sqlx::Result<Option<Uuid>> {
    let mut tx = pool.begin().await?;
    sqlx::query_scalar!(
        "select set_config('app.stripe_customer', $1, true)",
        customer_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let org = sqlx::query_scalar!(
        "select org_id from billing_customer_routes where stripe_customer_id = $1",
        customer_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(org)
}

/// What the workspace uses of what plans limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub channels: i64,
    pub members: i64,
    pub contacts: i64,
    pub ai_requests: i64,
    pub campaign_recipients: i64,
}

/// What the workspace uses, counted as the limits count it.
pub async fn usage(tx: &mut TenantTx) -> sqlx::Result<Usage> {
    use crate::domain::Counted;
    Ok(Usage {
        channels: used(tx, Counted::Channels).await?,
        members: used(tx, Counted::Members).await?,
        contacts: used(tx, Counted::Contacts).await?,
        ai_requests: used(tx, Counted::AiRequests).await?,
        campaign_recipients: used(tx, Counted::CampaignRecipients).await?,
    })
}

/// How many of `counted` the workspace has (what its plan limits).
pub async fn used(tx: &mut TenantTx, counted: crate::domain::Counted) -> sqlx::Result<i64> {
    use crate::domain::Counted;
    let org_id = tx.org_id();
    // One static query per count; counts (and the coalesced sum) are never null.
    let conn = tx.conn();
    match counted {
        Counted::Channels => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from channels where org_id = $1 and kind <> 'sandbox'"#,
                org_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::Members => {
            sqlx::query_scalar!(
                r#"select (select count(*) from memberships where org_id = $1)
                      + (select count(*) from invitations where org_id = $1
                           and accepted_at is null and revoked_at is null and expires_at > now())
                   as "n!""#,
                org_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::Contacts => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from contacts where org_id = $1"#,
                org_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::AiRequests => {
            sqlx::query_scalar!(
                r#"select coalesce(sum(calls), 0)::bigint as "n!" from ai_usage
                   where org_id = $1 and month = date_trunc('month', now() at time zone 'UTC')::date"#,
                org_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::CampaignRecipients => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from campaign_recipients r
                   join campaigns c on c.org_id = r.org_id and c.id = r.campaign_id
                   where r.org_id = $1 and r.state <> 'skipped'
                     and c.started_at >= date_trunc('month', now() at time zone 'UTC') at time zone 'UTC'"#,
                org_id
            )
            .fetch_one(conn)
            .await
        }
    }
}
