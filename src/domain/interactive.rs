//! Interactive messages an agent sends on the Cloud API inside the
//! customer service window: reply buttons and lists, checked against
//! Meta's limits before they are queued. Choice ids are given by position
//! (`b1`..`b3`, `r1`..`r10`): the customer's answer names its choice by
//! that id (`button_reply.id`, `list_reply.id`), which automations can
//! match (a keyword `id:b1`). [S: Meta, Cloud API "Interactive reply
//! buttons messages" and "Interactive list messages";
//! /work/shared/design/protocols-field.md 1.4]

use serde_json::{Value, json};

/// Meta's limits (characters).
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE: usize = 20;
pub const MAX_BUTTONS_BODY: usize = 1024;
pub const MAX_FOOTER: usize = 60;
pub const MAX_HEADER: usize = 60;
pub const MAX_LIST_BODY: usize = 4096;
pub const MAX_LIST_BUTTON: usize = 20;
pub const MAX_SECTIONS: usize = 10;
pub const MAX_ROWS: usize = 10;
pub const MAX_ROW_TITLE: usize = 24;
pub const MAX_ROW_DESCRIPTION: usize = 72;
pub const MAX_SECTION_TITLE: usize = 24;

/// One row of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub title: String,
    pub description: String,
}

/// One section of a list (its title may be empty when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

/// What the choices are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choices {
    /// Reply buttons, by title.
    Buttons(Vec<String>),
    /// A list opened by a button labelled `button`.
    List {
        button: String,
        sections: Vec<Section>,
    },
}

/// An interactive message: optional text header and footer, a body and
/// the choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interactive {
    pub header: String,
    pub body: String,
    pub footer: String,
    pub choices: Choices,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn too_long(field: &str, value: &str, max: usize) -> Option<String> {
    (chars(value) > max).then(|| format!("{field}: {max} characters at most."))
}

impl Interactive {
    /// The message with its fields trimmed, or why WhatsApp would refuse
    /// it (the field first).
    pub fn checked(mut self) -> Result<Interactive, String> {
        self.header = self.header.trim().to_owned();
        self.body = self.body.trim().to_owned();
        self.footer = self.footer.trim().to_owned();
        let max_body = match self.choices {
            Choices::Buttons(_) => MAX_BUTTONS_BODY,
            Choices::List { .. } => MAX_LIST_BODY,
        };
        if self.body.is_empty() {
            return Err("Body: the message needs a text.".into());
        }
        if let Some(e) = too_long("Body", &self.body, max_body)
            .or_else(|| too_long("Header", &self.header, MAX_HEADER))
            .or_else(|| too_long("Footer", &self.footer, MAX_FOOTER))
        {
            return Err(e);
        }
        match &mut self.choices {
            Choices::Buttons(titles) => {
                for t in titles.iter_mut() {
                    *t = t.trim().to_owned();
                }
                titles.retain(|t| !t.is_empty());
                if titles.is_empty() || titles.len() > MAX_BUTTONS {
                    return Err(format!("Buttons: 1 to {MAX_BUTTONS} buttons."));
                }
                if let Some(e) = titles
                    .iter()
                    .find_map(|t| too_long("Button", t, MAX_BUTTON_TITLE))
                {
                    return Err(e);
                }
                let mut seen: Vec<String> = titles.iter().map(|t| t.to_lowercase()).collect();
                seen.sort();
                seen.dedup();
                if seen.len() != titles.len() {
                    return Err("Buttons: each button needs its own title.".into());
                }
            }
            Choices::List { button, sections } => {
                *button = button.trim().to_owned();
                if button.is_empty() {
                    return Err("List button: the label that opens the list is needed.".into());
                }
                if let Some(e) = too_long("List button", button, MAX_LIST_BUTTON) {
                    return Err(e);
                }
                for s in sections.iter_mut() {
                    s.title = s.title.trim().to_owned();
                    for r in s.rows.iter_mut() {
                        r.title = r.title.trim().to_owned();
                        r.description = r.description.trim().to_owned();
                    }
                    s.rows.retain(|r| !r.title.is_empty());
                }
                sections.retain(|s| !s.rows.is_empty());
                if sections.is_empty() || sections.len() > MAX_SECTIONS {
                    return Err(format!("Sections: 1 to {MAX_SECTIONS} sections with rows."));
                }
                let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
                if rows > MAX_ROWS {
                    return Err(format!("Rows: {MAX_ROWS} rows at most in all."));
                }
                for s in sections.iter() {
                    if sections.len() > 1 && s.title.is_empty() {
                        return Err(
                            "Section title: each section needs one when there are several.".into(),
                        );
                    }
                    if let Some(e) = too_long("Section title", &s.title, MAX_SECTION_TITLE) {
                        return Err(e);
                    }
                    for r in &s.rows {
                        if let Some(e) =
                            too_long("Row title", &r.title, MAX_ROW_TITLE).or_else(|| {
                                too_long("Row description", &r.description, MAX_ROW_DESCRIPTION)
                            })
                        {
                            return Err(e);
                        }
                    }
                }
                let mut titles: Vec<String> = sections
                    .iter()
                    .flat_map(|s| s.rows.iter().map(|r| r.title.to_lowercase()))
                    .collect();
                titles.sort();
                titles.dedup();
                if titles.len() != rows {
                    return Err("Rows: each row needs its own title.".into());
                }
            }
        }
        Ok(self)
    }

