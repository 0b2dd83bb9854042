//! Labels: the workspace's coloured tags, managed by owners and admins.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::error::{AppError, Result, ResultExt};
use crate::infra::db;
use crate::infra::db::labels::{LabelUsage, NAME_KEY, PALETTE};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use crate::web::saved::saved;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/labels", get(index).post(create))
        .route("/labels/{id}", post(update))
        .route("/labels/{id}/delete", post(delete))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LabelForm {
    name: String,
    color: String,
}

impl LabelForm {
    /// The trimmed name and the palette colour, or every problem at once.
    fn parse(&self) -> std::result::Result<(String, String), Vec<String>> {
        let mut errors = vec![];
        let name = crate::domain::text::required_text(&self.name, "a label name", 50, &mut errors);
        let color = self.color.trim().to_lowercase();
        if !PALETTE.iter().any(|(hex, _)| *hex == color) {
            errors.push("Colour: pick one of the colours offered.".to_owned());
        }
        if errors.is_empty() {
            Ok((name, color))
        } else {
            Err(errors)
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "labels/index.html")]
pub struct LabelsPage {
    page: Page,
    labels: Vec<LabelUsage>,
    palette: [(&'static str, &'static str); 10],
    /// The new-label form as typed.
    form: LabelForm,
    errors: Vec<String>,
}

async fn render(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    form: LabelForm,
    errors: Vec<String>,
) -> Result<Response> {
    let labels = db::labels::list_with_counts(&mut tenant.tx).await?;
    let page = LabelsPage {
        page: tenant.page,
        labels,
        palette: PALETTE,
        form,
        errors,
    };
    Ok((status, page).into_response())
}

/// Two labels of one name would be indistinguishable on a contact; a
/// concurrent save of the same name gets the same answer as the check.
fn taken() -> AppError {
    AppError::Conflict(TAKEN.to_owned())
}

const TAKEN: &str = "Name: another label already has this name.";

async fn index(tenant: Tenant<ManageSettings>) -> Result<Response> {
    let form = LabelForm {
        color: PALETTE[5].0.to_owned(),
        ..LabelForm::default()
    };
    render(StatusCode::OK, tenant, form, vec![]).await
}

async fn create(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<LabelForm>,
) -> Result<Response> {
    let (name, color) = match form.parse() {
        Ok(fields) => fields,
        Err(errors) => return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await,
    };
    if db::labels::name_in_use(&mut tenant.tx, &name, None).await? {
        return render(StatusCode::CONFLICT, tenant, form, vec![TAKEN.to_owned()]).await;
    }
    db::labels::insert(&mut tenant.tx, &name, &color)
        .await
        .on_constraint(NAME_KEY, taken)?;
    Ok(saved(tenant, "Label added.", "/labels")
        .await?
        .into_response())
}

async fn update(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<LabelForm>,
) -> Result<Response> {
    let (name, color) = match form.parse() {
        Ok(fields) => fields,
        Err(errors) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                tenant,
                LabelForm::default(),
                errors,
            )
            .await;
        }
    };
    if db::labels::name_in_use(&mut tenant.tx, &name, Some(id)).await? {
        return Err(AppError::Conflict(TAKEN.to_owned()));
    }
    if !db::labels::update(&mut tenant.tx, id, &name, &color)
        .await
        .on_constraint(NAME_KEY, taken)?
    {
        return Err(AppError::NotFound);
    }
    Ok(saved(tenant, "Label saved.", "/labels")
        .await?
        .into_response())
}

async fn delete(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Redirect> {
    if !db::labels::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    saved(
        tenant,
        "Label deleted and taken off its contacts.",
        "/labels",
    )
    .await
}
