//! `POST /webhooks/waha/{channel_id}`: a WAHA server's events for the
//! linked phone it runs for wacrm. Trusted only once `X-Webhook-Hmac`
//! matches the key wacrm gave that session; then recorded as the same
//! session events a session run inside wacrm reports, and answered 200
//! only once stored, so WAHA retries anything that failed midway (a
//! replay is harmless: message ids are unique per channel).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use uuid::Uuid;

use super::{answer, plain};
use crate::channels::waha::webhook::{self, Event};
use crate::channels::waha::{WEBHOOK_KEY_PURPOSE, groups, lids, signature};
use crate::channels::whatsapp_web::events;
use crate::channels::whatsapp_web::link::SessionEvent;
use crate::domain::WahaStatus;
use crate::infra::db;
use crate::infra::db::web_sessions::WebStatus;
use crate::state::AppState;

/// Events carry text and file addresses, not files: 1 MB is plenty.
const MAX_DELIVERY_BYTES: usize = 1024 * 1024;

/// How far an event's own time may be from now: WAHA retries a delivery
/// for minutes, so anything a day old is a replay.
const MAX_AGE: time::Duration = time::Duration::days(1);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/waha/{channel_id}", post(deliver))
        .layer(DefaultBodyLimit::max(MAX_DELIVERY_BYTES))
}

async fn deliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&id, receive(&state, &id, &headers, &body).await)
}

