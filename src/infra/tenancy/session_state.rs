//! A typed view of the tower-sessions session: who is signed in, in which
//! workspace, the CSRF token, timeouts and one-shot flash messages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::infra::tokens::random_secret;

/// Session idle timeout (the cookie and the stored record expire after it).
pub const IDLE_TIMEOUT: Duration = Duration::hours(2);
/// A sign-in lasts at most this long, active or not.
const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Activity extends the idle timeout, written at most this often.
const TOUCH_EVERY: Duration = Duration::minutes(5);

const USER_ID: &str = "uid";
const ORG_ID: &str = "org";
const CSRF: &str = "csrf";
const SIGNED_IN_AT: &str = "signed_in_at";
const SEEN_AT: &str = "seen_at";
/// Where the session signed in from (see `db::users::sessions_of`).
const DEVICE_IP: &str = "ip";
const DEVICE_AGENT: &str = "ua";
const FLASH: &str = "flash";
/// Password checked, second factor awaited: who, since when, where to.
const SECOND_FACTOR_USER: &str = "2fa_uid";
const SECOND_FACTOR_SINCE: &str = "2fa_at";
const SECOND_FACTOR_NEXT: &str = "2fa_next";
/// A TOTP secret (sealed) shown for enrolment, not yet confirmed.
const TOTP_ENROLMENT: &str = "totp_enrolment";

/// How long the second step may wait after the password.
const SECOND_FACTOR_TIMEOUT: Duration = Duration::minutes(5);

/// A message shown once on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

/// What a flash reports. Stored in the session and shown (as the CSS class)
/// by its lowercase name, the strings flashes were stored with before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Error,
}

impl std::fmt::Display for FlashKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FlashKind::Success => "success",
            FlashKind::Error => "error",
        })
    }
}

#[derive(Debug, Clone)]
pub struct AuthSession(Session, Option<VisitorCsrf>);

/// The CSRF token of a browser without a session (see `web::csrf`): pages
/// seen before signing in carry it, so they store no session.
#[derive(Debug, Clone)]
pub struct VisitorCsrf(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AuthSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .map(|session| AuthSession(session, parts.extensions.get::<VisitorCsrf>().cloned()))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session layer missing")))
    }
}

impl AuthSession {
    pub fn new(session: Session) -> AuthSession {
        AuthSession(session, None)
    }

    /// The session id, once the session is stored.
    pub fn id(&self) -> Option<String> {
        self.0.id().map(|id| id.to_string())
    }

    /// The CSRF token of this session; for a visitor without one, their
    /// visitor token (no session is stored for a page view); else created.
    pub async fn csrf_token(&self) -> Result<String> {
        if let Some(token) = self.0.get::<String>(CSRF).await? {
            return Ok(token);
        }
        if let Some(VisitorCsrf(token)) = &self.1 {
            return Ok(token.clone());
        }
        let token = random_secret()?;
        self.0.insert(CSRF, &token).await?;
        Ok(token)
    }

    /// The CSRF token if one was issued (no session is created by asking).
    pub async fn existing_csrf_token(&self) -> Result<Option<String>> {
        Ok(self.0.get::<String>(CSRF).await?)
    }

    /// The signed-in user, if the sign-in has not outlived [`ABSOLUTE_TIMEOUT`].
    /// Refreshes the idle timeout every few minutes of activity.
    pub async fn user_id(&self) -> Result<Option<Uuid>> {
        let Some(user_id) = self.0.get::<Uuid>(USER_ID).await? else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let signed_in_at = self.0.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
        if now - signed_in_at > ABSOLUTE_TIMEOUT.whole_seconds() {
            self.0.flush().await?;
            return Ok(None);
        }
        let seen_at = self.0.get::<i64>(SEEN_AT).await?.unwrap_or(0);
        if now - seen_at > TOUCH_EVERY.whole_seconds() {
            self.0.insert(SEEN_AT, now).await?;
        }
        Ok(Some(user_id))
    }

    /// Sign in: a new session id (no fixation), a new CSRF token.
    pub async fn sign_in(&self, user_id: Uuid, org_id: Option<Uuid>) -> Result<()> {
        self.0.cycle_id().await?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.0.insert(USER_ID, user_id).await?;
        self.0.insert(SIGNED_IN_AT, now).await?;
        self.0.insert(SEEN_AT, now).await?;
        self.0.insert(CSRF, random_secret()?).await?;
        for key in [SECOND_FACTOR_USER, SECOND_FACTOR_SINCE, SECOND_FACTOR_NEXT] {
            self.0.remove_value(key).await?;
        }
        match org_id {
            Some(org_id) => self.0.insert(ORG_ID, org_id).await?,
            None => {
                self.0.remove_value(ORG_ID).await?;
            }
        }
        Ok(())
    }

