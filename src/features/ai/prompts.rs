//! What the model is asked, built only from the one conversation (and
//! draft) an agent works on: the workspace's name, the contact's name and
//! the conversation's last messages. Private notes and deleted messages are
//! never sent.

use super::provider::Turn;
pub use crate::domain::transcript::{Line, Speaker};

/// How many of the conversation's latest messages a prompt carries.
pub const TRANSCRIPT_MESSAGES: i64 = 20;
/// A message longer than this is cut in the transcript.
const MAX_LINE_CHARS: usize = 1_000;

/// The conversation a prompt is about.
pub struct Conversation<'a> {
    pub workspace: &'a str,
    pub contact_name: &'a str,
    /// Oldest first.
    pub lines: &'a [Line],
}

/// How a draft is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Shorter,
    Friendlier,
    MoreFormal,
}

impl Style {
    pub fn parse(input: &str) -> Option<Style> {
        match input {
            "shorter" => Some(Style::Shorter),
            "friendlier" => Some(Style::Friendlier),
            "formal" => Some(Style::MoreFormal),
            _ => None,
        }
    }

    fn instruction(self) -> &'static str {
        match self {
            Style::Shorter => "Make it shorter: keep every fact, drop filler.",
            Style::Friendlier => "Make it warmer and friendlier, without adding facts.",
            Style::MoreFormal => "Make it more formal and polite, without adding facts.",
        }
    }
}

fn cut(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_LINE_CHARS {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX_LINE_CHARS).collect();
        short.push('…');
        short
    }
}

fn transcript(conversation: &Conversation<'_>) -> String {
    let customer = if conversation.contact_name.trim().is_empty() {
        "Customer"
    } else {
        conversation.contact_name.trim()
    };
    let mut out = String::new();
    for line in conversation.lines {
        let who = match line.speaker {
            Speaker::Customer => customer,
            Speaker::Agent => "Agent",
        };
        out.push_str(who);
        out.push_str(": ");
        out.push_str(&cut(&line.text));
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("(no messages yet)\n");
    }
    out
}

fn support_agent(workspace: &str) -> String {
    format!(
        "You help a customer-support agent of the business “{}” who chats with customers on WhatsApp.",
        workspace.trim()
    )
}

/// A draft of the agent's next reply.
pub fn suggest_reply(conversation: &Conversation<'_>) -> Vec<Turn> {
    vec![
        Turn::system(format!(
            "{} Write the agent's next reply to the customer: short, friendly, in the customer's language, \
             plain text fit for WhatsApp. Do not invent prices, dates or promises the conversation does not support; \
             if something is unknown, say the agent will check. Answer with the reply only.",
            support_agent(conversation.workspace)
        )),
        Turn::user(format!(
            "The conversation so far:\n{}",
            transcript(conversation)
        )),
    ]
}

/// A summary for an agent who takes the conversation over.
pub fn summarize(conversation: &Conversation<'_>) -> Vec<Turn> {
    vec![
        Turn::system(format!(
            "{} Summarize the conversation for a colleague who takes it over, in English unless the \
             conversation is in one other language the agent uses: what the customer wants, what was \
             answered or promised, and what is still open. At most five short lines.",
            support_agent(conversation.workspace)
        )),
        Turn::user(format!("The conversation:\n{}", transcript(conversation))),
    ]
}

/// A customer's message in the agent's language.
pub fn translate_message(text: &str, into: &str) -> Vec<Turn> {
    vec![
        Turn::system(format!(
            "Translate the customer's WhatsApp message into {into}. Keep the tone, names, numbers \
             and emoji. Answer with the translation only."
        )),
        Turn::user(cut(text)),
    ]
}

/// The agent's draft in the language the customer writes in.
pub fn translate_draft(conversation: &Conversation<'_>, draft: &str) -> Vec<Turn> {
    vec![
        Turn::system(format!(
            "{} Translate the agent's draft reply into the language the customer writes in (see the \
             conversation). Keep the meaning, tone, names and numbers. Answer with the translation only.",
            support_agent(conversation.workspace)
        )),
        Turn::user(format!(
            "The conversation so far:\n{}\nThe agent's draft:\n{}",
            transcript(conversation),
            cut(draft)
        )),
    ]
}

/// The agent's draft rewritten in another style, same language.
pub fn rewrite(workspace: &str, draft: &str, style: Style) -> Vec<Turn> {
    vec![
        Turn::system(format!(
            "{} Rewrite the agent's draft reply. {} Keep its language. Answer with the new text only.",
            support_agent(workspace),
            style.instruction()
        )),
        Turn::user(cut(draft)),
    ]
}

/// What the model answers when the knowledge base does not hold the answer.
pub const HANDOVER: &str = "HANDOVER";

