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
const EVENTS: [&str; 6] = [
    "message",
    "message.ack",
    "message.reaction",
    "message.revoked",
    "message.edited",
    "session.status",
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
        let mut request = self
            .http
            .request(method, url)
            .map_err(WahaError::Refused)?
            .header("X-Api-Key", &self.api_key)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
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

    /// Creates the session with our webhook and starts it; one that exists
    /// (WAHA: 422) gets our webhook (a full replace, which restarts it) and
    /// is started.
    pub async fn set_up(&self, webhook: &Webhook<'_>) -> Result<(), WahaError> {
        let config = json!({
            "webhooks": [{
                "url": webhook.url,
                "events": EVENTS,
                "hmac": { "key": webhook.hmac_key },
                "retries": { "delaySeconds": 2, "attempts": 15, "policy": "constant" },
            }],
        });
        let create = json!({ "name": self.name, "start": true, "config": config });
        match self
            .call(Method::POST, &["api", "sessions"], &[], Some(&create))
            .await
        {
            Err(WahaError::Status { status: 422, .. }) => {
                let update = json!({ "name": self.name, "config": config });
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
        let endpoint = match file.mime_type.split('/').next() {
            Some("image") => "sendImage",
            Some("video") => "sendVideo",
            Some("audio") => "sendVoice",
            _ => "sendFile",
        };
        let mut body = json!({
            "session": self.name,
            "chatId": chat_id,
            "file": {
                "mimetype": file.mime_type,
                "filename": file.filename,
                "data": base64::engine::general_purpose::STANDARD.encode(file.bytes),
            },
        });
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

    /// Our recent messages in `chat_id` (WAHA's newest first): bare id,
    /// unix time, text or caption, whether it carries a file.
    pub async fn recent_sent(
        &self,
        chat_id: &str,
    ) -> Result<Vec<(String, i64, String, bool)>, WahaError> {
        let answer = self
            .call(
                Method::GET,
                &["api", &self.name, "chats", chat_id, "messages"],
                &[
                    ("limit", "50"),
                    ("downloadMedia", "false"),
                    ("filter.fromMe", "true"),
                ],
                None,
            )
            .await?;
        let messages = answer
            .as_array()
            .ok_or_else(|| WahaError::Answer("no list of messages".into()))?;
        Ok(messages
            .iter()
            .filter(|m| m.get("fromMe").and_then(Value::as_bool) == Some(true))
            .filter_map(|m| {
                let id = m.get("id").and_then(Value::as_str)?;
                Some((
                    super::bare_id(id).to_owned(),
                    m.get("timestamp")
                        .and_then(Value::as_i64)
                        .unwrap_or_default(),
                    m.get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    m.get("hasMedia").and_then(Value::as_bool) == Some(true),
                ))
            })
            .collect())
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
        let url = Url::parse(url).map_err(|e| WahaError::Answer(e.to_string()))?;
        // The key goes only to the bridge's own server.
        if url.origin() != self.base_url.origin() {
            return Err(WahaError::Answer(
                "the file is not on this WAHA server".into(),
            ));
        }
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
