//! AI assist: reply suggestions, summaries, translations and rewrites for
//! agents, from any OpenAI-compatible provider. Off until an owner turns it
//! on for the workspace; every call is counted against the plan's monthly
//! allowance (billing on) and its tokens recorded.

pub mod assist;
pub mod booking;
pub mod bot;
pub mod language;
pub mod prompts;
pub mod provider;
