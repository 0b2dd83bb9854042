//! Statuses that providers own: Stripe's for a subscription and an invoice,
//! Meta's for a message template. Stored as the provider sent them.

provider_enum! {
    /// `billing_accounts.status`: Stripe's subscription status.
    pub enum SubscriptionStatus {
        Incomplete = "incomplete",
        IncompleteExpired = "incomplete_expired",
        Trialing = "trialing",
        Active = "active",
        PastDue = "past_due",
        Canceled = "canceled",
        Unpaid = "unpaid",
        Paused = "paused",
    }
}

impl SubscriptionStatus {
    /// The subscription pays for its plan (past due is still in its grace).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Active | SubscriptionStatus::Trialing | SubscriptionStatus::PastDue
        )
    }

    /// Stripe is still trying to collect a failed payment.
    pub fn is_overdue(&self) -> bool {
        matches!(
            self,
            SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid
        )
    }
}

provider_enum! {
    /// `invoices.status`: Stripe's invoice status.
    pub enum InvoiceStatus {
        Draft = "draft",
        Open = "open",
        Paid = "paid",
        Uncollectible = "uncollectible",
        Void = "void",
    }
}

provider_enum! {
    /// `whatsapp_templates.status`: Meta's review status of a template.
    pub enum TemplateStatus {
        Approved = "APPROVED",
        Pending = "PENDING",
        Rejected = "REJECTED",
        Paused = "PAUSED",
        Disabled = "DISABLED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_statuses_parse_and_unknown_ones_are_kept_as_given() {
        assert_eq!(
            SubscriptionStatus::parse("past_due"),
            SubscriptionStatus::PastDue
        );
        assert_eq!(SubscriptionStatus::PastDue.as_str(), "past_due");
        let later = SubscriptionStatus::parse("frozen");
        assert_eq!(later, SubscriptionStatus::Other("frozen".to_owned()));
        assert_eq!(later.as_str(), "frozen");
        assert!(!later.is_live() && !later.is_overdue());
        assert_eq!(TemplateStatus::parse("approved"), TemplateStatus::Approved);
        assert_eq!(TemplateStatus::parse("APPROVED").as_str(), "APPROVED");
        assert_eq!(TemplateStatus::parse("IN_APPEAL").to_string(), "IN_APPEAL");
    }
}
