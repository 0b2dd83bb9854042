//! A workspace's plan, what each allows and what plans count, in one place.
//! Billing off (no `STRIPE_SECRET_KEY`: a self-hosted wacrm) means no limits
//! at all.

text_enum! {
    /// `billing_accounts.plan`.
    pub enum Plan {
        Free = "free",
        Starter = "starter",
        Pro = "pro",
    }
}

impl Plan {
    pub fn name(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Starter => "Starter",
            Plan::Pro => "Pro",
        }
    }
}

/// What a plan allows; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub channels: Option<i64>,
    pub members: Option<i64>,
    pub contacts: Option<i64>,
    pub ai_replies_per_month: Option<i64>,
    pub campaign_recipients_per_month: Option<i64>,
}

impl Plan {
    pub fn limits(self) -> Limits {
        match self {
            Plan::Free => Limits {
                channels: Some(1),
                members: Some(2),
                contacts: Some(1_000),
                ai_replies_per_month: Some(0),
                campaign_recipients_per_month: Some(0),
            },
            Plan::Starter => Limits {
                channels: Some(2),
                members: Some(5),
                contacts: Some(10_000),
                ai_replies_per_month: Some(1_000),
                campaign_recipients_per_month: Some(10_000),
            },
            Plan::Pro => Limits {
                channels: Some(10),
                members: Some(25),
                contacts: None,
                ai_replies_per_month: Some(10_000),
                campaign_recipients_per_month: Some(100_000),
            },
        }
    }

    /// The paid plan a Stripe price is, among the configured prices.
    pub fn of_price(price: &str, prices: &Prices) -> Option<Plan> {
        if prices.starter.as_deref() == Some(price) {
            Some(Plan::Starter)
        } else if prices.pro.as_deref() == Some(price) {
            Some(Plan::Pro)
        } else {
            None
        }
    }
}

/// The Stripe prices of the paid plans (`STRIPE_PRICE_STARTER`, `_PRO`).
#[derive(Debug, Clone, Default)]
pub struct Prices {
    pub starter: Option<String>,
    pub pro: Option<String>,
}

impl Prices {
    pub fn of(&self, plan: Plan) -> Option<&str> {
        match plan {
            Plan::Free => None,
            Plan::Starter => self.starter.as_deref(),
            Plan::Pro => self.pro.as_deref(),
        }
    }
}

/// What a plan counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Connected numbers and linked phones.
    Channels,
    /// Members and open invitations.
    Members,
    Contacts,
    /// Calls to the AI provider this calendar month (UTC).
    AiRequests,
    /// Recipients (not skipped) of campaigns started this calendar month
    /// (UTC).
    CampaignRecipients,
}

impl Counted {
    /// `n` of it in words ("3 contacts").
    pub fn words(self, n: i64) -> String {
        let (one, many) = match self {
            Counted::Channels => (
                "connected WhatsApp number or phone",
                "connected WhatsApp numbers and phones",
            ),
            Counted::Members => (
                "member (invitations included)",
                "members (invitations included)",
            ),
            Counted::Contacts => ("contact", "contacts"),
            Counted::AiRequests => ("AI request a month", "AI requests a month"),
            Counted::CampaignRecipients => {
                ("campaign recipient a month", "campaign recipients a month")
            }
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }
}

/// Over a plan's limit: what, the limit, how much is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimit {
    pub plan: Plan,
    pub counted: Counted,
    pub limit: i64,
    pub used: i64,
}

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let has = if matches!(
            self.counted,
            Counted::AiRequests | Counted::CampaignRecipients
        ) {
            format!("this workspace has made {} this month", self.used)
        } else {
            format!("this workspace has {}", self.used)
        };
        write!(
            f,
            "Your {} plan allows {}; {has}. Upgrade in Settings → Billing to add more.",
            self.plan.name(),
            self.counted.words(self.limit),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(Plan);

    #[test]
    fn plans_grow_and_prices_name_them() {
        let (free, starter, pro) = (
            Plan::Free.limits(),
            Plan::Starter.limits(),
            Plan::Pro.limits(),
        );
        assert_eq!(free.channels, Some(1));
        assert_eq!(free.ai_replies_per_month, Some(0));
        assert!(starter.members > free.members && pro.members > starter.members);
        assert_eq!(pro.contacts, None, "unlimited");
        let prices = Prices {
            starter: Some("price_s".into()),
            pro: Some("price_p".into()),
        };
        assert_eq!(Plan::of_price("price_p", &prices), Some(Plan::Pro));
        assert_eq!(Plan::of_price("price_x", &prices), None);
    }
}
