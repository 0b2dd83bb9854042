//! Sign-up, login, logout, email verification, password reset.

mod login;
mod password_reset;
mod second_step;
mod signup;
mod verify_email;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use verify_email::send_verification;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup::show).post(signup::submit))
        .route("/login", get(login::show).post(login::submit))
        .route(
            "/login/two-factor",
            get(second_step::show).post(second_step::submit),
        )
        .route("/logout", post(login::logout))
        .route("/verify-email", get(verify_email::verify))
        .route("/verify-email/resend", post(verify_email::resend))
        .route(
            "/password/forgot",
            get(password_reset::show_forgot).post(password_reset::submit_forgot),
        )
        .route(
            "/password/reset",
            get(password_reset::show_reset).post(password_reset::submit_reset),
        )
}
