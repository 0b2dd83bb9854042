//! A local fake of a WAHA server (devlikeapro/waha, "WhatsApp HTTP API")
//! for integration tests, running one engine (WEBJS, NOWEB or GOWS) with
//! that engine's documented shapes: its session API (create, 422 when the
//! name exists, full-replace update that keeps nothing not sent, start,
//! restart, stop, logout, info with `engine.engine` and the whole config),
//! the raw QR and pairing code (a new code on every request, as WhatsApp
//! does), sending text, files and reactions (answered in the engine's
//! shape: WEBJS `id._serialized`, NOWEB Baileys' `key.id`, GOWS a plain
//! `id`), message listings (NOWEB only with `config.noweb.store.enabled`,
//! otherwise WAHA's 400; `chats/all` on NOWEB and GOWS, where a message to
//! a customer is filed under their `@lid` chat too), files served under
//! `/api/files` with the API key but announced under WAHA's default
//! `WAHA_BASE_URL` (http://localhost:3000, not where the fake listens, as
//! behind Docker), customers' messages with the engine's ids and `_data`,
//! the LIDs API (`/api/{session}/lids/{lid}` and `/lids/pn/{phone}`, `@`
//! written `%40`, `null` for what it does not know; it can fail or hang),
//! and webhook deliveries signed as WAHA signs them (`X-Webhook-Hmac`: hex
//! HMAC-SHA512 of the raw body with the webhook's `hmac.key`). Every
//! request needs `X-Api-Key`. Wire facts: `/work/shared/design/protocols.md`
//! 5.2 and protocols-field.md 7.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The engine a fake WAHA runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Webjs,
    Noweb,
    Gows,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Webjs, Engine::Noweb, Engine::Gows];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Webjs => "WEBJS",
            Engine::Noweb => "NOWEB",
            Engine::Gows => "GOWS",
        }
    }

    /// A message id as the engine makes them (`n` keeps them apart).
    pub fn message_id(self, n: u64) -> String {
        match self {
            Engine::Webjs => format!("3EB0{n:016X}"),
            // Baileys.
            Engine::Noweb => format!("BAE5{n:012X}"),
            // whatsmeow.
            Engine::Gows => format!("3EB0{n:018X}"),
        }
    }
}

/// WAHA's base for `media.url` when `WAHA_BASE_URL` is not set.
pub const WAHA_DEFAULT_BASE: &str = "http://localhost:3000";

/// The `@lid` a customer's chat is also filed under on NOWEB and GOWS.
pub fn lid_of(phone: &str) -> String {
    format!("9{phone}@lid")
}

/// One session as WAHA keeps it.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub status: String,
    /// The whole config, as last created or replaced.
    pub config: Value,
    /// wacrm's webhook in the config (the one to a `/webhooks/waha/`
    /// address, else the first): its URL, HMAC key and events.
    pub webhook_url: Option<String>,
    pub hmac_key: Option<String>,
    pub events: Vec<String>,
    /// Our number once linked (`<digits>@c.us`) and name.
    pub me: Option<(String, String)>,
    pub logouts: usize,
    pub restarts: usize,
    /// Pairing codes given.
    pub codes: usize,
}