    /// The password was right and a second factor is due: a new session
    /// id, nobody signed in yet.
    pub async fn await_second_factor(&self, user_id: Uuid, next: &str) -> Result<()> {
        self.0.cycle_id().await?;
        self.0.insert(SECOND_FACTOR_USER, user_id).await?;
        self.0
            .insert(
                SECOND_FACTOR_SINCE,
                OffsetDateTime::now_utc().unix_timestamp(),
            )
            .await?;
        self.0.insert(SECOND_FACTOR_NEXT, next).await?;
        Ok(())
    }

    /// Whose second factor is awaited (and where they were going), unless
    /// [`SECOND_FACTOR_TIMEOUT`] has passed since their password.
    pub async fn awaiting_second_factor(&self) -> Result<Option<(Uuid, String)>> {
        let Some(user_id) = self.0.get::<Uuid>(SECOND_FACTOR_USER).await? else {
            return Ok(None);
        };
        let since = self.0.get::<i64>(SECOND_FACTOR_SINCE).await?.unwrap_or(0);
        if OffsetDateTime::now_utc().unix_timestamp() - since
            > SECOND_FACTOR_TIMEOUT.whole_seconds()
        {
            return Ok(None);
        }
        let next = self
            .0
            .get::<String>(SECOND_FACTOR_NEXT)
            .await?
            .unwrap_or_default();
        Ok(Some((user_id, next)))
    }

    /// The sealed TOTP secret being enrolled, if one was shown.
    pub async fn totp_enrolment(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get::<Vec<u8>>(TOTP_ENROLMENT).await?)
    }

    pub async fn set_totp_enrolment(&self, sealed: Option<&[u8]>) -> Result<()> {
        match sealed {
            Some(sealed) => self.0.insert(TOTP_ENROLMENT, sealed).await?,
            None => {
                self.0.remove_value(TOTP_ENROLMENT).await?;
            }
        }
        Ok(())
    }

    /// Notes where this sign-in came from (shown in the user's list of
    /// sessions).
    pub async fn remember_device(&self, ip: std::net::IpAddr, user_agent: &str) -> Result<()> {
        self.0.insert(DEVICE_IP, ip.to_string()).await?;
        let agent: String = user_agent.chars().take(300).collect();
        self.0.insert(DEVICE_AGENT, agent).await?;
        Ok(())
    }

    /// Sign out: the record is deleted server-side and the cookie cleared.
    pub async fn sign_out(&self) -> Result<()> {
        self.0.flush().await?;
        Ok(())
    }

    /// A new id for the same signed-in state (after a password change).
    pub async fn rotate(&self) -> Result<()> {
        self.0.cycle_id().await?;
        Ok(())
    }

    pub async fn org_id(&self) -> Result<Option<Uuid>> {
        Ok(self.0.get::<Uuid>(ORG_ID).await?)
    }

    pub async fn set_org_id(&self, org_id: Option<Uuid>) -> Result<()> {
        match org_id {
            Some(id) => self.0.insert(ORG_ID, id).await?,
            None => {
                self.0.remove_value(ORG_ID).await?;
            }
        }
        Ok(())
    }

    pub async fn flash(&self, kind: FlashKind, message: impl Into<String>) -> Result<()> {
        let flash = Flash {
            kind,
            message: message.into(),
        };
        self.0.insert(FLASH, flash).await?;
        Ok(())
    }

    pub async fn take_flash(&self) -> Result<Option<Flash>> {
        // `remove` marks the session modified even when the key is absent,
        // which would write the session back on every request.
        if self.0.get_value(FLASH).await?.is_none() {
            return Ok(None);
        }
        Ok(self.0.remove::<Flash>(FLASH).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_kinds_keep_the_names_sessions_already_hold() {
        let stored = r#"{"kind":"error","message":"Gone."}"#;
        let flash: Flash = serde_json::from_str(stored).expect("an old session's flash");
        assert_eq!(flash.kind, FlashKind::Error);
        assert_eq!(flash.kind.to_string(), "error");
        let written = serde_json::to_value(Flash {
            kind: FlashKind::Success,
            message: "Saved.".into(),
        })
        .expect("json");
        assert_eq!(written["kind"], "success");
    }
}
