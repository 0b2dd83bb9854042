//! Scheduling from the composer, and changing, canceling or sending at
//! once a message that still waits. Refused input comes back on a page
//! with everything typed kept (422); a message already gone, a 409 page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Row, ScheduleForm, TemplateChoice, template_choices, time_zone, visible, visible_conversation,
};
use crate::domain::{ScheduledState, local_time};
use crate::error::Result;
use crate::features::inbox::scheduled as scheduling;
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::db::scheduled::{Draft, Scheduled};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use crate::web::routes::MessagePage;

/// The "send later" form on a page of its own: a message being edited, or
/// one refused with the reasons.
#[derive(Template, WebTemplate)]
#[template(path = "scheduled/edit.html")]
pub struct FormPage {
    page: Page,
    heading: String,
    /// Where the form posts.
    action: String,
    conversation_id: Uuid,
    contact: String,
    time_zone: String,
    form: ScheduleForm,
    templates: Vec<TemplateChoice>,
    errors: Vec<String>,
    /// The message shown (none while scheduling a new one).
    item: Option<Row>,
    /// The form is shown: a new message, or one still waiting.
    editable: bool,
}

/// What the form page is about: a new message for a conversation, or one
/// already scheduled.
enum Subject<'a> {
    New(&'a Conversation),
    Existing(Box<Scheduled>),
}

/// The form page; with `errors`, answered `status` (422) and what was
/// typed kept.
async fn form_page(
    mut tenant: Tenant,
    status: StatusCode,
    subject: Subject<'_>,
    form: ScheduleForm,
    errors: Vec<String>,
) -> Result<Response> {
    let time_zone = time_zone(&mut tenant.tx).await?;
    let (conversation_id, channel_id, contact, action, item) = match subject {
        Subject::New(c) => (
            c.id,
            c.channel_id,
            c.title().to_owned(),
            format!("/inbox/{}/schedule", c.id),
            None,
        ),
        Subject::Existing(item) => (
            item.conversation_id,
            item.channel_id,
            item.contact().to_owned(),
            format!("/scheduled/{}", item.id),
            Some(Row {
                when: local_time::shown(item.send_at, &time_zone),
                item: *item,
            }),
        ),
    };
    let heading = match (&item, errors.is_empty()) {
        (None, _) => "Not scheduled",
        (Some(_), true) => "Scheduled message",
        (Some(_), false) => "Not saved",
    };
    let templates = template_choices(&mut tenant.tx, channel_id).await?;
    tenant.tx.commit().await?;
    let page = FormPage {
        editable: item.as_ref().is_none_or(|r| r.item.is_scheduled()),
        page: tenant.page,
        heading: heading.to_owned(),
        action,
        conversation_id,
        contact,
        time_zone,
        form,
        templates,
        errors,
        item,
    };
    Ok((status, page).into_response())
}

/// A sentence to add when the message may meet a closed 24-hour window
/// with no template to fall back to.
async fn window_warning(
    tx: &mut crate::infra::tenancy::TenantTx,
    conversation: &Conversation,
    draft: &Draft,
) -> Result<&'static str> {
    if draft.fallback.is_some()
        || db::cloud_channels::find(tx, conversation.channel_id)
            .await?
            .is_none()
        || crate::channels::cloud_api::window::is_open(conversation.last_inbound_at, draft.send_at)
    {
        return Ok("");
    }
    Ok(
        " WhatsApp's 24-hour window will have closed by then unless the customer writes \
        again: without a fallback template it will not be sent.",
    )
}

/// `POST /inbox/{id}/schedule`: from the conversation's composer.
pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ScheduleForm>,
) -> Result<Response> {
    let conversation = visible_conversation(&mut tenant, id).await?;
    tenant.member.must_be_writable()?;
    let time_zone = time_zone(&mut tenant.tx).await?;
    let draft = match form
        .parse(&mut tenant.tx, conversation.channel_id, &time_zone)
        .await?
    {
        Ok(draft) => draft,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let subject = Subject::New(&conversation);
            return form_page(tenant, status, subject, form, errors).await;
        }
    };
    let author = tenant.member.user_id;
    scheduling::schedule(
        &mut tenant.tx,
        &state.secrets,
        conversation.id,
        author,
        &draft,
    )
    .await?;
    let warning = window_warning(&mut tenant.tx, &conversation, &draft).await?;
    tenant.tx.commit().await?;
    let when = local_time::shown(draft.send_at, &time_zone);
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("Scheduled for {when} ({time_zone}).{warning}"),
        )
        .await?;
    let back = form.return_to(&format!("/inbox/{}", conversation.id));
    Ok(Redirect::to(&back).into_response())
}