impl Session {
    /// The config's webhooks.
    pub fn webhooks(&self) -> Vec<Value> {
        self.config
            .get("webhooks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether it keeps a message store (NOWEB only with one configured).
    fn has_store(&self, engine: Engine) -> bool {
        engine != Engine::Noweb
            || self.config.pointer("/noweb/store/enabled") == Some(&Value::Bool(true))
    }
}

/// One send the app made.
#[derive(Debug, Clone)]
pub struct Sent {
    /// `sendText`, `sendImage`, `sendFile`, `sendVideo`, `sendVoice` or
    /// `reaction`.
    pub endpoint: String,
    pub body: Value,
    /// The bare id the answer gave (none for reactions).
    pub id: Option<String>,
    /// When (unix seconds).
    pub at: i64,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    sent: Vec<Sent>,
    files: HashMap<String, (String, Vec<u8>)>,
    /// Sends to answer with 500 before one goes through.
    fail_sends: usize,
    /// Sends to make but answer only after 3 s.
    stall_sends: usize,
    next_id: u64,
    requests: Vec<(String, String)>,
    /// Chats marked read (`sendSeen`): (session, chatId).
    seen: Vec<(String, String)>,
    /// The LIDs API's mapping: LID digits to number digits (WAHA knows a
    /// person's number only if they are in the phone's contacts).
    lids: HashMap<String, String>,
    /// The LIDs API answers 500.
    fail_lids: bool,
    /// The LIDs API answers only after 5 s (longer than the app waits).
    stall_lids: bool,
    /// The groups API's answers: group id (digits) to its subject.
    groups: HashMap<String, String>,
}

#[derive(Clone)]
struct Shared {
    api_key: String,
    base: Arc<str>,
    engine: Engine,
    inner: Arc<Mutex<Inner>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct FakeWaha {
    shared: Shared,
    task: JoinHandle<()>,
    http: reqwest::Client,
}

impl Drop for FakeWaha {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The QR code's raw text the fake shows while waiting for a scan.
pub const QR_VALUE: &str = "2@fakeRef,fakeNoisePub==,fakeIdentityPub==,fakeAdvSecret==";
/// The first pairing code it gives (each later request gets another).
pub const PAIR_CODE: &str = "WZYE-H1YY";

impl FakeWaha {
    /// Serves on 127.0.0.1 with this API key, running WEBJS.
    pub async fn start(api_key: &str) -> FakeWaha {
        FakeWaha::start_engine(api_key, Engine::Webjs).await
    }

    /// Serves on 127.0.0.1 with this API key, running `engine`.
    pub async fn start_engine(api_key: &str, engine: Engine) -> FakeWaha {
        let (listener, base) = super::local_server::bind("fake WAHA").await;
        let shared = Shared {
            api_key: api_key.to_owned(),
            base: base.into(),
            engine,
            inner: Arc::default(),
        };
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(128 * 1024 * 1024))
            .with_state(shared.clone());
        let task = super::local_server::serve(listener, app);
        wacrm::infra::tls::install_crypto_provider();
        FakeWaha {
            shared,
            task,
            http: reqwest::Client::new(),
        }
    }

    pub fn base_url(&self) -> String {
        self.shared.base.to_string()
    }

    pub fn engine(&self) -> Engine {
        self.shared.engine
    }

    pub fn session(&self, name: &str) -> Option<Session> {
        self.shared.lock().sessions.get(name).cloned()
    }

    /// A session the operator made before wacrm came, with `config`.
    pub fn preset(&self, name: &str, status: &str, config: Value) {
        let mut session = Session {
            status: status.to_owned(),
            ..Session::default()
        };
        apply_config(&mut session, &json!({ "config": config }));
        self.shared.lock().sessions.insert(name.to_owned(), session);
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.shared.lock().sent.clone()
    }

    /// Every request: method and path.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.lock().requests.clone()
    }

    /// Chats marked read through `POST /api/sendSeen`: (session, chatId).
    pub fn seen(&self) -> Vec<(String, String)> {
        self.shared.lock().seen.clone()
    }

    /// From now on WAHA knows that LID `lid` (digits) is number `phone`
    /// (digits), both ways through its LIDs API.
    pub fn know_lid(&self, lid: &str, phone: &str) {
        self.shared
            .lock()
            .lids
            .insert(lid.to_owned(), phone.to_owned());
    }

    /// From now on WAHA's groups API says the group `id` (digits) is
    /// called `subject` (NOWEB's and GOWS's shape: `{id, subject, ...}`).
    pub fn name_group(&self, id: &str, subject: &str) {
        self.shared
            .lock()
            .groups
            .insert(id.to_owned(), subject.to_owned());
    }

    /// Calls to the groups API, as their paths came (still escaped).
    pub fn group_lookups(&self) -> Vec<String> {
        self.reads_of("/groups/")
    }

    /// The paths (still escaped) of the GETs whose path holds `part`.
    fn reads_of(&self, part: &str) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|(m, p)| m == "GET" && p.contains(part))
            .map(|(_, p)| p)
            .collect()
    }

