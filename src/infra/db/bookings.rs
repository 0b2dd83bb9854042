//! Bookings: services, members' weekly hours, and appointments (Postgres
//! refuses overlapping ones of a member: `bookings_no_overlap`).

use time::{OffsetDateTime, Time};
use uuid::Uuid;

use crate::domain::BookingStatus;
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Service {
    pub id: Uuid,
    pub name: String,
    pub duration_minutes: i32,
    pub active: bool,
}

pub async fn services(tx: &mut TenantTx, include_archived: bool) -> sqlx::Result<Vec<Service>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Service,
        "select id, name, duration_minutes, active from services \
         where org_id = $1 and (active or $2) order by lower(name)",
        org_id,
        include_archived
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn service(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Service>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Service,
        "select id, name, duration_minutes, active from services where org_id = $1 and id = $2",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// `false` when one of that name exists already.
pub async fn insert_service(tx: &mut TenantTx, name: &str, minutes: i32) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "insert into services (org_id, id, name, duration_minutes) values ($1, $2, $3, $4) \
         on conflict do nothing",
        org_id,
        Uuid::now_v7(),
        name,
        minutes
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Renames, changes the length or archives; `false` when another service
/// has that name.
pub async fn update_service(
    tx: &mut TenantTx,
    id: Uuid,
    name: &str,
    minutes: i32,
    active: bool,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let taken = sqlx::query_scalar!(
        r#"select exists (select 1 from services where org_id = $1 and id <> $2
           and lower(name) = lower($3)) as "taken!""#,
        org_id,
        id,
        name
    )
    .fetch_one(tx.conn())
    .await?;
    if taken {
        return Ok(false);
    }
    sqlx::query!(
        "update services set name = $3, duration_minutes = $4, active = $5 \
         where org_id = $1 and id = $2",
        org_id,
        id,
        name,
        minutes,
        active
    )
    .execute(tx.conn())
    .await?;
    Ok(true)
}

/// A member's hours on one weekday (1 Monday … 7 Sunday).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffHours {
    pub user_id: Uuid,
    pub weekday: i16,
    pub starts: Time,
    pub ends: Time,
}

/// Everyone's weekly hours (`user_id` given: that member's).
pub async fn hours(tx: &mut TenantTx, user_id: Option<Uuid>) -> sqlx::Result<Vec<StaffHours>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        StaffHours,
        "select user_id, weekday, starts, ends from staff_hours \
         where org_id = $1 and ($2::uuid is null or user_id = $2) order by user_id, weekday",
        org_id,
        user_id
    )
    .fetch_all(tx.conn())
    .await
}

/// Replaces a member's week: `days` are `(weekday, starts, ends)`.
pub async fn set_hours(
    tx: &mut TenantTx,
    user_id: Uuid,
    days: &[(i16, Time, Time)],
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "delete from staff_hours where org_id = $1 and user_id = $2",
        org_id,
        user_id
    )
    .execute(tx.conn())
    .await?;
    for (weekday, starts, ends) in days {
        sqlx::query!(
            "insert into staff_hours (org_id, user_id, weekday, starts, ends) \
             values ($1, $2, $3, $4, $5)",
            org_id,
            user_id,
            *weekday,
            *starts,
            *ends
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Booking {
    pub id: Uuid,
    pub service_id: Uuid,
    pub service_name: String,
    pub staff_id: Option<Uuid>,
    pub staff_name: Option<String>,
    pub contact_id: Uuid,
    pub contact_name: String,
    pub conversation_id: Option<Uuid>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub status: BookingStatus,
    pub notes: Option<String>,
    pub reminder_id: Option<Uuid>,
}

/// `query_as!(Booking, ...)` of a booking with its service's, contact's
/// and member's names, followed by `$tail` (one column list, each query
/// still a literal the macro checks). The member may be gone (`?`).
macro_rules! select_bookings {
    ($tail:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Booking,
            r#"select b.id, b.service_id, s.name as service_name, b.staff_id,
                 u.name as "staff_name?", b.contact_id, c.name as contact_name,
                 b.conversation_id, b.starts_at, b.ends_at,
                 b.status as "status: BookingStatus", b.notes, b.reminder_id
               from bookings b join services s on s.org_id = b.org_id and s.id = b.service_id
               join contacts c on c.org_id = b.org_id and c.id = b.contact_id
               left join users u on u.id = b.staff_id "#
                + $tail,
            $($arg),+
        )
    };
}

/// A new appointment.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub service_id: Uuid,
    pub staff_id: Uuid,
    pub contact_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub notes: Option<String>,
    pub created_by: Uuid,
}

/// The booking's id, or `None` when the member is booked at that time
/// already (Postgres said so: no race can double-book).
pub async fn insert(tx: &mut TenantTx, booking: &NewBooking) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    let id = Uuid::now_v7();
    // A savepoint: the refusal must not end the caller's transaction.
    sqlx::query!("savepoint booking_insert")
        .execute(tx.conn())
        .await?;
    let inserted = sqlx::query!(
        "insert into bookings (org_id, id, service_id, staff_id, contact_id, conversation_id, \
           starts_at, ends_at, notes, created_by) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        org_id,
        id,
        booking.service_id,
        booking.staff_id,
        booking.contact_id,
        booking.conversation_id,
        booking.starts_at,
        booking.ends_at,
        booking.notes,
        booking.created_by
    )
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => {
            sqlx::query!("release savepoint booking_insert")
                .execute(tx.conn())
                .await?;
            Ok(Some(id))
        }
        Err(e)
            if e.as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|code| code == "23P01") =>
        {
            sqlx::query!("rollback to savepoint booking_insert")
                .execute(tx.conn())
                .await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub async fn set_reminder(tx: &mut TenantTx, id: Uuid, reminder: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update bookings set reminder_id = $3 where org_id = $1 and id = $2",
        org_id,
        id,
        reminder
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Booking>> {
    let org_id = tx.org_id();
    select_bookings!("where b.org_id = $1 and b.id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await
}

/// Live bookings starting in `[from, to)`, of one member or everyone's.
pub async fn between(
    tx: &mut TenantTx,
    from: OffsetDateTime,
    to: OffsetDateTime,
    staff_id: Option<Uuid>,
) -> sqlx::Result<Vec<Booking>> {
    let org_id = tx.org_id();
    select_bookings!(
        "where b.org_id = $1 and b.status = 'booked' \
         and b.starts_at < $3 and b.ends_at > $2 and ($4::uuid is null or b.staff_id = $4) \
         order by b.starts_at, b.id",
        org_id,
        from,
        to,
        staff_id
    )
    .fetch_all(tx.conn())
    .await
}

/// A contact's bookings, newest first.
pub async fn of_contact(
    tx: &mut TenantTx,
    contact_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Booking>> {
    let org_id = tx.org_id();
    select_bookings!(
        "where b.org_id = $1 and b.contact_id = $2 order by b.starts_at desc, b.id limit $3",
        org_id,
        contact_id,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// `false` when it was not booked (cancelled already, or not ours).
pub async fn cancel(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update bookings set status = 'cancelled' where org_id = $1 and id = $2 \
         and status = 'booked'",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
