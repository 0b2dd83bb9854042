//! Custom attributes: fields a workspace defines for its contacts or
//! companies, and the rules a typed value must meet to be stored.

use std::collections::HashMap;

use serde_json::{Map, Value};

text_enum! {
    /// Which records an attribute belongs to (`attribute_definitions.entity`).
    pub enum AttributeEntity {
        Contact = "contact",
        Company = "company",
    }
}

/// What an attribute holds; stored as JSON of the matching type. Stored as
/// `attribute_definitions.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AttributeKind {
    Text,
    Number,
    /// `YYYY-MM-DD`, stored as that string (sorts and compares as text).
    Date,
    /// One of the definition's options.
    Select,
    Checkbox,
}

impl AttributeKind {
    pub const ALL: [(AttributeKind, &'static str); 5] = [
        (AttributeKind::Text, "Text"),
        (AttributeKind::Number, "Number"),
        (AttributeKind::Date, "Date"),
        (AttributeKind::Select, "Choice from a list"),
        (AttributeKind::Checkbox, "Checkbox (yes/no)"),
    ];

    pub fn parse(input: &str) -> Option<AttributeKind> {
        Some(match input {
            "text" => AttributeKind::Text,
            "number" => AttributeKind::Number,
            "date" => AttributeKind::Date,
            "select" => AttributeKind::Select,
            "checkbox" => AttributeKind::Checkbox,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKind::Text => "text",
            AttributeKind::Number => "number",
            AttributeKind::Date => "date",
            AttributeKind::Select => "select",
            AttributeKind::Checkbox => "checkbox",
        }
    }
}

/// A workspace's attribute, as the forms and validation need it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    pub id: uuid::Uuid,
    pub key: String,
    pub label: String,
    pub kind: AttributeKind,
    pub options: Vec<String>,
}

/// Longest text value kept.
const MAX_TEXT: usize = 1000;

/// Form fields of attributes are named `attr.{key}`.
const FIELD_PREFIX: &str = "attr.";

impl AttributeDef {
    /// The form field's name.
    pub fn field(&self) -> String {
        format!("{FIELD_PREFIX}{}", self.key)
    }

    /// A typed value as stored; `None` for an empty field (or an unticked box).
    pub fn parse_value(&self, typed: &str) -> Result<Option<Value>, String> {
        let typed = typed.trim();
        if typed.is_empty() {
            return Ok(match self.kind {
                AttributeKind::Checkbox => Some(Value::Bool(false)),
                _ => None,
            });
        }
        let label = &self.label;
        match self.kind {
            AttributeKind::Text if typed.chars().count() > MAX_TEXT => Err(format!(
                "{label} is too long ({MAX_TEXT} characters at most)."
            )),
            AttributeKind::Text => Ok(Some(Value::String(typed.to_owned()))),
            AttributeKind::Number => typed
                .replace([' ', '_'], "")
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(|n| Some(Value::Number(integral(n))))
                .ok_or_else(|| format!("{label}: “{typed}” is not a number.")),
            AttributeKind::Date => {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(typed, format)
                    .map(|_| Some(Value::String(typed.to_owned())))
                    .map_err(|_| format!("{label}: “{typed}” is not a date (YYYY-MM-DD)."))
            }
            AttributeKind::Select => self
                .options
                .iter()
                .find(|o| o.as_str() == typed)
                .map(|o| Some(Value::String(o.clone())))
                .ok_or_else(|| format!("{label}: pick one of the choices offered.")),
            AttributeKind::Checkbox => match typed {
                "on" | "true" | "yes" | "1" => Ok(Some(Value::Bool(true))),
                "false" | "no" | "0" => Ok(Some(Value::Bool(false))),
                _ => Err(format!("{label}: tick the box or leave it.")),
            },
        }
    }

    /// A stored value as a form field shows it.
    pub fn display(&self, value: Option<&Value>) -> String {
        match value {
            None | Some(Value::Null) | Some(Value::Bool(false)) => String::new(),
            Some(Value::Bool(true)) => "on".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// `3.0` is stored (and shown) as `3`.
fn integral(n: serde_json::Number) -> serde_json::Number {
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => serde_json::Number::from(f as i64),
        _ => n,
    }
}

/// Every defined attribute's value from a form's `attr.*` fields; every
/// problem at once. Fields for undefined attributes are ignored.
pub fn parse_form(
    defs: &[AttributeDef],
    typed: &HashMap<String, String>,
    errors: &mut Vec<String>,
) -> Map<String, Value> {
    let mut values = Map::new();
    for def in defs {
        let field = typed.get(&def.field()).map(String::as_str).unwrap_or("");
        match def.parse_value(field) {
            Ok(Some(value)) => {
                values.insert(def.key.clone(), value);
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    values
}

/// Stored values as form fields (`attr.{key}` → text), to fill a form.
pub fn form_values(defs: &[AttributeDef], stored: &Value) -> HashMap<String, String> {
    defs.iter()
        .map(|def| (def.field(), def.display(stored.get(&def.key))))
        .filter(|(_, shown)| !shown.is_empty())
        .collect()
}

/// A key made from a label: `Customer since` → `customer_since`.
pub fn key_from_label(label: &str) -> String {
    let mut key = String::new();
    for c in label.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_');
    let key = if key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        key.to_owned()
    } else {
        format!("a_{key}")
    };
    key.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('_')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(AttributeEntity);

    #[test]
    fn attribute_kinds_round_trip() {
        for (kind, _) in AttributeKind::ALL {
            assert_eq!(AttributeKind::parse(kind.as_str()), Some(kind));
        }
    }

    fn def(kind: AttributeKind) -> AttributeDef {
        AttributeDef {
            id: uuid::Uuid::nil(),
            key: "k".into(),
            label: "K".into(),
            kind,
            options: vec!["Gold".into(), "Silver".into()],
        }
    }

    #[test]
    fn values_are_checked_and_typed_by_kind() {
        let number = def(AttributeKind::Number);
        assert_eq!(number.parse_value(" 1 200 "), Ok(Some(Value::from(1200))));
        assert_eq!(number.parse_value("2.5"), Ok(Some(Value::from(2.5))));
        assert!(number.parse_value("12a").is_err());
        assert!(number.parse_value("NaN").is_err());
        assert_eq!(number.parse_value(""), Ok(None));
        let date = def(AttributeKind::Date);
        assert_eq!(
            date.parse_value("2026-02-28"),
            Ok(Some(Value::from("2026-02-28")))
        );
        assert!(date.parse_value("2026-02-30").is_err());
        assert!(date.parse_value("28/02/2026").is_err());
        let select = def(AttributeKind::Select);
        assert_eq!(select.parse_value("Gold"), Ok(Some(Value::from("Gold"))));
        assert!(select.parse_value("Bronze").is_err());
        let checkbox = def(AttributeKind::Checkbox);
        assert_eq!(checkbox.parse_value("on"), Ok(Some(Value::Bool(true))));
        assert_eq!(checkbox.parse_value(""), Ok(Some(Value::Bool(false))));
        assert!(
            def(AttributeKind::Text)
                .parse_value(&"x".repeat(1001))
                .is_err()
        );
    }

    #[test]
    fn keys_come_from_labels() {
        assert_eq!(key_from_label("Customer since"), "customer_since");
        assert_eq!(key_from_label("  Plan / Tier! "), "plan_tier");
        assert_eq!(key_from_label("2nd phone"), "a_2nd_phone");
        assert_eq!(key_from_label("Größe"), "gr_e");
    }
}
