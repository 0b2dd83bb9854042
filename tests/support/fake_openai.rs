//! A local fake of an OpenAI-compatible Chat Completions server for the AI
//! tests: `POST /v1/chat/completions` with `Authorization: Bearer <key>`
//! and a JSON body (`model`, `messages` with `role` and `content`),
//! answered as OpenAI answers (`chat.completion` with `choices` and
//! `usage`), or with OpenAI's error envelope (401 for a key it does not
//! know, 400 for a malformed request, or what a test queued: 429, 500, a
//! delay). Every request is kept for the test to inspect. Wire facts:
//! `/work/shared/design/protocols.md` 4.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The deployment's key in the tests.
pub const DEPLOYMENT_KEY: &str = "sk-test-deployment-0000";

/// What the fake does with the next request.
#[derive(Debug, Clone)]
pub enum Next {
    Answer(String),
    /// An OpenAI error: status, `type`, `code`, message.
    Error(u16, &'static str, &'static str, &'static str),
    /// Waits this long, then answers.
    Slow(Duration, String),
}

/// A request as the fake received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub body: Value,
}

impl Received {
    pub fn model(&self) -> &str {
        self.body["model"].as_str().unwrap_or_default()
    }

    /// Every message's content, joined: what the model was shown.
    pub fn prompt(&self) -> String {
        self.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| m["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    keys: Vec<String>,
    queue: VecDeque<Next>,
    received: Vec<Received>,
    answered: u64,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct FakeOpenAi {
    shared: Shared,
    base: String,
    task: JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAi {
    /// Listening, knowing the deployment's key.
    pub async fn start() -> FakeOpenAi {
        let (listener, base) = super::local_server::bind("fake OpenAI").await;
        let shared = Shared::default();
        shared.lock().keys.push(DEPLOYMENT_KEY.to_owned());
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = super::local_server::serve(listener, app);
        FakeOpenAi { shared, base, task }
    }

    /// `http://127.0.0.1:PORT/v1`, for `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Points an app's settings at this fake, with the deployment's key.
    pub fn configure(&self, config: &mut wacrm::infra::config::Config) {
        config.openai_api_key = Some(DEPLOYMENT_KEY.to_owned().into());
        config.openai_base_url = Some(
            self.base_url()
                .parse()
                .unwrap_or_else(|e| panic!("fake OpenAI: {e}")),
        );
    }

    /// Accepts this key too (a workspace's own).
    pub fn accept_key(&self, key: &str) {
        self.shared.lock().keys.push(key.to_owned());
    }

    /// What the next request gets (queued in order; then a default answer).
    pub fn then(&self, next: Next) {
        self.shared.lock().queue.push_back(next);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    pub fn last(&self) -> Received {
        self.received()
            .pop()
            .unwrap_or_else(|| panic!("fake OpenAI: no request received"))
    }
}

fn error(status: u16, kind: &str, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, axum::Json(body)).into_response()
}

/// A rough token count, as a tokenizer would give for English.
fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if parts.method != axum::http::Method::POST || parts.uri.path() != "/v1/chat/completions" {
        return error(
            404,
            "invalid_request_error",
            "unknown_url",
            &format!("Unknown request URL: {} {}", parts.method, parts.uri.path()),
        );
    }
    let key = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let bytes = axum::body::to_bytes(body, 4 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
        return error(
            400,
            "invalid_request_error",
            "invalid_json",
            "We could not parse the JSON body of your request.",
        );
    };
    shared.lock().received.push(Received {
        key: key.clone(),
        body: body.clone(),
    });
    if !shared.lock().keys.contains(&key) {
        return error(
            401,
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided.",
        );
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let well_formed = !model.is_empty()
        && !messages.is_empty()
        && messages.iter().all(|m| {
            matches!(
                m["role"].as_str(),
                Some("system" | "user" | "assistant" | "developer")
            ) && m["content"].is_string()
        });
    if !well_formed {
        return error(
            400,
            "invalid_request_error",
            "invalid_request",
            "'messages' must be a non-empty array of {role, content}, and 'model' is required.",
        );
    }
    let next = shared.lock().queue.pop_front();
    let text = match next {
        Some(Next::Error(status, kind, code, message)) => {
            return error(status, kind, code, message);
        }
        Some(Next::Slow(wait, text)) => {
            tokio::time::sleep(wait).await;
            text
        }
        Some(Next::Answer(text)) => text,
        None => "Thanks for your message! We will get back to you shortly.".to_owned(),
    };
    let n = {
        let mut inner = shared.lock();
        inner.answered += 1;
        inner.answered
    };
    let prompt_tokens: u64 = messages
        .iter()
        .filter_map(|m| m["content"].as_str())
        .map(tokens)
        .sum();
    let completion_tokens = tokens(&text);
    axum::Json(json!({
        "id": format!("chatcmpl-fake{n:06}"),
        "object": "chat.completion",
        "created": 1_764_000_000 + n,
        "model": format!("{model}-2024-07-18"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": null},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
        "system_fingerprint": "fp_fake",
    }))
    .into_response()
}
