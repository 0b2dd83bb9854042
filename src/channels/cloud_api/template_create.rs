//! A new template as an owner writes it in wacrm, checked against Meta's
//! rules before it goes to Graph (protocols-field 1.1), and the request
//! body `POST /{WABA_ID}/message_templates` takes.

use serde_json::{Value, json};

/// What the form holds. Buttons come as parallel lists (one row each).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct NewTemplateForm {
    pub name: String,
    pub category: String,
    pub language: String,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    pub header_text: String,
    pub header_example: String,
    pub body: String,
    /// One example per variable, one a line, in order of first use.
    pub body_examples: String,
    pub footer: String,
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `COPY_CODE` or empty (no button).
    pub button_type: Vec<String>,
    pub button_text: Vec<String>,
    /// The URL, the phone number, or the copy code's example.
    pub button_value: Vec<String>,
    /// A URL button's suffix example (when its URL ends with a variable).
    pub button_example: Vec<String>,
}

pub const CATEGORIES: [&str; 3] = ["MARKETING", "UTILITY", "AUTHENTICATION"];
/// Button rows the form shows.
pub const BUTTON_ROWS: usize = 4;

/// The placeholders of `text`, trimmed, in order of first use.
fn variables(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        let name = rest[..end].trim().to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
        rest = &rest[end + 2..];
    }
    names
}

/// Checks the variables of one text; errors name `what`.
fn check_variables(what: &str, names: &[String], named: bool, errors: &mut Vec<String>) {
    if named {
        for name in names {
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
            if !ok {
                errors.push(format!(
                    "{what}: {{{{{name}}}}} is not a valid name (lowercase letters, digits and _, starting with a letter)."
                ));
            }
        }
    } else {
        let expected: Vec<String> = (1..=names.len()).map(|n| n.to_string()).collect();
        if names != expected.as_slice() {
            errors.push(format!(
                "{what}: positional variables are {{{{1}}}}, {{{{2}}}}, ... in order."
            ));
        }
    }
}

impl NewTemplateForm {
    fn named(&self) -> bool {
        self.parameter_format.eq_ignore_ascii_case("NAMED")
    }

