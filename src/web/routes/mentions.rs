//! A member's mentions: the private notes that name them with `@`, newest
//! first, each opening its conversation at the note.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::get;

use crate::error::Result;
use crate::infra::db;
use crate::infra::db::mentions::Mention;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;

const SHOWN: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/mentions", get(index))
}

#[derive(Template, WebTemplate)]
#[template(path = "mentions.html")]
pub struct MentionsPage {
    page: Page,
    mentions: Vec<Mention>,
}

async fn index(mut tenant: Tenant) -> Result<MentionsPage> {
    let me = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    let mentions = db::mentions::of_user(&mut tenant.tx, me, visibility, SHOWN).await?;
    db::mentions::mark_seen(&mut tenant.tx, me).await?;
    tenant.tx.commit().await?;
    // This page shows them: the sidebar drawn with it counts none as new.
    tenant.page.nav.new_mentions = 0;
    Ok(MentionsPage {
        page: tenant.page,
        mentions,
    })
}
