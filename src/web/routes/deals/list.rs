use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::board::stage_total;
use super::parse_date;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::deals::{Deal, DealFilter, StageTotal, Status};
use crate::infra::db::memberships::Member;
use crate::infra::db::pipelines::{Pipeline, Stage};
use crate::infra::tenancy::member::{Page, Tenant};

/// Rows the list shows; the totals cover every deal the filters take.
const LIST_LIMIT: usize = 500;

/// The filters as typed (kept in the form and the links).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pipeline: String,
    stage: String,
    /// A member's id, `me`, `none` (nobody owns it), or empty (anyone).
    owner: String,
    /// `open`, `won`, `lost`, or empty.
    status: String,
    q: String,
    /// Expected close from / to (YYYY-MM-DD).
    from: String,
    to: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "deals/list.html")]
struct ListPage {
    page: Page,
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    stages: Vec<Stage>,
    members: Vec<Member>,
    query: ListQuery,
    errors: Vec<String>,
    deals: Vec<Deal>,
    totals: Vec<StageTotal>,
    more: bool,
}

impl ListPage {
    fn total_of(&self, stage: &Stage) -> String {
        stage_total(&self.totals, stage.id)
    }

    fn stage_name(&self, deal: &Deal) -> &str {
        self.stages
            .iter()
            .find(|s| s.id == deal.stage_id)
            .map_or("", |s| s.name.as_str())
    }
}

/// The filter the query asks for, or what is wrong with it.
fn filter_of(
    query: &ListQuery,
    pipeline_id: Uuid,
    stages: &[Stage],
    viewer: Uuid,
) -> std::result::Result<DealFilter, Vec<String>> {
    let mut errors = vec![];
    let stage_id = match query.stage.trim() {
        "" => None,
        typed => {
            let found = stages.iter().find(|s| s.id.to_string() == typed);
            if found.is_none() {
                errors.push("Stage: choose one of this pipeline's stages.".to_owned());
            }
            found.map(|s| s.id)
        }
    };
    let (owner_id, unowned) = match query.owner.trim() {
        "" => (None, false),
        "me" => (Some(viewer), false),
        "none" => (None, true),
        typed => match Uuid::try_parse(typed) {
            Ok(id) => (Some(id), false),
            Err(_) => {
                errors.push("Owner: choose a member.".to_owned());
                (None, false)
            }
        },
    };
    let mut date = |label: &str, typed: &str| match typed.trim() {
        "" => None,
        typed => {
            let date = parse_date(typed);
            if date.is_none() {
                errors.push(format!("{label}: \"{typed}\" is not a date (YYYY-MM-DD)."));
            }
            date
        }
    };
    let closing_from = date("Closing from", &query.from);
    let closing_to = date("Closing to", &query.to);
    if query.q.chars().count() > 200 {
        errors.push("Search: 200 characters at most.".to_owned());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DealFilter {
        pipeline_id,
        stage_id,
        owner_id,
        unowned,
        status: Status::parse(query.status.trim()),
        search: query.q.trim().to_owned(),
        closing_from,
        closing_to,
    })
}

/// The pipeline's deals as a table, filtered, with totals per stage.
pub async fn show(mut tenant: Tenant, Query(query): Query<ListQuery>) -> Result<Response> {
    let pipelines = db::pipelines::pipelines(&mut tenant.tx).await?;
    let pipeline = pipelines
        .iter()
        .find(|p| p.id.to_string() == query.pipeline.trim())
        .or(pipelines.first())
        .cloned()
        .ok_or(AppError::NotFound)?;
    let stages = db::pipelines::stages(&mut tenant.tx, pipeline.id).await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let viewer = tenant.member.user_id;
    let (status, errors, deals, totals, more) =
        match filter_of(&query, pipeline.id, &stages, viewer) {
            Ok(filter) => {
                let limit = i64::try_from(LIST_LIMIT + 1).unwrap_or(i64::MAX);
                let mut deals = db::deals::list(&mut tenant.tx, &filter, limit).await?;
                let more = deals.len() > LIST_LIMIT;
                deals.truncate(LIST_LIMIT);
                let totals = db::deals::filtered_totals(&mut tenant.tx, &filter).await?;
                (StatusCode::OK, vec![], deals, totals, more)
            }
            Err(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                vec![],
                vec![],
                false,
            ),
        };
    tenant.tx.commit().await?;
    Ok((
        status,
        ListPage {
            page: tenant.page,
            pipelines,
            pipeline,
            stages,
            members,
            query,
            errors,
            deals,
            totals,
            more,
        },
    )
        .into_response())
}
