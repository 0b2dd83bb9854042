//! Message templates: what the Graph API lists for a business account,
//! reduced to what the inbox needs (the body with its `{{n}}` placeholders),
//! and the request that sends one with its variables filled.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::infra::db::templates::NewTemplate;

/// A template as Graph lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphTemplate {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub components: Vec<Value>,
}

/// What the inbox keeps of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub body: String,
    /// The highest `{{n}}` of the body.
    pub variables: i32,
    /// Placeholders elsewhere (header, buttons).
    pub other_parameters: bool,
}

/// The highest `{{n}}` placeholder in `text` (0 if none).
pub fn placeholders(text: &str) -> i32 {
    let mut highest = 0;
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        if let Ok(n) = rest[..end].trim().parse::<i32>() {
            highest = highest.max(n);
        }
        rest = &rest[end + 2..];
    }
    highest.min(100)
}

impl GraphTemplate {
    /// What wacrm stores of it.
    pub fn to_stored(&self) -> NewTemplate {
        let summary = self.summary();
        NewTemplate {
            name: self.name.clone(),
            language: self.language.clone(),
            category: self.category.clone(),
            status: self.status.clone(),
            body: summary.body,
            variables: summary.variables,
            other_parameters: summary.other_parameters,
            components: Value::from(self.components.clone()),
        }
    }

    pub fn summary(&self) -> Summary {
        let mut body = String::new();
        let mut other_parameters = false;
        for component in &self.components {
            let kind = component
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let text = component
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind.eq_ignore_ascii_case("BODY") {
                body = text.to_owned();
            } else {
                let media_header = kind.eq_ignore_ascii_case("HEADER")
                    && component
                        .get("format")
                        .and_then(Value::as_str)
                        .is_some_and(|f| !f.eq_ignore_ascii_case("TEXT"));
                let buttons_with_variables = component
                    .get("buttons")
                    .map(|b| placeholders(&b.to_string()) > 0)
                    .unwrap_or(false);
                if placeholders(text) > 0 || media_header || buttons_with_variables {
                    other_parameters = true;
                }
            }
        }
        Summary {
            variables: placeholders(&body),
            body,
            other_parameters,
        }
    }
}

/// The body with its placeholders filled (what the conversation shows).
pub fn render(body: &str, values: &[String]) -> String {
    let mut text = body.to_owned();
    for (i, value) in values.iter().enumerate() {
        text = text.replace(&format!("{{{{{}}}}}", i + 1), value);
    }
    text
}

/// The Cloud API `template` object for a send.
pub fn request(name: &str, language: &str, values: &[String]) -> Value {
    let mut template = json!({"name": name, "language": {"code": language}});
    if !values.is_empty() {
        let parameters: Vec<Value> = values
            .iter()
            .map(|v| json!({"type": "text", "text": v}))
            .collect();
        template["components"] = json!([{"type": "body", "parameters": parameters}]);
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_rendering() {
        assert_eq!(placeholders("Hi {{1}}, order {{2}} ships {{ 3 }}"), 3);
        assert_eq!(placeholders("No variables, {not} {{x}}"), 0);
        assert_eq!(placeholders("Broken {{1"), 0);
        assert_eq!(
            render("Hi {{1}}, order {{2}}.", &["Ana".into(), "A-17".into()]),
            "Hi Ana, order A-17."
        );
    }

    #[test]
    fn a_graph_template_is_summed_up_and_sent_with_its_values() {
        let template: GraphTemplate = serde_json::from_value(json!({
            "name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Your order"},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way."},
                {"type": "FOOTER", "text": "Acme"}
            ]
        }))
        .unwrap();
        assert_eq!(
            template.summary(),
            Summary {
                body: "Hi {{1}}, order {{2}} is on its way.".into(),
                variables: 2,
                other_parameters: false
            }
        );
        let with_image: GraphTemplate = serde_json::from_value(json!({
            "name": "promo", "language": "pt_BR",
            "components": [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Oi"}]
        }))
        .unwrap();
        assert!(with_image.summary().other_parameters);
        let sent = request("order_update", "en_US", &["Ana".into(), "A-17".into()]);
        assert_eq!(sent["language"]["code"], "en_US");
        assert_eq!(sent["components"][0]["parameters"][1]["text"], "A-17");
        assert!(
            request("hello_world", "en_US", &[])
                .get("components")
                .is_none()
        );
    }
}
