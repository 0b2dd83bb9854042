use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::money;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::deals::{Deal, StageTotal};
use crate::infra::db::pipelines::{Pipeline, Stage};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// Deals the board shows at most (the list view pages through more).
const BOARD_LIMIT: i64 = 1_000;

#[derive(Template, WebTemplate)]
#[template(path = "deals/board.html")]
struct BoardPage {
    page: Page,
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    stages: Vec<Stage>,
    deals: Vec<Deal>,
    totals: Vec<StageTotal>,
}

impl BoardPage {
    fn deals_in(&self, stage: &Stage) -> Vec<&Deal> {
        self.deals
            .iter()
            .filter(|d| d.stage_id == stage.id)
            .collect()
    }

    fn total_of(&self, stage: &Stage) -> String {
        stage_total(&self.totals, stage.id)
    }
}

/// "3 deals · BRL 1,200.00 · USD 50.00": a stage's count and value per
/// currency (values in different currencies are never added together).
pub(super) fn stage_total(totals: &[StageTotal], stage_id: Uuid) -> String {
    let mine: Vec<&StageTotal> = totals.iter().filter(|t| t.stage_id == stage_id).collect();
    let count: i64 = mine.iter().map(|t| t.deals).sum();
    let mut parts = vec![format!("{count} deal{}", if count == 1 { "" } else { "s" })];
    parts.extend(mine.iter().map(|t| money::shown(t.value, &t.currency)));
    parts.join(" · ")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BoardQuery {
    pipeline: String,
}

pub async fn show(mut tenant: Tenant, Query(query): Query<BoardQuery>) -> Result<Response> {
    let pipelines = db::pipelines::pipelines(&mut tenant.tx).await?;
    let pipeline = pipelines
        .iter()
        .find(|p| p.id.to_string() == query.pipeline)
        .or(pipelines.first())
        .cloned()
        .ok_or(AppError::NotFound)?;
    let stages = db::pipelines::stages(&mut tenant.tx, pipeline.id).await?;
    let deals = db::deals::in_pipeline(&mut tenant.tx, pipeline.id, BOARD_LIMIT).await?;
    let totals = db::deals::totals(&mut tenant.tx, pipeline.id).await?;
    tenant.tx.commit().await?;
    Ok(BoardPage {
        page: tenant.page,
        pipelines,
        pipeline,
        stages,
        deals,
        totals,
    }
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MoveForm {
    stage: String,
    lost_reason: String,
    /// `deal`: back to the deal's page (else the board).
    back: String,
}

/// Moves a deal to another stage of its pipeline (the board's selector,
/// or a drag); lost needs a reason.
pub async fn move_deal(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<MoveForm>,
) -> Result<Response> {
    let deal = db::deals::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let stage = match Uuid::try_parse(form.stage.trim()) {
        Ok(stage_id) => db::pipelines::stage(&mut tenant.tx, stage_id).await?,
        Err(_) => None,
    }
    .filter(|s| s.pipeline_id == deal.pipeline_id)
    .ok_or_else(|| {
        AppError::Unprocessable("Stage: choose one of this deal's pipeline's stages.".into())
    })?;
    let reason = form.lost_reason.trim();
    if stage.outcome.is_lost() && reason.is_empty() {
        return Err(AppError::Unprocessable(
            "Lost: say why the deal was lost (price, timing, a competitor…).".into(),
        ));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::Unprocessable(
            "The reason is too long (500 characters at most).".into(),
        ));
    }
    db::deals::move_to(
        &mut tenant.tx,
        id,
        &stage,
        Some(reason).filter(|r| !r.is_empty()),
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("\"{}\" moved to {}.", deal.title, stage.name),
        )
        .await?;
    let back = if form.back == "deal" {
        format!("/deals/{id}")
    } else {
        format!("/deals?pipeline={}#stage-{}", deal.pipeline_id, stage.id)
    };
    Ok(Redirect::to(&back).into_response())
}
