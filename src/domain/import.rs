//! Where a contact import stands, and what it does with duplicates.

text_enum! {
    /// `contact_imports.status`: waiting for its column mapping, then
    /// queued, running, and done (or failed).
    pub enum ImportStatus {
        Mapping = "mapping",
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

impl ImportStatus {
    /// Queued or running: the job has work left.
    pub fn is_running(self) -> bool {
        matches!(self, ImportStatus::Queued | ImportStatus::Running)
    }

    pub fn is_mapping(self) -> bool {
        self == ImportStatus::Mapping
    }

    pub fn is_done(self) -> bool {
        self == ImportStatus::Done
    }
}

text_enum! {
    /// `contact_imports.on_duplicate`: what a row whose contact exists does.
    pub enum OnDuplicate {
        /// Keep what is stored.
        Skip = "skip",
        /// Update the contact with the row's non-empty values.
        Update = "update",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(ImportStatus, OnDuplicate);
}
