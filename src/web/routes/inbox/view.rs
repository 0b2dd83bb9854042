use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{decode_position, encode_position};
use crate::domain::{BotOutcome, ConversationStatus, MessageKind, Priority};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::channels::Channel;
use crate::infra::db::contacts::Contact;
use crate::infra::db::conversations::{AssigneeFilter, Conversation, ListFilter};
use crate::infra::db::labels::Label;
use crate::infra::db::memberships::Member as TeamMember;
use crate::infra::db::messages::{Message, PageEnd};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::path::PathId;

const LIST_SIZE: i64 = 50;
/// The reactions offered on a message.
const REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
const MESSAGES_SHOWN: i64 = 50;
/// Deals shown beside a conversation (all are on the contact's page).
const DEALS_SHOWN: i64 = 5;

/// Contact notes shown beside a conversation (all are on the contact's page).
const NOTES_SHOWN: usize = 5;
/// Other conversations of the contact in the contact panel.
const PREVIOUS_SHOWN: i64 = 10;
pub const STATUSES: [(&str, &str); 5] = [
    ("open", "Open"),
    ("pending", "Pending"),
    ("snoozed", "Snoozed"),
    ("resolved", "Resolved"),
    ("all", "All"),
];

/// The list's filters, as query parameters (kept on every inbox link).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub assignee: String,
    pub status: String,
    pub label: String,
    pub channel: String,
    /// Older than this list position.
    pub before: String,
    /// Messages older than this position (the conversation pane).
    pub older: String,
    /// The conversation shown beside the list (highlight only), for the
    /// list's live refresh.
    pub open: String,
    /// Open the conversation at this message (a search result).
    pub at: String,
    /// The message the composer's reply will quote.
    pub reply_to: String,
}

impl ListParams {
    fn filter(&self) -> Result<ListFilter> {
        let bad = |what: &str| {
            AppError::BadRequest(format!(
                "That {what} filter is not valid; pick one from the list."
            ))
        };
        let assignee = match self.assignee.as_str() {
            "" | "all" => AssigneeFilter::All,
            "mine" => AssigneeFilter::Mine,
            "unassigned" => AssigneeFilter::Unassigned,
            _ => return Err(bad("assignee")),
        };
        let status = match self.status.as_str() {
            "" => Some(ConversationStatus::Open),
            "all" => None,
            s => Some(ConversationStatus::parse(s).ok_or_else(|| bad("status"))?),
        };
        let id = |value: &str, what: &str| match value {
            "" => Ok(None),
            v => uuid::Uuid::try_parse(v).map(Some).map_err(|_| bad(what)),
        };
        Ok(ListFilter {
            assignee,
            status,
            label: id(&self.label, "label")?,
            channel: id(&self.channel, "channel")?,
            contact: None,
            before: decode_position(&self.before)?,
            limit: LIST_SIZE,
        })
    }

    /// The filters as a query string (no paging), for links.
    pub fn query(&self) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("assignee", &self.assignee),
            ("status", &self.status),
            ("label", &self.label),
            ("channel", &self.channel),
        ] {
            if !value.is_empty() {
                url.append_pair(name, value);
            }
        }
        url.finish()
    }

    pub fn status_or_default(&self) -> &str {
        if self.status.is_empty() {
            "open"
        } else {
            &self.status
        }
    }
}

/// A message with, when it starts a new day, that day (the separator).
pub struct MessageRow {
    pub message: Message,
    pub new_day: Option<time::Date>,
}

fn with_day_separators(messages: Vec<Message>) -> Vec<MessageRow> {
    let mut last_day = None;
    messages
        .into_iter()
        .map(|message| {
            let day = message.created_at.date();
            let new_day = (last_day != Some(day)).then_some(day);
            last_day = Some(day);
            MessageRow { message, new_day }
        })
        .collect()
}

