//! The workspace's rule for which conversations agents see.

text_enum! {
    /// `organizations.agents_see`: every conversation, or only their own
    /// and the unassigned ones (owners and admins always see all).
    pub enum AgentsSee {
        All = "all",
        Assigned = "assigned",
    }
}

impl AgentsSee {
    pub fn assigned_only(self) -> bool {
        self == AgentsSee::Assigned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(AgentsSee);
}
