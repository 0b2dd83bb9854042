use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::EmailAddress;
use crate::error::Result;
use crate::features::auth::password::{self, Verified};
use crate::infra::client_ip::ClientIp;
use crate::infra::db;
use crate::infra::rate_limit::{self, LOGIN_PER_EMAIL, LOGIN_PER_IP};
use crate::infra::tenancy::member::{MaybeUser, Page, workspaces_of};
use crate::infra::tenancy::session_state::AuthSession;
use crate::infra::tokens;
use crate::state::AppState;
use crate::web::device_cookie;
use crate::web::form::HtmlForm;
use crate::web::routes::safe_next;

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    errors: Vec<String>,
    email: String,
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
}

pub async fn show(
    MaybeUser(user): MaybeUser,
    session: AuthSession,
    Query(query): Query<NextQuery>,
) -> Result<Response> {
    let next = safe_next(&query.next).unwrap_or("").to_owned();
    if user.is_some() {
        return Ok(
            Redirect::to(if next.is_empty() { "/dashboard" } else { &next }).into_response(),
        );
    }
    Ok(LoginPage {
        page: Page::anonymous(&session).await?,
        errors: vec![],
        email: String::new(),
        next,
    }
    .into_response())
}

pub fn user_agent(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

const LOGIN_FAILED: &str = "Email or password is incorrect.";

pub async fn submit(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    HtmlForm(form): HtmlForm<LoginForm>,
) -> Result<Response> {
    let user_agent = user_agent(&headers);
    rate_limit::check(&state.pool, LOGIN_PER_IP, &ip.to_string()).await?;
    rate_limit::check(&state.pool, LOGIN_PER_EMAIL, form.email.trim()).await?;
    let next = safe_next(&form.next).unwrap_or("").to_owned();
    let failed = || async {
        Ok::<_, crate::error::AppError>(
            (
                StatusCode::UNAUTHORIZED,
                LoginPage {
                    page: Page::anonymous(&session).await?,
                    errors: vec![LOGIN_FAILED.into()],
                    email: form.email.trim().to_owned(),
                    next: next.clone(),
                },
            )
                .into_response(),
        )
    };
    let user = match EmailAddress::parse(&form.email) {
        Ok(email) => {
            let mut conn = state.pool.acquire().await?;
            db::users::find_by_email(&mut conn, &email).await?
        }
        Err(_) => None,
    };
    let Some(user) = user else {
        password::burn_verification_time(form.password.clone()).await;
        return failed().await;
    };
    let actor = crate::features::audit::Actor {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ip: Some(ip),
    };
    match password::verify(form.password.clone(), user.password_hash.clone()).await? {
        Verified::Wrong => {
            crate::features::audit::for_user(&state.pool, &actor, "sign_in_failed", &[]).await?;
            return failed().await;
        }
        Verified::Ok => {}
        Verified::OkRehashed(new_hash) => {
            let mut conn = state.pool.acquire().await?;
            db::users::set_password_hash(&mut conn, user.id, &new_hash).await?;
            tracing::info!(user_id = %user.id, "password hash upgraded to argon2id");
        }
    }
    let mut conn = state.pool.acquire().await?;
    let has_second_factor = db::two_factor::sealed_secret(&mut conn, user.id)
        .await?
        .is_some();
    let mut details: Vec<(&str, &str)> = vec![];
    if has_second_factor {
        let secure = state.config.secure_cookies();
        let remembered = match device_cookie::token(&headers, secure) {
            Some(token) => {
                db::two_factor::is_remembered(&mut conn, user.id, &tokens::hash(&token)).await?
            }
            None => false,
        };
        if !remembered {
            session.await_second_factor(user.id, &next).await?;
            return Ok(Redirect::to("/login/two-factor").into_response());
        }
        details.push(("second_factor", "remembered device"));
    }
    drop(conn);
    let signed_in = SignedIn {
        user_id: user.id,
        actor,
        user_agent,
        next,
    };
    Ok(signed_in
        .finish(&state, &session, &details)
        .await?
        .into_response())
}

/// A user who proved who they are (password, and a second factor if they
/// have one).
pub struct SignedIn {
    pub user_id: uuid::Uuid,
    pub actor: crate::features::audit::Actor,
    pub user_agent: String,
    /// Where to go after, already checked by [`safe_next`].
    pub next: String,
}

impl SignedIn {
    /// Signs the session in (a new id), notes the device, records the
    /// sign-in, and sends the user on.
    pub async fn finish(
        self,
        state: &AppState,
        session: &AuthSession,
        details: &[(&str, &str)],
    ) -> Result<Redirect> {
        let first_org = workspaces_of(&state.pool, self.user_id)
            .await?
            .first()
            .map(|w| w.id);
        session.sign_in(self.user_id, first_org).await?;
        if let Some(ip) = self.actor.ip {
            session.remember_device(ip, &self.user_agent).await?;
        }
        crate::features::audit::for_user(&state.pool, &self.actor, "sign_in", details).await?;
        tracing::info!(user_id = %self.user_id, "logged in");
        let to = if !self.next.is_empty() {
            self.next
        } else if first_org.is_some() {
            "/dashboard".to_owned()
        } else {
            "/workspaces".to_owned()
        };
        Ok(Redirect::to(&to))
    }
}

pub async fn logout(MaybeUser(user): MaybeUser, session: AuthSession) -> Result<Redirect> {
    if let Some(user) = user {
        tracing::info!(user_id = %user.user.id, "logged out");
    }
    session.sign_out().await?;
    Ok(Redirect::to("/login"))
}
