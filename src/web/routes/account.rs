//! Deleting one's own account (`crate::features::account_deletion`): a page that says
//! what goes and what stays, workspace by workspace, and the form that does
//! it after the password (and second factor) are checked again.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::Result;
use crate::features::account_deletion::{self, Outcome, WorkspaceFate};
use crate::features::auth::password::{self, Verified};
use crate::features::auth::second_factor;
use crate::infra::client_ip::ClientIp;
use crate::infra::db;
use crate::infra::rate_limit::{self, LOGIN_PER_EMAIL};
use crate::infra::session_store;
use crate::infra::tenancy::member::{CurrentUser, Page};
use crate::infra::tenancy::session_state::AuthSession;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::routes::MessagePage;

const PAGE: &str = "/profile/delete";
const GOODBYE: &str = "/account-deleted";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(show).post(delete))
        .route(GOODBYE, get(goodbye))
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/delete.html")]
struct DeletePage {
    page: Page,
    errors: Vec<String>,
    workspaces: Vec<WorkspaceFate>,
    /// The workspace the session is in (its pages are a plain link away).
    current: Option<Uuid>,
    two_factor_on: bool,
}

impl DeletePage {
    fn is_current(&self, workspace: &WorkspaceFate) -> bool {
        self.current == Some(workspace.org_id)
    }

    fn blocked(&self) -> bool {
        self.workspaces.iter().any(WorkspaceFate::blocks)
    }

    fn deleted_with_it(&self) -> Vec<&WorkspaceFate> {
        self.workspaces
            .iter()
            .filter(|w| w.deleted_with_it())
            .collect()
    }

    fn left(&self) -> Vec<&WorkspaceFate> {
        self.workspaces
            .iter()
            .filter(|w| !w.blocks() && !w.deleted_with_it())
            .collect()
    }
}

async fn render(
    state: &AppState,
    user: CurrentUser,
    status: StatusCode,
    errors: Vec<String>,
) -> Result<Response> {
    let workspaces = account_deletion::assess(&state.env(), user.user.id).await?;
    let mut conn = state.pool.acquire().await?;
    let two_factor_on = db::two_factor::sealed_secret(&mut conn, user.user.id)
        .await?
        .is_some();
    drop(conn);
    let page = DeletePage {
        current: user.session.org_id().await?,
        page: user.page,
        errors,
        workspaces,
        two_factor_on,
    };
    Ok((status, page).into_response())
}

async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response> {
    render(&state, user, StatusCode::OK, vec![]).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeleteForm {
    password: String,
    code: String,
    /// Ticked: the workspaces with no other members go too.
    delete_workspaces: Option<String>,
}

const NOTHING_DELETED: &str = "Nothing was deleted.";

#[tracing::instrument(skip_all, fields(user_id = %user.user.id))]
async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<DeleteForm>,
) -> Result<Response> {
    let workspaces = account_deletion::assess(&state.env(), user.user.id).await?;
    let reasons: Vec<String> = workspaces.iter().filter_map(|w| w.reason()).collect();
    if !reasons.is_empty() {
        return render(&state, user, StatusCode::CONFLICT, reasons).await;
    }
    if workspaces.iter().any(|w| w.deleted_with_it()) && form.delete_workspaces.is_none() {
        let error = format!(
            "Tick the box to confirm that the workspaces with no other members are deleted \
             with your account. {NOTHING_DELETED}"
        );
        return render(&state, user, StatusCode::UNPROCESSABLE_ENTITY, vec![error]).await;
    }
    // The same limits as signing in: a session left open must not become
    // a way to guess the password or the code.
    rate_limit::check(&state.pool, LOGIN_PER_EMAIL, &user.user.email).await?;
    if password::verify(form.password.clone(), user.user.password_hash.clone()).await?
        == Verified::Wrong
    {
        let error = format!("Your password is not right. {NOTHING_DELETED}");
        return render(&state, user, StatusCode::UNPROCESSABLE_ENTITY, vec![error]).await;
    }
    let mut conn = state.pool.acquire().await?;
    let two_factor_on = db::two_factor::sealed_secret(&mut conn, user.user.id)
        .await?
        .is_some();
    drop(conn);
    if two_factor_on
        && second_factor::check(&state.pool, &state.secrets, user.user.id, form.code.trim())
            .await?
            .is_none()
    {
        let error = format!(
            "That code is not valid. Type the code your app shows now, or a recovery code. {NOTHING_DELETED}"
        );
        return render(&state, user, StatusCode::UNPROCESSABLE_ENTITY, vec![error]).await;
    }
    match account_deletion::delete_account(&state.env(), &user.user, &user.actor(ip)).await? {
        Outcome::Blocked(blocking) => {
            // Something changed since the check above (a member left...).
            let reasons = blocking.iter().filter_map(|w| w.reason()).collect();
            render(&state, user, StatusCode::CONFLICT, reasons).await
        }
        Outcome::Deleted(done) => {
            session_store::forget(&state.session_cache, &done.sessions);
            user.session.sign_out().await?;
            tracing::info!(
                sessions = done.sessions.len(),
                workspaces_left = done.left.len(),
                workspaces_deleted = done.deleted.len(),
                api_tokens_revoked = done.api_tokens_revoked,
                invitations_revoked = done.invitations_revoked,
                "account deleted"
            );
            Ok(Redirect::to(GOODBYE).into_response())
        }
    }
}

/// Where a deleted account lands (it says nothing about anyone).
async fn goodbye(session: AuthSession) -> Result<MessagePage> {
    Ok(MessagePage {
        page: Page::anonymous(&session).await?,
        heading: "Your account was deleted".into(),
        body: "You were signed out on every device. We sent a last mail to confirm it. \
               You can sign up again with the same address at any time; it starts a new, empty account."
            .into(),
        link: Some(("/signup".into(), "Sign up".into())),
    })
}
