//! Custom attributes: owners and admins define the extra fields of
//! contacts and companies.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::attributes::key_from_label;
use crate::domain::{AttributeDef, AttributeKind};
use crate::error::{AppError, Result, ResultExt};
use crate::infra::db;
use crate::infra::db::attributes::{Entity, KEY_KEY};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/attributes", get(index).post(create))
        .route("/attributes/{id}/delete", post(delete))
}

const MAX_OPTIONS: usize = 100;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttributeForm {
    entity: String,
    label: String,
    kind: String,
    /// Select choices, one per line.
    options: String,
}

/// A definition ready to insert.
struct NewAttribute {
    entity: Entity,
    key: String,
    label: String,
    kind: AttributeKind,
    options: Vec<String>,
}

impl AttributeForm {
    fn parse(&self) -> std::result::Result<NewAttribute, Vec<String>> {
        let mut errors = vec![];
        let entity = Entity::parse(self.entity.trim());
        if entity.is_none() {
            errors.push("Pick whether the attribute is for contacts or companies.".to_owned());
        }
        let label = crate::domain::text::required_text(&self.label, "a name", 60, &mut errors);
        let kind = AttributeKind::parse(self.kind.trim());
        if kind.is_none() {
            errors.push("Type: pick one of the types offered.".to_owned());
        }
        let mut options: Vec<String> = vec![];
        for line in self
            .options
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !options.iter().any(|o| o == line) {
                options.push(line.to_owned());
            }
        }
        if kind == Some(AttributeKind::Select) {
            if options.is_empty() {
                errors.push("Choices: enter at least one, one per line.".to_owned());
            } else if options.len() > MAX_OPTIONS || options.iter().any(|o| o.chars().count() > 100)
            {
                errors.push(format!(
                    "Choices: at most {MAX_OPTIONS}, each up to 100 characters."
                ));
            }
        } else {
            options.clear();
        }
        match (entity, kind) {
            (Some(entity), Some(kind)) if errors.is_empty() => Ok(NewAttribute {
                entity,
                key: key_from_label(&label),
                label,
                kind,
                options,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "attributes/index.html")]
pub struct AttributesPage {
    page: Page,
    /// Heading and definitions: contacts', then companies'.
    sections: [(&'static str, Vec<AttributeDef>); 2],
    kinds: [(AttributeKind, &'static str); 5],
    form: AttributeForm,
    errors: Vec<String>,
}

async fn render(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    form: AttributeForm,
    errors: Vec<String>,
) -> Result<Response> {
    let contact_attributes = db::attributes::list(&mut tenant.tx, Entity::Contact).await?;
    let company_attributes = db::attributes::list(&mut tenant.tx, Entity::Company).await?;
    let page = AttributesPage {
        page: tenant.page,
        sections: [
            ("Contact attributes", contact_attributes),
            ("Company attributes", company_attributes),
        ],
        kinds: AttributeKind::ALL,
        form,
        errors,
    };
    Ok((status, page).into_response())
}

async fn index(tenant: Tenant<ManageSettings>) -> Result<Response> {
    let form = AttributeForm {
        entity: "contact".into(),
        kind: "text".into(),
        ..AttributeForm::default()
    };
    render(StatusCode::OK, tenant, form, vec![]).await
}

const TAKEN: &str = "Name: another attribute of these records already has this name.";

async fn create(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<AttributeForm>,
) -> Result<Response> {
    let new = match form.parse() {
        Ok(new) => new,
        Err(errors) => return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, form, errors).await,
    };
    if db::attributes::key_in_use(&mut tenant.tx, new.entity, &new.key).await? {
        return render(StatusCode::CONFLICT, tenant, form, vec![TAKEN.to_owned()]).await;
    }
    db::attributes::insert(
        &mut tenant.tx,
        new.entity,
        &new.key,
        &new.label,
        new.kind,
        &new.options,
    )
    .await
    .on_constraint(KEY_KEY, || AppError::Conflict(TAKEN.to_owned()))?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Attribute added.")
        .await?;
    Ok(Redirect::to("/attributes").into_response())
}

async fn delete(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Redirect> {
    if !db::attributes::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Attribute deleted, with its values.")
        .await?;
    Ok(Redirect::to("/attributes"))
}
