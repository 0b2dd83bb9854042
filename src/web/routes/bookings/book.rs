use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{parse_day, today};
use crate::domain::local_time;
use crate::error::{AppError, Result};
use crate::features::bookings::{Refused, Request};
use crate::infra::db;
use crate::infra::db::bookings::Service;
use crate::infra::db::memberships::Member;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

/// The booking form as typed: choosing service, member and day shows the
/// free times; a time books.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BookForm {
    service: String,
    staff: String,
    day: String,
    /// `YYYY-MM-DDTHH:MM` on the workspace's clock.
    starts: String,
    contact: String,
    conversation: String,
    notes: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "bookings/new.html")]
struct NewBookingPage {
    page: Page,
    form: BookForm,
    errors: Vec<String>,
    contact_name: String,
    services: Vec<Service>,
    /// Members with working hours.
    staff: Vec<Member>,
    /// Free times as `(value, shown)`: `YYYY-MM-DDTHH:MM`, `HH:MM`.
    slots: Vec<(String, String)>,
    time_zone: String,
}

/// The contact the booking is for (the conversation's, when it starts
/// there), checked to be this workspace's and visible to the member.
async fn whom(tenant: &mut Tenant, form: &mut BookForm) -> Result<String> {
    if let Ok(conversation_id) = Uuid::try_parse(form.conversation.trim()) {
        let viewer = tenant.member.user_id;
        let visibility = tenant.member.visibility();
        let conversation =
            db::conversations::find(&mut tenant.tx, conversation_id, viewer, visibility)
                .await?
                .ok_or(AppError::NotFound)?;
        form.contact = conversation.contact_id.to_string();
    } else {
        form.conversation.clear();
    }
    let contact_id = Uuid::try_parse(form.contact.trim()).map_err(|_| {
        AppError::Unprocessable("Book from a contact's page or a conversation.".into())
    })?;
    let contact = db::contacts::find(&mut tenant.tx, contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Reminders go into the contact's latest conversation when booked
    // from the contact's page.
    if form.conversation.is_empty()
        && let Some(latest) = db::conversations::others_of_contact(
            &mut tenant.tx,
            contact_id,
            Uuid::nil(),
            tenant.member.user_id,
            tenant.member.visibility(),
            1,
        )
        .await?
        .pop()
    {
        form.conversation = latest.id.to_string();
    }
    Ok(contact.name)
}

/// Members who have working hours.
async fn staff(tenant: &mut Tenant) -> Result<Vec<Member>> {
    let hours = db::bookings::hours(&mut tenant.tx, None).await?;
    let mut members = db::memberships::list(&mut tenant.tx).await?;
    members.retain(|m| hours.iter().any(|h| h.user_id == m.user_id));
    Ok(members)
}

async fn render(
    mut tenant: Tenant,
    mut form: BookForm,
    mut errors: Vec<String>,
    status: StatusCode,
) -> Result<Response> {
    let contact_name = whom(&mut tenant, &mut form).await?;
    let services = db::bookings::services(&mut tenant.tx, false).await?;
    let staff = staff(&mut tenant).await?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    if form.service.is_empty()
        && let Some(first) = services.first()
    {
        form.service = first.id.to_string();
    }
    if form.staff.is_empty()
        && let Some(first) = staff.first()
    {
        form.staff = first.user_id.to_string();
    }
    if form.day.trim().is_empty() {
        form.day = today(&time_zone).to_string();
    }
    let service = services.iter().find(|s| s.id.to_string() == form.service);
    let member = staff.iter().find(|m| m.user_id.to_string() == form.staff);
    let mut slots = vec![];
    match (service, member, parse_day(&form.day)) {
        (Some(service), Some(member), Ok(day)) => {
            let now = OffsetDateTime::now_utc();
            for at in crate::features::bookings::free_slots(
                &mut tenant.tx,
                service,
                member.user_id,
                day,
                now,
            )
            .await?
            {
                let value = local_time::input_value(at, &time_zone);
                let shown = value.get(11..).unwrap_or_default().to_owned();
                slots.push((value, shown));
            }
        }
        (_, _, Err(e)) => errors.push(e),
        _ => {}
    }
    tenant.tx.commit().await?;
    Ok((
        status,
        NewBookingPage {
            page: tenant.page,
            form,
            errors,
            contact_name,
            services,
            staff,
            slots,
            time_zone,
        },
    )
        .into_response())
}

/// `?contact=` or `?conversation=`, and the service, member and day chosen
/// so far.
pub async fn new(tenant: Tenant, Query(form): Query<BookForm>) -> Result<Response> {
    render(tenant, form, vec![], StatusCode::OK).await
}

pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant,
    HtmlForm(mut form): HtmlForm<BookForm>,
) -> Result<Response> {
    whom(&mut tenant, &mut form).await?;
    let mut errors = vec![];
    let service = match Uuid::try_parse(form.service.trim()) {
        Ok(id) => db::bookings::service(&mut tenant.tx, id)
            .await?
            .filter(|s| s.active),
        Err(_) => None,
    };
    if service.is_none() {
        errors.push("Service: choose one of the workspace's services.".to_owned());
    }
    let staff = staff(&mut tenant).await?;
    let member = staff
        .iter()
        .find(|m| m.user_id.to_string() == form.staff.trim());
    if member.is_none() {
        errors.push("With: choose a member who has working hours.".to_owned());
    }
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let starts_at = local_time::parse(&form.starts, &time_zone)
        .map_err(|e| errors.push(format!("Time: {e}")))
        .ok();
    let notes = Some(form.notes.trim().to_owned()).filter(|n| !n.is_empty());
    if notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        errors.push("Notes are too long (2,000 characters at most).".to_owned());
    }
    let (Some(service), Some(member), Some(starts_at), true) =
        (service, member, starts_at, errors.is_empty())
    else {
        return render(tenant, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let request = Request {
        service: &service,
        staff_id: member.user_id,
        staff_name: &member.name,
        contact_id: Uuid::try_parse(form.contact.trim()).map_err(|_| AppError::NotFound)?,
        conversation_id: Uuid::try_parse(form.conversation.trim()).ok(),
        starts_at,
        notes,
        booked_by: tenant.member.user_id,
    };
    let now = OffsetDateTime::now_utc();
    match crate::features::bookings::book(&mut tenant.tx, &state.secrets, &request, now).await? {
        Ok(id) => {
            tenant.tx.commit().await?;
            tenant.session.flash(FlashKind::Success, "Booked.").await?;
            Ok(Redirect::to(&format!("/bookings/{id}")).into_response())
        }
        Err(refused) => {
            let status = match refused {
                Refused::Taken(_) => StatusCode::CONFLICT,
                Refused::Past | Refused::OutsideHours(_) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            form.day = form.starts.get(..10).unwrap_or_default().to_owned();
            render(tenant, form, vec![refused.to_string()], status).await
        }
    }
}
