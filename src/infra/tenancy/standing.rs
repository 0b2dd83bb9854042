//! Whether a workspace may work normally, by its payments: a failed
//! payment leaves 7 days of grace (a banner, mails), then the workspace is
//! read-only (members read and export; sending and importing wait) until it
//! is paid; a canceled subscription makes it read-only at once, its data
//! kept 30 days. Billing off: always in good standing.

use time::{Duration, OffsetDateTime};

use crate::domain::SubscriptionStatus;
use crate::error::AppError;
use crate::infra::db::billing::Account;
use crate::infra::tenancy::TenantTx;

/// How long a workspace works on after a failed payment.
pub const GRACE: Duration = Duration::days(7);
/// How long a canceled workspace's data is kept.
pub const RETENTION: Duration = Duration::days(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Good,
    /// Payment failed; works until `until`.
    PastDue {
        until: OffsetDateTime,
    },
    /// Read-only: unpaid past the grace.
    Unpaid,
    /// Read-only: canceled; deleted at `purge_at` unless resubscribed.
    Canceled {
        purge_at: OffsetDateTime,
    },
    /// Read-only: an owner deleted it; gone at `purge_at` unless restored.
    Deleting {
        purge_at: OffsetDateTime,
    },
}

impl Standing {
    pub fn of(account: &Account, now: OffsetDateTime) -> Standing {
        match &account.status {
            Some(status) if status.is_overdue() => {
                let since = account.past_due_since.unwrap_or(now);
                if now < since + GRACE {
                    Standing::PastDue {
                        until: since + GRACE,
                    }
                } else {
                    Standing::Unpaid
                }
            }
            Some(SubscriptionStatus::Canceled) => Standing::Canceled {
                purge_at: account.canceled_at.unwrap_or(now) + RETENTION,
            },
            _ => Standing::Good,
        }
    }

    /// Why the workspace is read-only, for the one who tried (with what to do).
    pub fn read_only_reason(&self) -> Option<String> {
        match self {
            Standing::Good | Standing::PastDue { .. } => None,
            Standing::Unpaid => Some(
                "This workspace is read-only: its payment has failed for more than 7 days. An owner can pay in Settings → Billing; everything works again at once."
                    .into(),
            ),
            Standing::Canceled { purge_at } => Some(format!(
                "This workspace is read-only: its subscription was canceled. Its data is kept until {}; an owner can subscribe again in Settings → Billing.",
                date(purge_at)
            )),
            Standing::Deleting { purge_at } => Some(format!(
                "This workspace is read-only: an owner deleted it. It is kept until {}; an owner can restore it in Settings until then.",
                date(purge_at)
            )),
        }
    }

    /// The banner every member sees, if any.
    pub fn banner(&self) -> Option<String> {
        match self {
            Standing::Good => None,
            Standing::PastDue { until } => Some(format!(
                "The last payment failed. Update the card in Billing by {} to keep sending messages.",
                date(until)
            )),
            other => other.read_only_reason(),
        }
    }
}

/// The workspace's standing now (with billing off, only a deletion
/// matters).
pub async fn of_workspace(
    config: &crate::infra::config::Config,
    clock: &crate::infra::clock::Clock,
    tx: &mut TenantTx,
) -> sqlx::Result<Standing> {
    if let Some(at) = crate::infra::db::orgs::deletion_requested_at(tx).await? {
        return Ok(Standing::Deleting {
            purge_at: at + RETENTION,
        });
    }
    if !config.billing_enabled() {
        return Ok(Standing::Good);
    }
    let account = crate::infra::db::billing::account(tx).await?;
    Ok(Standing::of(&account, clock.now()))
}

/// Refuses work a read-only workspace may not do (sending, importing),
/// with why and where to fix it.
pub fn must_be_writable(standing: &Standing) -> Result<(), AppError> {
    match standing.read_only_reason() {
        Some(reason) => Err(AppError::PlanLimit(reason)),
        None => Ok(()),
    }
}

/// A day as `YYYY-MM-DD`, as billing pages and mails say it.
pub fn date(at: &OffsetDateTime) -> String {
    format!("{}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(
        status: Option<&str>,
        past_due_since: Option<OffsetDateTime>,
        canceled_at: Option<OffsetDateTime>,
    ) -> Account {
        Account {
            stripe_customer_id: None,
            subscription_id: None,
            plan: crate::domain::Plan::Pro,
            status: status.map(SubscriptionStatus::parse),
            current_period_end: None,
            cancel_at_period_end: false,
            checkout_started_at: None,
            past_due_since,
            canceled_at,
        }
    }

    #[test]
    fn grace_then_read_only_and_canceled_at_once() {
        let t = OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap();
        let past_due = account(Some("past_due"), Some(t), None);
        let day6 = Standing::of(&past_due, t + Duration::days(6));
        assert_eq!(day6, Standing::PastDue { until: t + GRACE });
        assert!(day6.read_only_reason().is_none() && day6.banner().is_some());
        let day8 = Standing::of(&past_due, t + Duration::days(8));
        assert_eq!(day8, Standing::Unpaid);
        assert!(day8.read_only_reason().is_some());
        let canceled = Standing::of(&account(Some("canceled"), None, Some(t)), t);
        assert_eq!(
            canceled,
            Standing::Canceled {
                purge_at: t + RETENTION
            }
        );
        assert!(canceled.read_only_reason().is_some());
        assert!(
            canceled
                .read_only_reason()
                .is_some_and(|r| r.contains("2025-12-24"))
        );
        for good in [None, Some("active"), Some("trialing")] {
            assert_eq!(Standing::of(&account(good, None, None), t), Standing::Good);
        }
    }
}
