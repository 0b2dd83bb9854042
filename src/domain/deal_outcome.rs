//! What reaching a pipeline stage means for a deal.

text_enum! {
    /// `pipeline_stages.outcome`: a deal in an `Open` stage is still being
    /// worked; one in a `Won` or `Lost` stage is closed (lost needs a
    /// reason).
    pub enum StageOutcome {
        Open = "open",
        Won = "won",
        Lost = "lost",
    }
}

impl StageOutcome {
    pub fn is_open(self) -> bool {
        self == StageOutcome::Open
    }

    pub fn is_lost(self) -> bool {
        self == StageOutcome::Lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(StageOutcome);
}
