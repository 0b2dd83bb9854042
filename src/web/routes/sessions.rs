//! The signed-in user's sessions: where each signed in from and when it was
//! last seen, and signing out all the others (a lost phone, a shared
//! computer).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use time::OffsetDateTime;

use crate::error::Result;
use crate::features::audit;
use crate::infra::client_ip::ClientIp;
use crate::infra::db;
use crate::infra::db::users::SessionRow;
use crate::infra::session_store;
use crate::infra::tenancy::member::{CurrentUser, Page};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile/sessions", get(show))
        .route("/profile/sessions/sign-out-others", post(sign_out_others))
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/sessions.html")]
pub struct SessionsPage {
    page: Page,
    sessions: Vec<SessionRow>,
    current: Option<String>,
}

impl SessionsPage {
    fn when(at: &Option<i64>) -> String {
        at.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute] UTC"
                ))
                .ok()
            })
            .unwrap_or_else(|| "–".to_owned())
    }

    fn is_current(&self, session: &SessionRow) -> bool {
        self.current.as_deref() == Some(session.id.as_str())
    }
}

async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response> {
    let mut conn = state.pool.acquire().await?;
    let sessions = db::users::sessions_of(&mut conn, user.user.id).await?;
    Ok(SessionsPage {
        current: user.session.id(),
        sessions,
        page: user.page,
    }
    .into_response())
}

async fn sign_out_others(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
) -> Result<Response> {
    let mut conn = state.pool.acquire().await?;
    let ended =
        db::users::end_other_sessions(&mut conn, user.user.id, user.session.id().as_deref())
            .await?;
    drop(conn);
    session_store::forget(&state.session_cache, &ended);
    let actor = user.actor(ip);
    let count = ended.len().to_string();
    audit::for_user(
        &state.pool,
        &actor,
        "sign_in.others_signed_out",
        &[("sessions", &count)],
    )
    .await?;
    user.session
        .flash(
            FlashKind::Success,
            format!("Signed out of {} other session(s).", ended.len()),
        )
        .await?;
    Ok(Redirect::to("/profile/sessions").into_response())
}