    /// The Cloud API's `interactive` object (a checked message).
    pub fn request(&self) -> Value {
        let mut object = match &self.choices {
            Choices::Buttons(titles) => json!({
                "type": "button",
                "body": {"text": self.body},
                "action": {"buttons": titles.iter().enumerate().map(|(i, t)| json!({
                    "type": "reply",
                    "reply": {"id": format!("b{}", i + 1), "title": t},
                })).collect::<Vec<_>>()},
            }),
            Choices::List { button, sections } => {
                let mut n = 0;
                let sections: Vec<Value> = sections
                    .iter()
                    .map(|s| {
                        let rows: Vec<Value> = s
                            .rows
                            .iter()
                            .map(|r| {
                                n += 1;
                                let mut row = json!({"id": format!("r{n}"), "title": r.title});
                                if !r.description.is_empty() {
                                    row["description"] = json!(r.description);
                                }
                                row
                            })
                            .collect();
                        let mut section = json!({ "rows": rows });
                        if !s.title.is_empty() {
                            section["title"] = json!(s.title);
                        }
                        section
                    })
                    .collect();
                json!({
                    "type": "list",
                    "body": {"text": self.body},
                    "action": {"button": button, "sections": sections},
                })
            }
        };
        if !self.header.is_empty() {
            object["header"] = json!({"type": "text", "text": self.header});
        }
        if !self.footer.is_empty() {
            object["footer"] = json!({"text": self.footer});
        }
        object
    }

    /// The text the conversation shows: the body, then the choices, each
    /// with the id the customer's answer carries.
    pub fn shown(&self) -> String {
        let mut lines = vec![self.body.clone()];
        match &self.choices {
            Choices::Buttons(titles) => {
                for (i, t) in titles.iter().enumerate() {
                    lines.push(format!("[{t}] (b{})", i + 1));
                }
            }
            Choices::List { button, sections } => {
                lines.push(format!("List: {button}"));
                let mut n = 0;
                for s in sections {
                    if !s.title.is_empty() {
                        lines.push(format!("{}:", s.title));
                    }
                    for r in &s.rows {
                        n += 1;
                        if r.description.is_empty() {
                            lines.push(format!("• {} (r{n})", r.title));
                        } else {
                            lines.push(format!("• {} ({}) (r{n})", r.title, r.description));
                        }
                    }
                }
            }
        }
        lines.join("\n")
    }
}

/// The id of the choice a customer's interactive answer names, from the
/// Cloud API message as received (`interactive.button_reply.id`,
/// `interactive.list_reply.id`, or a template button's `button.payload`).
pub fn reply_id(raw: &Value) -> Option<&str> {
    [
        "/interactive/button_reply/id",
        "/interactive/list_reply/id",
        "/button/payload",
    ]
    .iter()
    .find_map(|p| raw.pointer(p).and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buttons(titles: &[&str]) -> Interactive {
        Interactive {
            header: String::new(),
            body: "Which size?".into(),
            footer: String::new(),
            choices: Choices::Buttons(titles.iter().map(|t| (*t).to_owned()).collect()),
        }
    }

    #[test]
    fn buttons_follow_metas_limits() {
        assert!(buttons(&["S", "M", "L"]).checked().is_ok());
        assert!(buttons(&[]).checked().is_err());
        assert!(buttons(&["a", "b", "c", "d"]).checked().is_err());
        assert!(buttons(&["Same", "same"]).checked().is_err());
        assert!(buttons(&["x".repeat(21).as_str()]).checked().is_err());
        assert!(buttons(&["x".repeat(20).as_str()]).checked().is_ok());
        let mut long = buttons(&["a"]);
        long.body = "x".repeat(1025);
        assert!(long.checked().is_err());
        let mut footer = buttons(&["a"]);
        footer.footer = "x".repeat(61);
        assert!(footer.checked().is_err());
    }

    #[test]
    fn lists_follow_metas_limits() {
        let row = |t: &str| Row {
            title: t.into(),
            description: String::new(),
        };
        let list = |sections: Vec<Section>| Interactive {
            header: String::new(),
            body: "Pick one".into(),
            footer: String::new(),
            choices: Choices::List {
                button: "Options".into(),
                sections,
            },
        };
        let ok = list(vec![Section {
            title: String::new(),
            rows: vec![row("A"), row("B")],
        }]);
        assert!(ok.clone().checked().is_ok());
        let eleven = list(vec![Section {
            title: "All".into(),
            rows: (0..11).map(|i| row(&format!("R{i}"))).collect(),
        }]);
        assert!(eleven.checked().unwrap_err().starts_with("Rows"));
        let long_row = list(vec![Section {
            title: String::new(),
            rows: vec![row(&"x".repeat(25))],
        }]);
        assert!(long_row.checked().is_err());
        let untitled = list(vec![
            Section {
                title: String::new(),
                rows: vec![row("A")],
            },
            Section {
                title: "Two".into(),
                rows: vec![row("B")],
            },
        ]);
        assert!(untitled.checked().is_err());
        let request = ok.request();
        assert_eq!(request["action"]["sections"][0]["rows"][1]["id"], "r2");
    }

    #[test]
    fn the_reply_id_is_read_from_either_kind_of_answer() {
        let button = json!({"interactive": {"type": "button_reply", "button_reply": {"id": "b2", "title": "M"}}});
        assert_eq!(reply_id(&button), Some("b2"));
        let list = json!({"interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "A"}}});
        assert_eq!(reply_id(&list), Some("r1"));
        assert_eq!(reply_id(&json!({"text": {"body": "hi"}})), None);
    }
}