/// The open conversation: its messages, its contact and what acting on it needs.
pub struct Selected {
    pub conversation: Conversation,
    pub messages: Vec<MessageRow>,
    /// Query value for the page of older messages, if any.
    pub older: Option<String>,
    /// Newer messages exist than the ones shown.
    pub not_latest: bool,
    pub contact: Contact,
    pub previous: Vec<db::conversations::Earlier>,
    pub members: Vec<TeamMember>,
    /// The contact's custom attributes that have a value: `(label, value)`.
    pub attributes: Vec<(String, String)>,
    /// The contact's newest notes.
    pub notes: Vec<crate::infra::db::notes::Note>,
    /// The contact's deals, open ones first.
    pub deals: Vec<crate::infra::db::deals::Deal>,
    /// A WhatsApp conversation whose 24-hour window has closed: only
    /// templates can be sent.
    pub window_closed: bool,
    /// The approved templates then offered.
    pub templates: Vec<crate::infra::db::templates::Template>,
    /// A Cloud API conversation in its window: reply buttons and lists
    /// are offered.
    pub interactive: bool,
    /// The default of a template's `{{1}}`.
    pub first_name: String,
    /// The message the composer's reply quotes (`?reply_to=`).
    pub replying_to: Option<Message>,
    /// An owner turned AI on: the conversation offers its buttons.
    pub ai_on: bool,
    /// What the bot did here, if anything (handed over and why).
    pub bot_note: Option<String>,
    /// The ad or product the customer came from (Cloud API).
    pub referral: Option<crate::infra::db::conversation_referrals::Referral>,
    /// The automation rules that ran here, newest first.
    pub automation_runs: Vec<crate::infra::db::automation::Run>,
    /// "Send later" and the messages scheduled here.
    pub scheduled: crate::web::routes::scheduled::ComposerPart,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/index.html")]
pub struct InboxPage {
    page: Page,
    params: ListParams,
    list: InboxList,
    labels: Vec<Label>,
    channels: Vec<Channel>,
    statuses: [(&'static str, &'static str); 5],
    priorities: &'static [Priority],
    selected: Option<Selected>,
    page_user_id: uuid::Uuid,
    /// The member takes conversations from round-robin rules.
    available: bool,
    /// Whom the ticked conversations can be assigned to.
    members: Vec<TeamMember>,
}

/// The conversation list alone: its live refresh.
#[derive(Template, WebTemplate)]
#[template(path = "inbox/list_fragment.html")]
pub struct ListFragment {
    list: InboxList,
}

/// The open conversation and its contact alone: picking one in the list,
/// and its live refresh. The list already on the page is not read again.
#[derive(Template, WebTemplate)]
#[template(path = "inbox/panes_fragment.html")]
pub struct PanesFragment {
    page: Page,
    params: ListParams,
    labels: Vec<Label>,
    priorities: &'static [Priority],
    selected: Option<Selected>,
    page_user_id: uuid::Uuid,
}

pub struct InboxList {
    params: ListParams,
    conversations: Vec<Conversation>,
    /// Query value for the next page of the list, if any.
    next: Option<String>,
    /// The conversation shown beside the list.
    open: Option<uuid::Uuid>,
    /// When the list was read: times and waits are shown relative to it.
    now: time::OffsetDateTime,
}

impl InboxList {
    fn is_current(&self, id: &uuid::Uuid) -> bool {
        self.open == Some(*id)
    }

    /// How long the customer has waited for an answer: set while their
    /// message is the conversation's last and it is not resolved.
    fn waiting(&self, c: &Conversation) -> Option<String> {
        let last_inbound = c.last_inbound_at?;
        (last_inbound >= c.last_message_at && !c.status.is_resolved())
            .then(|| crate::web::list_display::waited(last_inbound, self.now))
    }

    fn short_time(&self, at: &time::OffsetDateTime) -> String {
        crate::web::list_display::short_time(*at, self.now)
    }

    /// Where the list refreshes from when the workspace's inbox changes:
    /// the same filters and page, without opening (or marking read) anything.
    fn refresh_url(&self) -> String {
        let mut url = format!("/inbox?{}", self.params.query());
        if !self.params.before.is_empty() {
            url.push_str("&before=");
            url.push_str(&self.params.before);
        }
        if let Some(open) = self.open {
            url.push_str("&open=");
            url.push_str(&open.to_string());
        }
        url
    }
}

/// Which part of the inbox an htmx request asks for (`HX-Target`); anything
/// else, a history restore included, gets the whole page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Page,
    List,
    Panes,
}

