//! A contact as a person types it (a form, an API call, an import row) and
//! the checked fields it becomes.

use std::collections::HashMap;

use serde::Deserialize;
use uuid::Uuid;

use super::attributes;
use super::{AttributeDef, Country, EmailAddress, PhoneE164};

/// What a form or the API may set.
#[derive(Debug, Clone)]
pub struct ContactFields {
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub email: Option<EmailAddress>,
    /// The company's name as typed; see `routes::contacts` for how it is found.
    pub company_name: Option<String>,
    /// Set with `labels::set_for` after the row is saved.
    pub label_ids: Vec<Uuid>,
    /// Custom attribute values, already checked against their definitions.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub opted_out: bool,
    pub blocked: bool,
}

/// The contact form as typed (kept to show it back with the errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    pub name: String,
    pub phone: String,
    pub email: String,
    /// A company's name: an existing one is linked, a new one is created.
    pub company: String,
    /// Ticked label ids (a checkbox group: the field repeats).
    pub labels: Vec<String>,
    /// Checkboxes: present (`on`) or absent.
    pub opted_out: Option<String>,
    pub blocked: Option<String>,
    /// Everything else; custom attributes are the `attr.*` fields.
    #[serde(flatten)]
    pub attributes: HashMap<String, String>,
}

impl ContactForm {
    pub fn has_label(&self, id: &Uuid) -> bool {
        let id = id.to_string();
        self.labels.contains(&id)
    }

    /// A custom attribute's field as typed (or stored).
    pub fn attr(&self, def: &AttributeDef) -> &str {
        self.attributes.get(&def.field()).map_or("", String::as_str)
    }

    /// Every problem at once, each naming its field.
    pub fn parse(
        &self,
        country: Option<Country>,
        defs: &[AttributeDef],
    ) -> Result<ContactFields, Vec<String>> {
        let mut errors = vec![];
        let attributes = attributes::parse_form(defs, &self.attributes, &mut errors);
        let name = self.name.trim().to_owned();
        if name.chars().count() > 200 {
            errors.push("Name is too long (200 characters at most).".to_owned());
        }
        let phone = match self.phone.trim() {
            "" => None,
            typed => PhoneE164::parse(typed, country)
                .map_err(|e| errors.push(format!("Phone: {e}")))
                .ok(),
        };
        let email = match self.email.trim() {
            "" => None,
            typed => EmailAddress::parse(typed)
                .map_err(|e| errors.push(format!("Email: {e}")))
                .ok(),
        };
        let company_name = Some(self.company.trim().to_owned()).filter(|c| !c.is_empty());
        if company_name
            .as_ref()
            .is_some_and(|c| c.chars().count() > 200)
        {
            errors.push("Company is too long (200 characters at most).".to_owned());
        }
        let label_ids: Vec<Uuid> = self
            .labels
            .iter()
            .filter_map(|l| Uuid::try_parse(l.trim()).ok())
            .collect();
        if label_ids.len() != self.labels.len() {
            errors.push("Labels: pick labels from the list.".to_owned());
        }
        if name.is_empty() && self.phone.trim().is_empty() && self.email.trim().is_empty() {
            errors.push("Enter at least a name, a phone number or an email address.".to_owned());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ContactFields {
            name,
            phone,
            email,
            company_name,
            label_ids,
            attributes,
            opted_out: self.opted_out.is_some(),
            blocked: self.blocked.is_some(),
        })
    }
}
