use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use serde::Deserialize;

use crate::error::Result;
use crate::infra::db;
use crate::infra::db::companies::Company;
use crate::infra::db::keyset::{Cursor, Sort};
use crate::infra::tenancy::member::{Page, Tenant};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub(super) q: String,
    pub(super) sort: String,
    pub(super) after: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "companies/index.html")]
pub struct CompaniesPage {
    page: Page,
    companies: Vec<Company>,
    q: String,
    sort: Sort,
    sorts: [(Sort, &'static str); 4],
    /// Query string of the next page, if there is one.
    next: Option<String>,
    paged: bool,
}

pub async fn index(mut tenant: Tenant, Query(params): Query<ListParams>) -> Result<CompaniesPage> {
    let sort = Sort::from_param(&params.sort)?;
    let after = Cursor::from_param(&params.after, sort)?;
    let q = params.q.trim().to_owned();
    let page = db::companies::list(&mut tenant.tx, &q, sort, after.as_ref(), PAGE_SIZE).await?;
    Ok(CompaniesPage {
        companies: page.companies,
        next: page.next.map(|cursor| cursor.next_page_query(&[("q", &q)])),
        q,
        sort,
        sorts: Sort::ALL,
        paged: after.is_some(),
        page: tenant.page,
    })
}