    /// Graph's create request, or every rule the template breaks (one
    /// line each).
    pub fn request(&self) -> Result<Value, Vec<String>> {
        let mut errors = Vec::new();
        let named = self.named();
        let name = self.name.trim();
        if name.is_empty()
            || name.len() > 512
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            errors.push("Name: lowercase letters, digits and _ only (1 to 512).".to_owned());
        }
        let category = self.category.trim().to_ascii_uppercase();
        if !CATEGORIES.contains(&category.as_str()) {
            errors.push("Category: MARKETING, UTILITY or AUTHENTICATION.".to_owned());
        }
        let language = self.language.trim();
        let language_ok = (2..=10).contains(&language.len())
            && language
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'_');
        if !language_ok {
            errors.push("Language: a code such as en_US or pt_BR.".to_owned());
        }
        let format = self.parameter_format.trim().to_ascii_uppercase();
        if !format.is_empty() && format != "NAMED" && format != "POSITIONAL" {
            errors.push("Variables: named or positional.".to_owned());
        }
        let mut components = Vec::new();

        let header = self.header_text.trim();
        if !header.is_empty() {
            let names = variables(header);
            if header.chars().count() > 60 {
                errors.push("Header: at most 60 characters.".to_owned());
            }
            if names.len() > 1 {
                errors.push("Header: at most one variable.".to_owned());
            }
            check_variables("Header", &names, named, &mut errors);
            let mut component = json!({"type": "HEADER", "format": "TEXT", "text": header});
            if let Some(var) = names.first() {
                let example = self.header_example.trim();
                if example.is_empty() {
                    errors.push("Header: give an example for its variable.".to_owned());
                }
                component["example"] = if named {
                    json!({"header_text_named_params": [{"param_name": var, "example": example}]})
                } else {
                    json!({"header_text": [example]})
                };
            }
            components.push(component);
        }

        let body = self.body.trim();
        if body.is_empty() {
            errors.push("Body: write the message.".to_owned());
        }
        if body.chars().count() > 1024 {
            errors.push("Body: at most 1024 characters.".to_owned());
        }
        let names = variables(body);
        check_variables("Body", &names, named, &mut errors);
        let examples: Vec<&str> = self
            .body_examples
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if examples.len() != names.len() {
            errors.push(format!(
                "Body examples: one per variable, one a line ({} variable(s), {} example(s)).",
                names.len(),
                examples.len()
            ));
        }
        let mut component = json!({"type": "BODY", "text": body});
        if !names.is_empty() && examples.len() == names.len() {
            component["example"] = if named {
                let params: Vec<Value> = names
                    .iter()
                    .zip(&examples)
                    .map(|(n, e)| json!({"param_name": n, "example": e}))
                    .collect();
                json!({"body_text_named_params": params})
            } else {
                json!({"body_text": [examples]})
            };
        }
        components.push(component);

        let footer = self.footer.trim();
        if !footer.is_empty() {
            if footer.chars().count() > 60 {
                errors.push("Footer: at most 60 characters.".to_owned());
            }
            if footer.contains("{{") {
                errors.push("Footer: no variables.".to_owned());
            }
            components.push(json!({"type": "FOOTER", "text": footer}));
        }

        let buttons = self.buttons(&mut errors);
        if !buttons.is_empty() {
            components.push(json!({"type": "BUTTONS", "buttons": buttons}));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut request = json!({
            "name": name,
            "language": language,
            "category": category,
            "components": components,
        });
        if named {
            request["parameter_format"] = json!("named");
        }
        Ok(request)
    }

    fn buttons(&self, errors: &mut Vec<String>) -> Vec<Value> {
        let cell = |list: &Vec<String>, i: usize| {
            list.get(i).map(|s| s.trim().to_owned()).unwrap_or_default()
        };
        let mut buttons = Vec::new();
        let mut kinds = Vec::new();
        for i in 0..self.button_type.len() {
            let kind = cell(&self.button_type, i).to_ascii_uppercase();
            if kind.is_empty() {
                continue;
            }
            let n = i + 1;
            let text = cell(&self.button_text, i);
            let value = cell(&self.button_value, i);
            if kind != "COPY_CODE" && (text.is_empty() || text.chars().count() > 25) {
                errors.push(format!("Button {n}: its text, 1 to 25 characters."));
            }
            let button = match kind.as_str() {
                "QUICK_REPLY" => json!({"type": "QUICK_REPLY", "text": text}),
                "URL" => {
                    let names = variables(&value);
                    let parsed = url::Url::parse(&value.replace("{{1}}", "x"));
                    if value.chars().count() > 2000
                        || !parsed.is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
                    {
                        errors.push(format!(
                            "Button {n}: a link (https://...), at most 2000 characters."
                        ));
                    }
                    let mut button = json!({"type": "URL", "text": text, "url": value});
                    if !names.is_empty() {
                        if names != ["1"] || !value.ends_with("{{1}}") {
                            errors.push(format!(
                                "Button {n}: a link takes one variable, {{{{1}}}}, at its end."
                            ));
                        }
                        let example = cell(&self.button_example, i);
                        if example.is_empty() {
                            errors.push(format!(
                                "Button {n}: give an example for the end of the link."
                            ));
                        }
                        button["example"] = json!([example]);
                    }
                    button
                }
                "PHONE_NUMBER" => {
                    let ok = value.starts_with('+')
                        && (8..=20).contains(&value.len())
                        && value[1..].bytes().all(|b| b.is_ascii_digit());
                    if !ok {
                        errors.push(format!(
                            "Button {n}: a phone number such as +5581998765432 (at most 20 characters)."
                        ));
                    }
                    json!({"type": "PHONE_NUMBER", "text": text, "phone_number": value})
                }
                "COPY_CODE" => {
                    if value.is_empty() || value.chars().count() > 15 {
                        errors.push(format!("Button {n}: an example code, 1 to 15 characters."));
                    }
                    json!({"type": "COPY_CODE", "example": value})
                }
                _ => {
                    errors.push(format!("Button {n}: pick a kind."));
                    continue;
                }
            };
            kinds.push(kind);
            buttons.push(button);
        }
        let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
        if kinds.len() > 10 {
            errors.push("Buttons: at most 10.".to_owned());
        }
        if count("URL") > 2 {
            errors.push("Buttons: at most 2 links.".to_owned());
        }
        if count("PHONE_NUMBER") > 1 {
            errors.push("Buttons: at most 1 phone number.".to_owned());
        }
        if count("COPY_CODE") > 1 {
            errors.push("Buttons: at most 1 copy code.".to_owned());
        }
        // Quick replies must sit together (QR, QR, URL is fine; QR, URL, QR
        // is refused by Meta).
        let first = kinds.iter().position(|k| k == "QUICK_REPLY");
        let last = kinds.iter().rposition(|k| k == "QUICK_REPLY");
        if let (Some(first), Some(last)) = (first, last)
            && kinds[first..=last].iter().any(|k| k != "QUICK_REPLY")
        {
            errors.push("Buttons: keep the quick replies together.".to_owned());
        }
        buttons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> NewTemplateForm {
        NewTemplateForm {
            name: "order_ready".into(),
            category: "UTILITY".into(),
            language: "en_US".into(),
            parameter_format: "POSITIONAL".into(),
            body: "Hi {{1}}, order {{2}} is ready.".into(),
            body_examples: "Ana\nA-17\n".into(),
            ..NewTemplateForm::default()
        }
    }

    #[test]
    fn a_valid_template_becomes_grahps_create_request() {
        let mut f = form();
        f.header_text = "Order {{1}}".into();
        f.header_example = "A-17".into();
        f.footer = "Acme".into();
        f.button_type = vec![
            "QUICK_REPLY".into(),
            "QUICK_REPLY".into(),
            "URL".into(),
            "".into(),
        ];
        f.button_text = vec!["Yes".into(), "No".into(), "Track".into(), "".into()];
        f.button_value = vec![
            "".into(),
            "".into(),
            "https://shop.example/t/{{1}}".into(),
            "".into(),
        ];
        f.button_example = vec!["".into(), "".into(), "A-17".into(), "".into()];
        let request = f.request().unwrap();
        assert_eq!(request["name"], "order_ready");
        assert!(request.get("parameter_format").is_none());
        let c = &request["components"];
        assert_eq!(c[0]["example"]["header_text"][0], "A-17");
        assert_eq!(c[1]["example"]["body_text"][0][1], "A-17");
        assert_eq!(c[2]["type"], "FOOTER");
        assert_eq!(c[3]["buttons"][2]["example"][0], "A-17");
        assert_eq!(c[3]["buttons"].as_array().unwrap().len(), 3);

        let mut named = form();
        named.parameter_format = "NAMED".into();
        named.body = "Hi {{first_name}}".into();
        named.body_examples = "Ana".into();
        let request = named.request().unwrap();
        assert_eq!(request["parameter_format"], "named");
        assert_eq!(
            request["components"][0]["example"]["body_text_named_params"][0]["param_name"],
            "first_name"
        );
    }

    #[test]
    fn metas_rules_are_checked_before_sending() {
        let mut f = form();
        f.name = "Order Ready".into();
        f.category = "PROMO".into();
        f.body = "Hi {{2}}".into();
        f.body_examples = String::new();
        f.footer = "x".repeat(61);
        f.button_type = vec![
            "QUICK_REPLY".into(),
            "URL".into(),
            "QUICK_REPLY".into(),
            "COPY_CODE".into(),
        ];
        f.button_text = vec!["A".into(), "Go".into(), "B".into(), "".into()];
        f.button_value = vec![
            "".into(),
            "https://x.example/{{1}}/y".into(),
            "".into(),
            "TOO-LONG-A-CODE-1".into(),
        ];
        let errors = f.request().unwrap_err();
        let all = errors.join("\n");
        for expected in [
            "Name:",
            "Category:",
            "Body: positional variables",
            "Body examples:",
            "Footer: at most 60",
            "Button 2: a link takes one variable",
            "Button 4: an example code",
            "keep the quick replies together",
        ] {
            assert!(all.contains(expected), "{expected} in {all}");
        }
        let mut named = form();
        named.parameter_format = "NAMED".into();
        named.body = "Hi {{First}}".into();
        named.body_examples = "Ana".into();
        assert!(named.request().unwrap_err()[0].contains("not a valid name"));
    }
}
