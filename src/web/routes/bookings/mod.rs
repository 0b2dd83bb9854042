//! Bookings: the day's agenda, booking a service with a member at one of
//! their free times (from a contact or a conversation), a booking's page
//! and cancelling it; the services and members' hours are in settings
//! (`settings::bookings`).

mod agenda;
mod book;

use axum::Router;
use axum::routing::{get, post};
use jiff::civil::Date;

use crate::domain::local_time;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/bookings", get(agenda::show).post(book::create))
        .route("/bookings/new", get(book::new))
        .route("/bookings/{id}", get(agenda::booking))
        .route("/bookings/{id}/cancel", post(agenda::cancel))
}

/// Today on the workspace's clock.
fn today(time_zone: &str) -> Date {
    let now = time::OffsetDateTime::now_utc();
    local_time::input_value(now, time_zone)
        .get(..10)
        .and_then(|d| d.parse().ok())
        .unwrap_or_default()
}

/// A typed `YYYY-MM-DD`, or why not.
fn parse_day(typed: &str) -> Result<Date, String> {
    typed.trim().parse().map_err(|_| {
        format!(
            "Day: \"{}\" is not a date (YYYY-MM-DD).",
            typed.trim().chars().take(40).collect::<String>()
        )
    })
}
