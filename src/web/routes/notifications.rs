//! The member's in-app notifications (task reminders): newest first, and
//! "mark all read", which clears the header's count.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::local_time;
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::user_notifications::Notification;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;

/// Notifications the page shows.
const SHOWN: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(show))
        .route("/notifications/read", post(mark_all_read))
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: Page,
    notifications: Vec<Notification>,
    time_zone: String,
}

impl NotificationsPage {
    fn when(&self, n: &Notification) -> String {
        local_time::shown(n.created_at, &self.time_zone)
    }
}

async fn show(mut tenant: Tenant) -> Result<Response> {
    let user = tenant.member.user_id;
    let notifications = db::user_notifications::of_user(&mut tenant.tx, user, SHOWN).await?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok(NotificationsPage {
        page: tenant.page,
        notifications,
        time_zone,
    }
    .into_response())
}

async fn mark_all_read(mut tenant: Tenant) -> Result<Response> {
    let user = tenant.member.user_id;
    db::user_notifications::mark_all_read(&mut tenant.tx, user).await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to("/notifications").into_response())
}
