//! What a campaign sends each recipient: an approved template with each
//! value it takes (body, header, buttons: its [`Shape`]) filled from the
//! contact or one text for all (Cloud API numbers), or a text with
//! `{{first_name}}`, `{{name}}` and `{{workspace}}` (linked phones, the
//! sandbox).

use crate::domain::ChannelKind;
use crate::domain::canned::{self, Variables};
use crate::domain::template_shape::Shape;
use crate::infra::db;
use crate::infra::db::campaigns::{Campaign, Pending, VariableSource};
use crate::infra::db::templates::Template;
use crate::infra::tenancy::TenantTx;

/// Where a variable's value may come from, as the form offers them.
pub const SOURCES: [(&str, &str); 7] = [
    ("first_name", "First name"),
    ("name", "Full name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("company", "Company"),
    ("attribute", "Attribute (key)"),
    ("text", "This text"),
];

/// The variables a text campaign may use.
const TEXT_VARIABLES: [&str; 3] = ["first_name", "name", "workspace"];

/// A campaign's message, ready to be made for each recipient.
#[derive(Debug, Clone)]
pub enum Content {
    Template {
        // Boxed: a template (with its components) is much larger than text.
        template: Box<Template>,
        sources: Vec<VariableSource>,
    },
    Text {
        body: String,
        workspace: String,
    },
}

/// The campaign's message as it can be sent now, or why it cannot.
pub async fn prepare(
    tx: &mut TenantTx,
    campaign: &Campaign,
) -> anyhow::Result<Result<Content, String>> {
    if campaign.channel_kind == ChannelKind::WhatsappCloud {
        let (Some(name), Some(language)) = (&campaign.template_name, &campaign.template_language)
        else {
            return Ok(Err(
                "Template: a WhatsApp number sends campaigns as an approved template; pick one."
                    .into(),
            ));
        };
        let template = db::templates::find(tx, campaign.channel_id, name, language)
            .await?
            .filter(Template::can_send);
        let Some(template) = template else {
            return Ok(Err(format!(
                "Template: {name} ({language}) is not an approved template of this number any \
                 more. Sync its templates in Settings → Channels, then pick one."
            )));
        };
        let sources = campaign.variables.0.clone();
        let takes = template.fields().len();
        if sources.len() != takes {
            return Ok(Err(format!(
                "Variables: {name} takes {takes} value(s); map each one."
            )));
        }
        return Ok(Ok(Content::Template {
            template: Box::new(template),
            sources,
        }));
    }
    let Some(body) = campaign.body.clone().filter(|b| !b.trim().is_empty()) else {
        return Ok(Err("Text: write the message.".into()));
    };
    let org_id = tx.org_id();
    let workspace = sqlx::query_scalar!("select name from organizations where id = $1", org_id)
        .fetch_one(tx.conn())
        .await?;
    Ok(Ok(Content::Text { body, workspace }))
}

/// What the recipient gets, as text (the template's body filled in, shown
/// in the conversation and the preview).
pub enum Made<'a> {
    Template {
        template: &'a Template,
        values: Vec<String>,
        shown: String,
    },
    Text(String),
}

impl Content {
    /// The message for `contact`, or why it cannot be made for them.
    pub fn make_for(&self, contact: &Pending) -> Result<Made<'_>, String> {
        match self {
            Content::Template { template, sources } => {
                let shape = template
                    .shape()
                    .map_err(|what| format!("The template has {what}"))?;
                let mut values = Vec::with_capacity(sources.len());
                for (n, (source, param)) in sources.iter().zip(&shape.params).enumerate() {
                    let value = value_of(source, contact);
                    if value.is_empty() && param.required {
                        return Err(format!(
                            "Variable {{{{{}}}}} has no value for this contact",
                            n + 1
                        ));
                    }
                    if value.chars().count() > 1024 {
                        return Err(format!(
                            "Variable {{{{{}}}}} is longer than 1024 characters",
                            n + 1
                        ));
                    }
                    values.push(value);
                }
                // Meta's rules for each value (a header line, a code's
                // length, ...), as the inbox checks them: a contact whose
                // values break one is skipped with the reason.
                if let Err(reasons) = shape.build(&template.name, &template.language, &values) {
                    return Err(reasons.join(" "));
                }
                // Named variables too: the shown text is the template's own
                // rendering of the values.
                let shown = shape.preview(&values).1;
                Ok(Made::Template {
                    template,
                    values,
                    shown,
                })
            }
            Content::Text { body, workspace } => {
                let vars = Variables {
                    contact_name: &contact.name,
                    agent_name: "",
                    workspace,
                };
                let text = canned::render(body, &vars);
                if text.trim().is_empty() {
                    return Err("The message is empty for this contact".into());
                }
                Ok(Made::Text(text))
            }
        }
    }
}

