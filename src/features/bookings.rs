//! Booking appointments: the free slots of a member for a service on a day
//! (their hours, within the workspace's, clear of their bookings, not in
//! the past), and booking one, with a reminder to the customer before it
//! (a scheduled message in their conversation, which the inbox shows and
//! cancelling the booking cancels).

use jiff::civil::{Date, Time};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::local_time;
use crate::domain::slots::{self, Window};
use crate::infra::db;
use crate::infra::db::bookings::{NewBooking, Service};
use crate::infra::db::scheduled::Draft;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;

/// The customer is reminded this long before; a booking made later than
/// that is reminded `SHORT_NOTICE` before, if still ahead.
const REMIND_BEFORE: time::Duration = time::Duration::hours(24);
const SHORT_NOTICE: time::Duration = time::Duration::hours(2);

/// Why a booking was refused, in words for the member.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("That time has passed: choose a time from now on.")]
    Past,
    #[error("{0} does not work then: choose one of the free times shown.")]
    OutsideHours(String),
    #[error("{0} was booked at that time a moment ago: choose another free time.")]
    Taken(String),
}

fn civil_time(t: time::Time) -> Time {
    Time::new(
        i8::try_from(t.hour()).unwrap_or(0),
        i8::try_from(t.minute()).unwrap_or(0),
        0,
        0,
    )
    .unwrap_or(Time::midnight())
}

/// The member's working window on `day`: their hours that weekday, within
/// the workspace's business hours when it has any.
async fn window(tx: &mut TenantTx, staff_id: Uuid, day: Date) -> sqlx::Result<Option<Window>> {
    let weekday = i16::from(day.weekday().to_monday_one_offset());
    let Some(hours) = db::bookings::hours(tx, Some(staff_id))
        .await?
        .into_iter()
        .find(|h| h.weekday == weekday)
    else {
        return Ok(None);
    };
    let staff = Window {
        starts: civil_time(hours.starts),
        ends: civil_time(hours.ends),
    };
    let business = db::orgs::get(tx).await?.map(|o| o.business_hours);
    let week = business
        .as_ref()
        .and_then(|b| b.as_object())
        .filter(|w| !w.is_empty());
    let Some(week) = week else {
        return Ok(Some(staff));
    };
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let key = DAYS[usize::from(day.weekday().to_monday_zero_offset().unsigned_abs())];
    let open = week.get(key).and_then(|d| {
        Some((
            slots::parse_time(d["open"].as_str()?)?,
            slots::parse_time(d["close"].as_str()?)?,
        ))
    });
    Ok(open.and_then(|(starts, ends)| staff.intersect(Window { starts, ends })))
}

/// The free start times of `staff_id` for `service` on the local `day`.
pub async fn free_slots(
    tx: &mut TenantTx,
    service: &Service,
    staff_id: Uuid,
    day: Date,
    now: OffsetDateTime,
) -> sqlx::Result<Vec<OffsetDateTime>> {
    let Some(window) = window(tx, staff_id, day).await? else {
        return Ok(vec![]);
    };
    let time_zone = db::orgs::time_zone(tx).await?;
    // The day's bookings, with a day's margin either side for any zone.
    let (Ok(from), Ok(to)) = (
        local_time::parse(&format!("{day}T00:00"), &time_zone),
        local_time::parse(&format!("{day}T23:59"), &time_zone),
    ) else {
        return Ok(vec![]);
    };
    let busy: Vec<(OffsetDateTime, OffsetDateTime)> = db::bookings::between(
        tx,
        from - time::Duration::days(1),
        to + time::Duration::days(1),
        Some(staff_id),
    )
    .await?
    .into_iter()
    .map(|b| (b.starts_at, b.ends_at))
    .collect();
    Ok(slots::free_slots(
        day,
        &time_zone,
        window,
        i64::from(service.duration_minutes),
        &busy,
        now,
    ))
}

/// What a booking is for, checked by the caller (service, member, contact
/// and conversation are this workspace's).
pub struct Request<'a> {
    pub service: &'a Service,
    pub staff_id: Uuid,
    pub staff_name: &'a str,
    pub contact_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub starts_at: OffsetDateTime,
    pub notes: Option<String>,
    pub booked_by: Uuid,
}

/// Books it if the time is one of the member's free slots; Postgres has
/// the last word on overlaps (another booking may commit first). The
/// reminder is scheduled in the same transaction.
pub async fn book(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    request: &Request<'_>,
    now: OffsetDateTime,
) -> anyhow::Result<Result<Uuid, Refused>> {
    if request.starts_at < now {
        return Ok(Err(Refused::Past));
    }
    let time_zone = db::orgs::time_zone(tx).await?;
    let local = local_time::input_value(request.starts_at, &time_zone);
    let day: Option<Date> = local.get(..10).and_then(|d| d.parse().ok());
    let free = match day {
        Some(day) => free_slots(tx, request.service, request.staff_id, day, now).await?,
        None => vec![],
    };
    if !free.contains(&request.starts_at) {
        let clash = db::bookings::between(
            tx,
            request.starts_at,
            request.starts_at
                + time::Duration::minutes(i64::from(request.service.duration_minutes)),
            Some(request.staff_id),
        )
        .await?;
        let name = request.staff_name.to_owned();
        return Ok(Err(if clash.is_empty() {
            Refused::OutsideHours(name)
        } else {
            Refused::Taken(name)
        }));
    }
    let booking = NewBooking {
        service_id: request.service.id,
        staff_id: request.staff_id,
        contact_id: request.contact_id,
        conversation_id: request.conversation_id,
        starts_at: request.starts_at,
        ends_at: request.starts_at
            + time::Duration::minutes(i64::from(request.service.duration_minutes)),
        notes: request.notes.clone(),
        created_by: request.booked_by,
    };
    let Some(id) = db::bookings::insert(tx, &booking).await? else {
        return Ok(Err(Refused::Taken(request.staff_name.to_owned())));
    };
    if let Some(conversation_id) = request.conversation_id {
        let remind_at = [REMIND_BEFORE, SHORT_NOTICE]
            .into_iter()
            .map(|before| request.starts_at - before)
            .find(|at| *at > now);
        if let Some(send_at) = remind_at {
            let draft = Draft {
                body: format!(
                    "Reminder: your {} with {} is on {} ({time_zone}). Reply here if you need to change it.",
                    request.service.name,
                    request.staff_name,
                    local_time::shown(request.starts_at, &time_zone)
                ),
                send_at,
                fallback: None,
            };
            let reminder = crate::features::inbox::scheduled::schedule(
                tx,
                secrets,
                conversation_id,
                request.booked_by,
                &draft,
            )
            .await?;
            db::bookings::set_reminder(tx, id, reminder).await?;
        }
    }
    Ok(Ok(id))
}

/// Cancels the booking and its reminder; `false` when it was not booked.
pub async fn cancel(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let Some(booking) = db::bookings::find(tx, id).await? else {
        return Ok(false);
    };
    if !db::bookings::cancel(tx, id).await? {
        return Ok(false);
    }
    if let Some(reminder) = booking.reminder_id {
        db::scheduled::cancel(tx, reminder, "The booking was cancelled.").await?;
    }
    Ok(true)
}