impl Part {
    fn of(headers: &HeaderMap) -> Part {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if header("hx-request") != Some("true") || header("hx-history-restore-request").is_some() {
            return Part::Page;
        }
        match header("hx-target") {
            Some("list-items") => Part::List,
            Some("panes" | "messages") => Part::Panes,
            _ => Part::Page,
        }
    }
}

/// The answer varies with these request headers (caches must not mix them).
const VARY: (HeaderName, HeaderValue) = (
    header::VARY,
    HeaderValue::from_static("HX-Request, HX-Target, HX-History-Restore-Request"),
);

async fn load_list(
    tenant: &mut Tenant,
    params: &ListParams,
    open: Option<uuid::Uuid>,
) -> Result<InboxList> {
    let filter = params.filter()?;
    let viewer = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    let mut conversations =
        db::conversations::list(&mut tenant.tx, &filter, viewer, visibility).await?;
    let more = conversations.len() as i64 > LIST_SIZE;
    conversations.truncate(LIST_SIZE as usize);
    db::conversations::with_labels(&mut tenant.tx, &mut conversations).await?;
    let next = match (more, conversations.last()) {
        (true, Some(last)) => Some(encode_position((last.last_message_at, last.id))),
        _ => None,
    };
    Ok(InboxList {
        params: params.clone(),
        conversations,
        next,
        open,
        now: time::OffsetDateTime::now_utc(),
    })
}

async fn render(
    mut tenant: Tenant,
    headers: &HeaderMap,
    params: ListParams,
    selected: Option<Selected>,
) -> Result<Response> {
    let open = match &selected {
        Some(s) => Some(s.conversation.id),
        None => uuid::Uuid::try_parse(&params.open).ok(),
    };
    let page_user_id = tenant.member.user_id;
    let response = match Part::of(headers) {
        Part::List => {
            let list = load_list(&mut tenant, &params, open).await?;
            tenant.tx.commit().await?;
            ListFragment { list }.into_response()
        }
        Part::Panes if selected.is_some() => {
            let labels = db::labels::list(&mut tenant.tx).await?;
            tenant.tx.commit().await?;
            PanesFragment {
                page: tenant.page,
                params,
                labels,
                priorities: Priority::ALL,
                selected,
                page_user_id,
            }
            .into_response()
        }
        Part::Page | Part::Panes => {
            let list = load_list(&mut tenant, &params, open).await?;
            let labels = db::labels::list(&mut tenant.tx).await?;
            let channels = db::channels::list(&mut tenant.tx).await?;
            let available = db::automation::is_available(&mut tenant.tx, page_user_id).await?;
            let members = db::memberships::list(&mut tenant.tx).await?;
            tenant.tx.commit().await?;
            InboxPage {
                available,
                members,
                page: tenant.page,
                params,
                list,
                labels,
                channels,
                statuses: STATUSES,
                priorities: Priority::ALL,
                selected,
                page_user_id,
            }
            .into_response()
        }
    };
    Ok(([VARY], response).into_response())
}

pub async fn index(
    tenant: Tenant,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    render(tenant, &headers, params, None).await
}

pub async fn show(
    State(state): State<AppState>,
    mut tenant: Tenant,
    headers: HeaderMap,
    PathId(id): PathId,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    let selected = load_selected(&mut tenant, &state.secrets, id, &params).await?;
    render(tenant, &headers, params, Some(selected)).await
}

/// "The bot handed over: why", or how often it answered.
async fn bot_note(
    tx: &mut crate::infra::tenancy::TenantTx,
    id: uuid::Uuid,
) -> Result<Option<String>> {
    if let Some((outcome, reason)) = db::bot::latest_run(tx, id).await?
        && outcome == BotOutcome::HandedOver
    {
        return Ok(Some(format!(
            "The bot handed this conversation to a person: {reason}."
        )));
    }
    let turns = db::bot::conversation_state(tx, id)
        .await?
        .map_or(0, |(t, _)| t);
    Ok((turns > 0).then(|| {
        format!(
            "The bot answered {turns} time{} here.",
            if turns == 1 { "" } else { "s" }
        )
    }))
}

