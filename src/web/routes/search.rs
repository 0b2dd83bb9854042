//! The one search box: contacts by partial name, phone or email, and
//! message text, with the searched words marked; each message result opens
//! its conversation at that message.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use serde::Deserialize;

use crate::domain::highlight::{Fragment, highlight, terms};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::contacts::{Contact, ListQuery};
use crate::infra::db::search::MessageHit;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;

const MAX_QUERY_CHARS: usize = 200;
const CONTACTS_SHOWN: i64 = 10;
const MESSAGES_SHOWN: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchParams {
    q: String,
}

/// A contact found, with its name, phone and email marked.
pub struct ContactResult {
    contact: Contact,
    name: Vec<Fragment>,
    phone: Vec<Fragment>,
    email: Vec<Fragment>,
}

/// A message found, with a marked snippet of its text.
pub struct MessageResult {
    hit: MessageHit,
    snippet: Vec<Fragment>,
}

#[derive(Template, WebTemplate)]
#[template(path = "search/index.html")]
pub struct SearchPage {
    page: Page,
    q: String,
    contacts: Vec<ContactResult>,
    messages: Vec<MessageResult>,
}

pub async fn search(mut tenant: Tenant, Query(params): Query<SearchParams>) -> Result<SearchPage> {
    let q = params.q.trim().to_owned();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "A search can be at most {MAX_QUERY_CHARS} characters long."
        )));
    }
    let (mut contacts, mut messages) = (vec![], vec![]);
    if !q.is_empty() {
        let words = terms(&q);
        let country = db::orgs::default_country(&mut tenant.tx).await?;
        let query = ListQuery {
            patterns: super::contacts::search_patterns(&q, country),
            limit: CONTACTS_SHOWN,
            ..ListQuery::default()
        };
        let found = db::contacts::list(&mut tenant.tx, &query).await?;
        contacts = found
            .contacts
            .into_iter()
            .map(|contact| ContactResult {
                name: highlight(&contact.name, &words),
                phone: highlight(contact.phone.as_deref().unwrap_or(""), &words),
                email: highlight(contact.email.as_deref().unwrap_or(""), &words),
                contact,
            })
            .collect();
        let visibility = tenant.member.visibility();
        let hits = db::search::messages(&mut tenant.tx, &q, visibility, MESSAGES_SHOWN).await?;
        messages = hits
            .into_iter()
            .map(|hit| MessageResult {
                snippet: highlight(&hit.body, &words),
                hit,
            })
            .collect();
    }
    tenant.tx.commit().await?;
    Ok(SearchPage {
        page: tenant.page,
        q,
        contacts,
        messages,
    })
}
