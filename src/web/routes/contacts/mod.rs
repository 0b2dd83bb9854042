//! Contacts: the list (search, sort, keyset pages) and one contact's page.

mod edit;
mod erase;
mod export;
mod import;
mod list;
mod merge;

pub(crate) use list::search_patterns;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::collections::HashMap;

use serde::Deserialize;
use uuid::Uuid;

use crate::domain::attributes;
use crate::domain::{AttributeDef, Country, EmailAddress, PhoneE164};
use crate::infra::db::contacts::{Contact, ContactFields};
use crate::state::AppState;

/// The upload's limit plus room for the form's framing.
const UPLOAD_LIMIT: usize = crate::features::import::csv_file::MAX_BYTES + 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list::index).post(edit::create))
        .route("/contacts/new", get(edit::new))
        .route(
            "/contacts/import",
            get(import::index)
                .post(import::upload)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route(
            "/contacts/import/{id}",
            get(import::show).post(import::start),
        )
        .route("/contacts/import/{id}/failed.csv", get(import::failed_rows))
        .route("/contacts/export.csv", get(export::export))
        .route("/contacts/{id}", get(edit::show).post(edit::update))
        .route("/contacts/{id}/delete", post(edit::delete))
        .route("/contacts/{id}/erase", post(erase::erase))
        .route("/contacts/{id}/merge", get(merge::show).post(merge::merge))
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

    pub fn from_contact(contact: &Contact, defs: &[AttributeDef]) -> ContactForm {
        ContactForm {
            name: contact.name.clone(),
            phone: contact.phone.clone().unwrap_or_default(),
            email: contact.email.clone().unwrap_or_default(),
            company: contact.company_name.clone().unwrap_or_default(),
            labels: contact.labels.iter().map(|l| l.id.to_string()).collect(),
            opted_out: contact.opted_out.then(|| "on".into()),
            blocked: contact.blocked.then(|| "on".into()),
            attributes: attributes::form_values(defs, &contact.attributes),
        }
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