/// Checks a campaign's values against the template's [`Shape`] when the
/// campaign is saved: fixed texts as typed, a contact's field by a
/// stand-in that fits its slot (each contact's own value is checked when
/// their message is made). Meta's reasons, naming each value.
pub fn check_sources(shape: &Shape, sources: &[VariableSource]) -> Result<(), Vec<String>> {
    use crate::domain::template_shape::Slot;
    let values: Vec<String> = sources
        .iter()
        .zip(&shape.params)
        .map(|(source, param)| match source.source.as_str() {
            "text" | "" => source.text.trim().to_owned(),
            _ => match param.slot {
                Slot::HeaderMedia(_) => "1".to_owned(),
                Slot::HeaderLatitude | Slot::HeaderLongitude => "0".to_owned(),
                _ => "x".to_owned(),
            },
        })
        .collect();
    shape.build("check", "en", &values).map(|_| ())
}

/// A variable's value for the contact: its field, or the fallback text.
fn value_of(source: &VariableSource, contact: &Pending) -> String {
    let field = match source.source.as_str() {
        "first_name" => contact
            .name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        "name" => contact.name.trim().to_owned(),
        "phone" => contact.phone.clone().unwrap_or_default(),
        "email" => contact.email.clone().unwrap_or_default(),
        "company" => contact.company.clone().unwrap_or_default(),
        "attribute" => match contact.attributes.get(source.key.trim()) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        },
        _ => String::new(),
    };
    let field = field.trim();
    if field.is_empty() {
        source.text.trim().to_owned()
    } else {
        field.to_owned()
    }
}

/// A text campaign's body checked: not empty, at most 4,096 characters,
/// only its variables.
pub fn check_text(body: &str) -> Result<String, Vec<String>> {
    let checked = canned::check_body(body)?;
    let unknown: Vec<String> = canned::placeholders(&checked)
        .into_iter()
        .filter(|name| !TEXT_VARIABLES.contains(name))
        .map(|name| format!("Text: {{{{{name}}}}} is not a campaign variable; use {{{{first_name}}}}, {{{{name}}}} or {{{{workspace}}}}."))
        .collect();
    if unknown.is_empty() {
        Ok(checked)
    } else {
        Err(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn contact(name: &str, attributes: serde_json::Value) -> Pending {
        Pending {
            contact_id: Uuid::nil(),
            name: name.into(),
            phone: Some("+5581998765432".into()),
            email: None,
            company: Some("Acme".into()),
            attributes,
            opted_out: false,
            blocked: false,
        }
    }

    fn template(body: &str, variables: i32) -> Template {
        Template {
            name: "promo".into(),
            language: "pt_BR".into(),
            category: "MARKETING".into(),
            status: crate::domain::TemplateStatus::Approved,
            body: body.into(),
            variables,
            other_parameters: false,
            components: serde_json::json!([{"type": "BODY", "text": body}]),
            parameter_format: "POSITIONAL".into(),
            graph_id: None,
            status_reason: None,
        }
    }

    fn source(source: &str, key: &str, text: &str) -> VariableSource {
        VariableSource {
            source: source.into(),
            key: key.into(),
            text: text.into(),
        }
    }

    #[test]
    fn variables_come_from_the_contact_or_their_fallback() {
        let content = Content::Template {
            template: Box::new(template("Oi {{1}}, {{2}} tem {{3}} pontos ({{4}})", 4)),
            sources: vec![
                source("first_name", "", ""),
                source("company", "", ""),
                source("attribute", "points", ""),
                source("attribute", "tier", "bronze"),
            ],
        };
        let made = content
            .make_for(&contact("Ana Souza", serde_json::json!({"points": 120})))
            .expect("made");
        let Made::Template { values, shown, .. } = made else {
            panic!("a template")
        };
        assert_eq!(values, ["Ana", "Acme", "120", "bronze"]);
        assert_eq!(shown, "Oi Ana, Acme tem 120 pontos (bronze)");
    }

    #[test]
    fn an_empty_variable_without_fallback_names_the_variable() {
        let content = Content::Template {
            template: Box::new(template("Oi {{1}} {{2}}", 2)),
            sources: vec![source("first_name", "", ""), source("email", "", "")],
        };
        let error = content
            .make_for(&contact("Ana", serde_json::json!({})))
            .err()
            .expect("refused");
        assert_eq!(error, "Variable {{2}} has no value for this contact");
    }

    #[test]
    fn texts_fill_their_variables_and_refuse_unknown_ones() {
        let content = Content::Text {
            body: "Hi {{first_name}}, news from {{workspace}}".into(),
            workspace: "Acme".into(),
        };
        let Ok(Made::Text(text)) = content.make_for(&contact("Bo Li", serde_json::json!({})))
        else {
            panic!("a text")
        };
        assert_eq!(text, "Hi Bo, news from Acme");
        assert!(check_text("Hi {{agent_name}}").is_err());
        assert!(check_text("Hi {{ name }}").is_ok());
        assert!(check_text("  ").is_err());
    }
}
