//! Pipelines and their stages (owners and admins): add, rename, reorder,
//! set what a stage means (open, won, lost) and delete. A stage or pipeline
//! holding deals is not deleted (nor a stage's meaning changed) until its
//! deals are moved, and every pipeline keeps a stage new deals can start in.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::StageOutcome;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::pipelines::{Pipeline, Stage};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "settings/pipelines.html")]
struct PipelinesPage {
    page: Page,
    pipelines: Vec<(Pipeline, Vec<Stage>)>,
    errors: Vec<String>,
}

async fn render(
    mut tenant: Tenant<ManageSettings>,
    status: StatusCode,
    errors: Vec<String>,
) -> Result<Response> {
    let mut pipelines = vec![];
    for pipeline in db::pipelines::pipelines(&mut tenant.tx).await? {
        let stages = db::pipelines::stages(&mut tenant.tx, pipeline.id).await?;
        pipelines.push((pipeline, stages));
    }
    tenant.tx.commit().await?;
    Ok((
        status,
        PipelinesPage {
            page: tenant.page,
            pipelines,
            errors,
        },
    )
        .into_response())
}

pub async fn show(tenant: Tenant<ManageSettings>) -> Result<Response> {
    render(tenant, StatusCode::OK, vec![]).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NameForm {
    name: String,
    /// `open`, `won` or `lost` (stages only).
    outcome: String,
    /// `up` or `down` (moving a stage).
    direction: String,
}

/// A pipeline's or stage's name as typed, checked.
fn name_of(what: &str, typed: &str) -> std::result::Result<String, String> {
    let name = typed.trim();
    match name.chars().count() {
        0 => Err(format!("{what}: type a name.")),
        61.. => Err(format!(
            "{what}: \"{name}\" is too long (60 characters at most)."
        )),
        _ => Ok(name.to_owned()),
    }
}

fn outcome_of(typed: &str) -> std::result::Result<StageOutcome, String> {
    StageOutcome::parse(typed.trim()).ok_or_else(|| "Meaning: choose open, won or lost.".to_owned())
}

async fn done(tenant: Tenant<ManageSettings>, said: String) -> Result<Response> {
    tenant.tx.commit().await?;
    tenant.session.flash(FlashKind::Success, said).await?;
    Ok(Redirect::to("/settings/pipelines").into_response())
}

pub async fn create(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response> {
    let name = match name_of("Pipeline", &form.name) {
        Ok(name) => name,
        Err(e) => return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, vec![e]).await,
    };
    if db::pipelines::insert(&mut tenant.tx, &name)
        .await?
        .is_none()
    {
        let e = format!("Pipeline: there is one named \"{name}\" already.");
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    done(
        tenant,
        format!("Pipeline \"{name}\" added with the usual stages."),
    )
    .await
}

pub async fn rename(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response> {
    let pipeline = db::pipelines::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = match name_of("Pipeline", &form.name) {
        Ok(name) => name,
        Err(e) => return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, vec![e]).await,
    };
    if !db::pipelines::rename(&mut tenant.tx, pipeline.id, &name).await? {
        let e = format!("Pipeline: there is one named \"{name}\" already.");
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    done(tenant, format!("Pipeline renamed to \"{name}\".")).await
}

pub async fn delete(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Response> {
    let pipeline = db::pipelines::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::pipelines::lock(&mut tenant.tx, pipeline.id).await?;
    let deals = db::pipelines::deal_count(&mut tenant.tx, pipeline.id, None).await?;
    let error = if deals > 0 {
        Some(format!(
            "\"{}\" holds {deals} deal(s): delete them or keep the pipeline.",
            pipeline.name
        ))
    } else if db::pipelines::pipelines(&mut tenant.tx).await?.len() == 1 {
        Some("A workspace keeps at least one pipeline.".to_owned())
    } else {
        None
    };
    if let Some(e) = error {
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    db::pipelines::delete(&mut tenant.tx, pipeline.id).await?;
    done(tenant, format!("Pipeline \"{}\" deleted.", pipeline.name)).await
}

pub async fn add_stage(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response> {
    let pipeline = db::pipelines::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let checked = name_of("Stage", &form.name).and_then(|n| Ok((n, outcome_of(&form.outcome)?)));
    let (name, outcome) = match checked {
        Ok(checked) => checked,
        Err(e) => return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, vec![e]).await,
    };
    db::pipelines::lock(&mut tenant.tx, pipeline.id).await?;
    if !db::pipelines::add_stage(&mut tenant.tx, pipeline.id, &name, outcome).await? {
        let e = format!(
            "Stage: \"{}\" has one named \"{name}\" already.",
            pipeline.name
        );
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    done(
        tenant,
        format!("Stage \"{name}\" added to \"{}\".", pipeline.name),
    )
    .await
}

/// The stage, with its pipeline locked for the change.
async fn locked_stage(tenant: &mut Tenant<ManageSettings>, id: Uuid) -> Result<Stage> {
    let stage = db::pipelines::stage(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::pipelines::lock(&mut tenant.tx, stage.pipeline_id).await?;
    Ok(stage)
}

/// Why the stage may not lose its deals' meaning or go (`doing`: "before
/// changing what it means", "first"): it holds deals, or it is the
/// pipeline's only open stage (new deals start in one).
async fn why_it_stays(
    tenant: &mut Tenant<ManageSettings>,
    stage: &Stage,
    doing: &str,
) -> Result<Option<String>> {
    let deals =
        db::pipelines::deal_count(&mut tenant.tx, stage.pipeline_id, Some(stage.id)).await?;
    if deals > 0 {
        return Ok(Some(format!(
            "\"{}\" holds {deals} deal(s): move them to another stage {doing}.",
            stage.name
        )));
    }
    let stages = db::pipelines::stages(&mut tenant.tx, stage.pipeline_id).await?;
    let another_open = stages
        .iter()
        .any(|s| s.id != stage.id && s.outcome.is_open());
    Ok((stage.outcome.is_open() && !another_open).then(|| {
        format!(
            "\"{}\" is the pipeline's only open stage: new deals start in one.",
            stage.name
        )
    }))
}

pub async fn update_stage(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response> {
    let stage = locked_stage(&mut tenant, id).await?;
    let checked = name_of("Stage", &form.name).and_then(|n| Ok((n, outcome_of(&form.outcome)?)));
    let (name, outcome) = match checked {
        Ok(checked) => checked,
        Err(e) => return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, vec![e]).await,
    };
    if outcome != stage.outcome
        && let Some(e) = why_it_stays(&mut tenant, &stage, "before changing what it means").await?
    {
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    if !db::pipelines::update_stage(&mut tenant.tx, &stage, &name, outcome).await? {
        let e = format!("Stage: this pipeline has one named \"{name}\" already.");
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    done(tenant, format!("Stage \"{name}\" saved.")).await
}

pub async fn move_stage(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<NameForm>,
) -> Result<Response> {
    let stage = locked_stage(&mut tenant, id).await?;
    let earlier = match form.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => {
            let e = "Move: up or down.".to_owned();
            return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, vec![e]).await;
        }
    };
    db::pipelines::move_stage(&mut tenant.tx, &stage, earlier).await?;
    done(tenant, format!("Stage \"{}\" moved.", stage.name)).await
}

pub async fn delete_stage(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let stage = locked_stage(&mut tenant, id).await?;
    if let Some(e) = why_it_stays(&mut tenant, &stage, "first").await? {
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    db::pipelines::delete_stage(&mut tenant.tx, stage.id).await?;
    done(tenant, format!("Stage \"{}\" deleted.", stage.name)).await
}
