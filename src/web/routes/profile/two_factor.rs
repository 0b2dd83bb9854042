//! The signed-in user's two-factor sign-in: enrol (scan a QR code, confirm
//! with a code, keep ten recovery codes), make new recovery codes, forget
//! remembered devices, turn it off. Changing it asks for a current code.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::error::Result;
use crate::features::audit;
use crate::features::auth::second_factor::{self, SEALED_PURPOSE};
use crate::features::auth::totp;
use crate::infra::client_ip::ClientIp;
use crate::infra::db;
use crate::infra::tenancy::member::{CurrentUser, Page, workspaces_of};
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tokens;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::qr::qr_svg;

const ISSUER: &str = "wacrm";
const PAGE: &str = "/profile/two-factor";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(show))
        .route("/profile/two-factor/enable", post(enable))
        .route(
            "/profile/two-factor/recovery-codes",
            post(new_recovery_codes),
        )
        .route("/profile/two-factor/forget-devices", post(forget_devices))
        .route("/profile/two-factor/disable", post(disable))
}

/// What an authenticator app needs to enrol.
pub struct Enrolment {
    qr: String,
    secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/two_factor.html")]
pub struct TwoFactorPage {
    page: Page,
    errors: Vec<String>,
    enabled: bool,
    enrolment: Option<Enrolment>,
    recovery_codes_left: i64,
    remembered_devices: i64,
    /// Workspaces of the user that require it (it cannot be turned off).
    required_by: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/recovery_codes.html")]
pub struct RecoveryCodesPage {
    page: Page,
    codes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

/// The page as it stands for this user; a new secret to enrol is made (and
/// kept in the session) when they have none.
async fn page(state: &AppState, user: CurrentUser, errors: Vec<String>) -> Result<TwoFactorPage> {
    let id = user.user.id;
    let mut conn = state.pool.acquire().await?;
    let enabled = db::two_factor::sealed_secret(&mut conn, id)
        .await?
        .is_some();
    let recovery_codes_left = db::two_factor::recovery_codes_left(&mut conn, id).await?;
    let remembered_devices = db::two_factor::remembered_devices(&mut conn, id).await?;
    drop(conn);
    let enrolment = if enabled {
        None
    } else {
        // An enrolment sealed under a key since retired (`wacrm secrets
        // rotate`) cannot be opened: it was never confirmed, so a new one
        // is simply started.
        let pending = match user.session.totp_enrolment().await? {
            Some(sealed) => state.secrets.open(id, SEALED_PURPOSE, id, &sealed).ok(),
            None => None,
        };
        let secret = match pending {
            Some(secret) => secret,
            None => {
                let secret = totp::new_secret()?;
                let sealed = state.secrets.seal(id, SEALED_PURPOSE, id, &secret)?;
                user.session.set_totp_enrolment(Some(&sealed)).await?;
                secret
            }
        };
        let url = totp::enrolment_url(&secret, ISSUER, &user.user.email)?;
        Some(Enrolment {
            qr: qr_svg(url.as_bytes())?,
            secret: totp::secret_for_typing(&secret)?,
        })
    };
    let required_by = workspaces_of(&state.pool, id)
        .await?
        .into_iter()
        .filter(|w| w.require_two_factor)
        .map(|w| w.name)
        .collect();
    Ok(TwoFactorPage {
        page: user.page,
        errors,
        enabled,
        enrolment,
        recovery_codes_left,
        remembered_devices,
        required_by,
    })
}

async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response> {
    Ok(page(&state, user, vec![]).await?.into_response())
}

async fn refused(
    state: &AppState,
    user: CurrentUser,
    status: StatusCode,
    error: &str,
) -> Result<Response> {
    Ok((status, page(state, user, vec![error.to_owned()]).await?).into_response())
}

/// New recovery codes for the user, stored hashed; the codes themselves
/// are shown once.
async fn store_recovery_codes(
    conn: &mut sqlx::PgConnection,
    user_id: uuid::Uuid,
) -> Result<Vec<String>> {
    let codes = totp::new_recovery_codes()?;
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .filter_map(|c| totp::normalize_recovery_code(c))
        .map(|c| tokens::hash(&c))
        .collect();
    db::two_factor::replace_recovery_codes(conn, user_id, &hashes).await?;
    Ok(codes)
}

async fn enable(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Result<Response> {
    let id = user.user.id;
    let mut conn = state.pool.acquire().await?;
    let already_on = db::two_factor::sealed_secret(&mut conn, id)
        .await?
        .is_some();
    drop(conn);
    let Some(sealed) = user.session.totp_enrolment().await?.filter(|_| !already_on) else {
        return Ok(Redirect::to(PAGE).into_response());
    };
    let Ok(secret) = state.secrets.open(id, SEALED_PURPOSE, id, &sealed) else {
        // Sealed under a key since retired: start again with a new code.
        user.session.set_totp_enrolment(None).await?;
        user.session
            .flash(
                FlashKind::Error,
                "Scan the new code below: the one shown before has expired.",
            )
            .await?;
        return Ok(Redirect::to(PAGE).into_response());
    };
    let Some(step) = totp::matching_step(&secret, &form.code, second_factor::unix_now()) else {
        return refused(
            &state,
            user,
            StatusCode::UNPROCESSABLE_ENTITY,
            "That code does not match. Type the six digits your app shows now \
             (if it keeps failing, check that your phone sets its time automatically).",
        )
        .await;
    };
    let mut tx = state.pool.begin().await?;
    db::two_factor::enable(&mut tx, id, &sealed, step).await?;
    let codes = store_recovery_codes(&mut tx, id).await?;
    tx.commit().await?;
    user.session.set_totp_enrolment(None).await?;
    audit::for_user(&state.pool, &user.actor(ip), "two_factor.enabled", &[]).await?;
    Ok(RecoveryCodesPage {
        page: user.page,
        codes,
    }
    .into_response())
}

const CODE_NEEDED: &str =
    "That code is not valid. Type the code your app shows now, or a recovery code.";

async fn new_recovery_codes(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Result<Response> {
    if second_factor::check(&state.pool, &state.secrets, user.user.id, &form.code)
        .await?
        .is_none()
    {
        return refused(&state, user, StatusCode::UNPROCESSABLE_ENTITY, CODE_NEEDED).await;
    }
    let mut conn = state.pool.acquire().await?;
    let codes = store_recovery_codes(&mut conn, user.user.id).await?;
    drop(conn);
    audit::for_user(
        &state.pool,
        &user.actor(ip),
        "two_factor.recovery_codes_replaced",
        &[],
    )
    .await?;
    Ok(RecoveryCodesPage {
        page: user.page,
        codes,
    }
    .into_response())
}

async fn forget_devices(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
) -> Result<Response> {
    let mut conn = state.pool.acquire().await?;
    let forgotten = db::two_factor::forget_devices(&mut conn, user.user.id).await?;
    drop(conn);
    let count = forgotten.to_string();
    audit::for_user(
        &state.pool,
        &user.actor(ip),
        "two_factor.devices_forgotten",
        &[("devices", &count)],
    )
    .await?;
    user.session
        .flash(
            FlashKind::Success,
            format!("Forgot {forgotten} device(s): they will ask for a code at the next sign-in."),
        )
        .await?;
    Ok(Redirect::to(PAGE).into_response())
}

async fn disable(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    HtmlForm(form): HtmlForm<CodeForm>,
) -> Result<Response> {
    let required_by: Vec<String> = workspaces_of(&state.pool, user.user.id)
        .await?
        .into_iter()
        .filter(|w| w.require_two_factor)
        .map(|w| w.name)
        .collect();
    if !required_by.is_empty() {
        let error = format!(
            "{} requires two-factor sign-in of its members, so it stays on.",
            required_by.join(", ")
        );
        return refused(&state, user, StatusCode::CONFLICT, &error).await;
    }
    if second_factor::check(&state.pool, &state.secrets, user.user.id, &form.code)
        .await?
        .is_none()
    {
        return refused(&state, user, StatusCode::UNPROCESSABLE_ENTITY, CODE_NEEDED).await;
    }
    let mut tx = state.pool.begin().await?;
    db::two_factor::disable(&mut tx, user.user.id).await?;
    tx.commit().await?;
    audit::for_user(&state.pool, &user.actor(ip), "two_factor.disabled", &[]).await?;
    user.session
        .flash(FlashKind::Success, "Two-factor sign-in is off.")
        .await?;
    Ok(Redirect::to(PAGE).into_response())
}
