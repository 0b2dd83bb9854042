//! A workspace's plan (what each allows is in `features::billing::plans`)
//! and what plans count.

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

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(Plan);
}
