//! What the composer offers while typing: canned replies after `/` (with
//! the variables already filled for this conversation) and members after
//! `@` (for notes). A reply that is only `/shortcode` is sent as that text,
//! so canned replies work without a script too.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use serde::Deserialize;

use super::visible_conversation;
use crate::domain::canned::{Variables, parse_shortcode, render, typed_shortcode};
use crate::domain::mention::typed_mention;
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::web::path::PathId;

const SUGGESTIONS: i64 = 8;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SuggestParams {
    text: String,
}

pub struct Suggestion {
    /// What the list shows first: `/shortcode` or `@name`.
    pub label: String,
    /// The text inserted in place of what was typed.
    pub insert: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/suggestions.html")]
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
    PathId(id): PathId,
    Query(params): Query<SuggestParams>,
) -> Result<Suggestions> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    let mut suggestions = vec![];
    if let Some(prefix) = typed_shortcode(&params.text) {
        let replies = db::canned::starting_with(&mut tenant.tx, &prefix, SUGGESTIONS).await?;
        let vars = variables(&tenant.page, &conversation);
        suggestions = replies
            .into_iter()
            .map(|r| Suggestion {
                label: format!("/{}", r.shortcode),
                insert: render(&r.body, &vars),
            })
            .collect();
    } else if let Some(prefix) = typed_mention(&params.text) {
        let members = db::memberships::list(&mut tenant.tx).await?;
        suggestions = members
            .into_iter()
            .filter(|m| {
                let name = m.name.to_lowercase();
                name.starts_with(&prefix)
                    || name
                        .split_whitespace()
                        .any(|word| word.starts_with(&prefix))
            })
            .take(SUGGESTIONS as usize)
            .map(|m| Suggestion {
                label: format!("@{}", m.name),
                insert: format!("@{} ", m.name),
            })
            .collect();
    }
    tenant.tx.commit().await?;
    Ok(Suggestions { suggestions })
}

/// A reply that is exactly `/shortcode` of a canned reply becomes its text.
pub async fn expand_canned(
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
