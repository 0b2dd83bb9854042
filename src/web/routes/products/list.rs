use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use serde::Deserialize;

use crate::domain::{money, tax};
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::products::Product;
use crate::infra::tenancy::capability::{Capability, ManageCatalogue};
use crate::infra::tenancy::member::{Page, Tenant};

/// Products the list shows at most; past that, searching narrows it.
const LIST_LIMIT: i64 = 200;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    q: String,
    /// `1` lists archived products too.
    archived: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "products/index.html")]
pub struct ProductsPage {
    page: Page,
    products: Vec<Product>,
    q: String,
    archived: bool,
    /// More products match than the list shows.
    truncated: bool,
    limit: i64,
    can_manage: bool,
}

impl ProductsPage {
    fn price(product: &Product) -> String {
        money::shown(product.price, &product.currency)
    }

    fn tax_rate(product: &Product) -> String {
        tax::shown_rate(product.tax_rate)
    }
}

pub async fn index(mut tenant: Tenant, Query(params): Query<ListParams>) -> Result<ProductsPage> {
    let q = params.q.trim().to_owned();
    let archived = params.archived == "1";
    // One more than shown, to know whether there are more.
    let mut products = db::products::list(&mut tenant.tx, &q, archived, LIST_LIMIT + 1).await?;
    tenant.tx.commit().await?;
    let truncated = products.len() as i64 > LIST_LIMIT;
    products.truncate(usize::try_from(LIST_LIMIT).unwrap_or(0));
    Ok(ProductsPage {
        can_manage: ManageCatalogue::allows(tenant.member.role),
        page: tenant.page,
        products,
        q,
        archived,
        truncated,
        limit: LIST_LIMIT,
    })
}
