//! A conversation as the AI prompts read it: its lines and who said each
//! (the database reads them, `features::ai::prompts` writes the prompt).

/// Who said a line of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub speaker: Speaker,
    pub text: String,
}
