//! The signed-in home page of a workspace.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::get;

use crate::error::Result;
use crate::infra::db;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(show))
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    org_name: String,
    user_name: String,
    role: String,
    member_count: i64,
}

async fn show(mut tenant: Tenant) -> Result<DashboardPage> {
    let member_count = db::memberships::count(&mut tenant.tx).await?;
    Ok(DashboardPage {
        org_name: tenant.member.org_name.clone(),
        user_name: tenant.member.user_name.clone(),
        role: tenant.member.role.to_string(),
        member_count,
        page: tenant.page,
    })
}