    /// The LIDs API answers 500 (`true`) or as it should.
    pub fn fail_lids(&self, fail: bool) {
        self.shared.lock().fail_lids = fail;
    }

    /// The LIDs API answers only after 5 s (`true`) or at once.
    pub fn stall_lids(&self, stall: bool) {
        self.shared.lock().stall_lids = stall;
    }

    /// Calls to the LIDs API, as their paths came (still escaped).
    pub fn lid_lookups(&self) -> Vec<String> {
        self.reads_of("/lids")
    }

    /// Answer the next `n` sends with 500.
    pub fn fail_sends(&self, n: usize) {
        self.shared.lock().fail_sends = n;
    }

    /// Send the next `n` messages but answer each only after 3 s (longer
    /// than the app waits: its answer is lost).
    pub fn stall_sends(&self, n: usize) {
        self.shared.lock().stall_sends = n;
    }

    /// A file the fake received, served under `/api/files/default/`; the
    /// URL WAHA announces for it, on its default base (not where the fake
    /// listens: WAHA_BASE_URL unset, as behind Docker).
    pub fn add_file(&self, name: &str, mime_type: &str, bytes: &[u8]) -> String {
        self.shared
            .lock()
            .files
            .insert(name.to_owned(), (mime_type.to_owned(), bytes.to_vec()));
        format!("{WAHA_DEFAULT_BASE}/api/files/default/{name}")
    }

    /// A customer's text as this engine delivers it in a `message` event.
    pub fn customer_payload(&self, from: &str, id: &str, text: &str) -> Value {
        let mut payload = customer_message(from, id, text);
        payload["_data"] = engine_data(self.shared.engine, from, id, false);
        payload
    }

    /// A customer's file as this engine delivers it (`url` as WAHA gives
    /// it, see [`FakeWaha::add_file`]).
    pub fn customer_file(&self, from: &str, id: &str, url: &str, mime_type: &str) -> Value {
        let mut payload = self.customer_payload(from, id, "");
        payload["hasMedia"] = json!(true);
        payload["media"] =
            json!({"url": url, "mimetype": mime_type, "filename": null, "error": null});
        payload
    }

    /// A customer's reaction as this engine delivers it: NOWEB and GOWS
    /// give its time with a fraction.
    pub fn customer_reaction(&self, from: &str, id: &str, emoji: &str, to: &str) -> Value {
        let timestamp = match self.shared.engine {
            Engine::Webjs => json!(now()),
            Engine::Noweb | Engine::Gows => json!(now() as f64 + 0.123),
        };
        json!({"id": format!("false_{from}@c.us_{id}"), "from": format!("{from}@c.us"),
               "fromMe": false, "timestamp": timestamp, "source": "app",
               "reaction": {"text": emoji, "messageId": to},
               "_data": engine_data(self.shared.engine, from, id, false)})
    }

    /// The body WAHA would post for `event` of `session`.
    pub fn envelope(&self, session: &str, event: &str, payload: Value) -> Vec<u8> {
        let me = self
            .session(session)
            .and_then(|s| s.me)
            .map(|(id, name)| json!({"id": id, "pushName": name}));
        let mut inner = self.shared.lock();
        inner.next_id += 1;
        json!({
            "id": format!("evt_{:026}", inner.next_id),
            "timestamp": now() * 1000 + inner.next_id as i64,
            "event": event,
            "session": session,
            "metadata": {},
            "me": me,
            "payload": payload,
            "engine": self.shared.engine.name(),
            "environment": {"version": "2026.11.1", "engine": self.shared.engine.name(), "tier": "PLUS"},
        })
        .to_string()
        .into_bytes()
    }

