use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::{EmailAddress, NewPassword};
use crate::error::Result;
use crate::features::auth::password;
use crate::infra::client_ip::ClientIp;
use crate::infra::db;
use crate::infra::db::user_tokens::Purpose;
use crate::infra::jobs;
use crate::infra::mail::Email;
use crate::infra::rate_limit::{self, RESET_PER_EMAIL, RESET_PER_IP};
use crate::infra::session_store;
use crate::infra::tenancy::member::Page;
use crate::infra::tenancy::session_state::AuthSession;
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tokens;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::routes::MessagePage;

#[derive(Template, WebTemplate)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    page: Page,
    errors: Vec<String>,
    email: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    page: Page,
    errors: Vec<String>,
    token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

pub async fn show_forgot(session: AuthSession) -> Result<Response> {
    Ok(ForgotPage {
        page: Page::anonymous(&session).await?,
        errors: vec![],
        email: String::new(),
    }
    .into_response())
}

/// The answer is the same whether or not the address has an account.
pub async fn submit_forgot(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    HtmlForm(form): HtmlForm<ForgotForm>,
) -> Result<Response> {
    rate_limit::check(&state.pool, RESET_PER_IP, &ip.to_string()).await?;
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                ForgotPage {
                    page: Page::anonymous(&session).await?,
                    errors: vec![e],
                    email: form.email.trim().to_owned(),
                },
            )
                .into_response());
        }
    };
    rate_limit::check(&state.pool, RESET_PER_EMAIL, email.as_str()).await?;
    let mut tx = state.pool.begin().await?;
    if let Some(user) = db::users::find_by_email(&mut tx, &email).await? {
        let secret = tokens::random_secret()?;
        let link = state.url(&format!("/password/reset?token={secret}"));
        let mail = Email {
            to: user.email.clone(),
            subject: "Reset your wacrm password".into(),
            body: format!(
                "Hello {},\n\nSomeone (hopefully you) asked to reset the password of your wacrm account. \
                 Open this link within one hour to choose a new one (it works once):\n\n{link}\n\n\
                 If it was not you, ignore this mail: your password stays as it is.\n",
                user.name
            ),
        };
        db::user_tokens::revoke_all(&mut tx, user.id, Purpose::ResetPassword).await?;
        db::user_tokens::insert(
            &mut tx,
            user.id,
            Purpose::ResetPassword,
            &tokens::hash(&secret),
        )
        .await?;
        jobs::enqueue(&mut tx, &state.secrets, &jobs::SendEmail::from(mail)).await?;
    }
    tx.commit().await?;
    Ok(MessagePage {
        page: Page::anonymous(&session).await?,
        heading: "Check your mail".into(),
        body: format!(
            "If an account exists for {email}, we sent it a link to choose a new password. \
             The link works once, within one hour."
        ),
        link: Some(("/login".into(), "Back to log in".into())),
    }
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

pub async fn show_reset(
    State(state): State<AppState>,
    session: AuthSession,
    Query(query): Query<TokenQuery>,
) -> Result<Response> {
    let mut conn = state.pool.acquire().await?;
    if !db::user_tokens::is_valid(
        &mut conn,
        Purpose::ResetPassword,
        &tokens::hash(&query.token),
    )
    .await?
    {
        return invalid_link(&session).await;
    }
    Ok(ResetPage {
        page: Page::anonymous(&session).await?,
        errors: vec![],
        token: query.token,
    }
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    token: String,
    password: String,
}

pub async fn submit_reset(
    State(state): State<AppState>,
    session: AuthSession,
    HtmlForm(form): HtmlForm<ResetForm>,
) -> Result<Response> {
    let token_hash = tokens::hash(&form.token);
    let new_password = match NewPassword::parse(&form.password) {
        Ok(p) => p,
        Err(e) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                ResetPage {
                    page: Page::anonymous(&session).await?,
                    errors: vec![e],
                    token: form.token,
                },
            )
                .into_response());
        }
    };
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let mut tx = state.pool.begin().await?;
    let Some(user_id) =
        db::user_tokens::consume(&mut tx, Purpose::ResetPassword, &token_hash).await?
    else {
        return invalid_link(&session).await;
    };
    db::users::set_password_hash(&mut tx, user_id, &hash).await?;
    // The link reached the mailbox, so the address is verified; and whoever
    // knew the old password is signed out everywhere.
    db::users::mark_email_verified(&mut tx, user_id).await?;
    let ended = db::users::end_other_sessions(&mut tx, user_id, None).await?;
    tx.commit().await?;
    session_store::forget(&state.session_cache, &ended);
    tracing::info!(%user_id, "password reset");
    session.sign_out().await?;
    session
        .flash(
            FlashKind::Success,
            "Your password was changed. Log in with the new one.",
        )
        .await?;
    Ok(Redirect::to("/login").into_response())
}

async fn invalid_link(session: &AuthSession) -> Result<Response> {
    Ok((
        StatusCode::BAD_REQUEST,
        MessagePage {
            page: Page::anonymous(session).await?,
            heading: "This link is not valid".into(),
            body: "The password reset link is wrong, was already used, or is older than one hour. \
                   Ask for a new one."
                .into(),
            link: Some(("/password/forgot".into(), "Ask for a new link".into())),
        },
    )
        .into_response())
}
