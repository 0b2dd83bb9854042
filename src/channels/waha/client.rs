//! Calls to a WAHA server's HTTP API (`X-Api-Key`), as one bridge's
//! session: create or update it with our webhook, show its QR code, ask
//! for a pairing code, log out, send. Errors say what WAHA answered, for
//! the owner to read.

use std::time::Duration;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::network::WahaHttp;

/// What went wrong talking to WAHA.
#[derive(Debug, thiserror::Error)]
pub enum WahaError {
    /// No answer (unreachable, timed out): worth another try.
    #[error("WAHA did not answer: {0}")]
    Transport(String),
    /// WAHA answered with an error.
    #[error("WAHA answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("WAHA's answer was not understood: {0}")]
    Answer(String),
    /// Its address is one wacrm does not call (see [`super::network`]):
    /// no call was made.
    #[error("{0}")]
    Refused(String),
}

impl WahaError {
    /// Whether WAHA may have sent the message although the call failed
    /// (no answer came).
    pub fn is_uncertain(&self) -> bool {
        matches!(self, WahaError::Transport(_))
    }

    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        match self {
            WahaError::Transport(_) => true,
            WahaError::Status { status, .. } => *status == 429 || *status >= 500,
            WahaError::Answer(_) | WahaError::Refused(_) => false,
        }
    }
}

/// One WAHA session on one server.
pub struct WahaSession<'a> {
    pub http: &'a WahaHttp,
    pub base_url: Url,
    pub api_key: String,
    pub name: String,
}

/// The webhook WAHA is told to call: where, and the key it signs with.
pub struct Webhook<'a> {
    pub url: &'a str,
    pub hmac_key: &'a str,
}

/// The events wacrm listens to.
/// `message.any` rather than `message`: it also carries what the business
/// types on its phone (`fromMe`, `source: "app"`).
/// `group.v2.*` name the groups (kept where the channel shows them).
const EVENTS: [&str; 8] = [
    "message.any",
    "message.ack",
    "message.reaction",
    "message.revoked",
    "message.edited",
    "session.status",
    "group.v2.join",
    "group.v2.update",
];

/// A file to send.
pub struct OutgoingFile<'a> {
    pub mime_type: &'a str,
    pub filename: &'a str,
    pub bytes: &'a [u8],
    pub caption: Option<&'a str>,
}

