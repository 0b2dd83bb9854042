//! Stripe's events: stored once each by the webhook (by event id), then
//! applied from the job queue to the workspace their customer belongs to.
//! An event older than the state recorded never overwrites it (Stripe
//! does not deliver in order); unknown types and unknown customers are
//! acknowledged and left.

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{InvoiceStatus, Plan, Prices};
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::billing::{Invoice, SubscriptionState};
use crate::infra::tenancy::bootstrap;

/// The envelope's fields wacrm reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: String,
    pub kind: String,
    pub created: OffsetDateTime,
}

/// Reads an event's envelope (its signature already checked).
pub fn envelope(body: &[u8]) -> Result<(Envelope, Value), String> {
    let event: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if event.get("object").and_then(Value::as_str) != Some("event") {
        return Err("not an event".into());
    }
    let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = text("id").filter(|id| !id.is_empty()).ok_or("no id")?;
    let kind = text("type").ok_or("no type")?;
    let created = event
        .get("created")
        .and_then(Value::as_i64)
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or("no created time")?;
    if event.pointer("/data/object").is_none_or(|o| !o.is_object()) {
        return Err("no data.object".into());
    }
    Ok((Envelope { id, kind, created }, event))
}

/// Stores the event unless it was received before; true if it is new (its
/// job is then queued in the same transaction).
pub async fn record(env: &Environment, envelope: &Envelope, event: &Value) -> anyhow::Result<bool> {
    let mut tx = env.pool.begin().await?;
    let new: Option<String> = sqlx::query_scalar!(
        "insert into stripe_events (id, type, created, payload) values ($1, $2, $3, $4) \
         on conflict (id) do nothing returning id",
        envelope.id,
        envelope.kind,
        envelope.created,
        event
    )
    .fetch_optional(&mut *tx)
    .await?;
    if new.is_some() {
        let job = StripeEvent {
            event_id: envelope.id.clone(),
        };
        crate::infra::jobs::enqueue(&mut tx, &env.secrets, &job).await?;
    }
    tx.commit().await?;
    Ok(new.is_some())
}

/// The job: applies a stored event once.
pub async fn process(env: &Environment, event_id: &str) -> anyhow::Result<()> {
    let stored = sqlx::query!(
        r#"select type as "kind", created, payload, processed_at from stripe_events where id = $1"#,
        event_id
    )
    .fetch_optional(&env.pool)
    .await?
    .map(|row| (row.kind, row.created, row.payload, row.processed_at));
    let Some((kind, created, event, processed_at)) = stored else {
        return Ok(());
    };
    if processed_at.is_none() {
        let object = event
            .pointer("/data/object")
            .cloned()
            .unwrap_or(Value::Null);
        apply(env, &kind, created, &object).await?;
        sqlx::query!(
            "update stripe_events set processed_at = now() where id = $1",
            event_id
        )
        .execute(&env.pool)
        .await?;
    }
    Ok(())
}

async fn apply(
    env: &Environment,
    kind: &str,
    created: OffsetDateTime,
    object: &Value,
) -> anyhow::Result<()> {
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    match kind {
        "checkout.session.completed" => {
            // The workspace is named by the session (we set it); the
            // customer is then routed to it for every later event.
            let org = text("client_reference_id").and_then(|id| Uuid::try_parse(id).ok());
            let (Some(org_id), Some(customer)) = (org, text("customer")) else {
                tracing::warn!("checkout.session.completed without workspace or customer");
                return Ok(());
            };
            let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
            if db::orgs::get(&mut tx).await?.is_none() {
                tracing::warn!(%org_id, "checkout completed for an unknown workspace");
                return Ok(());
            }
            db::billing::set_customer(&mut tx, customer).await?;
            tx.commit().await?;
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let Some(org_id) = org_of(env, text("customer")).await? else {
                return Ok(());
            };
            let rank = match kind {
                "customer.subscription.created" => 0,
                "customer.subscription.updated" => 1,
                _ => 2,
            };
            let Some(subscription) =
                subscription_state(object, &env.config.stripe_prices(), created, rank)
            else {
                tracing::warn!(%org_id, "a subscription event without id or status");
                return Ok(());
            };
            let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
            if db::billing::apply_subscription(&mut tx, &subscription).await? {
                crate::features::audit::record(
                    &mut tx,
                    &crate::features::audit::Actor::system(),
                    "billing.subscription_changed",
                    subscription.subscription_id,
                    &[("plan", subscription.plan), ("status", subscription.status)],
                )
                .await?;
            } else {
                tracing::info!(%org_id, kind, "an older subscription event: not applied");
            }
            tx.commit().await?;
        }
        kind if kind.starts_with("invoice.") => {
            let Some(org_id) = org_of(env, text("customer")).await? else {
                return Ok(());
            };
            let Some(invoice) = invoice(object) else {
                return Ok(());
            };
            let rank = match invoice.status {
                InvoiceStatus::Draft => 0,
                InvoiceStatus::Open => 1,
                _ => 2,
            };
            let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
            db::billing::apply_invoice(&mut tx, &invoice, created, rank).await?;
            if kind == "invoice.payment_failed" {
                tell_owners_payment_failed(env, &mut tx, &invoice).await?;
            }
            tx.commit().await?;
        }
        _ => {}
    }
    Ok(())
}

