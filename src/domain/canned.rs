//! Canned replies: a shortcode an agent types after `/`, and a text with
//! variables filled from the conversation when it is inserted.

/// The variables a canned reply may use, written `{{name}}`.
pub const VARIABLES: [(&str, &str); 4] = [
    ("first_name", "the contact's first name"),
    ("name", "the contact's full name"),
    ("agent_name", "your name"),
    ("workspace", "the workspace's name"),
];

const MAX_BODY: usize = 4096;
const MAX_SHORTCODE: usize = 40;

/// A shortcode as typed (with or without the leading `/`), lowercased; or
/// why it can't be one.
pub fn parse_shortcode(input: &str) -> Result<String, String> {
    let code = input.trim().trim_start_matches('/').to_lowercase();
    let mut chars = code.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && code.len() <= MAX_SHORTCODE;
    if valid {
        Ok(code)
    } else {
        Err(format!(
            "Shortcode: use 1 to {MAX_SHORTCODE} letters, digits, - or _ (starting with a letter or digit), e.g. “greeting”."
        ))
    }
}

/// The reply text, checked: not empty, not too long, only known variables.
pub fn check_body(input: &str) -> Result<String, Vec<String>> {
    let body = input.trim();
    let mut errors = vec![];
    if body.is_empty() {
        errors.push("Text: write the reply.".to_owned());
    } else if body.chars().count() > MAX_BODY {
        errors.push(format!("Text: at most {MAX_BODY} characters."));
    }
    for name in placeholders(body) {
        if !VARIABLES.iter().any(|(known, _)| *known == name) {
            let known: Vec<String> = VARIABLES
                .iter()
                .map(|(v, _)| format!("{{{{{v}}}}}"))
                .collect();
            errors.push(format!(
                "Text: {{{{{name}}}}} is not a variable; use {}.",
                known.join(", ")
            ));
        }
    }
    if errors.is_empty() {
        Ok(body.to_owned())
    } else {
        Err(errors)
    }
}

/// The names inside `{{...}}` (spaces around the name allowed).
pub fn placeholders(body: &str) -> Vec<&str> {
    let mut names = vec![];
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        names.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    names
}

/// The shortcode being typed at the end of `text` (`/` and the start of a
/// shortcode, alone or after a space), lowercased; `Some("")` right after
/// the `/`.
pub fn typed_shortcode(text: &str) -> Option<String> {
    let start = text.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let token = text[start..].strip_prefix('/')?;
    let valid = token.len() <= MAX_SHORTCODE
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| token.to_lowercase())
}

/// What the variables stand for in one conversation.
#[derive(Debug, Clone, Default)]
pub struct Variables<'a> {
    pub contact_name: &'a str,
    pub agent_name: &'a str,
    pub workspace: &'a str,
}

impl Variables<'_> {
    fn value(&self, name: &str) -> Option<&str> {
        match name {
            "first_name" => Some(self.contact_name.split_whitespace().next().unwrap_or("")),
            "name" => Some(self.contact_name.trim()),
            "agent_name" => Some(self.agent_name),
            "workspace" => Some(self.workspace),
            _ => None,
        }
    }
}

/// The reply with its variables filled in (an unknown one stays as written).
pub fn render(body: &str, vars: &Variables<'_>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match vars.value(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_are_lowercase_words() {
        assert_eq!(parse_shortcode(" /Greeting ").as_deref(), Ok("greeting"));
        assert_eq!(parse_shortcode("ship-2_days").as_deref(), Ok("ship-2_days"));
        assert!(parse_shortcode("").is_err());
        assert!(parse_shortcode("two words").is_err());
        assert!(parse_shortcode("-dash").is_err());
        assert!(parse_shortcode(&"a".repeat(41)).is_err());
    }

    #[test]
    fn bodies_use_only_known_variables() {
        assert!(check_body("Hi {{ first_name }}, {{agent_name}} here").is_ok());
        let Err(errors) = check_body("Hi {{firstname}}") else {
            panic!("an unknown variable must be refused")
        };
        assert!(
            errors[0].contains("{{firstname}} is not a variable"),
            "{errors:?}"
        );
        assert!(check_body("  ").is_err());
    }

    #[test]
    fn the_shortcode_being_typed_is_found_at_the_end() {
        assert_eq!(typed_shortcode("/").as_deref(), Some(""));
        assert_eq!(typed_shortcode("/Gre").as_deref(), Some("gre"));
        assert_eq!(typed_shortcode("Hello /ship").as_deref(), Some("ship"));
        assert_eq!(typed_shortcode("Hello\n/ship").as_deref(), Some("ship"));
        assert_eq!(typed_shortcode("and/or"), None);
        assert_eq!(typed_shortcode("/ship now"), None);
        assert_eq!(typed_shortcode("/a.b"), None);
        assert_eq!(typed_shortcode(""), None);
    }

    #[test]
    fn variables_are_filled_in() {
        let vars = Variables {
            contact_name: "Maria  Souza",
            agent_name: "Adam",
            workspace: "Acme",
        };
        assert_eq!(
            render(
                "Hi {{first_name}} ({{ name }}), {{agent_name}} of {{workspace}}. {{x}} {{",
                &vars
            ),
            "Hi Maria (Maria  Souza), Adam of Acme. {{x}} {{"
        );
        assert_eq!(render("Hi {{first_name}}!", &Variables::default()), "Hi !");
    }
}
