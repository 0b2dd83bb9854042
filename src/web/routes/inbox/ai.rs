//! AI in the open conversation (any member, once an owner turned AI on):
//! draft a reply, translate or rewrite the agent's draft, summarize the
//! conversation, translate a customer's message into the agent's language.
//! A draft goes into the composer for the agent to edit; nothing is sent by
//! itself. With htmx the result (or why there is none) replaces a slot of
//! the page and the agent's draft is only replaced by a new one; without a
//! script a small page shows it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::visible_conversation;
use crate::error::{AppError, Result};
use crate::features::ai::assist;
use crate::features::ai::prompts::{self, Style, TRANSCRIPT_MESSAGES};
use crate::features::ai::provider::Turn;
use crate::infra::db;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// WhatsApp's limit for a text message body (the draft's too).
const MAX_TEXT: usize = 4096;
/// Enough for a WhatsApp reply or a five-line summary.
const MAX_ANSWER_TOKENS: u32 = 500;

/// What an AI request gave, or the sentence saying why not.
type Outcome = std::result::Result<String, String>;

#[derive(Template, WebTemplate)]
#[template(path = "inbox/ai_fragment.html")]
struct AiFragment {
    kind: &'static str,
    conversation_id: Uuid,
    outcome: Outcome,
    upgrade: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/ai_page.html")]
struct AiPage {
    page: Page,
    title: &'static str,
    kind: &'static str,
    conversation_id: Uuid,
    outcome: Outcome,
    upgrade: bool,
    /// The agent's draft, kept when there is no new one.
    draft: String,
    reply_to: String,
}

/// What the agent asked for and what it gives back.
struct Asked {
    kind: &'static str,
    title: &'static str,
    conversation_id: Uuid,
    draft: String,
    reply_to: String,
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").and_then(|v| v.to_str().ok()) == Some("true")
}

/// The answer: a slot of the page (htmx) or a page. Errors the agent can
/// act on (AI off, over the plan, the provider failing, bad input) are
/// shown in words; anything else (not found) stays an error response.
fn respond(
    headers: &HeaderMap,
    page: Page,
    asked: Asked,
    result: Result<String>,
) -> Result<Response> {
    let (status, outcome, upgrade) = match result {
        Ok(text) => (StatusCode::OK, Ok(text), false),
        Err(AppError::Conflict(m)) => (StatusCode::CONFLICT, Err(m), false),
        Err(AppError::Unprocessable(m)) => (StatusCode::UNPROCESSABLE_ENTITY, Err(m), false),
        Err(AppError::PlanLimit(m)) => (StatusCode::PAYMENT_REQUIRED, Err(m), true),
        Err(AppError::BadGateway(m)) => (StatusCode::BAD_GATEWAY, Err(m), false),
        Err(other) => return Err(other),
    };
    if is_htmx(headers) {
        // htmx swaps only 2xx answers: the sentence must reach the page.
        let fragment = AiFragment {
            kind: asked.kind,
            conversation_id: asked.conversation_id,
            outcome,
            upgrade,
        };
        return Ok(fragment.into_response());
    }
    let page = AiPage {
        page,
        title: asked.title,
        kind: asked.kind,
        conversation_id: asked.conversation_id,
        outcome,
        upgrade,
        draft: asked.draft,
        reply_to: asked.reply_to,
    };
    Ok((status, page).into_response())
}

/// Counts the call, commits the request's transaction, asks the model.
async fn ask(state: &AppState, tenant: Tenant, turns: Vec<Turn>) -> Result<String> {
    let mut tx = tenant.tx;
    let prepared = assist::prepare(&state.env(), &mut tx).await?;
    tx.commit().await?;
    assist::run(&state.env(), prepared, &turns, MAX_ANSWER_TOKENS)
        .await?
        .map(|c| c.text)
        .map_err(|e| AppError::BadGateway(e.to_string()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DraftForm {
    /// `suggest`, `translate`, `shorter`, `friendlier` or `formal`.
    action: String,
    text: String,
    reply_to: String,
}

/// The conversation and its contact, as a prompt names them.
async fn transcript(tenant: &mut Tenant, id: Uuid) -> Result<Vec<prompts::Line>> {
    Ok(db::ai::transcript(&mut tenant.tx, id, TRANSCRIPT_MESSAGES).await?)
}

pub async fn draft(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<DraftForm>,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let page = tenant.page.clone();
    let asked = Asked {
        kind: "draft",
        title: "AI draft",
        conversation_id: conversation.id,
        draft: form.text.clone(),
        reply_to: form.reply_to.clone(),
    };
    let result = async {
        let draft = form.text.trim();
        let needs_draft = form.action != "suggest";
        if needs_draft && draft.is_empty() {
            return Err(AppError::Unprocessable(
                "Write a draft first: AI translates or rewrites what you wrote.".into(),
            ));
        }
        if draft.chars().count() > MAX_TEXT {
            return Err(AppError::Unprocessable(format!(
                "The draft is too long ({MAX_TEXT} characters at most)."
            )));
        }
        let workspace = tenant.page.org_name.clone().unwrap_or_default();
        let lines = transcript(&mut tenant, conversation.id).await?;
        let talk = prompts::Conversation {
            workspace: &workspace,
            contact_name: &conversation.contact_name,
            lines: &lines,
        };
        let turns = match form.action.as_str() {
            "suggest" => prompts::suggest_reply(&talk),
            "translate" => prompts::translate_draft(&talk, draft),
            other => match Style::parse(other) {
                Some(style) => prompts::rewrite(&workspace, draft, style),
                None => {
                    return Err(AppError::Unprocessable(format!(
                        "“{other}” is not something AI does with a draft: suggest, translate, shorter, friendlier or formal."
                    )));
                }
            },
        };
        ask(&state, tenant, turns).await
    }
    .await;
    respond(&headers, page, asked, result)
}

pub async fn summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut tenant: Tenant,
    PathId(id): PathId,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let page = tenant.page.clone();
    let asked = Asked {
        kind: "summary",
        title: "Summary (AI)",
        conversation_id: conversation.id,
        draft: String::new(),
        reply_to: String::new(),
    };
    let result = async {
        let workspace = tenant.page.org_name.clone().unwrap_or_default();
        let lines = transcript(&mut tenant, conversation.id).await?;
        if lines.is_empty() {
            return Err(AppError::Unprocessable(
                "There is nothing to summarize yet.".into(),
            ));
        }
        let turns = prompts::summarize(&prompts::Conversation {
            workspace: &workspace,
            contact_name: &conversation.contact_name,
            lines: &lines,
        });
        ask(&state, tenant, turns).await
    }
    .await;
    respond(&headers, page, asked, result)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TranslateForm {
    message_id: String,
}

pub async fn translate(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TranslateForm>,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let message_id = Uuid::try_parse(form.message_id.trim()).map_err(|_| {
        AppError::BadRequest("The message to translate is not valid; pick it again.".into())
    })?;
    let message = match db::messages::find(&mut tenant.tx, message_id).await? {
        Some(m) if m.conversation_id == conversation.id && !m.private => m,
        _ => return Err(AppError::NotFound),
    };
    let page = tenant.page.clone();
    let asked = Asked {
        kind: "translation",
        title: "Translation (AI)",
        conversation_id: conversation.id,
        draft: String::new(),
        reply_to: String::new(),
    };
    let result = async {
        if message.deleted_at.is_some() || message.body.trim().is_empty() {
            return Err(AppError::Unprocessable(
                "That message has no text to translate.".into(),
            ));
        }
        let code = db::users::language(tenant.tx.conn(), tenant.member.user_id).await?;
        let language = crate::features::ai::language::name(&code).unwrap_or("English");
        ask(
            &state,
            tenant,
            prompts::translate_message(&message.body, language),
        )
        .await
    }
    .await;
    respond(&headers, page, asked, result)
}