    /// Posts `body` to the session's webhook signed with `signature`
    /// (`None`: WAHA's own, with the session's key); the status answered.
    pub async fn post_raw(&self, session: &str, body: Vec<u8>, signature: Option<&str>) -> u16 {
        let Some(s) = self.session(session) else {
            panic!("fake WAHA: no session {session}");
        };
        let Some(url) = s.webhook_url else {
            panic!("fake WAHA: session {session} has no webhook");
        };
        let key = s.hmac_key.unwrap_or_default();
        let signature = signature
            .map(str::to_owned)
            .unwrap_or_else(|| wacrm::channels::waha::signature::sign(key.as_bytes(), &body));
        let response = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-Webhook-Request-Id", uuid::Uuid::new_v4().to_string())
            .header("X-Webhook-Timestamp", "1764000000000")
            .header("X-Webhook-Hmac", signature)
            .header("X-Webhook-Hmac-Algorithm", "sha512")
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) => r.status().as_u16(),
            Err(e) => panic!("fake WAHA: webhook post failed: {e}"),
        }
    }

    /// Delivers `event` the way WAHA does; the status answered.
    pub async fn deliver(&self, session: &str, event: &str, payload: Value) -> u16 {
        let body = self.envelope(session, event, payload);
        self.post_raw(session, body, None).await
    }

    /// Moves the session to `status` and reports it (linked as `me`, a
    /// number's digits and name, when WORKING).
    pub async fn set_status(&self, session: &str, status: &str, me: Option<(&str, &str)>) -> u16 {
        {
            let mut inner = self.shared.lock();
            let Some(s) = inner.sessions.get_mut(session) else {
                panic!("fake WAHA: no session {session}");
            };
            s.status = status.to_owned();
            if let Some((phone, name)) = me {
                s.me = Some((format!("{phone}@c.us"), name.to_owned()));
            }
        }
        self.deliver(
            session,
            "session.status",
            json!({"name": session, "status": status,
                   "statuses": [{"status": status, "timestamp": 1_764_000_000_000_i64}]}),
        )
        .await
    }

    /// A customer's text in WAHA's `message` shape; the status answered.
    pub async fn customer_text(&self, session: &str, from: &str, id: &str, text: &str) -> u16 {
        self.deliver(session, "message", customer_message(from, id, text))
            .await
    }
}

/// WAHA's `message` payload for a text in the chat WAHA names by the
/// customer's LID (`<lid>@lid`, their number hidden), as NOWEB and GOWS
/// deliver it; `from_me`: typed on the business's phone (`message.any`,
/// `source: "app"`).
pub fn lid_message(lid: &str, id: &str, text: &str, from_me: bool) -> Value {
    let chat = format!("{lid}@lid");
    let (from, to) = if from_me {
        ("16505550199@c.us".to_owned(), chat.clone())
    } else {
        (chat.clone(), "16505550199@c.us".to_owned())
    };
    json!({
        "id": format!("{from_me}_{chat}_{id}"),
        "timestamp": 1_764_000_000,
        "from": from,
        "fromMe": from_me,
        "source": "app",
        "to": to,
        "body": text,
        "hasMedia": false,
        "media": null,
        "ack": 1,
        "ackName": "SERVER",
        "replyTo": null,
        "_data": {"notifyName": if from_me { "" } else { "Customer" }},
    })
}

/// WAHA's `message` payload for a customer's text.
pub fn customer_message(from: &str, id: &str, text: &str) -> Value {
    json!({
        "id": format!("false_{from}@c.us_{id}"),
        "timestamp": 1_764_000_000,
        "from": format!("{from}@c.us"),
        "fromMe": false,
        "source": "app",
        "to": "16505550199@c.us",
        "body": text,
        "hasMedia": false,
        "media": null,
        "ack": 1,
        "ackName": "SERVER",
        "replyTo": null,
        "_data": {"notifyName": "Customer"},
    })
}

