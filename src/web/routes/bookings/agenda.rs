use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{parse_day, today};
use crate::domain::local_time;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::bookings::Booking;
use crate::infra::db::memberships::Member;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::path::PathId;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AgendaQuery {
    day: String,
    /// A member's id; empty: everyone.
    staff: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "bookings/agenda.html")]
struct AgendaPage {
    page: Page,
    day: String,
    previous_day: String,
    next_day: String,
    staff: String,
    members: Vec<Member>,
    bookings: Vec<Booking>,
    time_zone: String,
}

impl AgendaPage {
    fn time(&self, b: &Booking) -> String {
        local_time::clock_span(b.starts_at, b.ends_at, &self.time_zone)
    }
}

/// The day's bookings (everyone's, or one member's), in order.
pub async fn show(mut tenant: Tenant, Query(query): Query<AgendaQuery>) -> Result<Response> {
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let day = match query.day.trim() {
        "" => today(&time_zone),
        typed => parse_day(typed).map_err(AppError::Unprocessable)?,
    };
    let members = db::memberships::list(&mut tenant.tx).await?;
    let staff = match query.staff.trim() {
        "" => None,
        typed => Some(
            members
                .iter()
                .find(|m| m.user_id.to_string() == typed)
                .map(|m| m.user_id)
                .ok_or_else(|| {
                    AppError::Unprocessable("Staff: choose a member of this workspace.".into())
                })?,
        ),
    };
    let bounds = |d: jiff::civil::Date| local_time::parse(&format!("{d}T00:00"), &time_zone);
    let (Ok(from), Some(Ok(to))) = (bounds(day), day.tomorrow().ok().map(bounds)) else {
        return Err(AppError::Unprocessable(
            "Day: out of the calendar's range.".into(),
        ));
    };
    let bookings = db::bookings::between(&mut tenant.tx, from, to, staff).await?;
    tenant.tx.commit().await?;
    Ok(AgendaPage {
        page: tenant.page,
        day: day.to_string(),
        previous_day: day.yesterday().map(|d| d.to_string()).unwrap_or_default(),
        next_day: day.tomorrow().map(|d| d.to_string()).unwrap_or_default(),
        staff: query.staff.trim().to_owned(),
        members,
        bookings,
        time_zone,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "bookings/booking.html")]
struct BookingPage {
    page: Page,
    booking: Booking,
    when: String,
    time_zone: String,
}

pub async fn booking(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let booking = db::bookings::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok(BookingPage {
        page: tenant.page,
        when: local_time::shown(booking.starts_at, &time_zone),
        booking,
        time_zone,
    }
    .into_response())
}

/// Cancels it (and the customer's reminder); the time is free again.
pub async fn cancel(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    if db::bookings::find(&mut tenant.tx, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    if !crate::features::bookings::cancel(&mut tenant.tx, id).await? {
        return Err(AppError::Conflict(
            "This booking was cancelled already.".into(),
        ));
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Booking cancelled; its reminder will not be sent.",
        )
        .await?;
    Ok(Redirect::to(&format!("/bookings/{id}")).into_response())
}
