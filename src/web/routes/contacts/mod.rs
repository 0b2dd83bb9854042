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

use crate::domain::AttributeDef;
use crate::domain::attributes;
use crate::domain::contact::ContactForm;
use crate::infra::db::contacts::Contact;
use crate::state::AppState;

/// The upload's limit plus room for the form's framing.
const UPLOAD_LIMIT: usize = crate::domain::csv_file::MAX_BYTES + 64 * 1024;

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

/// The form filled with a stored contact, for editing it.
pub fn form_of(contact: &Contact, defs: &[AttributeDef]) -> ContactForm {
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