async fn receive(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> anyhow::Result<Response> {
    let not_found = || Ok(plain(StatusCode::NOT_FOUND, "No such channel."));
    let Some((mut tx, bridge)) = super::channel(state, id, db::waha_bridges::find).await? else {
        return not_found();
    };
    let channel_id = bridge.channel_id;
    let org_id = tx.org_id();
    let key = state.secrets.open(
        org_id,
        WEBHOOK_KEY_PURPOSE,
        bridge.channel_id,
        &bridge.webhook_key_sealed,
    )?;
    let header = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    if !signature::verify(&key, body, header) {
        tracing::warn!(%channel_id, "WAHA delivery with a bad or missing signature");
        return Ok(plain(StatusCode::UNAUTHORIZED, "Bad signature."));
    }
    let delivery = match webhook::parse(body) {
        Ok(delivery) => delivery,
        Err(e) => {
            tracing::warn!(%channel_id, error = %e, "WAHA delivery not understood");
            return Ok(plain(StatusCode::BAD_REQUEST, "Not a WAHA event."));
        }
    };
    let now = time::OffsetDateTime::now_utc();
    // The signature covers the body only, so the body's own time is what
    // tells a replay: one without a time could be replayed forever (WAHA's
    // X-Webhook-Timestamp header is not signed), and a signed delivery
    // replayed long after is one too (WAHA retries for minutes, not a day).
    // Acknowledged so that nothing retries it.
    let Some(at) = delivery
        .at
        .filter(|at| (now - MAX_AGE..=now + MAX_AGE).contains(at))
    else {
        tracing::warn!(%channel_id, "WAHA delivery undated, too old or from the future: ignored");
        return Ok(plain(StatusCode::OK, "Too old or undated: ignored."));
    };
    if delivery.session != bridge.session_name {
        tracing::warn!(%channel_id, "WAHA delivery for another session");
        return Ok(plain(StatusCode::OK, "Not this phone's session: ignored."));
    }
    let session = db::web_sessions::find(&mut tx, channel_id).await?;
    let asks = match &delivery.event {
        Event::Session(event) => lids::plan(&mut tx, channel_id, event).await?,
        _ => vec![],
    };
    let mut current = true;
    if let Event::Status { status, .. } = &delivery.event {
        current = db::waha_bridges::set_waha_status(&mut tx, channel_id, status, at).await?;
    }
    tx.commit().await?;
    if !current {
        return Ok(plain(
            StatusCode::OK,
            "Older than the status known: ignored.",
        ));
    }
    let Some(session) = session else {
        return not_found();
    };
    let happened = match delivery.event {
        Event::Session(mut event) => {
            if !asks.is_empty() {
                // Customers named by LID: their number from WAHA, after the
                // commit (nothing is held open while WAHA answers).
                let waha = crate::channels::waha::sender::session(
                    &state.secrets,
                    &state.waha_http,
                    org_id,
                    &bridge,
                )
                .inspect_err(
                    |e| tracing::warn!(%channel_id, error = %e, "no WAHA client to ask for LIDs"),
                )
                .ok();
                lids::resolve(waha.as_ref(), channel_id, &asks, &mut event).await;
            }
            vec![event]
        }
        Event::Status { status, me } => {
            status_events(state, org_id, &bridge, &session, &status, me).await?
        }
        Event::Ignored => vec![],
    };
    for event in &happened {
        events::apply(&state.env(), org_id, channel_id, event.clone()).await?;
    }
    name_groups(state, org_id, &bridge, &happened).await?;
    Ok(plain(StatusCode::OK, "OK"))
}

/// Names the groups of these (stored) events that have no name yet, as
/// WAHA's groups API says (see [`groups`]).
async fn name_groups(
    state: &AppState,
    org_id: Uuid,
    bridge: &db::waha_bridges::WahaBridge,
    happened: &[SessionEvent],
) -> anyhow::Result<()> {
    let channel_id = bridge.channel_id;
    let mut tx = crate::infra::tenancy::bootstrap::for_job(&state.pool, org_id).await?;
    let mut unnamed = vec![];
    for event in happened {
        unnamed.extend(groups::unnamed(&mut tx, event).await?);
    }
    tx.commit().await?;
    if unnamed.is_empty() {
        return Ok(());
    }
    let waha = match crate::channels::waha::sender::session(
        &state.secrets,
        &state.waha_http,
        org_id,
        bridge,
    ) {
        Ok(waha) => waha,
        Err(e) => {
            tracing::warn!(%channel_id, error = %e, "no WAHA client to ask for group names");
            return Ok(());
        }
    };
    for named in groups::names(&waha, &unnamed).await {
        events::apply(&state.env(), org_id, channel_id, named).await?;
    }
    Ok(())
}

/// What WAHA's session status means for the phone, given where it stood.
async fn status_events(
    state: &AppState,
    org_id: Uuid,
    bridge: &db::waha_bridges::WahaBridge,
    session: &db::web_sessions::WebSession,
    status: &WahaStatus,
    me: Option<(String, String)>,
) -> anyhow::Result<Vec<SessionEvent>> {
    let current = session.status;
    if current.is_over() {
        // Unlinked (or logged out) here: WAHA's later news changes nothing.
        return Ok(vec![]);
    }
    let was_linked = matches!(current, WebStatus::Linked | WebStatus::Disconnected);
    // The WAHA session's client, made only where the status needs a call.
    let client =
        || crate::channels::waha::sender::session(&state.secrets, &state.waha_http, org_id, bridge);
    Ok(match status {
        WahaStatus::Working => {
            let (phone, name) = match me {
                Some(me) => me,
                None => {
                    let waha = client()?;
                    let (_, me) = waha.status().await?;
                    let phone = me
                        .as_deref()
                        .and_then(crate::channels::waha::chat_phone)
                        .unwrap_or_default()
                        .to_owned();
                    (phone, String::new())
                }
            };
            vec![SessionEvent::Linked { phone, name }]
        }
        WahaStatus::ScanQrCode if was_linked => vec![SessionEvent::LoggedOut {
            reason: "WAHA asks for a new scan: the phone removed the link".into(),
        }],
        // WAHA reports SCAN_QR_CODE again each time the QR code rotates,
        // and a new pairing code replaces the one the owner may be typing:
        // one code per link attempt, until it expires (a new attempt, the
        // relink, clears it). [S: devlikeapro/waha-docs
        // content/docs/how-to/sessions/index.md "Session Status"]
        WahaStatus::ScanQrCode if has_pair_code(session) => vec![],
        WahaStatus::ScanQrCode => match &session.pair_phone {
            // Linking by code: WAHA gives one only while waiting for a scan.
            Some(phone) => {
                let waha = client()?;
                match waha.request_code(phone).await {
                    Ok(code) => vec![SessionEvent::PairCode {
                        code,
                        valid_for: crate::channels::waha::PAIR_CODE_VALID,
                    }],
                    Err(e) => {
                        tracing::warn!(channel = %bridge.channel_id, error = %e, "WAHA gave no pairing code");
                        vec![]
                    }
                }
            }
            None => vec![],
        },
        WahaStatus::Starting if was_linked => vec![SessionEvent::Disconnected],
        // Stopped or failed is a lost connection, not a logout (FAILED:
        // "try to restart the session", WAHA's docs say, same file; a lost
        // link then shows as SCAN_QR_CODE, which is the logout above).
        // Restarted once per fall from a working session (not one that
        // fails again while starting, which would loop; nor one being
        // linked, which our own update stops and starts).
        WahaStatus::Failed | WahaStatus::Stopped => {
            if was_linked && bridge.waha_status == Some(WahaStatus::Working) {
                let waha = client()?;
                if let Err(e) = waha.restart().await {
                    tracing::warn!(channel = %bridge.channel_id, error = %e, "WAHA session not restarted");
                }
            }
            vec![SessionEvent::Disconnected]
        }
        _ => vec![],
    })
}

/// Whether the phone has a pairing code still valid to type.
fn has_pair_code(session: &db::web_sessions::WebSession) -> bool {
    let now = time::OffsetDateTime::now_utc();
    session.pair_code.is_some() && session.pair_code_expires_at.is_some_and(|at| at > now)
}
