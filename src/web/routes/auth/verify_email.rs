use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::EmailAddress;
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::user_tokens::Purpose;
use crate::infra::jobs;
use crate::infra::mail::Email;
use crate::infra::tenancy::member::{CurrentUser, MaybeUser, Page};
use crate::infra::tenancy::session_state::AuthSession;
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tokens;
use crate::state::AppState;
use crate::web::routes::MessagePage;

/// Queue a mail with a fresh verification link. Failures are logged, not
/// shown: the user can ask again from the banner.
pub async fn send_verification(state: &AppState, user_id: Uuid, email: &EmailAddress) {
    let result = async {
        let secret = tokens::random_secret()?;
        let link = state.url(&format!("/verify-email?token={secret}"));
        let mail = Email {
            to: email.to_string(),
            subject: "Verify your email for wacrm".into(),
            body: format!(
                "Hello,\n\nPlease confirm that this is your email address by opening this link \
                 (valid for 24 hours):\n\n{link}\n\nIf you did not sign up for wacrm, ignore this mail.\n"
            ),
        };
        let mut tx = state.pool.begin().await?;
        db::user_tokens::insert(&mut tx, user_id, Purpose::VerifyEmail, &tokens::hash(&secret)).await?;
        jobs::enqueue(&mut tx, &state.secrets, &jobs::SendEmail::from(mail)).await?;
        tx.commit().await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %format!("{e:#}"), %user_id, "could not queue the verification mail");
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

pub async fn verify(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    session: AuthSession,
    Query(query): Query<TokenQuery>,
) -> Result<Response> {
    let mut conn = state.pool.acquire().await?;
    let user_id =
        db::user_tokens::consume(&mut conn, Purpose::VerifyEmail, &tokens::hash(&query.token))
            .await?;
    let Some(user_id) = user_id else {
        let page = match &user {
            Some(u) => u.page.clone(),
            None => Page::anonymous(&session).await?,
        };
        return Ok((
            axum::http::StatusCode::BAD_REQUEST,
            MessagePage {
                page,
                heading: "This link is not valid".into(),
                body:
                    "The verification link is wrong, was already used, or is older than 24 hours. \
                       Log in and ask for a new one from the banner at the top of the page."
                        .into(),
                link: Some(("/dashboard".into(), "Go to wacrm".into())),
            },
        )
            .into_response());
    };
    db::users::mark_email_verified(&mut conn, user_id).await?;
    session
        .flash(
            FlashKind::Success,
            "Thank you: your email address is verified.",
        )
        .await?;
    Ok(Redirect::to(if user.is_some() {
        "/dashboard"
    } else {
        "/login"
    })
    .into_response())
}

pub async fn resend(State(state): State<AppState>, user: CurrentUser) -> Result<Redirect> {
    if user.user.email_verified_at.is_none()
        && let Ok(email) = EmailAddress::parse(&user.user.email)
    {
        crate::infra::rate_limit::check(
            &state.pool,
            crate::infra::rate_limit::RESET_PER_EMAIL,
            &format!("verify:{email}"),
        )
        .await?;
        send_verification(&state, user.user.id, &email).await;
        user.session
            .flash(
                FlashKind::Success,
                format!("We sent a new verification link to {email}."),
            )
            .await?;
    }
    Ok(Redirect::to("/dashboard"))
}
