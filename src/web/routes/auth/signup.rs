use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::text::required_text;
use crate::domain::{EmailAddress, NewPassword};
use crate::error::Result;
use crate::features::auth::password;
use crate::infra::client_ip::ClientIp;
use crate::infra::rate_limit::{self, SIGNUP_PER_EMAIL, SIGNUP_PER_IP};
use crate::infra::tenancy::bootstrap::{self, BootstrapError};
use crate::infra::tenancy::member::{MaybeUser, Page};
use crate::infra::tenancy::session_state::AuthSession;
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

#[derive(Template, WebTemplate)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    page: Page,
    errors: Vec<String>,
    name: String,
    email: String,
    org_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupForm {
    name: String,
    email: String,
    password: String,
    org_name: String,
}

pub async fn show(MaybeUser(user): MaybeUser, session: AuthSession) -> Result<Response> {
    if user.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    Ok(SignupPage {
        page: Page::anonymous(&session).await?,
        errors: vec![],
        name: String::new(),
        email: String::new(),
        org_name: String::new(),
    }
    .into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    HtmlForm(form): HtmlForm<SignupForm>,
) -> Result<Response> {
    rate_limit::check(&state.pool, SIGNUP_PER_IP, &ip.to_string()).await?;
    // Per address too: repeated sign-ups would tell which addresses have accounts.
    rate_limit::check(&state.pool, SIGNUP_PER_EMAIL, form.email.trim()).await?;
    let mut errors = Vec::new();
    let name = required_text(&form.name, "your name", 100, &mut errors);
    let org_name = required_text(&form.org_name, "a workspace name", 100, &mut errors);
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.push(e))
        .ok();
    let new_password = NewPassword::parse(&form.password)
        .map_err(|e| errors.push(e))
        .ok();
    let again = |errors: Vec<String>| async {
        Ok::<_, crate::error::AppError>(
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                SignupPage {
                    page: Page::anonymous(&session).await?,
                    errors,
                    name: name.clone(),
                    email: form.email.trim().to_owned(),
                    org_name: org_name.clone(),
                },
            )
                .into_response(),
        )
    };
    let (Some(email), Some(new_password), true) = (email, new_password, errors.is_empty()) else {
        return again(errors).await;
    };
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let (user_id, org_id) = match bootstrap::sign_up(&state.pool, &name, &email, &hash, &org_name)
        .await
    {
        Ok(ids) => ids,
        Err(BootstrapError::EmailTaken) => {
            return again(vec![
                "An account with this email already exists. Log in, or reset your password.".into(),
            ])
            .await;
        }
        Err(e) => return Err(anyhow::Error::new(e).into()),
    };
    session.sign_in(user_id, Some(org_id)).await?;
    super::send_verification(&state, user_id, &email).await;
    session
        .flash(
            FlashKind::Success,
            format!("Welcome to wacrm! We sent a link to {email} to verify it."),
        )
        .await?;
    tracing::info!(%user_id, %org_id, "signed up");
    Ok(Redirect::to("/dashboard").into_response())
}