/// The engine's raw message (`_data`) for message `id` in the chat with
/// `phone`.
fn engine_data(engine: Engine, phone: &str, id: &str, from_me: bool) -> Value {
    match engine {
        Engine::Webjs => json!({"notifyName": if from_me { "" } else { "Customer" },
                                "id": {"fromMe": from_me, "remote": format!("{phone}@c.us"), "id": id}}),
        Engine::Noweb => {
            json!({"key": {"remoteJid": format!("{phone}@s.whatsapp.net"), "fromMe": from_me, "id": id},
                                "pushName": if from_me { "" } else { "Customer" },
                                "messageTimestamp": now(), "message": {"conversation": ""}})
        }
        Engine::Gows => json!({"Info": {"Chat": format!("{phone}@s.whatsapp.net"),
                                        "Sender": format!("{phone}@s.whatsapp.net"),
                                        "IsFromMe": from_me, "ID": id,
                                        "PushName": if from_me { "" } else { "Customer" },
                                        "Timestamp": "2026-12-07T12:00:00Z"},
                               "Message": {"conversation": ""}}),
    }
}

/// A path segment with `%40` read back as `@`.
fn unescape(segment: &str) -> String {
    segment.replace("%40", "@")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        json!({"statusCode": status.as_u16(), "message": message}),
    )
}

fn session_info(engine: Engine, name: &str, s: &Session) -> Value {
    json!({
        "name": name,
        "status": s.status,
        "me": s.me.as_ref().map(|(id, push)| json!({"id": id, "pushName": push})),
        "engine": {"engine": engine.name()},
        "config": s.config,
    })
}

