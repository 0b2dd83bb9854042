//! A local fake of Meta's WhatsApp Cloud API Graph server for integration
//! tests: business numbers with their access tokens, sends to
//! `POST /{ver}/{phone_number_id}/messages` (validated, with scripted failures
//! and closed 24-hour windows), media upload and the two-step media download,
//! and a WhatsApp Business Account's message templates with real paging.
//! Every request is recorded so that tests can inspect what the app sent.
//!
//! Point the app at it with `WHATSAPP_GRAPH_URL = fake.base_url()`; any
//! version segment `v<digits>.<digits>` is accepted. Wire facts:
//! `/work/shared/design/protocols.md` sections 1, 2 and 9.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Largest accepted request body (uploads included).
const MAX_BODY: usize = 128 * 1024 * 1024;
/// Templates per page when the request gives no `limit`.
const DEFAULT_PAGE: usize = 25;
/// Largest accepted `limit` for templates.
const MAX_PAGE: usize = 1000;
/// Longest text message body, in characters.
const MAX_TEXT: usize = 4096;

const MESSAGE_TYPES: [&str; 11] = [
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
    "template",
];
const MEDIA_TYPES: [&str; 5] = ["image", "audio", "video", "document", "sticker"];

const REENGAGEMENT_DETAILS: &str = "Message failed to send because more than 24 hours have passed since the customer last replied to this number.";

/// A scripted answer to one `POST .../messages`.
#[derive(Debug, Clone)]
pub enum SendFailure {
    /// A Graph error envelope with this HTTP status and error code (e.g.
    /// 400/131026, 429/130429, 401/190).
    Graph {
        status: u16,
        code: i64,
        message: String,
    },
    /// A bare HTTP status with a non-JSON body (e.g. 500 "Internal Server
    /// Error", 502).
    Http(u16),
    /// Hold the request this long before answering (to test client
    /// timeouts). The send is otherwise handled as usual and, when it
    /// succeeds, counts as sent as soon as it arrives, as on Graph: the
    /// message went out even if the client stopped waiting for the answer.
    Delay(Duration),
    /// Hold the request this long, then answer a bare 500 without taking
    /// the message: Graph never got as far as sending it (a client that
    /// stopped waiting, or died, cannot tell this from a lost request).
    Stall(Duration),
}

/// One accepted send (success only).
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub phone_number_id: String,
    pub wamid: String,
    pub to: String,
    /// The request body as sent.
    pub body: Value,
    /// When the fake took it (wall clock, to count sends per second).
    pub at: std::time::SystemTime,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path_and_query: String,
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
    /// The `User-Agent` header, verbatim (Meta's media host fails requests
    /// without one).
    pub user_agent: Option<String>,
    pub body: Vec<u8>,
}

