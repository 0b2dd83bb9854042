//! Canned replies in the composer: suggestions while `/shortcode` is being
//! typed, with the variables already filled for this conversation, and a
//! reply that is only `/shortcode` sent as that text (no script needed).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use serde::Deserialize;

use super::actions::visible_conversation;
use crate::db;
use crate::db::conversations::Conversation;
use crate::domain::canned::{Variables, parse_shortcode, render, typed_shortcode};
use crate::error::Result;
use crate::tenancy::member::{Page, Tenant};

const SUGGESTIONS: i64 = 8;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SuggestParams {
    text: String,
}

pub struct Suggestion {
    pub shortcode: String,
    /// The text as it will be inserted.
    pub text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/canned_suggestions.html")]
pub struct Suggestions {
    suggestions: Vec<Suggestion>,
}

fn variables<'a>(page: &'a Page, conversation: &'a Conversation) -> Variables<'a> {
    Variables {
        contact_name: &conversation.contact_name,
        agent_name: page.user_name.as_deref().unwrap_or(""),
        workspace: page.org_name.as_deref().unwrap_or(""),
    }
}

pub async fn suggest(
    mut tenant: Tenant,
    Path(id): Path<String>,
    Query(params): Query<SuggestParams>,
) -> Result<Suggestions> {
    let conversation = visible_conversation(&mut tenant, &id).await?;
    let Some(prefix) = typed_shortcode(&params.text) else {
        return Ok(Suggestions {
            suggestions: vec![],
        });
    };
    let replies = db::canned::starting_with(&mut tenant.tx, &prefix, SUGGESTIONS).await?;
    tenant.tx.commit().await?;
    let vars = variables(&tenant.page, &conversation);
    let suggestions = replies
        .into_iter()
        .map(|r| Suggestion {
            text: render(&r.body, &vars),
            shortcode: r.shortcode,
        })
        .collect();
    Ok(Suggestions { suggestions })
}

/// A reply that is exactly `/shortcode` of a canned reply becomes its text.
pub async fn expand(
    tenant: &mut Tenant,
    conversation: &Conversation,
    text: &str,
) -> Result<String> {
    let text = text.trim();
    let Some(code) = text
        .strip_prefix('/')
        .and_then(|code| parse_shortcode(code).ok())
    else {
        return Ok(text.to_owned());
    };
    match db::canned::by_shortcode(&mut tenant.tx, &code).await? {
        Some(reply) => Ok(render(&reply.body, &variables(&tenant.page, conversation))),
        None => Ok(text.to_owned()),
    }
}
