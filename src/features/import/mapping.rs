//! Which contact field each CSV column fills: guessed from the header, then
//! chosen by the person importing. Each field takes at most one column.

use crate::domain::AttributeDef;

/// A contact field a column can fill (stored by its name, `attr.{key}` for
/// custom attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Name,
    Phone,
    Email,
    Company,
    /// Label names separated by `;` or `,`; missing labels are created.
    Labels,
    OptedOut,
    Blocked,
    Attribute(String),
}

const BUILT_IN: [(Field, &str, &str, &[&str]); 7] = [
    (
        Field::Name,
        "name",
        "Name",
        &[
            "name",
            "full name",
            "contact",
            "contact name",
            "nome",
            "nombre",
        ],
    ),
    (
        Field::Phone,
        "phone",
        "Phone",
        &[
            "phone",
            "phone number",
            "mobile",
            "whatsapp",
            "telefone",
            "telefono",
            "tel",
            "cell",
        ],
    ),
    (
        Field::Email,
        "email",
        "Email",
        &["email", "e-mail", "email address", "mail"],
    ),
    (
        Field::Company,
        "company",
        "Company",
        &[
            "company",
            "organization",
            "organisation",
            "empresa",
            "account",
        ],
    ),
    (
        Field::Labels,
        "labels",
        "Labels",
        &["labels", "label", "tags", "tag"],
    ),
    (
        Field::OptedOut,
        "opted_out",
        "Opted out of marketing",
        &["opted out", "opted_out", "opt out", "unsubscribed"],
    ),
    (Field::Blocked, "blocked", "Blocked", &["blocked"]),
];

impl Field {
    pub fn value(&self) -> String {
        match self {
            Field::Attribute(key) => format!("attr.{key}"),
            built_in => BUILT_IN
                .iter()
                .find(|(f, ..)| f == built_in)
                .map(|(_, v, ..)| (*v).to_owned())
                .unwrap_or_default(),
        }
    }

    /// A stored or submitted field name; `None` for "ignore" or anything unknown.
    pub fn parse(value: &str, defs: &[AttributeDef]) -> Option<Field> {
        if let Some(key) = value.strip_prefix("attr.") {
            return defs
                .iter()
                .any(|d| d.key == key)
                .then(|| Field::Attribute(key.to_owned()));
        }
        BUILT_IN
            .iter()
            .find(|(_, v, ..)| *v == value)
            .map(|(f, ..)| f.clone())
    }
}

/// The choices offered for each column: `(value, label)`, "ignore" first.
pub fn choices(defs: &[AttributeDef]) -> Vec<(String, String)> {
    let mut choices = vec![(String::new(), "Don't import".to_owned())];
    choices.extend(
        BUILT_IN
            .iter()
            .map(|(_, v, label, _)| ((*v).to_owned(), (*label).to_owned())),
    );
    choices.extend(
        defs.iter()
            .map(|d| (format!("attr.{}", d.key), d.label.clone())),
    );
    choices
}

/// The field a header most likely means (`""` if none), each field once.
pub fn guess(columns: &[String], defs: &[AttributeDef]) -> Vec<String> {
    let mut taken: Vec<String> = vec![];
    columns
        .iter()
        .map(|column| {
            let header = column.trim().to_lowercase().replace('_', " ");
            let built_in = BUILT_IN
                .iter()
                .find(|(_, v, label, aliases)| {
                    aliases.contains(&header.as_str())
                        || header == label.to_lowercase()
                        || header == v.replace('_', " ")
                })
                .map(|(_, v, ..)| (*v).to_owned());
            let attribute = defs
                .iter()
                .find(|d| header == d.label.to_lowercase() || header == d.key.replace('_', " "))
                .map(|d| format!("attr.{}", d.key));
            match built_in.or(attribute) {
                Some(field) if !taken.contains(&field) => {
                    taken.push(field.clone());
                    field
                }
                _ => String::new(),
            }
        })
        .collect()
}

/// The submitted mapping checked: one entry per column, each field at most
/// once, and something that identifies a contact.
pub fn check(
    submitted: &[String],
    columns: &[String],
    defs: &[AttributeDef],
) -> Result<Vec<Option<Field>>, Vec<String>> {
    let mut errors = vec![];
    let mut fields: Vec<Option<Field>> = vec![];
    for (i, value) in submitted.iter().enumerate() {
        let value = value.trim();
        let column = columns.get(i).map_or("?", String::as_str);
        let field = match value {
            "" => None,
            v => match Field::parse(v, defs) {
                Some(f) => Some(f),
                None => {
                    errors.push(format!("Column “{column}”: pick a field from the list."));
                    None
                }
            },
        };
        if let Some(f) = &field
            && fields.iter().flatten().any(|other| other == f)
        {
            errors.push(format!(
                "Column “{column}”: another column already fills that field; each field takes one column."
            ));
        }
        fields.push(field);
    }
    if submitted.len() != columns.len() {
        errors.push("Pick a field (or “Don't import”) for every column.".to_owned());
    }
    let identifies = fields
        .iter()
        .flatten()
        .any(|f| matches!(f, Field::Name | Field::Phone | Field::Email));
    if !identifies {
        errors.push("Map at least one column to Name, Phone or Email.".to_owned());
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn headers_are_guessed_once_each() {
        let columns = cols(&["Full Name", "WhatsApp", "E-mail", "Notes", "Phone", "Tags"]);
        assert_eq!(
            guess(&columns, &[]),
            cols(&["name", "phone", "email", "", "", "labels"])
        );
    }

    #[test]
    fn a_mapping_needs_one_column_per_field_and_an_identity() {
        let columns = cols(&["a", "b"]);
        assert_eq!(
            check(&cols(&["name", ""]), &columns, &[]).unwrap(),
            vec![Some(Field::Name), None]
        );
        let errors = check(&cols(&["phone", "phone"]), &columns, &[]).unwrap_err();
        assert!(errors[0].contains("another column already fills"));
        let errors = check(&cols(&["company", ""]), &columns, &[]).unwrap_err();
        assert!(errors[0].contains("Name, Phone or Email"));
        let errors = check(&cols(&["attr.nope", "name"]), &columns, &[]).unwrap_err();
        assert!(errors[0].contains("pick a field"));
        assert!(
            check(&cols(&["name"]), &columns, &[]).is_err(),
            "one per column"
        );
    }
}
