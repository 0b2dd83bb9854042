//! The model provider: any OpenAI-compatible Chat Completions endpoint
//! (`OPENAI_BASE_URL`, OpenAI's by default; local servers too), called
//! through async-openai. A workspace uses its own key and model when it set
//! them, the deployment's otherwise. Errors become one short sentence for
//! the agent; what was sent or answered never goes to the log.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest,
};
use secrecy::{ExposeSecret, SecretString};

use crate::infra::config::Config;

/// OpenAI's endpoint, when `OPENAI_BASE_URL` is not set.
const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The model when neither the workspace nor `AI_MODEL` names one.
const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// Who says a turn of the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// wacrm's instructions.
    System,
    /// What the model works on (the conversation, the draft).
    User,
    /// An earlier answer of the model (the bot's own replies).
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

impl Turn {
    pub fn system(content: impl Into<String>) -> Turn {
        Turn {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Turn {
        Turn {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// The model's answer and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// Why the provider gave no answer, in words for the agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    #[error("The AI provider did not answer within {0} seconds. Try again in a moment.")]
    Timeout(u64),
    #[error("The AI provider is busy (too many requests). Try again in a minute.")]
    RateLimited,
    #[error(
        "The AI provider's quota for this key is used up. An owner can add credit with the provider or set another key in Settings → AI."
    )]
    QuotaExceeded,
    #[error(
        "The AI provider refused the API key. An owner can check it in Settings → AI (or ask whoever runs this wacrm)."
    )]
    KeyRefused,
    #[error("The AI provider failed ({0}). Try again in a moment.")]
    Failed(String),
    #[error("The AI provider gave an empty answer. Try again, or write it yourself.")]
    Empty,
}

/// The deployment's provider settings, and the HTTP client every call uses.
#[derive(Clone)]
pub struct Providers {
    http: reqwest::Client,
    base_url: String,
    key: Option<SecretString>,
    model: String,
    timeout: Duration,
    /// `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set: the deployment offers AI
    /// to every workspace (a local server may need no key).
    pub deployment_offers_ai: bool,
}

/// One workspace's way to the model.
pub struct Provider {
    client: Client<OpenAIConfig>,
    pub model: String,
    timeout: Duration,
}

impl Providers {
    pub fn new(config: &Config) -> anyhow::Result<Providers> {
        let timeout = Duration::from_secs(config.ai_timeout_secs);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let base_url = config
            .openai_base_url
            .as_ref()
            .map_or(DEFAULT_BASE_URL, |u| u.as_str())
            .trim_end_matches('/')
            .to_owned();
        Ok(Providers {
            http,
            base_url,
            key: config.openai_api_key.clone(),
            model: config
                .ai_model
                .clone()
                .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            timeout,
            deployment_offers_ai: config.openai_api_key.is_some()
                || config.openai_base_url.is_some(),
        })
    }

    /// The provider's host, for the page that says where data goes.
    pub fn host(&self) -> String {
        url::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| self.base_url.clone())
    }

    pub fn default_model(&self) -> &str {
        &self.model
    }

    /// The provider for a workspace with this own key and model (if any);
    /// `None` when there is no key to use and the deployment offers none.
    pub fn for_workspace(&self, own_key: Option<&str>, model: Option<&str>) -> Option<Provider> {
        let key = match own_key {
            Some(key) => key.to_owned(),
            None if self.deployment_offers_ai => self
                .key
                .as_ref()
                .map(|k| k.expose_secret().to_owned())
                .unwrap_or_default(),
            None => return None,
        };
        let config = OpenAIConfig::new()
            .with_api_base(self.base_url.clone())
            .with_api_key(key)
            // Never the environment's organization or project: the key decides.
            .with_org_id("")
            .with_project_id("");
        Some(Provider {
            client: Client::build(self.http.clone(), config),
            model: model.unwrap_or(&self.model).to_owned(),
            timeout: self.timeout,
        })
    }
}

fn message(turn: &Turn) -> ChatCompletionRequestMessage {
    let content = turn.content.clone();
    match turn.role {
        Role::System => ChatCompletionRequestSystemMessage::from(
            async_openai::types::chat::ChatCompletionRequestSystemMessageContent::Text(content),
        )
        .into(),
        Role::User => ChatCompletionRequestUserMessage::from(
            async_openai::types::chat::ChatCompletionRequestUserMessageContent::Text(content),
        )
        .into(),
        Role::Assistant => ChatCompletionRequestAssistantMessage::from(
            async_openai::types::chat::ChatCompletionRequestAssistantMessageContent::Text(content),
        )
        .into(),
    }
}

/// What an error from the library means for the agent.
fn explain(error: &OpenAIError) -> AiError {
    match error {
        OpenAIError::ApiError(e) => {
            let status = e.status_code.as_u16();
            let code = e.api_error.code.as_deref().unwrap_or_default();
            let kind = e.api_error.r#type.as_deref().unwrap_or_default();
            match status {
                429 if code == "insufficient_quota" || kind == "insufficient_quota" => {
                    AiError::QuotaExceeded
                }
                429 => AiError::RateLimited,
                401 | 403 => AiError::KeyRefused,
                _ => AiError::Failed(format!("HTTP {status}")),
            }
        }
        OpenAIError::Reqwest(e) if e.is_timeout() => AiError::Failed("no answer in time".into()),
        OpenAIError::Reqwest(e) if e.is_connect() => AiError::Failed("cannot reach it".into()),
        OpenAIError::Reqwest(_) => AiError::Failed("connection error".into()),
        OpenAIError::JSONDeserialize(..) => AiError::Failed("an answer wacrm cannot read".into()),
        _ => AiError::Failed("unexpected error".into()),
    }
}

impl Provider {
    /// One chat completion: the model's text and its token counts.
    pub async fn complete(&self, turns: &[Turn], max_tokens: u32) -> Result<Completion, AiError> {
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: turns.iter().map(message).collect(),
            temperature: Some(0.3),
            max_completion_tokens: Some(max_tokens),
            n: Some(1),
            ..Default::default()
        };
        let answer = tokio::time::timeout(self.timeout, self.client.chat().create(request)).await;
        let response = match answer {
            Err(_) => return Err(AiError::Timeout(self.timeout.as_secs())),
            Ok(Err(OpenAIError::Reqwest(e))) if e.is_timeout() => {
                return Err(AiError::Timeout(self.timeout.as_secs()));
            }
            Ok(Err(e)) => {
                let reason = explain(&e);
                // The kind of failure only: bodies may quote the prompt.
                tracing::warn!(model = %self.model, reason = %reason, "AI provider call failed");
                return Err(reason);
            }
            Ok(Ok(response)) => response,
        };
        let text = response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .map(|t| t.trim().to_owned())
            .unwrap_or_default();
        if text.is_empty() {
            return Err(AiError::Empty);
        }
        let (prompt_tokens, completion_tokens) = response.usage.map_or((0, 0), |u| {
            (i64::from(u.prompt_tokens), i64::from(u.completion_tokens))
        });
        Ok(Completion {
            text,
            prompt_tokens,
            completion_tokens,
        })
    }
}