/// The conversation a member opens (404 if they may not see it); opening
/// it marks it read for them, and for the customer (a read receipt).
pub async fn load_selected(
    tenant: &mut Tenant,
    secrets: &crate::infra::secrets::SecretBox,
    id: uuid::Uuid,
    params: &ListParams,
) -> Result<Selected> {
    let viewer = tenant.member.user_id;
    let visibility = tenant.member.visibility();
    let end = match (decode_position(&params.older)?, params.at.trim()) {
        (Some(before), _) => PageEnd::Before(before),
        (None, "") => PageEnd::Latest,
        (None, at) => {
            let at = uuid::Uuid::try_parse(at)
                .map_err(|_| AppError::BadRequest("That message link is not valid.".into()))?;
            match db::messages::find(&mut tenant.tx, at).await? {
                Some(m) if m.conversation_id == id => PageEnd::Through((m.created_at, m.id)),
                _ => return Err(AppError::NotFound),
            }
        }
    };
    db::conversations::mark_read(&mut tenant.tx, id, viewer).await?;
    let mut conversation = db::conversations::find(&mut tenant.tx, id, viewer, visibility)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::features::inbox::read_receipts::on_open(&mut tenant.tx, secrets, id).await?;
    db::conversations::with_labels(&mut tenant.tx, std::slice::from_mut(&mut conversation)).await?;
    let mut messages = db::messages::page(&mut tenant.tx, id, end, MESSAGES_SHOWN + 1).await?;
    let older = if messages.len() as i64 > MESSAGES_SHOWN {
        messages.remove(0);
        messages
            .first()
            .map(|m| encode_position((m.created_at, m.id)))
    } else {
        None
    };
    let mut contact = db::contacts::find(&mut tenant.tx, conversation.contact_id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::contacts::with_labels(&mut tenant.tx, std::slice::from_mut(&mut contact)).await?;
    let previous = db::conversations::others_of_contact(
        &mut tenant.tx,
        conversation.contact_id,
        conversation.id,
        viewer,
        visibility,
        PREVIOUS_SHOWN,
    )
    .await?;
    let members = db::memberships::list(&mut tenant.tx).await?;
    let defs = db::attributes::list(
        &mut tenant.tx,
        crate::infra::db::attributes::Entity::Contact,
    )
    .await?;
    let attributes = defs
        .iter()
        .map(|d| (d.label.clone(), d.display(contact.attributes.get(&d.key))))
        .filter(|(_, value)| !value.is_empty())
        .map(|(label, value)| {
            (
                label,
                if value == "on" {
                    "yes".to_owned()
                } else {
                    value
                },
            )
        })
        .collect();
    let mut notes = db::notes::list(
        &mut tenant.tx,
        crate::infra::db::notes::NoteSubject::Contact(contact.id),
        viewer,
        false,
    )
    .await?;
    notes.truncate(NOTES_SHOWN);
    let deals = db::deals::of_contact(&mut tenant.tx, contact.id, DEALS_SHOWN).await?;
    let window_closed =
        crate::features::inbox::outbound::window_closed(&mut tenant.tx, &conversation).await?;
    let templates = if window_closed {
        let mut all = db::templates::list(&mut tenant.tx, conversation.channel_id).await?;
        all.retain(|t| t.can_send());
        all
    } else {
        Vec::new()
    };
    let interactive = !window_closed
        && db::cloud_channels::find(&mut tenant.tx, conversation.channel_id)
            .await?
            .is_some();
    let replying_to = super::answerable(&mut tenant.tx, conversation.id, &params.reply_to).await?;
    let first_name = contact
        .name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let ai_on = db::ai::settings(&mut tenant.tx).await?.enabled;
    let bot_note = bot_note(&mut tenant.tx, conversation.id).await?;
    let referral = db::conversation_referrals::of(&mut tenant.tx, conversation.id).await?;
    let automation_runs = db::automation::runs_of(&mut tenant.tx, conversation.id, 5).await?;
    let scheduled = crate::web::routes::scheduled::composer_part(
        &mut tenant.tx,
        &conversation,
        viewer,
        visibility,
    )
    .await?;
    Ok(Selected {
        scheduled,
        automation_runs,
        ai_on,
        bot_note,
        referral,
        replying_to,
        window_closed,
        templates,
        interactive,
        first_name,
        conversation,
        messages: with_day_separators(messages),
        older,
        not_latest: !matches!(end, PageEnd::Latest),
        contact,
        previous,
        members,
        attributes,
        notes,
        deals,
    })
}
