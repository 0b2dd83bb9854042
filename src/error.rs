//! One error type for every handler: a status per variant, a friendly page for
//! browsers, JSON for the API, and the cause chain logged for 5xx only.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Seconds a client is told to wait when no database connection is free.
const BUSY_RETRY_AFTER: &str = "2";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in: browsers go to the login page, the API answers 401.
    #[error("authentication required")]
    Unauthorized,
    /// Continue elsewhere (303 See Other).
    #[error("redirect to {0}")]
    Redirect(String),
    /// Signed in, but the role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Missing, or belonging to another workspace (never told apart).
    #[error("not found")]
    NotFound,
    /// The request was refused for a reason the user can fix.
    #[error("{0}")]
    BadRequest(String),
    /// Understood, but a value is not acceptable (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The request body is larger than this route takes (413).
    #[error("{0}")]
    TooLarge(String),
    /// A state conflict (duplicate, last owner...).
    #[error("{0}")]
    Conflict(String),
    /// It existed but is no longer available (an expired download: 410).
    #[error("{0}")]
    Gone(String),
    /// Over the workspace's plan limit (402): the message says which limit,
    /// how much is used; the page links to billing.
    #[error("{0}")]
    PlanLimit(String),
    /// A service wacrm relies on (Stripe…) refused or did not answer (502).
    #[error("{0}")]
    BadGateway(String),
    /// Too many attempts; retry after this many seconds.
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("session store error")]
    Session(#[from] tower_sessions::session::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// No database connection was free in time.
    fn is_busy(&self) -> bool {
        use tower_sessions::session::Error as SessionError;
        use tower_sessions::session_store::Error as StoreError;
        match self {
            AppError::Database(sqlx::Error::PoolTimedOut) => true,
            AppError::Session(SessionError::Store(StoreError::Backend(message))) => {
                message == crate::infra::session_store::BUSY
            }
            _ => false,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Redirect(_) => StatusCode::SEE_OTHER,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::PlanLimit(_) => StatusCode::PAYMENT_REQUIRED,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            // Every connection is taken: say so at once, rather than hang.
            busy if busy.is_busy() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Session(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::Redirect(_) => "redirect",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::Gone(_) => "gone",
            AppError::Unprocessable(_) => "invalid",
            AppError::TooLarge(_) => "too_large",
            AppError::BadGateway(_) => "upstream",
            AppError::PlanLimit(_) => "plan_limit",
            AppError::RateLimited { .. } => "rate_limited",
            busy if busy.is_busy() => "busy",
            _ => "internal",
        }
    }

    /// What the user may read: never internal detail.
    fn public_message(&self) -> String {
        match self {
            AppError::Unauthorized => "Please sign in to continue.".into(),
            AppError::Redirect(to) => format!("Continue at {to}."),
            AppError::Forbidden(why) => format!("Your role does not allow this: {why}."),
            AppError::NotFound => "There is nothing here, or it is not yours to see.".into(),
            AppError::BadRequest(m)
            | AppError::Conflict(m)
            | AppError::Gone(m)
            | AppError::Unprocessable(m)
            | AppError::TooLarge(m)
            | AppError::BadGateway(m)
            | AppError::PlanLimit(m) => m.clone(),
            AppError::RateLimited { retry_after_secs } => format!(
                "Too many attempts. Please wait {} before trying again.",
                human_wait(*retry_after_secs)
            ),
            busy if busy.is_busy() => {
                "wacrm is very busy right now. Please try again in a few seconds.".into()
            }
            _ => "Something went wrong on our side. It has been logged; please try again.".into(),
        }
    }

    /// The JSON form used by `/api` and webhooks.
    pub fn into_json_response(self) -> Response {
        self.log();
        let status = self.status();
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.public_message() }
        });
        let mut response = (status, axum::Json(body)).into_response();
        self.add_headers(&mut response);
        response
    }

    fn log(&self) {
        if self.status().is_server_error() {
            tracing::error!(error = ?anyhow_chain(self), "request failed");
        }
    }

    fn add_headers(&self, response: &mut Response) {
        if let AppError::RateLimited { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.is_busy() {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(BUSY_RETRY_AFTER),
            );
        }
    }
}

fn anyhow_chain(error: &AppError) -> String {
    let mut out = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

fn human_wait(secs: u64) -> String {
    match secs {
        0..=1 => "a second".into(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    message: String,
    show_login: bool,
    show_upgrade: bool,
}

/// 303 to `to`; htmx requests follow `HX-Redirect` instead of swapping.
fn see_other(to: &str) -> Response {
    let mut response = axum::response::Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert("HX-Redirect", value);
    }
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        match &self {
            AppError::Unauthorized => return see_other("/login"),
            AppError::Redirect(to) => return see_other(to),
            _ => {}
        }
        let status = self.status();
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message: self.public_message(),
            show_login: matches!(self, AppError::Unauthorized),
            show_upgrade: matches!(self, AppError::PlanLimit(_)),
        };
        let html = page
            .render()
            .unwrap_or_else(|_| "<h1>Error</h1>".to_owned());
        let mut response = (status, Html(html)).into_response();
        self.add_headers(&mut response);
        response
    }
}

/// A write that may break a unique key, raced by a concurrent save: the
/// handler names the constraint and the answer (realworld's
/// `on_constraint`), and every other error passes through.
pub trait ResultExt<T> {
    fn on_constraint(self, constraint: &str, answer: impl FnOnce() -> AppError) -> Result<T>;
}

impl<T, E: Into<AppError>> ResultExt<T> for std::result::Result<T, E> {
    fn on_constraint(self, constraint: &str, answer: impl FnOnce() -> AppError) -> Result<T> {
        use crate::infra::db::violates;
        self.map_err(|e| {
            let e = e.into();
            let hit = match &e {
                AppError::Database(db) => violates(db, constraint),
                AppError::Internal(any) => any
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(|db| violates(db, constraint)),
                _ => false,
            };
            if hit { answer() } else { e }
        })
    }
}

impl From<crate::infra::db::keyset::BadPageParam> for AppError {
    fn from(e: crate::infra::db::keyset::BadPageParam) -> AppError {
        AppError::BadRequest(e.to_string())
    }
}

/// A secret that cannot be sealed or opened (a lost or rotated-away key) is
/// the server's problem, not the request's.
impl From<crate::infra::secrets::SecretsError> for AppError {
    fn from(e: crate::infra::secrets::SecretsError) -> AppError {
        AppError::Internal(e.into())
    }
}

impl From<crate::domain::OverLimit> for AppError {
    fn from(over: crate::domain::OverLimit) -> AppError {
        AppError::PlanLimit(over.to_string())
    }
}