/// `GET /scheduled/{id}`: the form while it waits, what became of it after.
pub async fn show(mut tenant: Tenant, PathId(id): PathId) -> Result<Response> {
    let item = visible(&mut tenant, id).await?;
    let time_zone = time_zone(&mut tenant.tx).await?;
    let form = ScheduleForm::of(&item, &time_zone);
    form_page(
        tenant,
        StatusCode::OK,
        Subject::Existing(Box::new(item)),
        form,
        vec![],
    )
    .await
}

/// `POST /scheduled/{id}`: new text, time or fallback.
pub async fn update(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ScheduleForm>,
) -> Result<Response> {
    let item = visible(&mut tenant, id).await?;
    if !item.is_scheduled() {
        return Ok(no_longer_waiting(tenant, &item));
    }
    tenant.member.must_be_writable()?;
    let time_zone = time_zone(&mut tenant.tx).await?;
    let draft = match form
        .parse(&mut tenant.tx, item.channel_id, &time_zone)
        .await?
    {
        Ok(draft) => draft,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let subject = Subject::Existing(Box::new(item));
            return form_page(tenant, status, subject, form, errors).await;
        }
    };
    if !scheduling::change(&mut tenant.tx, &state.secrets, &item, &draft).await? {
        // Sent or canceled meanwhile.
        let now = visible(&mut tenant, id).await?;
        return Ok(no_longer_waiting(tenant, &now));
    }
    let conversation = visible_conversation(&mut tenant, item.conversation_id).await?;
    let warning = window_warning(&mut tenant.tx, &conversation, &draft).await?;
    tenant.tx.commit().await?;
    let when = local_time::shown(draft.send_at, &time_zone);
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("Saved: it goes at {when} ({time_zone}).{warning}"),
        )
        .await?;
    Ok(Redirect::to(&form.return_to("/scheduled")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BackForm {
    /// A local path to go back to afterwards.
    return_to: String,
}

impl BackForm {
    fn to(&self) -> String {
        crate::web::routes::safe_next(self.return_to.trim())
            .unwrap_or("/scheduled")
            .to_owned()
    }
}

/// `POST /scheduled/{id}/cancel`: never sent.
pub async fn cancel(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(back): HtmlForm<BackForm>,
) -> Result<Response> {
    let item = visible(&mut tenant, id).await?;
    let reason = format!("Canceled by {}.", tenant.member.user_name);
    if !db::scheduled::cancel(&mut tenant.tx, item.id, &reason).await? {
        let now = visible(&mut tenant, id).await?;
        return Ok(no_longer_waiting(tenant, &now));
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Canceled: that message will not be sent.",
        )
        .await?;
    Ok(Redirect::to(&back.to()).into_response())
}

/// `POST /scheduled/{id}/send-now`: due at once.
pub async fn send_now(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(back): HtmlForm<BackForm>,
) -> Result<Response> {
    let item = visible(&mut tenant, id).await?;
    tenant.member.must_be_writable()?;
    if !scheduling::send_now(&mut tenant.tx, &state.secrets, item.id).await? {
        let now = visible(&mut tenant, id).await?;
        return Ok(no_longer_waiting(tenant, &now));
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Sending it now.")
        .await?;
    Ok(Redirect::to(&back.to()).into_response())
}

/// 409: the message was sent, canceled or failed; it cannot change now.
fn no_longer_waiting(tenant: Tenant, item: &Scheduled) -> Response {
    let (heading, body) = match item.state {
        ScheduledState::Sent => (
            "Already sent",
            "This message was already sent: it can no longer be changed or canceled.".to_owned(),
        ),
        ScheduledState::Canceled => (
            "Already canceled",
            "This message was canceled and will not be sent. Schedule a new one from the \
             conversation."
                .to_owned(),
        ),
        _ => (
            "Not sent",
            format!(
                "This message could not be sent and is no longer scheduled. {} Schedule a new \
                 one from the conversation.",
                item.reason
            ),
        ),
    };
    let page = MessagePage {
        page: tenant.page,
        heading: heading.to_owned(),
        body,
        link: Some((
            format!("/inbox/{}", item.conversation_id),
            "Open the conversation".to_owned(),
        )),
    };
    (StatusCode::CONFLICT, page).into_response()
}
