//! A workspace's plan (what each allows is in `features::billing::plans`).

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

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(Plan);
}
