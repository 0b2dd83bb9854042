//! The canned replies library: owners and admins write the texts, every
//! member inserts them by typing `/` and the shortcode in the composer.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::canned::{VARIABLES, check_body, parse_shortcode};
use crate::error::{AppError, Result, ResultExt};
use crate::infra::db;
use crate::infra::db::canned::{CannedReply, SHORTCODE_KEY};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use crate::web::saved::saved;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/canned", get(index).post(create))
        .route("/canned/{id}", post(update))
        .route("/canned/{id}/delete", post(delete))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CannedForm {
    shortcode: String,
    body: String,
}

impl CannedForm {
    fn parse(&self) -> std::result::Result<(String, String), Vec<String>> {
        let shortcode = parse_shortcode(&self.shortcode);
        let body = check_body(&self.body);
        match (shortcode, body) {
            (Ok(shortcode), Ok(body)) => Ok((shortcode, body)),
            (shortcode, body) => {
                let mut errors: Vec<String> = shortcode.err().into_iter().collect();
                errors.extend(body.err().unwrap_or_default());
                Err(errors)
            }
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "canned/index.html")]
pub struct CannedPage {
    page: Page,
    replies: Vec<CannedReply>,
    variables: [(&'static str, &'static str); 4],
    /// The new-reply form as typed.
    form: CannedForm,
    errors: Vec<String>,
}

const TAKEN: &str = "Shortcode: another canned reply already uses it.";

async fn render(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    form: CannedForm,
    errors: Vec<String>,
) -> Result<Response> {
    let replies = db::canned::list(&mut tenant.tx).await?;
    let page = CannedPage {
        page: tenant.page,
        replies,
        variables: VARIABLES,
        form,
        errors,
    };
    Ok((status, page).into_response())
}

/// A concurrent save of the same shortcode: the same answer as the check.
fn taken() -> AppError {
    AppError::Conflict(TAKEN.to_owned())
}

async fn index(tenant: Tenant<ManageSettings>) -> Result<Response> {
    render(StatusCode::OK, tenant, CannedForm::default(), vec![]).await
}

async fn create(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<CannedForm>,
) -> Result<Response> {
    let (shortcode, body) = match form.parse() {
        Ok(fields) => fields,
        Err(errors) => return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await,
    };
    if db::canned::by_shortcode(&mut tenant.tx, &shortcode)
        .await?
        .is_some()
    {
        return render(StatusCode::CONFLICT, tenant, form, vec![TAKEN.to_owned()]).await;
    }
    db::canned::insert(&mut tenant.tx, &shortcode, &body)
        .await
        .on_constraint(SHORTCODE_KEY, taken)?;
    Ok(saved(
        tenant,
        format!("Canned reply /{shortcode} added."),
        "/canned",
    )
    .await?
    .into_response())
}

async fn update(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<CannedForm>,
) -> Result<Response> {
    let (shortcode, body) = match form.parse() {
        Ok(fields) => fields,
        Err(errors) => return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await,
    };
    if db::canned::by_shortcode(&mut tenant.tx, &shortcode)
        .await?
        .is_some_and(|other| other.id != id)
    {
        return render(StatusCode::CONFLICT, tenant, form, vec![TAKEN.to_owned()]).await;
    }
    if !db::canned::update(&mut tenant.tx, id, &shortcode, &body)
        .await
        .on_constraint(SHORTCODE_KEY, taken)?
    {
        return Err(AppError::NotFound);
    }
    Ok(saved(
        tenant,
        format!("Canned reply /{shortcode} saved."),
        "/canned",
    )
    .await?
    .into_response())
}

async fn delete(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Redirect> {
    if !db::canned::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    saved(tenant, "Canned reply deleted.", "/canned").await
}
