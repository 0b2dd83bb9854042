use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{TaskKind, local_time};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::contacts::Contact;
use crate::infra::db::conversations::Earlier;
use crate::infra::db::deals::Deal;
use crate::infra::db::memberships::Member;
use crate::infra::db::notes::{Note, NoteSubject};
use crate::infra::db::tasks::{Assignee, Task};
use crate::infra::tenancy::member::{Page, Tenant};

/// Open tasks "my day" lists at most.
const DAY_LIMIT: i64 = 500;
/// "My day" looks this many days ahead.
const DAYS_AHEAD: i64 = 7;

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DayQuery {
    /// `me` (the default), `all`, `none` or a member's id.
    assignee: String,
    /// The call plan's day, `YYYY-MM-DD` (today by default).
    day: String,
}

/// The local day `date` as instants: its first moment and the next day's.
fn day_bounds(date: Date, time_zone: &str) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let at_midnight = |d: Date| {
        let typed = format!("{}T00:00", d.format(DATE).unwrap_or_default());
        local_time::parse(&typed, time_zone)
            .map_err(|e| AppError::Unprocessable(format!("Day: {e}")))
    };
    let next = date.next_day().ok_or(AppError::Unprocessable(
        "Day: out of the calendar's range.".to_owned(),
    ))?;
    Ok((at_midnight(date)?, at_midnight(next)?))
}

/// Today on the workspace's clock.
fn today(time_zone: &str) -> Date {
    let now = OffsetDateTime::now_utc();
    Date::parse(
        local_time::input_value(now, time_zone)
            .get(..10)
            .unwrap_or_default(),
        DATE,
    )
    .unwrap_or(now.date())
}

fn assignee_of(
    typed: &str,
    viewer: Uuid,
    members: &[Member],
) -> std::result::Result<Assignee, String> {
    match typed.trim() {
        "" | "me" => Ok(Assignee::Member(viewer)),
        "all" => Ok(Assignee::Anyone),
        "none" => Ok(Assignee::Nobody),
        typed => members
            .iter()
            .find(|m| m.user_id.to_string() == typed)
            .map(|m| Assignee::Member(m.user_id))
            .ok_or_else(|| "Assignee: choose a member of this workspace.".to_owned()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks/day.html")]
struct DayPage {
    page: Page,
    members: Vec<Member>,
    assignee: String,
    today: String,
    overdue: Vec<Task>,
    due_today: Vec<Task>,
    later: Vec<Task>,
    undated: Vec<Task>,
    time_zone: String,
    /// This page's own address, where "done" comes back to.
    here: String,
}

impl DayPage {
    fn due(&self, task: &Task) -> String {
        task.due_at
            .map(|at| local_time::shown(at, &self.time_zone))
            .unwrap_or_default()
    }
}

/// "My day": the member's open tasks, overdue, due today, in the week ahead
/// and undated, on the workspace's clock.
pub async fn my_day(mut tenant: Tenant, Query(query): Query<DayQuery>) -> Result<Response> {
    let members = db::memberships::list(&mut tenant.tx).await?;
    let assignee = assignee_of(&query.assignee, tenant.member.user_id, &members)
        .map_err(AppError::Unprocessable)?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let today = today(&time_zone);
    let (start, end) = day_bounds(today, &time_zone)?;
    let week_ahead = today
        .checked_add(Duration::days(DAYS_AHEAD))
        .unwrap_or(today);
    let (until, _) = day_bounds(week_ahead, &time_zone)?;
    let tasks = db::tasks::open_until(&mut tenant.tx, assignee, until, true, DAY_LIMIT).await?;
    tenant.tx.commit().await?;
    let (mut overdue, mut due_today, mut later, mut undated) = (vec![], vec![], vec![], vec![]);
    for task in tasks {
        match task.due_at {
            None => undated.push(task),
            Some(due) if due < start => overdue.push(task),
            Some(due) if due < end => due_today.push(task),
            Some(_) => later.push(task),
        }
    }
    let here = format!("/tasks?assignee={}", query.assignee.trim());
    Ok(DayPage {
        page: tenant.page,
        members,
        assignee: query.assignee.trim().to_owned(),
        today: today.format(DATE).unwrap_or_default(),
        overdue,
        due_today,
        later,
        undated,
        time_zone,
        here,
    }
    .into_response())
}

/// A call and what the caller should know: the contact, their open deals,
/// latest notes and conversation.
struct Call {
    task: Task,
    contact: Option<Contact>,
    deals: Vec<Deal>,
    notes: Vec<Note>,
    conversation: Option<Earlier>,
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks/calls.html")]
struct CallPlanPage {
    page: Page,
    members: Vec<Member>,
    assignee: String,
    day: String,
    previous_day: String,
    next_day: String,
    calls: Vec<Call>,
    time_zone: String,
    here: String,
}

impl CallPlanPage {
    fn time(&self, task: &Task) -> String {
        task.due_at
            .map(|at| local_time::shown(at, &self.time_zone))
            .and_then(|shown| shown.get(11..).map(str::to_owned))
            .unwrap_or_default()
    }
}

/// The day's calls in order of time, each with its contact's context.
pub async fn call_plan(mut tenant: Tenant, Query(query): Query<DayQuery>) -> Result<Response> {
    let members = db::memberships::list(&mut tenant.tx).await?;
    let assignee = match assignee_of(&query.assignee, tenant.member.user_id, &members)
        .map_err(AppError::Unprocessable)?
    {
        Assignee::Member(id) => Some(id),
        Assignee::Anyone | Assignee::Nobody => None,
    };
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let day = match query.day.trim() {
        "" => today(&time_zone),
        typed => Date::parse(typed, DATE).map_err(|_| {
            AppError::Unprocessable(format!(
                "Day: \"{}\" is not a date (YYYY-MM-DD).",
                typed.chars().take(40).collect::<String>()
            ))
        })?,
    };
    let (start, end) = day_bounds(day, &time_zone)?;
    let tasks =
        db::tasks::due_between(&mut tenant.tx, TaskKind::Call, assignee, start, end).await?;
    let viewer = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    let mut calls = Vec::with_capacity(tasks.len());
    for task in tasks {
        let mut call = Call {
            contact: None,
            deals: vec![],
            notes: vec![],
            conversation: None,
            task,
        };
        if let Some(contact_id) = call.task.contact_id {
            call.contact = db::contacts::find(&mut tenant.tx, contact_id).await?;
            call.deals = db::deals::of_contact(&mut tenant.tx, contact_id, 3).await?;
            call.deals.retain(|d| d.closed_at.is_none());
            call.notes = db::notes::list(
                &mut tenant.tx,
                NoteSubject::Contact(contact_id),
                viewer,
                false,
            )
            .await?;
            call.notes.truncate(2);
            call.conversation = db::conversations::others_of_contact(
                &mut tenant.tx,
                contact_id,
                Uuid::nil(),
                viewer,
                visibility,
                1,
            )
            .await?
            .pop();
        }
        calls.push(call);
    }
    tenant.tx.commit().await?;
    let shown = |d: Option<Date>| d.and_then(|d| d.format(DATE).ok()).unwrap_or_default();
    let day_text = shown(Some(day));
    let here = format!(
        "/tasks/calls?day={day_text}&assignee={}",
        query.assignee.trim()
    );
    Ok(CallPlanPage {
        page: tenant.page,
        members,
        assignee: query.assignee.trim().to_owned(),
        previous_day: shown(day.previous_day()),
        next_day: shown(day.next_day()),
        day: day_text,
        calls,
        time_zone,
        here,
    }
    .into_response())
}
