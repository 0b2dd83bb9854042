//! What kind of task a task is.

text_enum! {
    /// `tasks.kind`: a to-do, or a call (which needs a due time, so it
    /// lands in a day's call plan).
    pub enum TaskKind {
        Todo = "todo",
        Call = "call",
    }
}

impl TaskKind {
    pub fn is_call(self) -> bool {
        self == TaskKind::Call
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(TaskKind);
}
