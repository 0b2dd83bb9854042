//! The second step of signing in, for users with two-factor sign-in on: a
//! code from their authenticator app or a recovery code, and optionally
//! "remember this device".

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::login::{SignedIn, user_agent};
use crate::error::Result;
use crate::features::audit::Actor;
use crate::features::auth::second_factor::{self, Proof};
use crate::infra::client_ip::ClientIp;
use crate::infra::db;
use crate::infra::rate_limit::{self, LOGIN_PER_IP};
use crate::infra::tenancy::member::Page;
use crate::infra::tenancy::session_state::AuthSession;
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tokens;
use crate::state::AppState;
use crate::web::device_cookie;
use crate::web::form::HtmlForm;

#[derive(Template, WebTemplate)]
#[template(path = "auth/second_step.html")]
struct SecondStepPage {
    page: Page,
    errors: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecondStepForm {
    code: String,
    remember: Option<String>,
}

const CODE_REFUSED: &str = "That code is not valid. Use the code your app shows now (each works once), or a recovery code.";

/// Back to the password when no second step is awaited (or it waited too
/// long).
fn start_again() -> Response {
    Redirect::to("/login").into_response()
}

pub async fn show(session: AuthSession) -> Result<Response> {
    if session.awaiting_second_factor().await?.is_none() {
        return Ok(start_again());
    }
    Ok(SecondStepPage {
        page: Page::anonymous(&session).await?,
        errors: vec![],
    }
    .into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<SecondStepForm>,
) -> Result<Response> {
    let Some((user_id, next)) = session.awaiting_second_factor().await? else {
        session
            .flash(
                FlashKind::Error,
                "Sign-in timed out. Enter your password again.",
            )
            .await?;
        return Ok(start_again());
    };
    rate_limit::check(&state.pool, LOGIN_PER_IP, &ip.to_string()).await?;
    let mut conn = state.pool.acquire().await?;
    let Some(user) = db::users::find(&mut conn, user_id).await? else {
        return Ok(start_again());
    };
    drop(conn);
    let actor = Actor {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ip: Some(ip),
    };
    let Some(proof) =
        second_factor::check(&state.pool, &state.secrets, user.id, &form.code).await?
    else {
        crate::features::audit::for_user(
            &state.pool,
            &actor,
            "sign_in_failed",
            &[("reason", "wrong second-factor code")],
        )
        .await?;
        return Ok((
            StatusCode::UNAUTHORIZED,
            SecondStepPage {
                page: Page::anonymous(&session).await?,
                errors: vec![CODE_REFUSED.into()],
            },
        )
            .into_response());
    };
    let mut response_headers = HeaderMap::new();
    if form.remember.is_some() {
        let token = tokens::random_secret()?;
        let agent: String = user_agent(&headers).chars().take(300).collect();
        let mut conn = state.pool.acquire().await?;
        db::two_factor::remember_device(
            &mut conn,
            user.id,
            &tokens::hash(&token),
            &agent,
            time::OffsetDateTime::now_utc() + device_cookie::REMEMBER_FOR,
        )
        .await?;
        device_cookie::set(&mut response_headers, &token, state.config.secure_cookies());
    }
    let signed_in = SignedIn {
        user_id: user.id,
        actor,
        user_agent: user_agent(&headers),
        next,
    };
    let redirect = signed_in
        .finish(&state, &session, &[("second_factor", proof.label())])
        .await?;
    if let Proof::RecoveryCode { left } = proof {
        session
            .flash(
                FlashKind::Error,
                format!(
                    "You signed in with a recovery code; {left} left. \
                     Make new ones in Profile → Two-factor sign-in if you lost your app."
                ),
            )
            .await?;
    }
    Ok((response_headers, redirect).into_response())
}
