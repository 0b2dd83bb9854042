//! The audit log (owners): who did what, when, from where; filtered, paged,
//! and its chain verified on request. Nothing here changes it.

use std::collections::HashSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::local_time;
use crate::error::Result;
use crate::features::audit::verify::{self, Report};
use crate::features::audit::{self, Entry, Filter};
use crate::infra::db;
use crate::infra::tenancy::capability::OwnWorkspace;
use crate::infra::tenancy::member::{Page, Tenant};

const PAGE: i64 = 100;

/// The kinds of entry, for the filter.
pub const ACTIONS: [(&str, &str); 9] = [
    ("sign_in", "Sign-ins and failed sign-ins"),
    ("two_factor.", "Two-factor sign-in"),
    ("member.", "Members and invitations"),
    ("api_token.", "API tokens"),
    ("channel.", "Channels"),
    ("settings.", "Settings"),
    ("billing.", "Billing"),
    ("workspace.", "Workspace deletion"),
    ("data.", "Exports and erasures"),
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditParams {
    action: String,
    member: String,
    from: String,
    until: String,
    before: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/audit.html")]
pub struct AuditPage {
    page: Page,
    params: AuditParams,
    entries: Vec<Entry>,
    /// The link to the next (older) page.
    older: Option<String>,
    actions: [(&'static str, &'static str); 9],
    time_zone: String,
    errors: Vec<String>,
    report: Option<Report>,
    /// Members of these entries who have since deleted their account.
    former: HashSet<Uuid>,
}

impl AuditPage {
    /// Whether the entry's member has deleted their account (shown as
    /// "Former member"; the entry itself is kept as written).
    fn by_former_member(&self, entry: &Entry) -> bool {
        entry.actor_id.is_some_and(|id| self.former.contains(&id))
    }

    fn when(&self, entry: &Entry) -> String {
        local_time::shown(entry.at, &self.time_zone)
    }

    fn details(entry: &Entry) -> String {
        entry
            .details
            .0
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// The filter from the query, or what is wrong with it.
fn filter(params: &AuditParams, time_zone: &str, errors: &mut Vec<String>) -> Filter {
    let action = ACTIONS
        .iter()
        .find(|(a, _)| *a == params.action)
        .map(|(a, _)| (*a).to_owned());
    if action.is_none() && !params.action.is_empty() {
        errors.push("Kind: pick one from the list.".into());
    }
    let mut day = |typed: &str, what: &str| {
        let typed = typed.trim();
        if typed.is_empty() {
            return None;
        }
        match local_time::parse(&format!("{typed}T00:00"), time_zone) {
            Ok(at) => Some(at),
            Err(_) => {
                errors.push(format!("{what}: a date such as 2026-11-27."));
                None
            }
        }
    };
    let from = day(&params.from, "From");
    let until = day(&params.until, "Until").map(|at| at + time::Duration::days(1));
    let before = params.before.trim().parse::<i64>().ok();
    Filter {
        action,
        actor_email: Some(params.member.trim().to_owned()).filter(|m| !m.is_empty()),
        from,
        until,
        before,
    }
}

async fn render(
    mut owner: Tenant<OwnWorkspace>,
    params: AuditParams,
    report: Option<Report>,
) -> Result<Response> {
    let time_zone = db::orgs::time_zone(&mut owner.tx).await?;
    let mut errors = vec![];
    let filter = filter(&params, &time_zone, &mut errors);
    let mut entries = if errors.is_empty() {
        audit::list(&mut owner.tx, &filter, PAGE).await?
    } else {
        vec![]
    };
    let actors: Vec<Uuid> = entries
        .iter()
        .filter_map(|e| e.actor_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let here: HashSet<Uuid> = db::users::still_here(owner.tx.conn(), &actors)
        .await?
        .into_iter()
        .collect();
    let former = actors.into_iter().filter(|id| !here.contains(id)).collect();
    owner.tx.commit().await?;
    let older = (entries.len() as i64 > PAGE).then(|| {
        entries.truncate(PAGE as usize);
        let last = entries.last().map_or(0, |e| e.seq).to_string();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &params.action)
            .append_pair("member", &params.member)
            .append_pair("from", &params.from)
            .append_pair("until", &params.until)
            .append_pair("before", &last)
            .finish();
        format!("/settings/audit?{query}")
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AuditPage {
        page: owner.page,
        params,
        entries,
        older,
        actions: ACTIONS,
        time_zone,
        errors,
        report,
        former,
    };
    Ok((status, page).into_response())
}

pub async fn show(
    owner: Tenant<OwnWorkspace>,
    Query(params): Query<AuditParams>,
) -> Result<Response> {
    render(owner, params, None).await
}

/// Walks the whole chain and shows what it found above the log.
pub async fn verify(mut owner: Tenant<OwnWorkspace>) -> Result<Response> {
    let report = verify::verify(&mut owner.tx).await?;
    render(owner, AuditParams::default(), Some(report)).await
}
