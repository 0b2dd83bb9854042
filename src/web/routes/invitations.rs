//! Accepting an invitation: an existing user joins, or a new person creates
//! an account from the link.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::domain::NewPassword;
use crate::domain::text::required_text;
use crate::error::{AppError, Result};
use crate::features::auth::password;
use crate::infra::tenancy::bootstrap::{self, BootstrapError, INVITATION_PREFIX, InvitationView};
use crate::infra::tenancy::member::{MaybeUser, Page};
use crate::infra::tenancy::session_state::AuthSession;
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tokens::TenantToken;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::routes::MessagePage;

pub fn router() -> Router<AppState> {
    Router::new().route("/invitations/{token}", get(show).post(accept))
}

#[derive(Template, WebTemplate)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    page: Page,
    path: String,
    org_name: String,
    email: String,
    role: String,
    /// Signed in as this user (name, email).
    signed_in_as: Option<(String, String)>,
    errors: Vec<String>,
    name: String,
}

async fn gone(page: Page) -> Response {
    (
        StatusCode::NOT_FOUND,
        MessagePage {
            page,
            heading: "This invitation is not valid".into(),
            body: "The link is wrong, was already used, was revoked, or is older than 7 days. \
                   Ask the person who invited you for a new invitation."
                .into(),
            link: Some(("/login".into(), "Log in".into())),
        },
    )
        .into_response()
}

async fn page_for(user: &MaybeUser, session: &AuthSession) -> Result<Page> {
    Ok(match &user.0 {
        Some(u) => u.page.clone(),
        None => Page::anonymous(session).await?,
    })
}

fn render(
    view: &InvitationView,
    page: Page,
    path: String,
    user: &MaybeUser,
    errors: Vec<String>,
    name: String,
) -> AcceptPage {
    AcceptPage {
        page,
        path,
        org_name: view.org_name.clone(),
        email: view.invitation.email.clone(),
        role: view.invitation.role.to_string(),
        signed_in_as: user
            .0
            .as_ref()
            .map(|u| (u.user.name.clone(), u.user.email.clone())),
        errors,
        name,
    }
}

async fn show(
    State(state): State<AppState>,
    user: MaybeUser,
    session: AuthSession,
    Path(token): Path<String>,
) -> Result<Response> {
    let page = page_for(&user, &session).await?;
    let Some(parsed) = TenantToken::parse(INVITATION_PREFIX, &token) else {
        return Ok(gone(page).await);
    };
    let Some(view) = bootstrap::find_invitation(&state.pool, &parsed)
        .await
        .map_err(anyhow::Error::new)?
    else {
        return Ok(gone(page).await);
    };
    Ok(render(
        &view,
        page,
        format!("/invitations/{token}"),
        &user,
        vec![],
        String::new(),
    )
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AcceptForm {
    name: String,
    password: String,
}

async fn accept(
    State(state): State<AppState>,
    user: MaybeUser,
    session: AuthSession,
    Path(token): Path<String>,
    HtmlForm(form): HtmlForm<AcceptForm>,
) -> Result<Response> {
    let Some(parsed) = TenantToken::parse(INVITATION_PREFIX, &token) else {
        return Ok(gone(page_for(&user, &session).await?).await);
    };
    if let Some(current) = &user.0 {
        return match bootstrap::accept_as_existing_user(
            &state.pool,
            &parsed,
            current.user.id,
            &current.user.email,
        )
        .await
        {
            Ok(org_id) => {
                session.set_org_id(Some(org_id)).await?;
                session
                    .flash(FlashKind::Success, "Welcome to your new workspace.")
                    .await?;
                Ok(Redirect::to("/dashboard").into_response())
            }
            Err(BootstrapError::WrongInvitee) => Err(AppError::Forbidden(
                "accept an invitation sent to another email address; log out and open the link again",
            )),
            Err(BootstrapError::InvitationGone) => Ok(gone(current.page.clone()).await),
            Err(e) => Err(anyhow::Error::new(e).into()),
        };
    }
    let Some(view) = bootstrap::find_invitation(&state.pool, &parsed)
        .await
        .map_err(anyhow::Error::new)?
    else {
        return Ok(gone(Page::anonymous(&session).await?).await);
    };
    let mut errors = vec![];
    let name = required_text(&form.name, "your name", 100, &mut errors);
    let new_password = NewPassword::parse(&form.password)
        .map_err(|e| errors.push(e))
        .ok();
    let again = |errors: Vec<String>| async {
        let page = Page::anonymous(&session).await?;
        Ok::<_, AppError>(
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                render(
                    &view,
                    page,
                    format!("/invitations/{token}"),
                    &user,
                    errors,
                    name.clone(),
                ),
            )
                .into_response(),
        )
    };
    let (Some(new_password), true) = (new_password, errors.is_empty()) else {
        return again(errors).await;
    };
    let hash = password::hash(new_password.expose().to_owned()).await?;
    match bootstrap::accept_as_new_user(&state.pool, &parsed, &name, &hash).await {
        Ok((user_id, org_id)) => {
            session.sign_in(user_id, Some(org_id)).await?;
            session
                .flash(FlashKind::Success, format!("Welcome to {}!", view.org_name))
                .await?;
            Ok(Redirect::to("/dashboard").into_response())
        }
        Err(BootstrapError::EmailTaken) => {
            again(vec![format!(
                "An account for {} already exists: log in with it, then open this link again.",
                view.invitation.email
            )])
            .await
        }
        Err(BootstrapError::InvitationGone) => Ok(gone(Page::anonymous(&session).await?).await),
        Err(e) => Err(anyhow::Error::new(e).into()),
    }
}
