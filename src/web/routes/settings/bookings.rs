//! Booking settings (owners and admins): the services offered, with their
//! length, and each member's weekly working hours (within the workspace's
//! business hours, when it has any, is when they can be booked).

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::bookings::{Service, StaffHours};
use crate::infra::db::memberships::Member;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Template, WebTemplate)]
#[template(path = "settings/bookings.html")]
struct BookingSettingsPage {
    page: Page,
    services: Vec<Service>,
    members: Vec<Member>,
    hours: Vec<StaffHours>,
    errors: Vec<String>,
}

impl BookingSettingsPage {
    fn weekdays(&self) -> Vec<(i16, &'static str)> {
        (1..=7).zip(WEEKDAYS).collect()
    }

    /// `(starts, ends)` as `HH:MM`, or empty when the member is off.
    fn hours_of(&self, user: &Uuid, weekday: &i16) -> (String, String) {
        self.hours
            .iter()
            .find(|h| h.user_id == *user && h.weekday == *weekday)
            .map(|h| {
                (
                    format!("{:02}:{:02}", h.starts.hour(), h.starts.minute()),
                    format!("{:02}:{:02}", h.ends.hour(), h.ends.minute()),
                )
            })
            .unwrap_or_default()
    }
}

async fn render(
    mut tenant: Tenant<ManageSettings>,
    status: StatusCode,
    errors: Vec<String>,
) -> Result<Response> {
    let services = db::bookings::services(&mut tenant.tx, true).await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let hours = db::bookings::hours(&mut tenant.tx, None).await?;
    tenant.tx.commit().await?;
    Ok((
        status,
        BookingSettingsPage {
            page: tenant.page,
            services,
            members,
            hours,
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
pub struct ServiceForm {
    name: String,
    minutes: String,
    /// `yes` keeps it bookable (edits only).
    active: String,
}

fn parse_service(form: &ServiceForm) -> std::result::Result<(String, i32), Vec<String>> {
    let mut errors = vec![];
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        errors.push("Service: name it.".to_owned());
    } else if name.chars().count() > 120 {
        errors.push("Service name is too long (120 characters at most).".to_owned());
    }
    let minutes = form
        .minutes
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|m| (5..=720).contains(m));
    if minutes.is_none() {
        errors.push(format!(
            "Length: \"{}\" is not a number of minutes from 5 to 720.",
            form.minutes.trim().chars().take(20).collect::<String>()
        ));
    }
    match minutes {
        Some(minutes) if errors.is_empty() => Ok((name, minutes)),
        _ => Err(errors),
    }
}

pub async fn add_service(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<ServiceForm>,
) -> Result<Response> {
    let (name, minutes) = match parse_service(&form) {
        Ok(parsed) => parsed,
        Err(errors) => return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, errors).await,
    };
    if !db::bookings::insert_service(&mut tenant.tx, &name, minutes).await? {
        let e = format!("Service: there is one named \"{name}\" already.");
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, format!("Service \"{name}\" added."))
        .await?;
    Ok(Redirect::to("/settings/bookings").into_response())
}

pub async fn update_service(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ServiceForm>,
) -> Result<Response> {
    if db::bookings::service(&mut tenant.tx, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let (name, minutes) = match parse_service(&form) {
        Ok(parsed) => parsed,
        Err(errors) => return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, errors).await,
    };
    let active = form.active == "yes";
    if !db::bookings::update_service(&mut tenant.tx, id, &name, minutes, active).await? {
        let e = format!("Service: there is one named \"{name}\" already.");
        return render(tenant, StatusCode::CONFLICT, vec![e]).await;
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, format!("Service \"{name}\" saved."))
        .await?;
    Ok(Redirect::to("/settings/bookings").into_response())
}

/// A member's week: `d1_starts`, `d1_ends` … `d7_ends` (`HH:MM`; both
/// empty: off that day).
pub async fn set_hours(
    mut tenant: Tenant<ManageSettings>,
    PathId(user): PathId,
    HtmlForm(form): HtmlForm<HashMap<String, String>>,
) -> Result<Response> {
    let members = db::memberships::list(&mut tenant.tx).await?;
    let member = members
        .iter()
        .find(|m| m.user_id == user)
        .ok_or(AppError::NotFound)?;
    let mut days = vec![];
    let mut errors = vec![];
    for (weekday, name) in (1..=7i16).zip(WEEKDAYS) {
        let field = |end: &str| {
            form.get(&format!("d{weekday}_{end}"))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let (starts, ends) = (field("starts"), field("ends"));
        if starts.is_empty() && ends.is_empty() {
            continue;
        }
        let parse = |typed: &str| {
            time::Time::parse(typed, time::macros::format_description!("[hour]:[minute]")).ok()
        };
        match (parse(&starts), parse(&ends)) {
            (Some(s), Some(e)) if e > s => days.push((weekday, s, e)),
            (Some(_), Some(_)) => errors.push(format!("{name}: the day ends before it starts.")),
            _ => errors.push(format!(
                "{name}: give a start and an end like 09:00 and 17:00 (both empty: off)."
            )),
        }
    }
    if !errors.is_empty() {
        return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    let name = member.name.clone();
    db::bookings::set_hours(&mut tenant.tx, member.user_id, &days).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, format!("{name}'s working hours saved."))
        .await?;
    Ok(Redirect::to("/settings/bookings").into_response())
}