/// The bot's answer to the customer's last message, from these articles
/// only (title, body).
pub fn bot_answer(conversation: &Conversation<'_>, articles: &[(String, String)]) -> Vec<Turn> {
    let mut knowledge = String::new();
    for (title, body) in articles {
        knowledge.push_str("### ");
        knowledge.push_str(title.trim());
        knowledge.push('\n');
        knowledge.push_str(body.trim());
        knowledge.push_str("\n\n");
    }
    vec![
        Turn::system(format!(
            "You are the automated assistant of the business “{}” on WhatsApp. Answer the customer's \
             last message using only the knowledge base below: briefly, kindly, in the customer's \
             language, plain text. If the knowledge base does not answer it, or the customer wants a \
             person, reply with exactly {HANDOVER} and nothing else.\n\nKnowledge base:\n{knowledge}",
            conversation.workspace.trim()
        )),
        Turn::user(format!(
            "The conversation so far:\n{}",
            transcript(conversation)
        )),
    ]
}

/// Whether the customer asks for a person (in a few common languages).
pub fn asks_for_a_person(text: &str) -> bool {
    const ASKS: &[&str] = &[
        "human",
        "person",
        "agent",
        "operator",
        "someone real",
        "real people",
        "representative",
        "humano",
        "pessoa",
        "atendente",
        "falar com alguém",
        "persona",
        "hablar con alguien",
        "operador",
        "mensch",
        "mitarbeiter",
        "humain",
        "quelqu'un",
        "conseiller",
        "insan",
        "manusia",
        "orang",
    ];
    let text = text.to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    ASKS.iter().any(|ask| {
        if ask.contains(' ') {
            text.contains(ask)
        } else {
            words.contains(ask)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<Line> {
        vec![
            Line {
                speaker: Speaker::Customer,
                text: "Do you ship to Recife?".into(),
            },
            Line {
                speaker: Speaker::Agent,
                text: "Yes, in 3 days.".into(),
            },
        ]
    }

    #[test]
    fn a_suggestion_carries_the_workspace_the_contact_and_the_transcript() {
        let lines = lines();
        let turns = suggest_reply(&Conversation {
            workspace: "Acme",
            contact_name: "Maria",
            lines: &lines,
        });
        assert_eq!(turns.len(), 2);
        assert!(turns[0].content.contains("“Acme”"));
        assert_eq!(
            turns[1].content,
            "The conversation so far:\nMaria: Do you ship to Recife?\nAgent: Yes, in 3 days.\n"
        );
    }

    #[test]
    fn long_messages_are_cut_and_an_empty_conversation_says_so() {
        let long = vec![Line {
            speaker: Speaker::Customer,
            text: "a".repeat(5_000),
        }];
        let turns = summarize(&Conversation {
            workspace: "Acme",
            contact_name: "",
            lines: &long,
        });
        assert!(
            turns[1]
                .content
                .contains(&format!("Customer: {}…", "a".repeat(1_000)))
        );
        let turns = summarize(&Conversation {
            workspace: "Acme",
            contact_name: "",
            lines: &[],
        });
        assert!(turns[1].content.ends_with("(no messages yet)\n"));
    }

    #[test]
    fn the_bot_answers_from_the_articles_or_says_handover() {
        let lines = lines();
        let turns = bot_answer(
            &Conversation {
                workspace: "Acme",
                contact_name: "Maria",
                lines: &lines,
            },
            &[(
                "Shipping".into(),
                "We ship to all of Brazil in 3 days.".into(),
            )],
        );
        assert!(
            turns[0]
                .content
                .contains("### Shipping\nWe ship to all of Brazil in 3 days.")
        );
        assert!(turns[0].content.contains("reply with exactly HANDOVER"));
        assert!(turns[1].content.contains("Maria: Do you ship to Recife?"));
    }

    #[test]
    fn asking_for_a_person_is_heard_in_several_languages() {
        for ask in [
            "Can I talk to a human?",
            "quero falar com um atendente",
            "¿Puedo hablar con una persona?",
            "Ich möchte einen Mitarbeiter",
            "AGENT please",
        ] {
            assert!(asks_for_a_person(ask), "{ask}");
        }
        for not in [
            "Do you ship to Recife?",
            "personal order",
            "agentur",
            "humanity",
        ] {
            assert!(!asks_for_a_person(not), "{not}");
        }
    }

    #[test]
    fn rewrite_styles_parse_and_name_the_change() {
        assert_eq!(Style::parse("shorter"), Some(Style::Shorter));
        assert_eq!(Style::parse("formal"), Some(Style::MoreFormal));
        assert_eq!(Style::parse("angrier"), None);
        let turns = rewrite("Acme", "hi there", Style::Friendlier);
        assert!(turns[0].content.contains("friendlier"));
        assert_eq!(turns[1].content, "hi there");
        let turns = translate_message("Olá", "German");
        assert!(turns[0].content.contains("into German"));
    }
}