impl WahaSession<'_> {
    fn url(&self, segments: &[&str]) -> Result<Url, WahaError> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| WahaError::Answer("the WAHA address cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, WahaError> {
        let mut url = self.url(segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.call_url(method, url, body, None).await
    }

    /// A call to `url` (on this server), within `timeout` if one is given
    /// (else the client's own).
    async fn call_url(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, WahaError> {
        let mut request = self
            .http
            .request(method, url)
            .map_err(WahaError::Refused)?
            .header("X-Api-Key", &self.api_key)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|e| WahaError::Transport(transport_reason(e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| WahaError::Transport(transport_reason(e)))?;
        if !status.is_success() {
            return Err(WahaError::Status {
                status: status.as_u16(),
                message: error_message(status, &text),
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| WahaError::Answer(e.to_string()))
    }

    /// Creates the session with our webhook and starts it. One that exists
    /// (WAHA: 422) gets our webhook merged into its config and is started:
    /// WAHA's `PUT /api/sessions/{name}` replaces the whole config (there
    /// is no PATCH), so the config is read first and the operator's proxy,
    /// engine settings (NOWEB's store, GOWS's storage) and other webhooks
    /// are sent back as they were; only our own webhook (by its URL) is
    /// replaced. [S: devlikeapro/waha-docs content/docs/how-to/sessions/index.md
    /// "Update session"; /work/shared/design/protocols-field.md 7]
    pub async fn set_up(&self, webhook: &Webhook<'_>) -> Result<(), WahaError> {
        let ours = our_webhook(webhook);
        let create = json!({
            "name": self.name,
            "start": true,
            "config": merge_webhook(Value::Null, ours.clone(), webhook.url),
        });
        match self
            .call(Method::POST, &["api", "sessions"], &[], Some(&create))
            .await
        {
            Err(WahaError::Status { status: 422, .. }) => {
                let info = self
                    .call(Method::GET, &["api", "sessions", &self.name], &[], None)
                    .await?;
                let current = info.get("config").cloned().unwrap_or(Value::Null);
                let update = json!({
                    "name": self.name,
                    "config": merge_webhook(current, ours, webhook.url),
                });
                self.call(
                    Method::PUT,
                    &["api", "sessions", &self.name],
                    &[],
                    Some(&update),
                )
                .await?;
                self.start().await
            }
            other => other.map(drop),
        }
    }

    /// Restarts the session (WAHA's advice for one that FAILED: it reloads
    /// the stored link, or asks for a new scan if that is gone).
    pub async fn restart(&self) -> Result<(), WahaError> {
        self.call(
            Method::POST,
            &["api", "sessions", &self.name, "restart"],
            &[],
            None,
        )
        .await
        .map(drop)
    }

    /// Starts the session (already started is fine).
    pub async fn start(&self) -> Result<(), WahaError> {
        match self
            .call(
                Method::POST,
                &["api", "sessions", &self.name, "start"],
                &[],
                None,
            )
            .await
        {
            Ok(_) | Err(WahaError::Status { status: 422, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The session's current status and number (`me.id`), as WAHA has it.
    pub async fn status(&self) -> Result<(String, Option<String>), WahaError> {
        let info = self
            .call(Method::GET, &["api", "sessions", &self.name], &[], None)
            .await?;
        let status = info
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| WahaError::Answer("no status".into()))?;
        let me = info.pointer("/me/id").and_then(Value::as_str);
        Ok((status.to_owned(), me.map(str::to_owned)))
    }

    /// The QR code's text to scan now, or `None` if the session is not
    /// waiting for a scan (WAHA: 422).
    pub async fn qr(&self) -> Result<Option<String>, WahaError> {
        let answer = self
            .call(
                Method::GET,
                &["api", &self.name, "auth", "qr"],
                &[("format", "raw")],
                None,
            )
            .await;
        match answer {
            Ok(value) => value
                .get("value")
                .and_then(Value::as_str)
                .map(|v| Some(v.to_owned()))
                .ok_or_else(|| WahaError::Answer("no QR value".into())),
            Err(WahaError::Status { status: 422, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A pairing code to type on the phone with number `phone` (digits).
    pub async fn request_code(&self, phone: &str) -> Result<String, WahaError> {
        let body = json!({ "phoneNumber": phone });
        let answer = self
            .call(
                Method::POST,
                &["api", &self.name, "auth", "request-code"],
                &[],
                Some(&body),
            )
            .await?;
        answer
            .get("code")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| WahaError::Answer("no code".into()))
    }

    /// Unlinks the phone (the session then waits for a new scan).
    pub async fn log_out(&self) -> Result<(), WahaError> {
        match self
            .call(
                Method::POST,
                &["api", "sessions", &self.name, "logout"],
                &[],
                None,
            )
            .await
        {
            Ok(_) | Err(WahaError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends a text to `chat_id`; the id of the message WAHA sent.
    pub async fn send_text(
        &self,
        chat_id: &str,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<String, WahaError> {
        let mut body = json!({ "session": self.name, "chatId": chat_id, "text": text });
        if let Some(reply_to) = reply_to {
            body["reply_to"] = json!(reply_to);
        }
        let sent = self
            .call(Method::POST, &["api", "sendText"], &[], Some(&body))
            .await?;
        sent_id(&sent)
    }

    /// Sends a file (image, video, voice or document by its type).
    pub async fn send_file(
        &self,
        chat_id: &str,
        file: &OutgoingFile<'_>,
        reply_to: Option<&str>,
    ) -> Result<String, WahaError> {
        let (endpoint, convert) = file_endpoint(file.mime_type, file.bytes);
        let mut body = json!({
            "session": self.name,
            "chatId": chat_id,
            "file": {
                "mimetype": file.mime_type,
                "filename": file.filename,
                "data": base64::engine::general_purpose::STANDARD.encode(file.bytes),
            },
        });
        if convert {
            body["convert"] = json!(true);
        }
        if let Some(caption) = file.caption.filter(|c| !c.trim().is_empty()) {
            body["caption"] = json!(caption);
        }
        if let Some(reply_to) = reply_to {
            body["reply_to"] = json!(reply_to);
        }
        let sent = self
            .call(Method::POST, &["api", endpoint], &[], Some(&body))
            .await?;
        sent_id(&sent)
    }

    /// The session's engine and whether it keeps a message store, from
    /// `GET /api/sessions/{name}` (`engine.engine`; NOWEB's
    /// `config.noweb.store.enabled`, off unless the session was created
    /// with it).
    pub async fn engine(&self) -> Result<WahaEngine, WahaError> {
        let info = self
            .call(Method::GET, &["api", "sessions", &self.name], &[], None)
            .await?;
        Ok(WahaEngine::of(&info))
    }

    /// Our messages to the customer's chat `chat_id` (`<digits>@c.us`, or
    /// `<lid>@lid` for a customer known only by LID) sent at
    /// or after `since` (unix seconds), as WAHA's store has them, each once
    /// (by its bare id); `Ok(None)` when this engine cannot tell (NOWEB
    /// without a store answers such a question with an error).
    /// NOWEB and GOWS are asked across all chats (`chats/all`), since one
    /// message may be filed under the customer's `@lid` chat as well as
    /// (or instead of) `@c.us`; the others in the customer's chat.
    /// [S: devlikeapro/waha-docs content/docs/how-to/chats/index.md "Get
    /// messages" (`chatId=all` on GOWS and NOWEB), chats/features.md
    /// (NOWEB needs its store); /work/shared/design/protocols-field.md 7]
    pub async fn sent_since(
        &self,
        chat_id: &str,
        since: i64,
    ) -> Result<Option<Vec<SentMessage>>, WahaError> {
        let engine = self.engine().await?;
        if !engine.has_store() {
            return Ok(None);
        }
        let chat = if engine.lists_all_chats() {
            "all"
        } else {
            chat_id
        };
        let since = since.to_string();
        let answer = self
            .call(
                Method::GET,
                &["api", &self.name, "chats", chat, "messages"],
                &[
                    ("limit", "100"),
                    ("downloadMedia", "false"),
                    ("filter.fromMe", "true"),
                    ("filter.timestamp.gte", &since),
                ],
                None,
            )
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            // WAHA refused the question (a store that is off, a chat it
            // does not know): no answer about the send either way.
            Err(WahaError::Status { status, .. }) if (400..500).contains(&status) => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let messages = answer
            .as_array()
            .ok_or_else(|| WahaError::Answer("no list of messages".into()))?;
        // Listed from the customer's own chat, each is to them.
        let across = engine.lists_all_chats().then_some(chat_id);
        Ok(Some(sent_to(messages, across)))
    }

    /// The number (digits) WAHA knows for the customer with LID `lid`
    /// (digits): `GET /api/{session}/lids/{lid}%40lid` answers
    /// `{lid, pn}`, `pn` null when it does not know (the person is not in
    /// the phone's contacts). Asked within `timeout`. [S: devlikeapro/waha-docs
    /// content/docs/how-to/contacts/index.md "Get Phone Number by LID"
    /// ("escape `@` in `lid` with `%40`"); protocols-field.md 7]
    pub async fn phone_of_lid(
        &self,
        lid: &str,
        timeout: Duration,
    ) -> Result<Option<String>, WahaError> {
        let answer = self.lids_call(&format!("{lid}%40lid"), timeout).await?;
        Ok(answer
            .get("pn")
            .and_then(Value::as_str)
            .and_then(super::chat_phone)
            .map(str::to_owned))
    }

    /// The LID (digits) WAHA knows for the customer with number `phone`
    /// (digits): `GET /api/{session}/lids/pn/{phone}%40c.us` answers
    /// `{lid, pn}`, `lid` null when unknown. Asked within `timeout`.
    /// [S: devlikeapro/waha-docs content/docs/how-to/contacts/index.md
    /// "Get LID by Phone Number"]
    pub async fn lid_of_phone(
        &self,
        phone: &str,
        timeout: Duration,
    ) -> Result<Option<String>, WahaError> {
        let answer = self
            .lids_call(&format!("pn/{phone}%40c.us"), timeout)
            .await?;
        Ok(answer
            .get("lid")
            .and_then(Value::as_str)
            .and_then(super::chat_lid)
            .map(str::to_owned))
    }

    /// What the group with id `group` (digits, or `<digits>-<digits>`) is
    /// called: `GET /api/{session}/groups/{group}%40g.us`, whose answer
    /// depends on the engine (NOWEB and GOWS give `subject`; WEBJS its
    /// `groupMetadata.subject` or `name`). Asked within `timeout`.
    /// [S: devlikeapro/waha-docs content/docs/how-to/groups/index.md "Get
    /// the group" ("Response depends on engine")]
    pub async fn group_subject(
        &self,
        group: &str,
        timeout: Duration,
    ) -> Result<Option<String>, WahaError> {
        let mut url = self.url(&["api", &self.name, "groups"])?;
        // Digits and a dash only (checked where the id was read), and `@`
        // escaped as WAHA's docs ask.
        let path = format!("{}/{group}%40g.us", url.path());
        url.set_path(&path);
        let answer = self.call_url(Method::GET, url, None, Some(timeout)).await?;
        Ok(["/subject", "/groupMetadata/subject", "/name"]
            .iter()
            .find_map(|p| answer.pointer(p).and_then(Value::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned))
    }

    /// `GET /api/{session}/lids/{tail}`, `tail` already escaped (digits,
    /// `/` and `%40` only: the URL builder would leave an `@` as it is).
    async fn lids_call(&self, tail: &str, timeout: Duration) -> Result<Value, WahaError> {
        let mut url = self.url(&["api", &self.name, "lids"])?;
        let path = format!("{}/{tail}", url.path());
        url.set_path(&path);
        self.call_url(Method::GET, url, None, Some(timeout)).await
    }

    /// Marks the chat's messages read (the customer sees blue ticks):
    /// `POST /api/sendSeen {session, chatId}`, which marks every unread
    /// message of the chat on every engine (`messageIds` is optional).
    /// [S: devlikeapro/waha-docs content/docs/how-to/send-messages, "Mark
    /// message(s) as seen"]
    pub async fn send_seen(&self, chat_id: &str) -> Result<(), WahaError> {
        let body = json!({ "session": self.name, "chatId": chat_id });
        self.call(Method::POST, &["api", "sendSeen"], &[], Some(&body))
            .await
            .map(drop)
    }

    /// Reacts to the message with WAHA's full id `message_id` (an empty
    /// `emoji` takes the reaction back).
    pub async fn react(&self, message_id: &str, emoji: &str) -> Result<(), WahaError> {
        let body = json!({ "session": self.name, "messageId": message_id, "reaction": emoji });
        self.call(Method::PUT, &["api", "reaction"], &[], Some(&body))
            .await
            .map(drop)
    }

    /// Downloads a received file from the WAHA server (its `/api/files`
    /// address in the message); at most `limit` bytes.
    pub async fn download(
        &self,
        url: &str,
        limit: usize,
        timeout: Duration,
    ) -> Result<(Vec<u8>, Option<String>), WahaError> {
        let url = file_url(&self.base_url, url).map_err(WahaError::Answer)?;
        let mut response = self
            .http
            .request(Method::GET, url)
            .map_err(WahaError::Refused)?
            .header("X-Api-Key", &self.api_key)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| WahaError::Transport(transport_reason(e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(WahaError::Status {
                status: status.as_u16(),
                message: "the file could not be downloaded".into(),
            });
        }
        let mime_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| WahaError::Transport(transport_reason(e)))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(WahaError::Answer("the file is too large".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, mime_type))
    }
}

/// Where to fetch a received file WAHA names `given`. WAHA writes its own
/// `WAHA_BASE_URL` into `media.url` (by default http://localhost:3000,
/// wrong for anyone but WAHA itself behind Docker or a proxy), so a file
/// under `/api/files/` is fetched from the bridge's own address with the
/// same path and query. Any other address off the bridge's server is
/// refused: the API key goes to that server only, and wacrm fetches no
/// address a delivery makes up. [S: devlikeapro/waha-docs
/// content/docs/how-to/config/index.md ("WAHA_BASE_URL - will be used to
/// construct the media.url field"), how-to/receive-messages/index.md]
fn file_url(base: &Url, given: &str) -> Result<Url, String> {
    let url = Url::parse(given).map_err(|e| format!("the file's address: {e}"))?;
    if url.origin() == base.origin() {
        return Ok(url);
    }
    if !url.path().starts_with("/api/files/") {
        return Err("the file is not on this WAHA server".into());
    }
    // The bridge's address may carry a path of its own (a proxy's prefix).
    let mut rewritten = base.clone();
    let prefix = base.path().trim_end_matches('/');
    rewritten.set_path(&format!("{prefix}{}", url.path()));
    rewritten.set_query(url.query());
    rewritten.set_fragment(None);
    Ok(rewritten)
}

/// A WAHA engine, as far as wacrm cares. [S: devlikeapro/waha-docs
/// content/docs/how-to/engines/index.md]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WahaEngine {
    /// WEBJS or WPP (a browser): the chat's history is WhatsApp Web's.
    Browser,
    /// NOWEB (Baileys); whether its store is on.
    Noweb {
        store: bool,
    },
    Gows,
    /// Not said (an older WAHA): treated as a browser engine.
    Unknown,
}

impl WahaEngine {
    /// From a session's info (`GET /api/sessions/{name}`).
    fn of(info: &Value) -> WahaEngine {
        let name = info
            .pointer("/engine/engine")
            .or_else(|| info.get("engine"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        match name.to_ascii_uppercase().as_str() {
            "WEBJS" | "WPP" | "VENOM" => WahaEngine::Browser,
            "NOWEB" => WahaEngine::Noweb {
                store: info.pointer("/config/noweb/store/enabled") == Some(&Value::Bool(true)),
            },
            "GOWS" => WahaEngine::Gows,
            _ => WahaEngine::Unknown,
        }
    }

    /// Whether it can list a chat's messages at all.
    pub fn has_store(&self) -> bool {
        !matches!(self, WahaEngine::Noweb { store: false })
    }

    /// Whether it lists messages across all chats (`chats/all`).
    fn lists_all_chats(&self) -> bool {
        matches!(self, WahaEngine::Noweb { .. } | WahaEngine::Gows)
    }
}

/// One of our messages as WAHA lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Bare (see [`super::bare_id`]).
    pub id: String,
    /// Unix seconds (0 if WAHA gave none).
    pub at: i64,
    /// The text or caption.
    pub body: String,
    pub has_file: bool,
}

/// Our messages among `messages`, each bare id once; listed across chats,
/// only those to the chat `chat_id`: for a number, its `@c.us` or
/// `@s.whatsapp.net` address, or an `@lid` one, which names a person
/// without their number, so it may be theirs; for a LID, that LID's chat.
fn sent_to(messages: &[Value], chat_id: Option<&str>) -> Vec<SentMessage> {
    let mut seen = std::collections::HashSet::new();
    messages
        .iter()
        .filter(|m| m.get("fromMe").and_then(Value::as_bool) == Some(true))
        .filter(|m| {
            let to = m.get("to").and_then(Value::as_str).unwrap_or_default();
            chat_id.is_none_or(|chat_id| match super::Peer::of(chat_id) {
                Some(super::Peer::Phone(phone)) => {
                    super::chat_phone(to) == Some(phone) || to.ends_with("@lid")
                }
                Some(super::Peer::Lid(lid)) => super::chat_lid(to) == Some(lid),
                None => to == chat_id,
            })
        })
        .filter_map(|m| {
            let id = super::bare_id(m.get("id").and_then(Value::as_str)?).to_owned();
            seen.insert(id.clone()).then(|| SentMessage {
                id,
                at: m
                    .get("timestamp")
                    .and_then(super::unix_seconds)
                    .map_or(0, time::OffsetDateTime::unix_timestamp),
                body: m
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                has_file: m.get("hasMedia").and_then(Value::as_bool) == Some(true),
            })
        })
        .collect()
}

/// Our webhook entry in a session's config.
fn our_webhook(webhook: &Webhook<'_>) -> Value {
    json!({
        "url": webhook.url,
        "events": EVENTS,
        "hmac": { "key": webhook.hmac_key },
        "retries": { "delaySeconds": 2, "attempts": 15, "policy": "constant" },
    })
}

/// `config` (a session's, as WAHA has it; null for none) with `ours` as
/// its one webhook to `url`: every other key and webhook kept as it was.
fn merge_webhook(config: Value, ours: Value, url: &str) -> Value {
    let mut config = match config {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let mut hooks = match config.remove("webhooks") {
        Some(Value::Array(hooks)) => hooks,
        _ => vec![],
    };
    hooks.retain(|hook| hook.get("url").and_then(Value::as_str) != Some(url));
    hooks.push(ours);
    config.insert("webhooks".into(), Value::Array(hooks));
    Value::Object(config)
}

/// WAHA's endpoint for a file of type `mime_type`, and whether WAHA is to
/// convert it. WhatsApp plays a voice note only as Opus in an OGG
/// container: such audio goes as a voice note as it is. Other audio (an
/// MP3, a browser's WebM recording) goes as a voice note too, with
/// `convert: true` so that WAHA re-encodes it (ffmpeg, on every engine):
/// an agent who attaches audio means it to be heard, and WhatsApp plays
/// voice notes in the chat, while an audio document is a download the
/// customer's phone may not play. [S: devlikeapro/waha-docs
/// content/docs/how-to/send-messages/media-voice-format.md, features.md]
fn file_endpoint(mime_type: &str, bytes: &[u8]) -> (&'static str, bool) {
    match mime_type.split('/').next() {
        Some("image") => ("sendImage", false),
        Some("video") => ("sendVideo", false),
        Some("audio") => ("sendVoice", !is_ogg_opus(bytes)),
        _ => ("sendFile", false),
    }
}

/// Whether `bytes` are Opus in an OGG container: an OGG page (`OggS`)
/// whose first packet is Opus's header (`OpusHead`), whatever type the
/// file was given (browsers call it audio/ogg, audio/opus or audio/webm).
fn is_ogg_opus(bytes: &[u8]) -> bool {
    // The first page's header is 27 bytes plus one per segment.
    let Some(&segments) = bytes.get(26) else {
        return false;
    };
    let packet = 27 + usize::from(segments);
    bytes.starts_with(b"OggS") && bytes.get(packet..packet + 8) == Some(b"OpusHead")
}

/// The sent message's id in WAHA's answer, which is the engine's own
/// message object: `id` (a string, or WEBJS's `{_serialized}`) or
/// NOWEB's `key.id`; bare (see [`super::bare_id`]).
fn sent_id(sent: &Value) -> Result<String, WahaError> {
    let id = sent
        .get("id")
        .and_then(Value::as_str)
        .or_else(|| sent.pointer("/id/_serialized").and_then(Value::as_str))
        .or_else(|| sent.pointer("/key/id").and_then(Value::as_str))
        .ok_or_else(|| WahaError::Answer("no message id in the answer".into()))?;
    Ok(super::bare_id(id).to_owned())
}

/// A short reason for a failed call, without the URL (which the owner
/// typed and sees anyway).
fn transport_reason(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "it took too long".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        e.without_url().to_string()
    }
}

/// WAHA's error text (its JSON's `message` or `error`), short.
fn error_message(status: StatusCode, text: &str) -> String {
    let found = serde_json::from_str::<Value>(text).ok().and_then(|v| {
        ["message", "error"]
            .iter()
            .find_map(|key| v.get(key).and_then(Value::as_str).map(str::to_owned))
    });
    let mut message =
        found.unwrap_or_else(|| status.canonical_reason().unwrap_or("an error").to_owned());
    if status == StatusCode::UNAUTHORIZED {
        message = "the API key was refused".into();
    }
    message.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_fetched_from_the_bridge_whatever_base_waha_wrote() {
        let base = Url::parse("https://waha.example.com").unwrap();
        let at = |given: &str| file_url(&base, given).map(String::from);
        // WAHA's default base, behind Docker: the bridge's address instead.
        assert_eq!(
            at("http://localhost:3000/api/files/default/AAAA.jpeg?x=1").unwrap(),
            "https://waha.example.com/api/files/default/AAAA.jpeg?x=1"
        );
        assert_eq!(
            at("https://waha.example.com/api/files/default/AAAA.jpeg").unwrap(),
            "https://waha.example.com/api/files/default/AAAA.jpeg"
        );
        // Anything else elsewhere is not fetched.
        for refused in [
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:3000/api/sessions",
            "http://localhost:3000/api/files/../sessions",
            "http://evil.example/other/api/files/x",
            "not a url",
        ] {
            assert!(at(refused).is_err(), "{refused}");
        }
        // A bridge behind a proxy's path keeps its prefix.
        let prefixed = Url::parse("http://10.0.0.5:8080/waha/").unwrap();
        assert_eq!(
            file_url(&prefixed, "http://localhost:3000/api/files/s1/B.ogg")
                .unwrap()
                .as_str(),
            "http://10.0.0.5:8080/waha/api/files/s1/B.ogg"
        );
    }

    #[test]
    fn the_engine_and_its_store_are_read_from_the_session() {
        let info = |engine: &str, config: Value| {
            json!({"name": "default", "status": "WORKING",
                                                        "engine": {"engine": engine}, "config": config})
        };
        assert_eq!(
            WahaEngine::of(&info("WEBJS", json!({}))),
            WahaEngine::Browser
        );
        assert_eq!(WahaEngine::of(&info("GOWS", json!(null))), WahaEngine::Gows);
        let bare = WahaEngine::of(&info("NOWEB", json!({"noweb": {"markOnline": true}})));
        assert_eq!(bare, WahaEngine::Noweb { store: false });
        assert!(!bare.has_store());
        let stored = WahaEngine::of(&info(
            "NOWEB",
            json!({"noweb": {"store": {"enabled": true, "fullSync": false}}}),
        ));
        assert!(stored.has_store() && stored.lists_all_chats());
        assert_eq!(
            WahaEngine::of(&json!({"name": "default"})),
            WahaEngine::Unknown
        );
        assert!(!WahaEngine::Browser.lists_all_chats());
    }

    #[test]
    fn sent_messages_are_ours_to_the_customer_each_once() {
        let listed = [
            json!({"id": "true_16505550123@c.us_3EB0AA", "to": "16505550123@c.us", "fromMe": true,
                   "timestamp": 1_733_400_000, "body": "Yes", "hasMedia": false}),
            // The same message filed under the customer's @lid chat.
            json!({"id": "true_123456789012345@lid_3EB0AA", "to": "123456789012345@lid", "fromMe": true,
                   "timestamp": 1_733_400_000.5, "body": "Yes", "hasMedia": false}),
            json!({"id": "true_123456789012345@lid_3EB0BB", "to": "123456789012345@lid", "fromMe": true,
                   "timestamp": 1_733_400_001.25, "body": "Photo", "hasMedia": true}),
            json!({"id": "true_16505550999@c.us_3EB0CC", "to": "16505550999@c.us", "fromMe": true,
                   "timestamp": 1_733_400_002, "body": "Yes"}),
            json!({"id": "false_16505550123@c.us_AAAA", "from": "16505550123@c.us", "fromMe": false,
                   "timestamp": 1_733_400_003, "body": "Yes"}),
        ];
        let sent = sent_to(&listed, Some("16505550123@c.us"));
        let ids: Vec<_> = sent.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["3EB0AA", "3EB0BB"]);
        // A customer known only by LID: that LID's chat alone.
        let by_lid = sent_to(&listed, Some("123456789012345@lid"));
        let ids: Vec<_> = by_lid.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["3EB0AA", "3EB0BB"]);
        assert!(sent_to(&listed, Some("999@lid")).is_empty());
        // From the customer's own chat: all of ours.
        assert_eq!(sent_to(&listed, None).len(), 3);
        assert_eq!((sent[1].at, sent[1].has_file), (1_733_400_001, true));
    }

    #[test]
    fn our_webhook_is_merged_into_the_operators_config() {
        let ours = json!({"url": "https://crm/webhooks/waha/1", "hmac": {"key": "new"}});
        let existing = json!({
            "proxy": {"server": "proxy.internal:3128"},
            "noweb": {"store": {"enabled": true, "fullSync": false}},
            "webhooks": [
                {"url": "https://ops.example/hook", "events": ["message"]},
                {"url": "https://crm/webhooks/waha/1", "hmac": {"key": "old"}},
            ],
        });
        let merged = merge_webhook(existing, ours.clone(), "https://crm/webhooks/waha/1");
        assert_eq!(merged["proxy"]["server"], "proxy.internal:3128");
        assert_eq!(merged["noweb"]["store"]["enabled"], true);
        let hooks = merged["webhooks"].as_array().unwrap();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0]["url"], "https://ops.example/hook");
        assert_eq!(hooks[1], ours);
        // No config, or one without webhooks: ours alone.
        for empty in [Value::Null, json!({}), json!({"webhooks": null})] {
            let merged = merge_webhook(empty, ours.clone(), "https://crm/webhooks/waha/1");
            assert_eq!(merged["webhooks"], json!([ours]));
        }
    }

    /// The start of an OGG file whose first packet is `packet`.
    pub(crate) fn ogg_with(packet: &[u8]) -> Vec<u8> {
        let mut page = b"OggS\0\x02".to_vec();
        page.extend([0u8; 20]);
        page.push(1); // one segment
        page.push(19);
        page.extend_from_slice(packet);
        page.extend([0u8; 11]);
        page
    }

    #[test]
    fn only_ogg_opus_goes_as_a_voice_note_as_it_is() {
        let opus = ogg_with(b"OpusHead\x01\x01");
        let vorbis = ogg_with(b"\x01vorbis\0\0\0\0");
        assert_eq!(file_endpoint("audio/ogg", &opus), ("sendVoice", false));
        assert_eq!(
            file_endpoint("audio/ogg; codecs=opus", &opus),
            ("sendVoice", false)
        );
        assert_eq!(file_endpoint("audio/ogg", &vorbis), ("sendVoice", true));
        assert_eq!(file_endpoint("audio/mpeg", b"ID3\x04"), ("sendVoice", true));
        assert_eq!(file_endpoint("audio/ogg", b"OggS"), ("sendVoice", true));
        assert_eq!(file_endpoint("image/png", b""), ("sendImage", false));
        assert_eq!(file_endpoint("video/mp4", b""), ("sendVideo", false));
        assert_eq!(
            file_endpoint("application/pdf", b"%PDF"),
            ("sendFile", false)
        );
    }

    #[test]
    fn the_sent_id_is_found_in_each_engines_answer() {
        let webjs = json!({"id": {"_serialized": "true_16505550100@c.us_3EB0AA", "fromMe": true}});
        let noweb = json!({"key": {"id": "3EB0BB", "remoteJid": "16505550100@s.whatsapp.net"}});
        let plain = json!({"id": "true_16505550100@c.us_3EB0CC"});
        assert_eq!(sent_id(&webjs).unwrap(), "3EB0AA");
        assert_eq!(sent_id(&noweb).unwrap(), "3EB0BB");
        assert_eq!(sent_id(&plain).unwrap(), "3EB0CC");
        assert!(sent_id(&json!({"ok": true})).is_err());
    }
}
