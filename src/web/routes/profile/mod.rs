//! The signed-in user's own profile: name, password, language, and (in
//! `two_factor`) their two-factor sign-in.

mod two_factor;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::NewPassword;
use crate::domain::text::required_text;
use crate::error::Result;
use crate::features::auth::password::{self, Verified};
use crate::infra::db;
use crate::infra::session_store;
use crate::infra::tenancy::member::{CurrentUser, Page};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show).post(update_name))
        .route("/profile/password", post(change_password))
        .route("/profile/language", post(update_language))
        .merge(two_factor::router())
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/index.html")]
struct ProfilePage {
    page: Page,
    name: String,
    email: String,
    name_errors: Vec<String>,
    password_errors: Vec<String>,
    language: String,
    languages: &'static [(&'static str, &'static str)],
}

fn render(
    user: CurrentUser,
    name: String,
    name_errors: Vec<String>,
    password_errors: Vec<String>,
) -> Response {
    let status = if name_errors.is_empty() && password_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        ProfilePage {
            email: user.user.email.clone(),
            name,
            name_errors,
            password_errors,
            language: user.user.language.clone(),
            languages: crate::features::ai::language::LANGUAGES,
            page: user.page,
        },
    )
        .into_response()
}

async fn show(user: CurrentUser) -> Response {
    let name = user.user.name.clone();
    render(user, name, vec![], vec![])
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LanguageForm {
    language: String,
}

/// The language AI translates customers' messages into for this user.
async fn update_language(
    State(state): State<AppState>,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<LanguageForm>,
) -> Result<Response> {
    let Some(name) = crate::features::ai::language::name(form.language.trim()) else {
        let name = user.user.name.clone();
        let error = format!(
            "“{}” is not a language wacrm offers; pick one from the list.",
            form.language
        );
        return Ok(render(user, name, vec![], vec![error]));
    };
    let mut conn = state.pool.acquire().await?;
    db::users::set_language(&mut conn, user.user.id, form.language.trim()).await?;
    user.session
        .flash(
            FlashKind::Success,
            format!("Translations are now in {name}."),
        )
        .await?;
    Ok(Redirect::to("/profile").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NameForm {
    name: String,
}

async fn update_name(
    State(state): State<AppState>,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let name = required_text(&form.name, "your name", 100, &mut errors);
    if !errors.is_empty() {
        return Ok(render(user, name, errors, vec![]));
    }
    let mut conn = state.pool.acquire().await?;
    db::users::set_name(&mut conn, user.user.id, &name).await?;
    user.session
        .flash(FlashKind::Success, "Your name was saved.")
        .await?;
    Ok(Redirect::to("/profile").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Needs the current password; ends every other session of the user.
async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<PasswordForm>,
) -> Result<Response> {
    let name = user.user.name.clone();
    if password::verify(
        form.current_password.clone(),
        user.user.password_hash.clone(),
    )
    .await?
        == Verified::Wrong
    {
        return Ok(render(
            user,
            name,
            vec![],
            vec!["Your current password is not right.".into()],
        ));
    }
    let new_password = match NewPassword::parse(&form.new_password) {
        Ok(p) => p,
        Err(e) => return Ok(render(user, name, vec![], vec![e])),
    };
    let hash = password::hash(new_password.expose().to_owned()).await?;
    user.session.rotate().await?;
    let mut tx = state.pool.begin().await?;
    db::users::set_password_hash(&mut tx, user.user.id, &hash).await?;
    let ended =
        db::users::end_other_sessions(&mut tx, user.user.id, user.session.id().as_deref()).await?;
    tx.commit().await?;
    session_store::forget(&state.session_cache, &ended);
    tracing::info!(user_id = %user.user.id, ended = ended.len(), "password changed");
    user.session
        .flash(
            FlashKind::Success,
            "Your password was changed and your other sessions were signed out.",
        )
        .await?;
    Ok(Redirect::to("/profile").into_response())
}
