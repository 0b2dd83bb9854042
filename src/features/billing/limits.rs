//! Plan limits, checked where the action happens (invite, connect a
//! channel, create or import contacts, call the AI). Billing off: no limits.

use crate::domain::{Plan, SubscriptionStatus};
use crate::infra::config::Config;
use crate::infra::db;
use crate::infra::db::billing::Account;
use crate::infra::tenancy::TenantTx;

pub use crate::domain::{Counted, OverLimit};

/// The plan a workspace has now: its subscription's while that is live.
pub fn current_plan(account: &Account) -> Plan {
    let live = account
        .status
        .as_ref()
        .is_some_and(SubscriptionStatus::is_live);
    if live { account.plan } else { Plan::Free }
}

/// How many more of `counted` the workspace may add (`None`: no limit,
/// billing off or an unlimited plan), with what decides it.
pub async fn room(
    config: &Config,
    tx: &mut TenantTx,
    counted: Counted,
) -> sqlx::Result<Result<Option<i64>, OverLimit>> {
    if !config.billing_enabled() {
        return Ok(Ok(None));
    }
    // One limited action of a workspace at a time, so that two at once
    // cannot both take the last place.
    let org_id = tx.org_id();
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('plan-limits:' || $1::uuid::text, 0))",
        org_id
    )
    .fetch_one(tx.conn())
    .await?;
    let plan = current_plan(&db::billing::account(tx).await?);
    let limits = plan.limits();
    let limit = match counted {
        Counted::Channels => limits.channels,
        Counted::Members => limits.members,
        Counted::Contacts => limits.contacts,
        Counted::AiRequests => limits.ai_replies_per_month,
        Counted::CampaignRecipients => limits.campaign_recipients_per_month,
    };
    let Some(limit) = limit else {
        return Ok(Ok(None));
    };
    let used = db::billing::used(tx, counted).await?;
    if used >= limit {
        return Ok(Err(OverLimit {
            plan,
            counted,
            limit,
            used,
        }));
    }
    Ok(Ok(Some(limit - used)))
}

/// Whether one more of `counted` fits the plan.
pub async fn check_one(
    config: &Config,
    tx: &mut TenantTx,
    counted: Counted,
) -> sqlx::Result<Result<(), OverLimit>> {
    Ok(room(config, tx, counted).await?.map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_the_plan_the_limit_and_the_use() {
        let over = OverLimit {
            plan: Plan::Free,
            counted: Counted::Channels,
            limit: 1,
            used: 1,
        };
        assert_eq!(
            over.to_string(),
            "Your Free plan allows 1 connected WhatsApp number or phone; this workspace has 1. Upgrade in Settings → Billing to add more."
        );
        let over = OverLimit {
            plan: Plan::Starter,
            counted: Counted::Contacts,
            limit: 10_000,
            used: 10_000,
        };
        assert!(
            over.to_string()
                .starts_with("Your Starter plan allows 10000 contacts")
        );
        let over = OverLimit {
            plan: Plan::Free,
            counted: Counted::AiRequests,
            limit: 0,
            used: 0,
        };
        assert_eq!(
            over.to_string(),
            "Your Free plan allows 0 AI requests a month; this workspace has made 0 this month. Upgrade in Settings → Billing to add more."
        );
    }

    #[test]
    fn only_a_live_subscription_gives_its_plan() {
        let account = |status: Option<&str>| Account {
            stripe_customer_id: None,
            subscription_id: None,
            plan: Plan::Pro,
            status: status.map(SubscriptionStatus::parse),
            current_period_end: None,
            cancel_at_period_end: false,
            checkout_started_at: None,
            past_due_since: None,
            canceled_at: None,
        };
        assert_eq!(current_plan(&account(Some("active"))), Plan::Pro);
        assert_eq!(current_plan(&account(Some("past_due"))), Plan::Pro);
        assert_eq!(current_plan(&account(Some("canceled"))), Plan::Free);
        assert_eq!(current_plan(&account(Some("incomplete"))), Plan::Free);
        assert_eq!(current_plan(&account(None)), Plan::Free);
    }
}
