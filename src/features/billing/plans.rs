//! The plans and what each allows, in one place. Billing off (no
//! `STRIPE_SECRET_KEY`: a self-hosted wacrm) means no limits at all.

pub use crate::domain::Plan;

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

#[cfg(test)]
mod tests {
    use super::*;

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
