//! Where a data export stands.

text_enum! {
    /// `data_exports.state`: queued, running, then done (until its file
    /// expires) or failed.
    pub enum ExportState {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
        /// Done, and its file deleted.
        Expired = "expired",
    }
}

text_enum! {
    /// `data_exports.scope`: the whole workspace, or one contact's data
    /// (a data-subject request).
    pub enum ExportScope {
        Workspace = "workspace",
        Contact = "contact",
    }
}

impl ExportState {
    /// Queued or running: the page keeps polling it.
    pub fn is_live(self) -> bool {
        matches!(self, ExportState::Queued | ExportState::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(ExportState, ExportScope);
}
