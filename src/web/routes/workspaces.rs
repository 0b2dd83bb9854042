//! The workspace switcher and creating another workspace.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::text::required_text;
use crate::error::{AppError, Result};
use crate::infra::db::orgs::UserWorkspace;
use crate::infra::tenancy::bootstrap;
use crate::infra::tenancy::member::{CurrentUser, Page};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(index).post(create))
        .route("/workspaces/switch", post(switch))
        .route("/workspaces/menu", get(menu))
}

#[derive(Template, WebTemplate)]
#[template(path = "workspaces/index.html")]
struct WorkspacesPage {
    page: Page,
    workspaces: Vec<UserWorkspace>,
    current: Option<Uuid>,
    errors: Vec<String>,
    org_name: String,
}

async fn index(State(state): State<AppState>, user: CurrentUser) -> Result<WorkspacesPage> {
    Ok(WorkspacesPage {
        workspaces: user.workspaces(&state.pool).await?,
        current: user.session.org_id().await?,
        errors: vec![],
        org_name: String::new(),
        page: user.page,
    })
}

/// The sidebar's switcher, loaded when it is opened (every page would pay
/// for the list otherwise): one button per workspace.
#[derive(Template, WebTemplate)]
#[template(path = "workspaces/menu.html")]
struct WorkspaceMenu {
    page: Page,
    workspaces: Vec<UserWorkspace>,
    current: Option<Uuid>,
}

async fn menu(State(state): State<AppState>, user: CurrentUser) -> Result<WorkspaceMenu> {
    Ok(WorkspaceMenu {
        workspaces: user.workspaces(&state.pool).await?,
        current: user.session.org_id().await?,
        page: user.page,
    })
}

/// The pages a switch may open besides the dashboard (where another page
/// sends the user to fix something in that workspace).
const SWITCH_TO: [&str; 2] = ["/team", "/settings/billing"];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SwitchForm {
    org_id: String,
    /// A page of that workspace to open: one of [`SWITCH_TO`] (the
    /// dashboard otherwise).
    next: String,
}

/// Only to a workspace the user belongs to; any other id is 404.
async fn switch(
    State(state): State<AppState>,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<SwitchForm>,
) -> Result<Redirect> {
    let org_id = Uuid::try_parse(form.org_id.trim()).map_err(|_| AppError::NotFound)?;
    let workspaces = user.workspaces(&state.pool).await?;
    let Some(workspace) = workspaces.iter().find(|w| w.id == org_id) else {
        return Err(AppError::NotFound);
    };
    user.session.set_org_id(Some(org_id)).await?;
    user.session
        .flash(
            FlashKind::Success,
            format!("You are now in {}.", workspace.name),
        )
        .await?;
    let next = SWITCH_TO
        .iter()
        .find(|page| **page == form.next.trim())
        .unwrap_or(&"/dashboard");
    Ok(Redirect::to(next))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateForm {
    org_name: String,
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<CreateForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let name = required_text(&form.org_name, "a workspace name", 100, &mut errors);
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            WorkspacesPage {
                workspaces: user.workspaces(&state.pool).await?,
                current: user.session.org_id().await?,
                errors,
                org_name: name,
                page: user.page,
            },
        )
            .into_response());
    }
    let org_id = bootstrap::create_workspace(&state.pool, user.user.id, &name)
        .await
        .map_err(anyhow::Error::new)?;
    user.session.set_org_id(Some(org_id)).await?;
    user.session
        .flash(FlashKind::Success, format!("Workspace {name} created."))
        .await?;
    Ok(Redirect::to("/dashboard").into_response())
}