/// One media upload (`POST /{ver}/{phone_number_id}/media`).
#[derive(Debug, Clone)]
pub struct UploadedMedia {
    pub id: String,
    pub phone_number_id: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

struct Number {
    token: String,
    display_phone_number: String,
    verified_name: String,
}

struct Waba {
    token: String,
    templates: Vec<Value>,
}

struct Media {
    token: String,
    bytes: Vec<u8>,
    mime_type: String,
    /// Where `GET /{media_id}` says the bytes are, when not here.
    url: Option<String>,
}

#[derive(Default)]
struct Inner {
    numbers: HashMap<String, Number>,
    wabas: HashMap<String, Waba>,
    media: HashMap<String, Media>,
    download_failures: HashMap<String, VecDeque<u16>>,
    send_failures: HashMap<String, VecDeque<SendFailure>>,
    closed_windows: HashSet<String>,
    sent: Vec<SentMessage>,
    requests: Vec<RecordedRequest>,
    uploaded: Vec<UploadedMedia>,
    upload_delay: Option<Duration>,
    /// Template creations accepted: (WABA id, request body).
    created_templates: Vec<(String, Vec<u8>)>,
    /// Template deletions done: (name, hsm_id).
    deleted_templates: Vec<(String, Option<String>)>,
}

#[derive(Clone)]
struct Shared {
    /// `http://127.0.0.1:PORT`.
    base: Arc<str>,
    inner: Arc<Mutex<Inner>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running fake Graph server; the server task stops when this is dropped.
pub struct FakeGraph {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGraph {
    /// Bind 127.0.0.1:0 and serve in a tokio task on the current runtime.
    pub async fn start() -> FakeGraph {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("fake graph: cannot bind 127.0.0.1:0: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("fake graph: no local address: {e}"),
        };
        let shared = Shared {
            base: format!("http://{addr}").into(),
            inner: Arc::default(),
        };
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGraph { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT` (no version, no trailing slash), suitable for
    /// `WHATSAPP_GRAPH_URL`.
    pub fn base_url(&self) -> String {
        self.shared.base.to_string()
    }

    /// A business number the fake knows; requests about it need
    /// `Authorization: Bearer {token}`. Adding it again replaces it.
    pub fn add_number(
        &self,
        phone_number_id: &str,
        token: &str,
        display_phone_number: &str,
        verified_name: &str,
    ) {
        self.shared.lock().numbers.insert(
            phone_number_id.to_owned(),
            Number {
                token: token.to_owned(),
                display_phone_number: display_phone_number.to_owned(),
                verified_name: verified_name.to_owned(),
            },
        );
    }

    /// A WhatsApp Business Account with its message templates (each a JSON
    /// object as Graph returns it: name, language, status, category, id,
    /// components). Adding it again replaces its token and templates.
    pub fn add_templates(&self, waba_id: &str, token: &str, templates: Vec<Value>) {
        self.shared.lock().wabas.insert(
            waba_id.to_owned(),
            Waba {
                token: token.to_owned(),
                templates,
            },
        );
    }

    /// The `message_template_status_update` delivery Meta sends when it
    /// reviews template `template_id` (an integer on the wire) of
    /// `waba_id`; the fake's copy takes the new status too. `extra` is
    /// merged into the value (`reason`, `other_info`, `rejection_info`).
    pub fn template_status_webhook(
        &self,
        waba_id: &str,
        template_id: u64,
        (name, language): (&str, &str),
        event: &str,
        extra: Value,
    ) -> Value {
        let mut value = json!({
            "event": event,
            "message_template_id": template_id,
            "message_template_name": name,
            "message_template_language": language,
            "reason": "NONE",
        });
        if let (Some(value), Value::Object(extra)) = (value.as_object_mut(), extra) {
            value.extend(extra);
        }
        if let Some(waba) = self.shared.lock().wabas.get_mut(waba_id) {
            for t in &mut waba.templates {
                if t.get("id").and_then(Value::as_str) == Some(&template_id.to_string()) {
                    t["status"] = json!(event);
                }
            }
        }
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "time": 1_700_000_000, "changes": [
                {"field": "message_template_status_update", "value": value}
            ]}]
        })
    }

    /// Media a customer sent: served by the two-step download. Returns
    /// nothing; the id is the caller's.
    pub fn add_media(&self, media_id: &str, token: &str, bytes: Vec<u8>, mime_type: &str) {
        self.shared.lock().media.insert(
            media_id.to_owned(),
            Media {
                token: token.to_owned(),
                bytes,
                mime_type: mime_type.to_owned(),
                url: None,
            },
        );
    }

    /// Make `GET /{media_id}` of media added with `add_media` answer `url`
    /// (another server's, say) instead of this fake's own download URL.
    pub fn serve_media_url(&self, media_id: &str, url: &str) {
        if let Some(media) = self.shared.lock().media.get_mut(media_id) {
            media.url = Some(url.to_owned());
        }
    }

    /// Make the next media download (`GET /media-bytes/{id}` with the right
    /// token) of this id fail with this HTTP status (once per call queued).
    pub fn fail_media_download(&self, media_id: &str, status: u16) {
        self.shared
            .lock()
            .download_failures
            .entry(media_id.to_owned())
            .or_default()
            .push_back(status);
    }

    /// Queue failures for the next sends to this number: each valid
    /// `POST .../messages` (read receipts excepted) takes the next one; when
    /// the queue is empty sends succeed.
    pub fn script_send_failures(&self, phone_number_id: &str, failures: Vec<SendFailure>) {
        self.shared
            .lock()
            .send_failures
            .entry(phone_number_id.to_owned())
            .or_default()
            .extend(failures);
    }

    /// Recipients whose 24-hour window is closed: a non-template message to
    /// them fails with Graph error 131047 (HTTP 400).
    pub fn close_window(&self, wa_id: &str) {
        self.shared.lock().closed_windows.insert(wa_id.to_owned());
    }

    /// Open a window closed by `close_window` (the customer wrote again).
    pub fn open_window(&self, wa_id: &str) {
        self.shared.lock().closed_windows.remove(wa_id);
    }

    /// Answer each media upload only after `hold` (a big file on a slow
    /// line takes its time).
    pub fn delay_uploads(&self, hold: Duration) {
        self.shared.lock().upload_delay = Some(hold);
    }

    /// Every accepted send (success only), in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// Every request received (method, path with query, authorization
    /// header, body bytes), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Accepted template creations: the request bodies, in order.
    pub fn created_templates(&self) -> Vec<Value> {
        self.shared
            .lock()
            .created_templates
            .iter()
            .filter_map(|(_, body)| serde_json::from_slice(body).ok())
            .collect()
    }

    /// Template deletions done: (name, hsm_id), in order.
    pub fn deleted_templates(&self) -> Vec<(String, Option<String>)> {
        self.shared.lock().deleted_templates.clone()
    }

    /// Uploaded media (`POST .../media`), in order.
    pub fn uploaded(&self) -> Vec<UploadedMedia> {
        self.shared.lock().uploaded.clone()
    }
}

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return graph_error(413, 100, "(#100) The request body is too large.", None);
        }
    };
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    shared.lock().requests.push(RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path_and_query,
        authorization: authorization.clone(),
        user_agent,
        body: bytes.to_vec(),
    });

    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let bearer = authorization.as_deref().and_then(bearer_token);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();

    match (method.as_str(), segments.as_slice()) {
        ("GET", ["media-bytes", id]) => media_bytes(&shared, id, bearer),
        ("GET", [ver, id]) if is_version(ver) => get_node(&shared, id, bearer, &query),
        ("DELETE", [ver, id]) if is_version(ver) => delete_media(&shared, id, bearer),
        ("POST", [ver, id, "messages"]) if is_version(ver) => {
            send(&shared, id, bearer, &bytes).await
        }
        ("POST", [ver, id, "media"]) if is_version(ver) => {
            let request = Request::from_parts(parts, Body::from(bytes));
            upload(&shared, id, bearer, request).await
        }
        ("GET", [ver, id, "message_templates"]) if is_version(ver) => {
            templates(&shared, ver, id, bearer, &query)
        }
        ("POST", [ver, id, "message_templates"]) if is_version(ver) => {
            create_template(&shared, id, bearer, &bytes)
        }
        ("DELETE", [ver, id, "message_templates"]) if is_version(ver) => {
            delete_template(&shared, id, bearer, &query)
        }
        _ => graph_error(404, 100, &format!("Unknown path components: {path}"), None),
    }
}

/// `v<digits>.<digits>`.
fn is_version(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

fn authorized(bearer: Option<&str>, token: &str) -> bool {
    bearer == Some(token)
}

fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn fbtrace_id() -> String {
    let id = uuid::Uuid::new_v4();
    format!("A{}", &URL_SAFE_NO_PAD.encode(id.as_bytes())[..21])
}

/// Meta's `error_data.details` for the WhatsApp codes tests use most.
fn default_details(code: i64) -> Option<&'static str> {
    Some(match code {
        131047 => REENGAGEMENT_DETAILS,
        131026 => "Message Undeliverable.",
        130429 => {
            "Message failed to send because there were too many messages sent from this phone number in a short period of time."
        }
        131056 => {
            "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."
        }
        131048 => {
            "Message failed to send because there are restrictions on how many messages can be sent from this phone number."
        }
        131049 => "This message was not delivered to maintain healthy ecosystem engagement.",
        _ => return None,
    })
}

/// A Graph error envelope. WhatsApp codes (13xxxx) carry `error_data` with
/// `details` (given, else Meta's wording for known codes, else the message).
fn graph_error(status: u16, code: i64, message: &str, details: Option<&str>) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": fbtrace_id(),
    });
    if (130_000..140_000).contains(&code) {
        let details = details.or(default_details(code)).unwrap_or(message);
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    (status_code(status), axum::Json(json!({ "error": error }))).into_response()
}

fn invalid_token() -> Response {
    graph_error(401, 190, "Invalid OAuth access token.", None)
}

fn invalid_parameter(message: &str) -> Response {
    graph_error(400, 100, &format!("(#100) {message}"), None)
}

fn unsupported(method: &str, id: &str) -> Response {
    graph_error(
        400,
        100,
        &format!(
            "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
        None,
    )
}

/// A bare status with its reason phrase as a plain-text body.
fn plain_status(status: u16) -> Response {
    let code = status_code(status);
    let reason = code.canonical_reason().unwrap_or("Error");
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        reason.to_owned(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Nodes: phone numbers and media
// ---------------------------------------------------------------------------

fn get_node(
    shared: &Shared,
    id: &str,
    bearer: Option<&str>,
    query: &[(String, String)],
) -> Response {
    let inner = shared.lock();
    if let Some(number) = inner.numbers.get(id) {
        if !authorized(bearer, &number.token) {
            return invalid_token();
        }
        let all = json!({
            "verified_name": number.verified_name,
            "display_phone_number": number.display_phone_number,
            "code_verification_status": "VERIFIED",
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "id": id,
        });
        let Some(fields) = query_value(query, "fields") else {
            return axum::Json(all).into_response();
        };
        // Only the requested fields (unknown ones are left out), plus id.
        let mut chosen = serde_json::Map::new();
        for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            if let Some(value) = all.get(field) {
                chosen.insert(field.to_owned(), value.clone());
            }
        }
        chosen.insert("id".to_owned(), json!(id));
        return axum::Json(Value::Object(chosen)).into_response();
    }
    if let Some(media) = inner.media.get(id) {
        if !authorized(bearer, &media.token) {
            return invalid_token();
        }
        return axum::Json(json!({
            "messaging_product": "whatsapp",
            "url": media.url.clone().unwrap_or_else(|| format!("{}/media-bytes/{id}", shared.base)),
            "mime_type": media.mime_type,
            "sha256": hex::encode(Sha256::digest(&media.bytes)),
            "file_size": media.bytes.len().to_string(),
            "id": id,
        }))
        .into_response();
    }
    unsupported("get", id)
}

fn delete_media(shared: &Shared, id: &str, bearer: Option<&str>) -> Response {
    let mut inner = shared.lock();
    match inner.media.get(id) {
        None => unsupported("delete", id),
        Some(media) if !authorized(bearer, &media.token) => invalid_token(),
        Some(_) => {
            inner.media.remove(id);
            axum::Json(json!({"success": true})).into_response()
        }
    }
}

/// Step two of the media download: the bytes, with the same bearer token.
fn media_bytes(shared: &Shared, id: &str, bearer: Option<&str>) -> Response {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let Some(media) = inner.media.get(id) else {
        return plain_status(404);
    };
    if !authorized(bearer, &media.token) {
        return invalid_token();
    }
    if let Some(status) = inner
        .download_failures
        .get_mut(id)
        .and_then(VecDeque::pop_front)
    {
        return plain_status(status);
    }
    let content_type = HeaderValue::from_str(&media.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    ([(header::CONTENT_TYPE, content_type)], media.bytes.clone()).into_response()
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

async fn send(shared: &Shared, number_id: &str, bearer: Option<&str>, body: &[u8]) -> Response {
    let (response, delay) = 'answer: {
        let mut inner = shared.lock();
        match inner.numbers.get(number_id) {
            None => return unsupported("post", number_id),
            Some(number) if !authorized(bearer, &number.token) => return invalid_token(),
            Some(_) => {}
        }
        let request: Value = match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return invalid_parameter("The request body must be a JSON object."),
        };
        if request.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
            return invalid_parameter(
                "The parameter messaging_product is required and must be 'whatsapp'.",
            );
        }
        if let Some(status) = request.get("status") {
            // Mark as read (optionally with a typing indicator).
            if status.as_str() != Some("read") {
                return invalid_parameter("Param status must be 'read'.");
            }
            if non_empty_str(&request, "message_id").is_none() {
                return invalid_parameter("The parameter message_id is required.");
            }
            return axum::Json(json!({"success": true})).into_response();
        }
        let (to, kind) = match validate_message(&request) {
            Ok(v) => v,
            Err(message) => return invalid_parameter(&message),
        };

        let mut delay = None;
        match inner
            .send_failures
            .get_mut(number_id)
            .and_then(VecDeque::pop_front)
        {
            Some(SendFailure::Graph {
                status,
                code,
                message,
            }) => return graph_error(status, code, &message, None),
            Some(SendFailure::Http(status)) => return plain_status(status),
            Some(SendFailure::Delay(d)) => delay = Some(d),
            // Not taken: a bare 500 once the hold is over.
            Some(SendFailure::Stall(d)) => break 'answer (plain_status(500), Some(d)),
            None => {}
        }

        let response = if kind != "template" && inner.closed_windows.contains(&to) {
            graph_error(
                400,
                131047,
                "(#131047) Re-engagement message",
                Some(REENGAGEMENT_DETAILS),
            )
        } else {
            let wamid = new_wamid();
            let mut item = json!({ "id": wamid });
            if kind == "template" {
                item["message_status"] = json!("accepted");
            }
            inner.sent.push(SentMessage {
                phone_number_id: number_id.to_owned(),
                wamid,
                to: to.clone(),
                body: request,
                at: std::time::SystemTime::now(),
            });
            axum::Json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [item],
            }))
            .into_response()
        };
        (response, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

fn new_wamid() -> String {
    let id = uuid::Uuid::new_v4();
    format!("wamid.HBgL{}", URL_SAFE_NO_PAD.encode(id.as_bytes()))
}

fn non_empty_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The recipient and message type of a send, or what is wrong with it.
/// Graph defaults a missing `type` to `text`.
fn validate_message(request: &Value) -> Result<(String, String), String> {
    let to = match request.get("to").and_then(Value::as_str) {
        // A business-scoped user id, for a customer whose number is hidden
        // (`to` wins when both are given).
        None => match request.get("recipient").and_then(Value::as_str) {
            Some(id) if wacrm::channels::cloud_api::webhook::is_user_id(id) => id.to_owned(),
            Some(id) => return Err(format!("Param recipient is not a user id, got {id:?}.")),
            None => return Err("The parameter to is required.".to_owned()),
        },
        Some(to) if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!(
                "Param to must be a phone number in digits only, got {to:?}."
            ));
        }
        Some(to) => to.to_owned(),
    };
    if let Some(kind) = request.get("recipient_type")
        && kind.as_str() != Some("individual")
    {
        return Err("Param recipient_type must be 'individual'.".to_owned());
    }
    let kind = match request.get("type") {
        None => "text",
        Some(kind) => match kind.as_str() {
            Some(k) if MESSAGE_TYPES.contains(&k) => k,
            _ => {
                return Err(format!(
                    "Param type must be one of {{{}}}, got {kind}.",
                    MESSAGE_TYPES.join(", ")
                ));
            }
        },
    };
    let object = request.get(kind);
    match (kind, object) {
        ("contacts", Some(Value::Array(list))) if !list.is_empty() => {}
        ("contacts", _) => {
            return Err(
                "The parameter contacts is required and must be a non-empty array.".to_owned(),
            );
        }
        (_, Some(Value::Object(_))) => {}
        _ => return Err(format!("The parameter {kind} is required.")),
    }
    let object = object.unwrap_or(&Value::Null);
    match kind {
        "text" => match object.get("body").and_then(Value::as_str) {
            None => return Err("The parameter text['body'] is required.".to_owned()),
            Some(body) => {
                let chars = body.chars().count();
                if chars == 0 {
                    return Err("Param text['body'] must not be empty.".to_owned());
                }
                if chars > MAX_TEXT {
                    return Err(format!(
                        "Param text['body'] must be at most {MAX_TEXT} characters long, got {chars}."
                    ));
                }
            }
        },
        "template" => {
            if non_empty_str(object, "name").is_none() {
                return Err("The parameter template['name'] is required.".to_owned());
            }
            if object
                .get("language")
                .and_then(|l| non_empty_str(l, "code"))
                .is_none()
            {
                return Err("The parameter template['language']['code'] is required.".to_owned());
            }
        }
        "reaction" if non_empty_str(object, "message_id").is_none() => {
            return Err("The parameter reaction['message_id'] is required.".to_owned());
        }
        media
            if MEDIA_TYPES.contains(&media)
                && non_empty_str(object, "id").is_none()
                && non_empty_str(object, "link").is_none() =>
        {
            return Err(format!("Param {media} must contain either 'id' or 'link'."));
        }
        "interactive" => validate_interactive(object)?,
        _ => {}
    }
    Ok((to, kind.to_owned()))
}

// ---------------------------------------------------------------------------
// Media upload
// ---------------------------------------------------------------------------

async fn upload(
    shared: &Shared,
    number_id: &str,
    bearer: Option<&str>,
    request: Request,
) -> Response {
    let token = match shared.lock().numbers.get(number_id) {
        None => return unsupported("post", number_id),
        Some(number) if !authorized(bearer, &number.token) => return invalid_token(),
        Some(number) => number.token.clone(),
    };
    let delay = shared.lock().upload_delay;
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut multipart = match Multipart::from_request(request, &()).await {
        Ok(m) => m,
        Err(e) => return invalid_parameter(&format!("Expected a multipart body: {e}.")),
    };
    let mut product: Option<String> = None;
    let mut type_field: Option<String> = None;
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return invalid_parameter(&format!("Malformed multipart body: {e}.")),
        };
        let name = field.name().unwrap_or("").to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return invalid_parameter(&format!("Malformed multipart body: {e}.")),
        };
        match name.as_str() {
            "messaging_product" => product = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "type" => type_field = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => file = Some((content_type, bytes.to_vec())),
            _ => {}
        }
    }
    if product.as_deref() != Some("whatsapp") {
        return invalid_parameter(
            "The parameter messaging_product is required and must be 'whatsapp'.",
        );
    }
    let Some((file_type, bytes)) = file else {
        return invalid_parameter("The parameter file is required.");
    };
    let Some(mime_type) = type_field.or(file_type).filter(|t| !t.trim().is_empty()) else {
        return invalid_parameter("The parameter type is required.");
    };

    let mut inner = shared.lock();
    let id = loop {
        let n = uuid::Uuid::new_v4().as_u128() % 9_000_000_000_000_000 + 1_000_000_000_000_000;
        let id = n.to_string();
        if !inner.media.contains_key(&id) {
            break id;
        }
    };
    inner.uploaded.push(UploadedMedia {
        id: id.clone(),
        phone_number_id: number_id.to_owned(),
        mime_type: mime_type.clone(),
        bytes: bytes.clone(),
    });
    inner.media.insert(
        id.clone(),
        Media {
            token,
            bytes,
            mime_type,
            url: None,
        },
    );
    axum::Json(json!({ "id": id })).into_response()
}

// ---------------------------------------------------------------------------
// Message templates
// ---------------------------------------------------------------------------

/// `POST /{ver}/{waba_id}/message_templates`: checks the name, category,
/// a BODY component and one template per name and language (Graph's
/// subcode 2388024), stores it as PENDING and answers `{id, status,
/// category}`.
fn create_template(shared: &Shared, waba_id: &str, bearer: Option<&str>, body: &[u8]) -> Response {
    let mut inner = shared.lock();
    let Some(waba) = inner.wabas.get_mut(waba_id) else {
        return unsupported("post", waba_id);
    };
    if !authorized(bearer, &waba.token) {
        return invalid_token();
    }
    let Ok(mut template) = serde_json::from_slice::<Value>(body) else {
        return invalid_parameter("The request body is not JSON.");
    };
    let text = |key: &str| {
        template
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (name, language, category) = (text("name"), text("language"), text("category"));
    let name_ok = !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        return invalid_parameter("Param name must be lowercase letters, digits and underscores.");
    }
    if !["MARKETING", "UTILITY", "AUTHENTICATION"].contains(&category.as_str()) {
        return invalid_parameter("Param category is not a valid category.");
    }
    let has_body = template
        .get("components")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c["type"] == "BODY"));
    if !has_body {
        return invalid_parameter("Param components must contain a BODY component.");
    }
    let taken = waba
        .templates
        .iter()
        .any(|t| t["name"] == name.as_str() && t["language"] == language.as_str());
    if taken {
        return (
            status_code(400),
            axum::Json(json!({"error": {
                "message": "Invalid parameter", "type": "OAuthException", "code": 100,
                "error_subcode": 2388024, "is_transient": false,
                "error_user_title": "Content in this language already exists",
                "error_user_msg": format!("Content for {name} <{language}> already exists in this language."),
                "fbtrace_id": "AfakeTrace"
            }})),
        )
            .into_response();
    }
    let id = (880_000_000_000_000_u64 + waba.templates.len() as u64 + 1).to_string();
    template["id"] = json!(id);
    template["status"] = json!("PENDING");
    if let Some(format) = template.get("parameter_format").and_then(Value::as_str) {
        template["parameter_format"] = json!(format.to_ascii_uppercase());
    }
    waba.templates.push(template);
    inner
        .created_templates
        .push((waba_id.to_owned(), body.to_vec()));
    axum::Json(json!({"id": id, "status": "PENDING", "category": category})).into_response()
}

/// `DELETE /{ver}/{waba_id}/message_templates?name=X[&hsm_id=ID]`.
fn delete_template(
    shared: &Shared,
    waba_id: &str,
    bearer: Option<&str>,
    query: &[(String, String)],
) -> Response {
    let mut inner = shared.lock();
    let Some(waba) = inner.wabas.get_mut(waba_id) else {
        return unsupported("delete", waba_id);
    };
    if !authorized(bearer, &waba.token) {
        return invalid_token();
    }
    let Some(name) = query_value(query, "name").map(str::to_owned) else {
        return invalid_parameter("Param name is required.");
    };
    let hsm_id = query_value(query, "hsm_id").map(str::to_owned);
    let before = waba.templates.len();
    waba.templates.retain(|t| {
        let same_name = t["name"] == name.as_str();
        let same_id = hsm_id
            .as_deref()
            .is_none_or(|id| t.get("id").and_then(Value::as_str) == Some(id));
        !(same_name && same_id)
    });
    if waba.templates.len() == before {
        return invalid_parameter("Message template not found.");
    }
    inner.deleted_templates.push((name, hsm_id));
    axum::Json(json!({"success": true})).into_response()
}

fn encode_cursor(index: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("tpl:{index}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("tpl:")?
        .parse()
        .ok()
}

/// `GET /{ver}/{waba_id}/message_templates`: `limit` (default 25), `after`
/// (a cursor from a previous page), and the filters `status` (comma
/// separated, case-insensitive) and `name` (substring). `fields` is ignored:
/// templates come back whole.
fn templates(
    shared: &Shared,
    ver: &str,
    waba_id: &str,
    bearer: Option<&str>,
    query: &[(String, String)],
) -> Response {
    let inner = shared.lock();
    let Some(waba) = inner.wabas.get(waba_id) else {
        return unsupported("get", waba_id);
    };
    if !authorized(bearer, &waba.token) {
        return invalid_token();
    }
    let limit = match query_value(query, "limit") {
        None => DEFAULT_PAGE,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => return invalid_parameter("Param limit must be a positive integer."),
        },
    };
    let statuses: Option<Vec<String>> = query_value(query, "status").map(|s| {
        s.split(',')
            .map(|x| x.trim().to_ascii_uppercase())
            .filter(|x| !x.is_empty())
            .collect()
    });
    let name = query_value(query, "name");
    let matching: Vec<&Value> = waba
        .templates
        .iter()
        .filter(|t| {
            statuses.as_ref().is_none_or(|wanted| {
                t.get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|s| wanted.contains(&s.to_ascii_uppercase()))
            })
        })
        .filter(|t| {
            name.is_none_or(|n| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.contains(n))
            })
        })
        .collect();
    let start = match query_value(query, "after") {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(n) if n <= matching.len() => n,
            _ => return invalid_parameter("Param after is not a valid cursor."),
        },
    };
    let end = (start + limit).min(matching.len());
    let data: Vec<Value> = matching[start..end].iter().map(|t| (*t).clone()).collect();
    if data.is_empty() {
        return axum::Json(json!({ "data": [] })).into_response();
    }
    let after = encode_cursor(end);
    let mut paging = json!({
        "cursors": {"before": encode_cursor(start), "after": after},
    });
    if end < matching.len() {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query.iter().filter(|(k, _)| k != "after" && k != "limit") {
            next.append_pair(k, v);
        }
        next.append_pair("limit", &limit.to_string());
        next.append_pair("after", &after);
        paging["next"] = json!(format!(
            "{}/{ver}/{waba_id}/message_templates?{}",
            shared.base,
            next.finish()
        ));
    }
    axum::Json(json!({ "data": data, "paging": paging })).into_response()
}

// ---------------------------------------------------------------------------
// Interactive messages (reply buttons, lists): Meta's shapes and limits
// [S: Meta Cloud API "Interactive reply buttons messages", "Interactive
// list messages"; protocols-field.md 1.4]
// ---------------------------------------------------------------------------

impl FakeGraph {
    /// The `interactive` objects of the accepted sends, in order.
    pub fn interactive_sent(&self) -> Vec<Value> {
        self.sent()
            .into_iter()
            .filter(|m| m.body.get("type").and_then(Value::as_str) == Some("interactive"))
            .map(|m| m.body["interactive"].clone())
            .collect()
    }
}

/// What Graph would refuse in an `interactive` object, word for word as
/// closely as the docs say.
fn validate_interactive(object: &Value) -> Result<(), String> {
    let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, |s| s.chars().count());
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    let body = len(object.pointer("/body/text"));
    if body == 0 {
        return Err("The parameter interactive['body']['text'] is required.".into());
    }
    if let Some(header) = object.get("header")
        && (header.get("type").and_then(Value::as_str) != Some("text")
            || !(1..=60).contains(&len(header.get("text"))))
    {
        return Err("Param interactive['header'] must be a text of 1 to 60 characters.".into());
    }
    if object.get("footer").is_some() && !(1..=60).contains(&len(object.pointer("/footer/text"))) {
        return Err("Param interactive['footer']['text'] must be 1 to 60 characters.".into());
    }
    match kind {
        "button" => {
            if body > 1024 {
                return Err("Param interactive['body']['text'] is too long (1024 at most).".into());
            }
            let buttons = object
                .pointer("/action/buttons")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !(1..=3).contains(&buttons.len()) {
                return Err(
                    "Param interactive['action']['buttons'] must have 1 to 3 items.".into(),
                );
            }
            let mut ids = std::collections::HashSet::new();
            let mut titles = std::collections::HashSet::new();
            for b in &buttons {
                let title = b
                    .pointer("/reply/title")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let id = b.pointer("/reply/id").and_then(Value::as_str).unwrap_or("");
                if b.get("type").and_then(Value::as_str) != Some("reply")
                    || id.is_empty()
                    || !(1..=20).contains(&title.chars().count())
                {
                    return Err(
                        "Each button needs type 'reply', an id and a title of 1 to 20 characters."
                            .into(),
                    );
                }
                if !ids.insert(id.to_owned()) || !titles.insert(title.to_owned()) {
                    return Err("Button titles and ids must be unique.".into());
                }
            }
        }
        "list" => {
            if body > 4096 {
                return Err("Param interactive['body']['text'] is too long (4096 at most).".into());
            }
            if !(1..=20).contains(&len(object.pointer("/action/button"))) {
                return Err(
                    "Param interactive['action']['button'] must be 1 to 20 characters.".into(),
                );
            }
            let sections = object
                .pointer("/action/sections")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !(1..=10).contains(&sections.len()) {
                return Err(
                    "Param interactive['action']['sections'] must have 1 to 10 items.".into(),
                );
            }
            let mut rows = 0;
            let mut ids = std::collections::HashSet::new();
            for section in &sections {
                if sections.len() > 1 && len(section.get("title")) == 0 {
                    return Err("Each section needs a title when there are several.".into());
                }
                if len(section.get("title")) > 24 {
                    return Err("A section title is 24 characters at most.".into());
                }
                for row in section
                    .get("rows")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    rows += 1;
                    let id = row.get("id").and_then(Value::as_str).unwrap_or("");
                    if id.is_empty() || !ids.insert(id.to_owned()) {
                        return Err("Each row needs its own id.".into());
                    }
                    if !(1..=24).contains(&len(row.get("title")))
                        || len(row.get("description")) > 72
                    {
                        return Err(
                            "A row's title is 1 to 24 characters, its description 72 at most."
                                .into(),
                        );
                    }
                }
            }
            if !(1..=10).contains(&rows) {
                return Err("A list has 1 to 10 rows in all.".into());
            }
        }
        _ => {
            return Err(format!(
                "Param interactive['type'] must be 'button' or 'list', got {kind:?}."
            ));
        }
    }
    Ok(())
}
