//! Merging a duplicate into a contact: pick the other contact by search,
//! then everything of it moves here and it is deleted.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::Redirect;
use serde::Deserialize;
use uuid::Uuid;

use super::list::search_patterns;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::contacts::{Contact, ListQuery, Sort};
use crate::infra::tenancy::capability::DeleteRecords;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// Candidates shown per search.
const CANDIDATES: i64 = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MergeSearch {
    q: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/merge.html")]
pub struct MergePage {
    page: Page,
    contact: Contact,
    q: String,
    candidates: Vec<Contact>,
}

pub async fn show(
    mut tenant: Tenant<DeleteRecords>,
    PathId(id): PathId,
    Query(search): Query<MergeSearch>,
) -> Result<MergePage> {
    let contact = db::contacts::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let q = search.q.trim().to_owned();
    let candidates = if q.is_empty() {
        vec![]
    } else {
        let country = db::orgs::default_country(&mut tenant.tx).await?;
        let query = ListQuery {
            patterns: search_patterns(&q, country),
            sort: Sort::NameAsc,
            limit: CANDIDATES,
            ..ListQuery::default()
        };
        let mut found = db::contacts::list(&mut tenant.tx, &query).await?.contacts;
        found.retain(|c| c.id != contact.id);
        found
    };
    Ok(MergePage {
        page: tenant.page,
        contact,
        q,
        candidates,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MergeForm {
    other: String,
}

pub async fn merge(
    mut tenant: Tenant<DeleteRecords>,
    PathId(keep): PathId,
    HtmlForm(form): HtmlForm<MergeForm>,
) -> Result<Redirect> {
    let gone = Uuid::try_parse(form.other.trim()).map_err(|_| AppError::NotFound)?;
    if keep == gone {
        return Err(AppError::BadRequest(
            "A contact cannot be merged into itself; pick another one.".into(),
        ));
    }
    if !db::contacts::merge(&mut tenant.tx, keep, gone).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Contacts merged: notes and labels moved here.",
        )
        .await?;
    Ok(Redirect::to(&format!("/contacts/{keep}")))
}