/// Takes `body.config` as the session's whole config (WAHA keeps nothing
/// of the one it replaces) and reads wacrm's webhook from it.
fn apply_config(session: &mut Session, body: &Value) {
    session.config = body.get("config").cloned().unwrap_or(Value::Null);
    let hooks = session.webhooks();
    let hook = hooks
        .iter()
        .find(|h| {
            h.get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains("/webhooks/waha/"))
        })
        .or_else(|| hooks.first());
    session.webhook_url = hook
        .and_then(|h| h.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    session.hmac_key = hook
        .and_then(|h| h.pointer("/hmac/key"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    session.events = hook
        .and_then(|h| h.get("events"))
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    shared
        .lock()
        .requests
        .push((method.to_string(), path.clone()));
    let headers: HeaderMap = parts.headers;
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(shared.api_key.as_str()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Unauthorized", "statusCode": 401}),
        );
    }
    let bytes: Bytes = match axum::body::to_bytes(body, 128 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "too large"),
    };
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(_) => return error(StatusCode::BAD_REQUEST, "body is not JSON"),
        }
    };
    let sends = method == Method::POST && path.starts_with("/api/send");
    let stall = sends && {
        let mut inner = shared.lock();
        let stall = inner.stall_sends > 0;
        inner.stall_sends = inner.stall_sends.saturating_sub(1);
        stall
    };
    let lids = method == Method::GET && path.contains("/lids");
    if lids && shared.lock().stall_lids {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
    let response = respond(&shared, &method, &path, &query, &body);
    if stall {
        // Sent, but the answer comes too late for the caller.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    response
}

fn respond(shared: &Shared, method: &Method, path: &str, query: &str, body: &Value) -> Response {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut inner = shared.lock();
    match (method, segments.as_slice()) {
        (&Method::POST, ["api", "sessions"]) => {
            let Some(name) = body.get("name").and_then(Value::as_str) else {
                return error(StatusCode::BAD_REQUEST, "name is required");
            };
            if inner.sessions.contains_key(name) {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("Session '{name}' already exists. Use PUT to update it."),
                );
            }
            let mut session = Session {
                status: if body.get("start") == Some(&Value::Bool(true)) {
                    "STARTING".into()
                } else {
                    "STOPPED".into()
                },
                ..Session::default()
            };
            apply_config(&mut session, body);
            let info = session_info(shared.engine, name, &session);
            inner.sessions.insert(name.to_owned(), session);
            json_response(StatusCode::CREATED, info)
        }
        (&Method::GET, ["api", "sessions", name]) => match inner.sessions.get(*name) {
            Some(s) => json_response(StatusCode::OK, session_info(shared.engine, name, s)),
            None => error(StatusCode::NOT_FOUND, "Session not found"),
        },
        (&Method::PUT, ["api", "sessions", name]) => match inner.sessions.get_mut(*name) {
            Some(s) => {
                apply_config(s, body);
                // A running session is stopped and started with it.
                if s.status != "STOPPED" {
                    s.status = "STARTING".into();
                }
                json_response(StatusCode::OK, session_info(shared.engine, name, s))
            }
            None => error(StatusCode::NOT_FOUND, "Session not found"),
        },
        (&Method::POST, ["api", "sessions", name, action]) => {
            let Some(s) = inner.sessions.get_mut(*name) else {
                return error(StatusCode::NOT_FOUND, "Session not found");
            };
            match *action {
                "start" => s.status = "STARTING".into(),
                "restart" => {
                    s.restarts += 1;
                    s.status = "STARTING".into();
                }
                "stop" => s.status = "STOPPED".into(),
                "logout" => {
                    s.logouts += 1;
                    s.me = None;
                    s.status = "STARTING".into();
                }
                _ => return error(StatusCode::NOT_FOUND, "Cannot POST"),
            }
            json_response(StatusCode::CREATED, session_info(shared.engine, name, s))
        }
        (&Method::GET, ["api", name, "auth", "qr"]) => {
            let Some(s) = inner.sessions.get(*name) else {
                return error(StatusCode::NOT_FOUND, "Session not found");
            };
            if s.status != "SCAN_QR_CODE" {
                return json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": "Session status is not as expected. Try again later or restart the session",
                           "session": name, "status": s.status, "expected": ["SCAN_QR_CODE"]}),
                );
            }
            if query.contains("format=raw") {
                json_response(StatusCode::OK, json!({"value": QR_VALUE}))
            } else {
                json_response(
                    StatusCode::OK,
                    json!({"mimetype": "image/png", "data": "iVBORw0KGgo="}),
                )
            }
        }
        (&Method::POST, ["api", name, "auth", "request-code"]) => {
            let Some(s) = inner.sessions.get_mut(*name) else {
                return error(StatusCode::NOT_FOUND, "Session not found");
            };
            if s.status != "SCAN_QR_CODE" {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Session status is not as expected",
                );
            }
            let phone = body
                .get("phoneNumber")
                .and_then(Value::as_str)
                .unwrap_or("");
            if phone.is_empty() || !phone.bytes().all(|b| b.is_ascii_digit()) {
                return error(StatusCode::BAD_REQUEST, "phoneNumber must be digits");
            }
            // Each request makes WhatsApp drop the code before.
            s.codes += 1;
            let code = match s.codes {
                1 => PAIR_CODE.to_owned(),
                n => format!("WZYE-{n:04}"),
            };
            json_response(StatusCode::CREATED, json!({"code": code}))
        }
        (&Method::POST, ["api", endpoint])
            if matches!(
                *endpoint,
                "sendText" | "sendImage" | "sendFile" | "sendVideo" | "sendVoice"
            ) =>
        {
            let session = body
                .get("session")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let working = inner.sessions.get(session).map(|s| s.status.as_str()) == Some("WORKING");
            if !working {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Session status is not as expected",
                );
            }
            let Some(chat) = body.get("chatId").and_then(Value::as_str) else {
                return error(StatusCode::BAD_REQUEST, "chatId is required");
            };
            if *endpoint == "sendText" && body.get("text").and_then(Value::as_str).is_none() {
                return error(StatusCode::BAD_REQUEST, "text is required");
            }
            if *endpoint != "sendText" {
                let file = body.get("file");
                let ok = file.and_then(|f| f.get("mimetype")).is_some()
                    && file
                        .and_then(|f| f.get("data").or_else(|| f.get("url")))
                        .is_some();
                if !ok {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "file.mimetype and file.data or file.url are required",
                    );
                }
            }
            if inner.fail_sends > 0 {
                inner.fail_sends -= 1;
                return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
            }
            inner.next_id += 1;
            let engine = shared.engine;
            let bare = engine.message_id(inner.next_id);
            inner.sent.push(Sent {
                endpoint: (*endpoint).to_owned(),
                body: body.clone(),
                id: Some(bare.clone()),
                at: now(),
            });
            let phone = chat.split('@').next().unwrap_or_default();
            // Each engine answers with its own message object.
            let answer = match engine {
                Engine::Webjs => json!({"id": {"fromMe": true, "remote": chat, "id": bare,
                                               "_serialized": format!("true_{chat}_{bare}")},
                                        "ack": 0, "body": body.get("text"), "fromMe": true}),
                Engine::Noweb => json!({"key": {"remoteJid": format!("{phone}@s.whatsapp.net"),
                                                "fromMe": true, "id": bare},
                                        "message": {"extendedTextMessage": {"text": body.get("text")}},
                                        "messageTimestamp": now().to_string(), "status": "PENDING"}),
                Engine::Gows => json!({"id": format!("true_{chat}_{bare}"), "timestamp": now(),
                                       "fromMe": true, "to": chat, "body": body.get("text"),
                                       "_data": engine_data(engine, phone, &bare, true)}),
            };
            json_response(StatusCode::CREATED, answer)
        }
        (&Method::GET, ["api", session, "chats", chat, "messages"]) => {
            let Some(s) = inner.sessions.get(*session) else {
                return error(StatusCode::NOT_FOUND, "Session not found");
            };
            let engine = shared.engine;
            if !s.has_store(engine) {
                // WAHA's NowebInMemoryStore, word for word.
                return error(
                    StatusCode::BAD_REQUEST,
                    "Enable NOWEB store \"config.noweb.store.enabled=True\" and \"config.noweb.store.full_sync=True\" when starting a new session. Read more: https://waha.devlike.pro/docs/engines/noweb#store",
                );
            }
            let all = *chat == "all";
            if all && engine == Engine::Webjs {
                return error(StatusCode::BAD_REQUEST, "chatId 'all' is not supported");
            }
            let since: i64 = query
                .split('&')
                .find_map(|p| p.strip_prefix("filter.timestamp.gte="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            // Newest first, as WAHA lists them. NOWEB and GOWS file a
            // message sent to `<phone>@c.us` under the customer's @lid chat
            // (the split thread of WAHA issues #1309, #1627): listed across
            // all chats it shows under both, the @c.us chat alone has none.
            let mut listed = vec![];
            for sent in inner.sent.iter().rev() {
                let Some(bare) = sent.id.as_deref() else {
                    continue;
                };
                let to = sent.body["chatId"].as_str().unwrap_or_default();
                let phone = to.split('@').next().unwrap_or_default();
                let filed_under = match (engine, all) {
                    (Engine::Webjs, _) => vec![to.to_owned()],
                    (_, true) => vec![lid_of(phone), to.to_owned()],
                    (_, false) => vec![lid_of(phone)],
                };
                for filed in filed_under {
                    if sent.at < since || !(all || filed == *chat) {
                        continue;
                    }
                    listed.push(json!({
                        "id": format!("true_{filed}_{bare}"),
                        "timestamp": sent.at,
                        "from": "16505550199@c.us",
                        "to": filed,
                        "fromMe": true,
                        "body": sent.body.get("text").or_else(|| sent.body.get("caption")).cloned().unwrap_or(json!("")),
                        "hasMedia": sent.endpoint != "sendText",
                        "_data": engine_data(engine, phone, bare, true),
                    }));
                }
            }
            json_response(StatusCode::OK, Value::Array(listed))
        }
        (&Method::POST, ["api", "sendSeen"]) => {
            let (Some(session), Some(chat)) = (
                body.get("session").and_then(Value::as_str),
                body.get("chatId").and_then(Value::as_str),
            ) else {
                return error(StatusCode::BAD_REQUEST, "session and chatId are required");
            };
            inner.seen.push((session.to_owned(), chat.to_owned()));
            json_response(StatusCode::CREATED, json!({}))
        }
        (&Method::PUT, ["api", "reaction"]) => {
            if body.get("messageId").and_then(Value::as_str).is_none() {
                return error(StatusCode::BAD_REQUEST, "messageId is required");
            }
            inner.sent.push(Sent {
                endpoint: "reaction".into(),
                body: body.clone(),
                id: None,
                at: now(),
            });
            json_response(StatusCode::OK, json!({}))
        }
        // The LIDs API. [S: devlikeapro/waha-docs
        // content/docs/how-to/contacts/index.md "API - Lids": `@` written
        // `%40`, or just the number; `pn`/`lid` null when unknown]
        (&Method::GET, ["api", _, "lids", ..]) if inner.fail_lids => {
            error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
        (&Method::GET, ["api", _session, "lids"]) => {
            let all: Vec<Value> = inner
                .lids
                .iter()
                .map(|(lid, pn)| json!({"lid": format!("{lid}@lid"), "pn": format!("{pn}@c.us")}))
                .collect();
            json_response(StatusCode::OK, Value::Array(all))
        }
        (&Method::GET, ["api", _session, "lids", "count"]) => {
            json_response(StatusCode::OK, json!({"count": inner.lids.len()}))
        }
        (&Method::GET, ["api", _session, "lids", "pn", phone]) => {
            let phone = unescape(phone);
            let phone = phone.trim_end_matches("@c.us");
            let lid = inner
                .lids
                .iter()
                .find(|(_, pn)| pn.as_str() == phone)
                .map(|(lid, _)| format!("{lid}@lid"));
            json_response(
                StatusCode::OK,
                json!({"lid": lid, "pn": format!("{phone}@c.us")}),
            )
        }
        (&Method::GET, ["api", _session, "lids", lid]) => {
            let lid = unescape(lid);
            let lid = lid.trim_end_matches("@lid");
            let pn = inner.lids.get(lid).map(|pn| format!("{pn}@c.us"));
            json_response(
                StatusCode::OK,
                json!({"lid": format!("{lid}@lid"), "pn": pn}),
            )
        }
        // Get the group. [S: devlikeapro/waha-docs
        // content/docs/how-to/groups/index.md: `GET /api/{session}/groups/{id}`]
        (&Method::GET, ["api", _session, "groups", id]) => {
            let id = unescape(id);
            let id = id.trim_end_matches("@g.us");
            match inner.groups.get(id) {
                Some(subject) => json_response(
                    StatusCode::OK,
                    json!({"id": format!("{id}@g.us"), "subject": subject, "participants": []}),
                ),
                None => error(StatusCode::NOT_FOUND, "Group not found"),
            }
        }
        (&Method::GET, ["api", "files", _session, file]) => match inner.files.get(*file) {
            Some((mime_type, bytes)) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, mime_type.clone())],
                bytes.clone(),
            )
                .into_response(),
            None => error(StatusCode::NOT_FOUND, "FILE_NOT_FOUND"),
        },
        _ => error(StatusCode::NOT_FOUND, &format!("Cannot {method} {path}")),
    }
}