/// Mails the workspace's owners that a payment failed, with the grace
/// left and where to pay (once per event: events are applied once).
async fn tell_owners_payment_failed(
    env: &Environment,
    tx: &mut crate::infra::tenancy::TenantTx,
    invoice: &Invoice,
) -> anyhow::Result<()> {
    let link = env.url("/settings/billing");
    let amount = format!(
        "{}.{:02} {}",
        invoice.amount_due / 100,
        invoice.amount_due % 100,
        invoice.currency.to_uppercase()
    );
    crate::infra::jobs::mail_members(
        tx,
        &env.secrets,
        &["owner"],
        "wacrm: a payment failed",
        |member| {
            format!(
                "Hello {member},\n\nStripe could not take the payment of {amount} for your wacrm workspace. Everything keeps working for 7 days; after that the workspace becomes read-only (nothing is deleted) until it is paid.\n\nUpdate the card here: {link}\n"
            )
        },
    )
    .await?;
    Ok(())
}

/// The workspace of an event's customer; `None` (logged) if wacrm has none.
async fn org_of(env: &Environment, customer: Option<&str>) -> anyhow::Result<Option<Uuid>> {
    let Some(customer) = customer else {
        tracing::warn!("a Stripe event without a customer");
        return Ok(None);
    };
    let org = db::billing::org_of_customer(&env.pool, customer).await?;
    if org.is_none() {
        tracing::warn!(customer, "a Stripe event for a customer of no workspace");
    }
    Ok(org)
}

/// A subscription object's state: its plan from its first item's price.
fn subscription_state<'a>(
    object: &'a Value,
    prices: &Prices,
    at: OffsetDateTime,
    rank: i16,
) -> Option<SubscriptionState<'a>> {
    let subscription_id = object.get("id")?.as_str()?;
    let status = object.get("status")?.as_str()?;
    let item = object.pointer("/items/data/0");
    let price = item
        .and_then(|i| i.pointer("/price/id"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let plan = Plan::of_price(price, prices).unwrap_or(Plan::Free);
    // Since API version 2025-03-31 the period is on the items.
    let period_end = item
        .and_then(|i| i.get("current_period_end"))
        .or_else(|| object.get("current_period_end"))
        .and_then(Value::as_i64)
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    Some(SubscriptionState {
        subscription_id,
        plan: plan.as_str(),
        status,
        current_period_end: period_end,
        cancel_at_period_end: object
            .get("cancel_at_period_end")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        at,
        rank,
    })
}

fn invoice(object: &Value) -> Option<Invoice> {
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    let number = |key: &str| object.get(key).and_then(Value::as_i64).unwrap_or(0);
    Some(Invoice {
        stripe_invoice_id: text("id")?,
        number: text("number"),
        status: InvoiceStatus::parse(&text("status")?),
        amount_due: number("amount_due"),
        amount_paid: number("amount_paid"),
        currency: text("currency").unwrap_or_else(|| "usd".into()),
        hosted_invoice_url: text("hosted_invoice_url"),
        invoice_pdf: text("invoice_pdf"),
        created_at: object
            .get("created")
            .and_then(Value::as_i64)
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())?,
    })
}

/// A Stripe event received (stored by its id), applied once (`kind: stripe_event`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StripeEvent {
    pub event_id: String,
}

impl crate::infra::jobs::BackgroundJob for StripeEvent {
    const KIND: &'static str = "stripe_event";
    const QUEUE: &'static str = "billing";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        process(env, &self.event_id).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn envelopes_need_id_type_time_and_object() {
        let good = json!({"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1_764_000_000, "data": {"object": {"id": "in_1"}}});
        let (envelope, _) = envelope(good.to_string().as_bytes()).expect("parses");
        assert_eq!(envelope.id, "evt_1");
        assert_eq!(envelope.kind, "invoice.paid");
        assert_eq!(envelope.created.unix_timestamp(), 1_764_000_000);
        for bad in [
            json!({"object": "event", "type": "x", "created": 1, "data": {"object": {}}}),
            json!({"id": "evt_1", "object": "customer", "type": "x", "created": 1, "data": {"object": {}}}),
            json!({"id": "evt_1", "object": "event", "created": 1, "data": {"object": {}}}),
            json!({"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}}),
            json!({"id": "evt_1", "object": "event", "type": "x", "created": 1}),
        ] {
            assert!(
                super::envelope(bad.to_string().as_bytes()).is_err(),
                "{bad}"
            );
        }
        assert!(super::envelope(b"not json").is_err());
    }

    #[test]
    fn a_subscription_reads_its_plan_status_and_period_from_either_place() {
        let prices = Prices {
            starter: Some("price_starter".into()),
            pro: Some("price_pro".into()),
        };
        let at = OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap();
        let basil = json!({"id": "sub_1", "status": "active", "cancel_at_period_end": true,
            "items": {"data": [{"price": {"id": "price_pro"}, "current_period_end": 1_766_000_000}]}});
        let state = subscription_state(&basil, &prices, at, 1).expect("state");
        assert_eq!((state.plan, state.status), ("pro", "active"));
        assert!(state.cancel_at_period_end);
        assert_eq!(
            state.current_period_end.map(|t| t.unix_timestamp()),
            Some(1_766_000_000)
        );
        let older = json!({"id": "sub_1", "status": "past_due", "current_period_end": 1_765_000_000,
            "items": {"data": [{"price": {"id": "price_unknown"}}]}});
        let state = subscription_state(&older, &prices, at, 1).expect("state");
        assert_eq!((state.plan, state.status), ("free", "past_due"));
        assert_eq!(
            state.current_period_end.map(|t| t.unix_timestamp()),
            Some(1_765_000_000)
        );
        assert!(subscription_state(&json!({"id": "sub_1"}), &prices, at, 0).is_none());
    }
}
