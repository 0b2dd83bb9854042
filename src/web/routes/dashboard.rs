//! The signed-in home, "Today": what matters to the member today on the
//! workspace's clock: the conversations waiting on them, the unassigned
//! ones, their tasks due or overdue, today's bookings, and the week so far.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::get;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{local_time, money};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::bookings::Booking;
use crate::infra::db::tasks::{Assignee, Task};
use crate::infra::db::today::{Activity, ConversationRow, CurrencyTotal};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::list_display;

/// Rows each list shows at most; "See all" leads to the rest.
const LIST: i64 = 10;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(show))
}

/// The week so far: the inbox's activity, deals won and orders made.
struct Week {
    activity: Activity,
    won: Vec<CurrencyTotal>,
    orders: Vec<CurrencyTotal>,
}

impl Week {
    fn won_count(&self) -> i64 {
        self.won.iter().map(|t| t.count).sum()
    }

    fn orders_count(&self) -> i64 {
        self.orders.iter().map(|t| t.count).sum()
    }

    /// "BRL 1,234.50 · USD 20.00": each currency on its own.
    fn amounts(totals: &[CurrencyTotal]) -> String {
        totals
            .iter()
            .map(|t| money::shown(t.value, &t.currency))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    fn won_amounts(&self) -> String {
        Self::amounts(&self.won)
    }

    fn order_amounts(&self) -> String {
        Self::amounts(&self.orders)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    user_name: String,
    role: String,
    /// "Wednesday, 9 December".
    today: String,
    time_zone: String,
    now: OffsetDateTime,
    start_of_today: OffsetDateTime,
    me: Uuid,
    waiting: Vec<ConversationRow>,
    unassigned: Vec<ConversationRow>,
    tasks: Vec<Task>,
    bookings: Vec<Booking>,
    /// Today's bookings past the ones shown.
    more_bookings: usize,
    week: Week,
}

impl DashboardPage {
    /// How long the customer has waited for an answer ("12 min", "3 h").
    fn waited(&self, c: &ConversationRow) -> String {
        c.waiting_since
            .map(|since| list_display::waited(since, self.now))
            .unwrap_or_default()
    }

    fn is_overdue(&self, task: &Task) -> bool {
        task.due_at.is_some_and(|due| due < self.start_of_today)
    }

    /// The due time on the workspace's clock: the time alone when it is
    /// today, the day too when it is overdue.
    fn due(&self, task: &Task) -> String {
        let Some(due) = task.due_at else {
            return String::new();
        };
        let shown = local_time::shown(due, &self.time_zone);
        if self.is_overdue(task) {
            shown
        } else {
            shown.get(11..).unwrap_or_default().to_owned()
        }
    }

    /// "09:30–10:30" on the workspace's clock.
    fn booking_time(&self, b: &Booking) -> String {
        local_time::clock_span(b.starts_at, b.ends_at, &self.time_zone)
    }

    fn is_mine(&self, b: &Booking) -> bool {
        b.staff_id == Some(self.me)
    }
}

/// The calendar day `at` falls on in `time_zone`.
fn local_date(at: OffsetDateTime, time_zone: &str) -> Option<Date> {
    let shown = local_time::input_value(at, time_zone);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(shown.get(..10)?, format).ok()
}

/// The first moment of the local day `date` in `time_zone`.
fn start_of(date: Date, time_zone: &str) -> Result<OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]T00:00");
    let typed = date
        .format(format)
        .map_err(|e| AppError::Internal(e.into()))?;
    local_time::parse(&typed, time_zone).map_err(|e| AppError::Internal(e.into()))
}

/// Today's first moment, tomorrow's, and this week's (Monday's), on the
/// workspace's clock.
fn day_and_week(now: OffsetDateTime, time_zone: &str) -> Result<(Date, [OffsetDateTime; 3])> {
    let today = local_date(now, time_zone).unwrap_or(now.date());
    let tomorrow = today
        .next_day()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no day after {today}")))?;
    let monday = today - Duration::days(i64::from(today.weekday().number_days_from_monday()));
    Ok((
        today,
        [
            start_of(today, time_zone)?,
            start_of(tomorrow, time_zone)?,
            start_of(monday, time_zone)?,
        ],
    ))
}

#[tracing::instrument(skip_all, fields(org_id = %tenant.member.org_id, user_id = %tenant.member.user_id))]
async fn show(mut tenant: Tenant) -> Result<DashboardPage> {
    let me = tenant.member.user_id;
    let now = OffsetDateTime::now_utc();
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    let (today, [start_of_today, start_of_tomorrow, start_of_week]) =
        day_and_week(now, &time_zone)?;
    let tx = &mut tenant.tx;

    let waiting = db::today::waiting_on(tx, me, LIST).await?;
    // Every member sees the unassigned, agents limited to their own too;
    // asked of the rule so that the list follows it should it change.
    let unassigned = if tenant.member.visibility().allows(None) {
        db::today::unassigned(tx, LIST).await?
    } else {
        Vec::new()
    };
    let tasks =
        db::tasks::open_until(tx, Assignee::Member(me), start_of_tomorrow, false, LIST).await?;
    let mut bookings = db::bookings::between(tx, start_of_today, start_of_tomorrow, None).await?;
    let shown = usize::try_from(LIST).unwrap_or(usize::MAX);
    let more_bookings = bookings.len().saturating_sub(shown);
    bookings.truncate(shown);
    let week = Week {
        activity: db::today::activity_since(tx, start_of_week).await?,
        won: db::today::won_since(tx, start_of_week).await?,
        orders: db::today::orders_since(tx, start_of_week).await?,
    };
    tenant.tx.commit().await?;

    Ok(DashboardPage {
        page: tenant.page,
        user_name: tenant.member.user_name,
        role: tenant.member.role.to_string(),
        today: format!("{}, {} {}", today.weekday(), today.day(), today.month()),
        time_zone,
        now,
        start_of_today,
        me,
        waiting,
        unassigned,
        tasks,
        bookings,
        more_bookings,
        week,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_day_and_week_start_at_local_midnight() {
        // Wednesday 9 December 2026, 01:30 in São Paulo (UTC-3).
        let now = datetime!(2026-12-09 04:30 UTC);
        let (today, [start, end, monday]) = day_and_week(now, "America/Sao_Paulo").unwrap();
        assert_eq!(today, time::macros::date!(2026 - 12 - 09));
        assert_eq!(start, datetime!(2026-12-09 03:00 UTC));
        assert_eq!(end, datetime!(2026-12-10 03:00 UTC));
        assert_eq!(monday, datetime!(2026-12-07 03:00 UTC));
        // 02:00 UTC is still Tuesday the 8th in São Paulo.
        let (today, [start, _, monday]) =
            day_and_week(datetime!(2026-12-09 02:00 UTC), "America/Sao_Paulo").unwrap();
        assert_eq!(today, time::macros::date!(2026 - 12 - 08));
        assert_eq!(start, datetime!(2026-12-08 03:00 UTC));
        assert_eq!(monday, datetime!(2026-12-07 03:00 UTC));
        // A Monday is its own week's first day.
        let (_, [start, _, monday]) = day_and_week(datetime!(2026-12-07 12:00 UTC), "UTC").unwrap();
        assert_eq!(start, monday);
    }
}
