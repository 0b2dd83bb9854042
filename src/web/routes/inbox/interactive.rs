//! `GET|POST /inbox/{id}/interactive`: reply buttons or a list, sent to
//! the customer of a Cloud API conversation inside its 24-hour window. A
//! plain form (no script needed); input Meta would refuse comes back with
//! the reason, and a conversation that cannot take one (another channel,
//! the window closed) is refused with a 409 that says why.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::visible_conversation;
use crate::domain::interactive::{Choices, Interactive, Row, Section};
use crate::error::{AppError, Result};
use crate::features::inbox::outbound;
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// How many list sections the form offers (Meta allows more, but 10 rows
/// in all at most).
const SECTIONS: usize = 3;

const NOT_CLOUD: &str = "Reply buttons and lists can be sent only on WhatsApp Cloud API numbers.";
const WINDOW_CLOSED: &str = "The customer last wrote more than 24 hours ago: WhatsApp delivers \
    only approved templates until they write again, not buttons or lists.";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct InteractiveForm {
    /// `buttons` or `list`.
    kind: String,
    header: String,
    body: String,
    footer: String,
    button1: String,
    button2: String,
    button3: String,
    /// The label of the button that opens the list.
    list_button: String,
    section1_title: String,
    /// One row a line: `title` or `title | description`.
    section1_rows: String,
    section2_title: String,
    section2_rows: String,
    section3_title: String,
    section3_rows: String,
}

impl InteractiveForm {
    fn is_list(&self) -> bool {
        self.kind == "list"
    }

    fn message(&self) -> Interactive {
        let choices = if self.is_list() {
            let given = [
                (&self.section1_title, &self.section1_rows),
                (&self.section2_title, &self.section2_rows),
                (&self.section3_title, &self.section3_rows),
            ];
            Choices::List {
                button: self.list_button.clone(),
                sections: given
                    .into_iter()
                    .take(SECTIONS)
                    .map(|(title, rows)| Section {
                        title: title.clone(),
                        rows: rows
                            .lines()
                            .map(|line| {
                                let (title, description) =
                                    line.split_once('|').unwrap_or((line, ""));
                                Row {
                                    title: title.to_owned(),
                                    description: description.to_owned(),
                                }
                            })
                            .collect(),
                    })
                    .collect(),
            }
        } else {
            Choices::Buttons(vec![
                self.button1.clone(),
                self.button2.clone(),
                self.button3.clone(),
            ])
        };
        Interactive {
            header: self.header.clone(),
            body: self.body.clone(),
            footer: self.footer.clone(),
            choices,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/interactive.html")]
pub struct InteractivePage {
    page: Page,
    conversation_id: uuid::Uuid,
    contact_name: String,
    form: InteractiveForm,
    error: Option<String>,
}

/// Refused unless the conversation is on a Cloud API number with its
/// window open.
async fn must_take_interactive(tenant: &mut Tenant, conversation: &Conversation) -> Result<()> {
    if db::cloud_channels::find(&mut tenant.tx, conversation.channel_id)
        .await?
        .is_none()
    {
        return Err(AppError::Conflict(NOT_CLOUD.into()));
    }
    if outbound::window_closed(&mut tenant.tx, conversation).await? {
        return Err(AppError::Conflict(WINDOW_CLOSED.into()));
    }
    Ok(())
}

pub async fn form(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    tenant.member.must_be_writable()?;
    must_take_interactive(&mut tenant, &conversation).await?;
    let page = InteractivePage {
        page: tenant.page,
        conversation_id: conversation.id,
        contact_name: conversation.contact_name.clone(),
        form: InteractiveForm {
            kind: "buttons".into(),
            ..InteractiveForm::default()
        },
        error: None,
    };
    Ok(page.into_response())
}

pub async fn send(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<InteractiveForm>,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    tenant.member.must_be_writable()?;
    must_take_interactive(&mut tenant, &conversation).await?;
    let message = match form.message().checked() {
        Ok(message) => message,
        Err(error) => {
            let page = InteractivePage {
                page: tenant.page,
                conversation_id: conversation.id,
                contact_name: conversation.contact_name.clone(),
                form,
                error: Some(error),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let author = Some(tenant.member.user_id);
    outbound::queue_interactive(
        &mut tenant.tx,
        &state.secrets,
        &conversation,
        author,
        &message,
    )
    .await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/inbox/{}", conversation.id)).into_response())
}
