//! Meta's webhook deliveries (`field = "messages"`): the envelope, each
//! customer message mapped to the channel-agnostic message model, and the
//! delivery reports of our own messages. Parsing never panics: JSON that is
//! not a delivery is an error (the handler answers 400), while a message of
//! a type wacrm does not model becomes `Unknown` with its raw payload kept.
//! Each message and report is read on its own: a malformed one is skipped
//! (and said in [`Batch::skipped`]) so that it cannot cost the others, since
//! Meta would send the whole delivery again and again for one bad element.

use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::domain::{DeliveryStatus, MessageKind};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unexpected shape: {0}")]
    Shape(String),
}

fn shape(what: &str) -> ParseError {
    ParseError::Shape(what.to_owned())
}

#[derive(Debug, Deserialize)]
struct Envelope {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Debug, Deserialize)]
struct Profiled {
    /// May be missing for a customer whose number is hidden (then
    /// `user_id` names them).
    wa_id: Option<String>,
    user_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    name: Option<String>,
}

/// Meta's error object (in failed statuses and value-level errors).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorObject {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorData {
    pub details: Option<String>,
}

impl ErrorObject {
    /// In words, for the agent: the details when given, else the title.
    pub fn describe(&self) -> String {
        let words = self
            .error_data
            .as_ref()
            .and_then(|d| d.details.clone())
            .or_else(|| self.message.clone())
            .or_else(|| self.title.clone())
            .unwrap_or_else(|| "WhatsApp reported an error".to_owned());
        match self.code {
            Some(code) => format!("{words} (WhatsApp error {code})"),
            None => words,
        }
    }
}

/// What one delivery carries: a batch per change, in order.
#[derive(Debug, Default)]
pub struct Delivery {
    pub batches: Vec<Batch>,
    /// `message_template_status_update` changes, in order.
    pub template_updates: Vec<TemplateStatusUpdate>,
    /// Template updates that could not be read, in words for the log.
    pub skipped: Vec<String>,
}

pub use crate::infra::db::templates::TemplateStatusUpdate;

/// The longest reason kept: Meta's texts are short; this is a bound.
const MAX_REASON: usize = 500;

/// One `message_template_status_update` value.
fn template_update_of(value: &Value) -> Result<TemplateStatusUpdate, &'static str> {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let event = text(value.get("event"))
        .ok_or("no event")?
        .to_ascii_uppercase();
    let template_id = match value.get("message_template_id") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    };
    let name = text(value.get("message_template_name"));
    let language = text(value.get("message_template_language"));
    if template_id.is_none() && (name.is_none() || language.is_none()) {
        return Err("names no template");
    }
    let reason = text(value.get("reason")).filter(|r| !r.eq_ignore_ascii_case("NONE"));
    let other = value.get("other_info");
    let title = text(other.and_then(|o| o.get("title")));
    let rejection = value.get("rejection_info");
    let details = text(rejection.and_then(|r| r.get("reason")))
        .or_else(|| text(other.and_then(|o| o.get("description"))));
    let mut shown = reason.or(title);
    if let Some(details) = details {
        shown = Some(match shown {
            Some(first) => format!("{first}: {details}"),
            None => details,
        });
    }
    Ok(TemplateStatusUpdate {
        event,
        template_id,
        name,
        language,
        reason: shown.map(|r| r.chars().take(MAX_REASON).collect()),
    })
}

/// One change: the messages and reports of one business number.
#[derive(Debug, Default)]
pub struct Batch {
    /// `metadata.phone_number_id`: the number they are for (an app's
    /// numbers may share one callback URL).
    pub phone_number_id: Option<String>,
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusReport>,
    /// Problems Meta reports about the number or app (logged).
    pub errors: Vec<String>,
    /// What was skipped as malformed, in words for the log: the element and
    /// its id when readable, never its content.
    pub skipped: Vec<String>,
}

/// A customer's message.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The provider id (`wamid...`): the same id twice is the same message.
    pub id: String,
    /// The customer's WhatsApp id: their number, digits only. Missing for
    /// a customer whose number is hidden from the business (then
    /// `user_id` is set).
    pub wa_id: Option<String>,
    /// The customer's business-scoped user id (BSUID, `US.1349…`), sent
    /// since 2026 (protocols-field 1.5): keys a contact without a number.
    pub user_id: Option<String>,
    pub profile_name: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
    pub kind: MessageKind,
    /// Text, caption, title or emoji; empty if the type has none.
    pub body: String,
    /// For media kinds: the provider's media id, type and checksum, fetched
    /// later.
    pub media: Option<Value>,
    /// The message as received, for kinds whose structure the model
    /// flattens (location, contacts, reaction, interactive) or does not know.
    pub raw: Option<Value>,
    /// The provider id of the message this one quotes (`context.id`) or
    /// reacts to (`reaction.message_id`).
    pub reply_to: Option<String>,
    /// Where the customer came from, for the conversation:
    /// `{"ad": {...}, "product": {...}}` (see [`referral_of`]).
    pub referral: Option<Value>,
}

/// A delivery report for one of our messages.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub at: Option<OffsetDateTime>,
    /// What we asked Meta to echo: our message id (see
    /// `crate::channels::cloud_api::sender`).
    pub callback_data: Option<String>,
}

/// Parses a delivery's raw body (after its signature was checked). Only a
/// body that is not a delivery at all is an error; a malformed message or
/// report inside one is skipped and the rest kept.
pub fn parse(body: &[u8]) -> Result<Delivery, ParseError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    if envelope.object != "whatsapp_business_account" {
        return Err(shape("object is not whatsapp_business_account"));
    }
    let mut delivery = Delivery::default();
    for change in envelope.entry.into_iter().flat_map(|e| e.changes) {
        match change.field.as_str() {
            "messages" => delivery.batches.push(batch_of(change.value)),
            "message_template_status_update" => match template_update_of(&change.value) {
                Ok(update) => delivery.template_updates.push(update),
                Err(why) => delivery
                    .skipped
                    .push(format!("template status update: {why}")),
            },
            // Other fields (account updates, ...) carry nothing wacrm keeps.
            _ => {}
        }
    }
    Ok(delivery)
}

/// The longest id quoted in a log line: the id is the sender's text until
/// it is read.
const MAX_LOGGED_ID: usize = 128;

/// "message wamid.X: why", the id cut short and reduced to printable ASCII
/// so that a hostile one cannot forge log lines.
fn skipped(what: &str, element: &Value, why: &str) -> String {
    let id: String = element
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_graphic)
        .take(MAX_LOGGED_ID)
        .collect();
    if id.is_empty() {
        format!("{what} without a readable id: {why}")
    } else {
        format!("{what} {id}: {why}")
    }
}

/// The elements of the list at `key` (none when absent); a value that is
/// not a list is noted as skipped.
fn elements(value: &mut Map<String, Value>, key: &str, batch: &mut Batch) -> Vec<Value> {
    match value.remove(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => {
            batch.skipped.push(format!("{key}: not a list"));
            Vec::new()
        }
    }
}

/// One change's batch, each element read on its own.
fn batch_of(value: Value) -> Batch {
    let mut batch = Batch::default();
    let Value::Object(mut value) = value else {
        batch
            .skipped
            .push("a change whose value is not an object".to_owned());
        return batch;
    };
    match value.remove("metadata") {
        None | Some(Value::Null) => {}
        Some(metadata) => match serde_json::from_value::<Metadata>(metadata) {
            Ok(metadata) => batch.phone_number_id = Some(metadata.phone_number_id),
            Err(_) => {
                // Without its number the change could land on the wrong
                // channel: none of it is taken.
                batch
                    .skipped
                    .push("a change whose metadata names no number (all of it)".to_owned());
                return batch;
            }
        },
    }
    // A contact card that cannot be read only costs its profile name.
    let contacts: Vec<Profiled> = elements(&mut value, "contacts", &mut batch)
        .into_iter()
        .filter_map(|c| serde_json::from_value(c).ok())
        .collect();
    // The sender's card: by number, else by user id.
    let card = |m: &InboundMessage| {
        contacts.iter().find(|c| match (&m.wa_id, &m.user_id) {
            (Some(wa_id), _) if c.wa_id.as_ref() == Some(wa_id) => true,
            (_, Some(user_id)) => c.user_id.as_ref() == Some(user_id),
            _ => false,
        })
    };
    for message in elements(&mut value, "messages", &mut batch) {
        match message_of(&message) {
            Ok(mut parsed) => {
                if let Some(card) = card(&parsed) {
                    parsed.profile_name = card
                        .profile
                        .as_ref()
                        .and_then(|p| p.name.clone())
                        .filter(|n| !n.trim().is_empty());
                    if parsed.user_id.is_none() {
                        parsed.user_id = card.user_id.clone().filter(|id| is_user_id(id));
                    }
                }
                batch.messages.push(parsed);
            }
            Err(why) => batch.skipped.push(skipped("message", &message, why)),
        }
    }
    for status in elements(&mut value, "statuses", &mut batch) {
        match status_of(&status) {
            Ok(Some(report)) => batch.statuses.push(report),
            // `played`, `deleted`, `warning`: nothing the model tracks.
            Ok(None) => {}
            Err(why) => batch.skipped.push(skipped("status", &status, why)),
        }
    }
    let errors = elements(&mut value, "errors", &mut batch);
    batch.errors.extend(
        errors
            .into_iter()
            .filter_map(|e| serde_json::from_value::<ErrorObject>(e).ok())
            .map(|e| e.describe()),
    );
    batch
}

/// Meta's unix seconds (a string; a number is taken too). Absent is fine;
/// present but unreadable makes the element malformed.
fn timestamp_at(fields: &Map<String, Value>) -> Result<Option<OffsetDateTime>, &'static str> {
    let seconds = match fields.get("timestamp") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        Some(_) => None,
    };
    seconds
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .map(Some)
        .ok_or("unreadable timestamp")
}

fn status_of(status: &Value) -> Result<Option<StatusReport>, &'static str> {
    let fields = status.as_object().ok_or("not an object")?;
    let id = fields
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or("no message id")?;
    let status_kind = match fields.get("status").and_then(Value::as_str) {
        Some("sent") => DeliveryStatus::Sent,
        Some("delivered") => DeliveryStatus::Delivered,
        Some("read") => DeliveryStatus::Read,
        Some("failed") => DeliveryStatus::Failed,
        Some(_) => return Ok(None),
        None => return Err("no status"),
    };
    let at = timestamp_at(fields)?;
    let callback_data = match fields.get("biz_opaque_callback_data") {
        None | Some(Value::Null) => None,
        Some(Value::String(data)) => Some(data.clone()),
        Some(_) => return Err("unreadable callback data"),
    };
    let error = (status_kind == DeliveryStatus::Failed).then(|| {
        fields
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|errors| errors.first())
            .and_then(|e| serde_json::from_value::<ErrorObject>(e.clone()).ok())
            .map(|e| e.describe())
            .unwrap_or_else(|| "WhatsApp could not deliver this message.".to_owned())
    });
    Ok(Some(StatusReport {
        provider_message_id: id.to_owned(),
        status: status_kind,
        error,
        at,
        callback_data,
    }))
}

fn text_at<'a>(object: Option<&'a Map<String, Value>>, key: &str) -> &'a str {
    object
        .and_then(|o| o.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether `id` is a business-scoped user id as Meta writes them: a
/// country code, a dot, up to 128 letters and digits, maybe with a
/// three-letter part between (`US.ENT.…`). Anything else is not stored.
pub fn is_user_id(id: &str) -> bool {
    let mut parts = id.split('.');
    let country = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let alnum =
        |p: &str| !p.is_empty() && p.len() <= 128 && p.bytes().all(|b| b.is_ascii_alphanumeric());
    let upper = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_uppercase());
    upper(country, 2)
        && match rest.as_slice() {
            [id] => alnum(id),
            [middle, id] => upper(middle, 3) && alnum(id),
            _ => false,
        }
}

/// One customer message, or why it is malformed (never its content).
fn message_of(message: &Value) -> Result<InboundMessage, &'static str> {
    let fields = message.as_object().ok_or("not an object")?;
    let field = |key: &str| fields.get(key).and_then(Value::as_str);
    let id = field("id").filter(|id| !id.is_empty()).ok_or("no id")?;
    let wa_id = field("from").filter(|from| !from.is_empty());
    let user_id = field("from_user_id").filter(|id| is_user_id(id));
    if wa_id.is_none() && user_id.is_none() {
        return Err("no sender");
    }
    let sent_at = timestamp_at(fields)?;
    let type_name = field("type").unwrap_or("unknown");
    let content = fields.get(type_name).and_then(Value::as_object);
    let (kind, body, media, keep_raw) = match type_name {
        "text" => (
            MessageKind::Text,
            content
                .and_then(|c| c.get("body"))
                .and_then(Value::as_str)
                .ok_or("text without a body")?
                .to_owned(),
            None,
            false,
        ),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let kind = MessageKind::of_provider_type(type_name);
            let mut media = Map::new();
            for key in ["id", "mime_type", "sha256", "filename", "voice", "animated"] {
                if let Some(v) = content.and_then(|c| c.get(key)) {
                    let name = if key == "id" {
                        "provider_media_id"
                    } else {
                        key
                    };
                    media.insert(name.to_owned(), v.clone());
                }
            }
            let body = text_at(content, "caption").to_owned();
            (kind, body, Some(Value::Object(media)), false)
        }
        "location" => {
            let place = [text_at(content, "name"), text_at(content, "address")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            let coordinates = match (
                content
                    .and_then(|c| c.get("latitude"))
                    .and_then(Value::as_f64),
                content
                    .and_then(|c| c.get("longitude"))
                    .and_then(Value::as_f64),
            ) {
                (Some(lat), Some(long)) => format!("{lat}, {long}"),
                _ => String::new(),
            };
            let body = [place, coordinates]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            (MessageKind::Location, body, None, true)
        }
        "contacts" => {
            let names = fields
                .get("contacts")
                .and_then(Value::as_array)
                .map(|cards| {
                    cards
                        .iter()
                        .filter_map(|c| c.get("name")?.get("formatted_name")?.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            (MessageKind::Contacts, names, None, true)
        }
        "reaction" => (
            MessageKind::Reaction,
            text_at(content, "emoji").to_owned(),
            None,
            true,
        ),
        "interactive" => {
            let reply_type = text_at(content, "type");
            let reply = content
                .and_then(|c| c.get(reply_type))
                .and_then(Value::as_object);
            (
                MessageKind::Interactive,
                text_at(reply, "title").to_owned(),
                None,
                true,
            )
        }
        // A quick-reply button of a template.
        "button" => (
            MessageKind::Interactive,
            text_at(content, "text").to_owned(),
            None,
            true,
        ),
        // A catalogue cart: an order is made of it (`crate::features::orders`).
        "order" => {
            let body = match crate::domain::cart::parse(message) {
                Ok(cart) => crate::domain::cart::summary(&cart),
                Err(why) => format!("Order ({why})"),
            };
            (MessageKind::Order, body, None, true)
        }
        "system" => (
            MessageKind::Unknown,
            text_at(content, "body").to_owned(),
            None,
            true,
        ),
        _ => (MessageKind::Unknown, String::new(), None, true),
    };
    let reply_to = match kind {
        MessageKind::Reaction => content.and_then(|c| c.get("message_id")),
        _ => fields.get("context").and_then(|c| c.get("id")),
    }
    .and_then(Value::as_str)
    .filter(|id| !id.is_empty())
    .map(str::to_owned);
    Ok(InboundMessage {
        id: id.to_owned(),
        wa_id: wa_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
        profile_name: None,
        sent_at,
        kind,
        body,
        media,
        raw: keep_raw.then(|| message.clone()),
        reply_to,
        referral: referral_of(fields),
    })
}

/// The longest text kept of a referral's field, and of its URLs: the values
/// are the sender's, shown on the conversation page.
const MAX_REFERRAL_TEXT: usize = 300;
const MAX_REFERRAL_URL: usize = 2048;

const AD_FIELDS: [&str; 10] = [
    "source_url",
    "source_id",
    "source_type",
    "headline",
    "body",
    "media_type",
    "image_url",
    "video_url",
    "thumbnail_url",
    "ctwa_clid",
];
const PRODUCT_FIELDS: [&str; 2] = ["catalog_id", "product_retailer_id"];

/// The string fields `keys` of `object`, each cut to its length limit.
fn capped(object: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    let mut kept = Map::new();
    for key in keys {
        if let Some(text) = object.get(*key).and_then(Value::as_str) {
            let limit = if key.ends_with("url") {
                MAX_REFERRAL_URL
            } else {
                MAX_REFERRAL_TEXT
            };
            kept.insert(
                (*key).to_owned(),
                Value::String(text.chars().take(limit).collect()),
            );
        }
    }
    kept
}

/// The click-to-WhatsApp ad (`referral`) and the catalogue product
/// (`context.referred_product`) a message names, capped (protocols-field
/// 1.5); `None` when it names neither. A part of the wrong shape is left
/// out: it never makes the message malformed.
fn referral_of(fields: &Map<String, Value>) -> Option<Value> {
    let mut referral = Map::new();
    if let Some(ad) = fields.get("referral").and_then(Value::as_object) {
        referral.insert("ad".to_owned(), Value::Object(capped(ad, &AD_FIELDS)));
    }
    let product = fields
        .get("context")
        .and_then(|c| c.get("referred_product"))
        .and_then(Value::as_object)
        .map(|p| capped(p, &PRODUCT_FIELDS))
        .filter(|p| !p.is_empty());
    if let Some(product) = product {
        referral.insert("product".to_owned(), Value::Object(product));
    }
    (!referral.is_empty()).then_some(Value::Object(referral))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn delivery(messages: Value, statuses: Value) -> Vec<u8> {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                "messages": messages,
                "statuses": statuses,
            }}]}]
        })
        .to_string()
        .into_bytes()
    }

    fn one(message: Value) -> InboundMessage {
        let parsed = parse(&delivery(json!([message]), json!([]))).expect("parses");
        let batch = parsed.batches.into_iter().next().expect("a batch");
        assert_eq!(batch.phone_number_id.as_deref(), Some("106540352242922"));
        batch.messages.into_iter().next().expect("a message")
    }

    fn message(kind: &str, content: Value) -> Value {
        let mut m = json!({"from": "16505551234", "id": "wamid.A1", "timestamp": "1739321024", "type": kind});
        m[kind] = content;
        m
    }

    #[test]
    fn a_sender_with_a_hidden_number_is_known_by_their_business_scoped_user_id() {
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [
                    {"profile": {"name": "Ana"}, "user_id": "US.13491208655302741918"},
                    {"profile": {"name": "Bo"}, "wa_id": "16505551234", "user_id": "US.ENT.99"}
                ],
                "messages": [
                    {"from_user_id": "US.13491208655302741918", "id": "wamid.U1", "type": "text", "text": {"body": "hi"}},
                    {"from": "16505551234", "id": "wamid.U2", "type": "text", "text": {"body": "hello"}},
                    {"from_user_id": "not a bsuid", "id": "wamid.U3", "type": "text", "text": {"body": "x"}}
                ]
            }}]}]
        });
        let parsed = parse(body.to_string().as_bytes()).expect("parses");
        let batch = parsed.batches.into_iter().next().expect("a batch");
        assert_eq!(batch.messages.len(), 2, "{:?}", batch.skipped);
        let hidden = &batch.messages[0];
        assert_eq!(hidden.wa_id, None);
        assert_eq!(hidden.user_id.as_deref(), Some("US.13491208655302741918"));
        assert_eq!(hidden.profile_name.as_deref(), Some("Ana"));
        let both = &batch.messages[1];
        assert_eq!(both.wa_id.as_deref(), Some("16505551234"));
        assert_eq!(both.user_id.as_deref(), Some("US.ENT.99"), "from the card");
        assert_eq!(both.profile_name.as_deref(), Some("Bo"));
        assert_eq!(batch.skipped.len(), 1, "no sender it can key");
        for bad in [
            "",
            "US",
            "us.123",
            "US.",
            "US.12-3",
            "USA.123",
            "US.EN.1",
            "US.ENT.X.1",
        ] {
            assert!(!is_user_id(bad), "{bad}");
        }
        assert!(is_user_id(&format!("BR.{}", "a".repeat(128))));
        assert!(!is_user_id(&format!("BR.{}", "a".repeat(129))));
    }

    #[test]
    fn text_carries_body_sender_profile_and_time() {
        let m = one(message("text", json!({"body": "Hi, I need help"})));
        assert_eq!(m.kind, MessageKind::Text);
        assert_eq!(m.body, "Hi, I need help");
        assert_eq!(m.id, "wamid.A1");
        assert_eq!(m.wa_id.as_deref(), Some("16505551234"));
        assert_eq!(m.user_id, None);
        assert_eq!(m.profile_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(m.sent_at.map(|t| t.unix_timestamp()), Some(1_739_321_024));
        assert_eq!(m.raw, None);
    }

    #[test]
    fn media_kinds_keep_the_provider_media_reference() {
        for kind in ["image", "video", "audio", "document", "sticker"] {
            let m = one(message(
                kind,
                json!({"id": "2621233374848975", "mime_type": "image/jpeg", "sha256": "abc", "caption": "look", "filename": "x.pdf", "voice": true}),
            ));
            assert_eq!(m.kind.as_str(), kind);
            assert_eq!(m.body, "look");
            let media = m.media.expect("media");
            assert_eq!(media["provider_media_id"], "2621233374848975");
            assert_eq!(media["mime_type"], "image/jpeg");
            assert_eq!(media["sha256"], "abc");
        }
    }

    #[test]
    fn structured_kinds_are_summed_up_and_kept_raw() {
        let location = one(message(
            "location",
            json!({"latitude": 37.48, "longitude": -122.14, "name": "Office", "address": "1 Hacker Way"}),
        ));
        assert_eq!(location.kind, MessageKind::Location);
        assert_eq!(location.body, "Office, 1 Hacker Way · 37.48, -122.14");
        assert!(location.raw.is_some());

        let mut card = json!({"from": "16505551234", "id": "wamid.C", "type": "contacts"});
        card["contacts"] =
            json!([{"name": {"formatted_name": "Ana Lima"}}, {"name": {"formatted_name": "Bo"}}]);
        let card = one(card);
        assert_eq!(
            (card.kind, card.body.as_str()),
            (MessageKind::Contacts, "Ana Lima, Bo")
        );

        let reaction = one(message(
            "reaction",
            json!({"message_id": "wamid.OURS", "emoji": "👍"}),
        ));
        assert_eq!(
            (reaction.kind, reaction.body.as_str()),
            (MessageKind::Reaction, "👍")
        );
        assert_eq!(
            reaction.raw.expect("raw")["reaction"]["message_id"],
            "wamid.OURS"
        );

        let button = one(message(
            "interactive",
            json!({"type": "button_reply", "button_reply": {"id": "cancel", "title": "Cancel"}}),
        ));
        assert_eq!(
            (button.kind, button.body.as_str()),
            (MessageKind::Interactive, "Cancel")
        );
        let list = one(message(
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "x", "title": "Express", "description": "Fast"}}),
        ));
        assert_eq!(list.body, "Express");
        let template_button = one(message(
            "button",
            json!({"payload": "p", "text": "Yes please"}),
        ));
        assert_eq!(template_button.body, "Yes please");
    }

    #[test]
    fn ad_and_product_referrals_are_kept_capped() {
        let mut m = message("text", json!({"body": "Is this still available?"}));
        m["referral"] = json!({
            "source_url": "https://fb.me/2ZulEu42P", "source_id": "2406", "source_type": "ad",
            "headline": "H".repeat(5000), "body": "Summer sale", "media_type": "image",
            "image_url": "https://scontent.xx.fbcdn.net/x.jpg", "ctwa_clid": "ARAkLk",
            "welcome_message": {"text": "Hi"}, "extra": {"deep": [1, 2]}
        });
        m["context"] = json!({"from": "15550783881", "id": "wamid.CATALOG",
            "referred_product": {"catalog_id": "1537", "product_retailer_id": "SKU-42", "x": 1}});
        let parsed = one(m);
        let referral = parsed.referral.expect("a referral");
        assert_eq!(referral["ad"]["source_url"], "https://fb.me/2ZulEu42P");
        assert_eq!(referral["ad"]["body"], "Summer sale");
        assert_eq!(referral["ad"]["ctwa_clid"], "ARAkLk");
        assert_eq!(
            referral["ad"]["headline"]
                .as_str()
                .map(|h| h.chars().count()),
            Some(MAX_REFERRAL_TEXT)
        );
        assert!(
            referral["ad"].get("extra").is_none()
                && referral["ad"].get("welcome_message").is_none()
        );
        assert_eq!(
            referral["product"],
            json!({"catalog_id": "1537", "product_retailer_id": "SKU-42"})
        );
        assert_eq!(parsed.reply_to.as_deref(), Some("wamid.CATALOG"));
        assert_eq!(parsed.body, "Is this still available?");

        // Neither, or of the wrong shape: nothing, and the message is fine.
        assert_eq!(one(message("text", json!({"body": "hi"}))).referral, None);
        let mut odd = message("text", json!({"body": "hi"}));
        odd["referral"] = json!("an ad");
        odd["context"] = json!({"referred_product": []});
        assert_eq!(one(odd).referral, None);
    }

    #[test]
    fn unknown_types_are_kept_not_dropped() {
        for kind in ["referral", "unsupported", "something_new"] {
            let m = one(message(kind, json!({"anything": 1})));
            assert_eq!(m.kind, MessageKind::Unknown, "{kind}");
            assert_eq!(m.raw.expect("raw")["type"], kind);
        }
        let system = one(message(
            "system",
            json!({"body": "User changed number", "type": "user_changed_number"}),
        ));
        assert_eq!(
            (system.kind, system.body.as_str()),
            (MessageKind::Unknown, "User changed number")
        );
    }

    #[test]
    fn statuses_map_forward_kinds_and_failures_in_words() {
        let mut parsed = parse(&delivery(
            json!([]),
            json!([
                {"id": "wamid.S", "status": "delivered", "timestamp": "1750857384", "recipient_id": "16505551234", "biz_opaque_callback_data": "0190"},
                {"id": "wamid.S", "status": "played", "timestamp": "1750857385"},
                {"id": "wamid.F", "status": "failed", "timestamp": "1750857386", "errors": [{
                    "code": 131047, "title": "Re-engagement message",
                    "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]}
            ]),
        ))
        .expect("parses");
        let statuses = parsed.batches.remove(0).statuses;
        assert_eq!(statuses.len(), 2, "played is not tracked");
        assert_eq!(statuses[0].status, DeliveryStatus::Delivered);
        assert_eq!(statuses[0].error, None);
        assert_eq!(statuses[0].callback_data.as_deref(), Some("0190"));
        let failed = &statuses[1];
        assert_eq!(failed.status, DeliveryStatus::Failed);
        let error = failed.error.as_deref().expect("reason");
        assert!(
            error.contains("more than 24 hours") && error.contains("131047"),
            "{error}"
        );
    }

    /// A poor man's fuzzer (no nightly here for cargo-fuzz): thousands of
    /// mangled variants of a real delivery (bytes flipped, cut short,
    /// spliced, values swapped for other JSON types) must parse or be
    /// refused, never panic.
    #[test]
    fn mangled_deliveries_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let kinds = [
            "text",
            "image",
            "location",
            "contacts",
            "reaction",
            "interactive",
            "button",
            "system",
            "order",
        ];
        let bases: Vec<Vec<u8>> = kinds
            .iter()
            .map(|kind| delivery(json!([message(kind, json!({"body": "x", "id": "1", "latitude": 1.5, "type": "button_reply", "button_reply": {"title": "t"}}))]), json!([{"id": "w", "status": "failed", "errors": [{"code": 1}]}])))
            .collect();
        let replacements: [&[u8]; 8] = [
            b"null",
            b"[]",
            b"{}",
            b"\"\"",
            b"1e999",
            b"-0",
            b"\"\\u0000\"",
            b"true",
        ];
        let (mut parsed, mut refused) = (0, 0);
        for round in 0..20_000 {
            let mut bytes = bases[round % bases.len()].clone();
            match next() % 4 {
                0 => {
                    for _ in 0..(next() % 8 + 1) {
                        let at = (next() as usize) % bytes.len();
                        bytes[at] = (next() & 0xff) as u8;
                    }
                }
                1 => bytes.truncate((next() as usize) % bytes.len()),
                2 => {
                    let other = &bases[(next() as usize) % bases.len()];
                    let at = (next() as usize) % bytes.len().min(other.len());
                    bytes.truncate(at);
                    bytes.extend_from_slice(&other[at..]);
                }
                _ => {
                    // Swap one JSON value (after a colon) for another type.
                    let colons: Vec<usize> = bytes
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| **b == b':')
                        .map(|(i, _)| i)
                        .collect();
                    let at = colons[(next() as usize) % colons.len()] + 1;
                    let end = bytes[at..]
                        .iter()
                        .position(|b| matches!(b, b',' | b'}' | b']'))
                        .map_or(bytes.len(), |p| at + p);
                    let replacement = replacements[(next() as usize) % replacements.len()];
                    bytes.splice(at..end, replacement.iter().copied());
                }
            }
            // Either outcome is fine; a panic fails the test.
            match parse(&bytes) {
                Ok(_) => parsed += 1,
                Err(_) => refused += 1,
            }
        }
        // The mangling reached both outcomes, so both paths were exercised.
        assert!(
            parsed > 100 && refused > 100,
            "{parsed} parsed, {refused} refused"
        );
    }

    #[test]
    fn a_malformed_message_or_status_is_skipped_and_the_rest_kept() {
        let good = |id: &str| message("text", json!({"body": format!("hello {id}")}));
        let mut first = good("1");
        first["id"] = json!("wamid.1");
        let mut last = good("3");
        last["id"] = json!("wamid.3");
        let mut no_body = message("text", json!({"preview_url": false}));
        no_body["id"] = json!("wamid.NOBODY");
        let mut bad_time = good("2");
        bad_time["id"] = json!("wamid.TIME");
        bad_time["timestamp"] = json!({});
        let secret = "the customer's private words";
        let mut no_sender = message("text", json!({"body": secret}));
        no_sender["from"] = json!(null);
        let parsed = parse(&delivery(
            json!([first, no_body, 42, bad_time, no_sender, last]),
            json!([
                {"id": "wamid.S1", "status": "read", "timestamp": "1750857384"},
                {"status": "read"},
                {"id": "wamid.S2", "status": "sent", "timestamp": [1]},
                {"id": "wamid.S3", "status": "delivered", "timestamp": 1750857390},
            ]),
        ))
        .expect("a delivery");
        let batch = &parsed.batches[0];
        let ids: Vec<&str> = batch.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["wamid.1", "wamid.3"]);
        assert_eq!(batch.messages[1].body, "hello 3");
        assert_eq!(
            batch.messages[1].profile_name.as_deref(),
            Some("Sheena Nelson")
        );
        let reports: Vec<&str> = batch
            .statuses
            .iter()
            .map(|s| s.provider_message_id.as_str())
            .collect();
        assert_eq!(reports, ["wamid.S1", "wamid.S3"]);
        assert_eq!(batch.skipped.len(), 6, "{:?}", batch.skipped);
        let said = batch.skipped.join("\n");
        for id in ["wamid.NOBODY", "wamid.TIME", "wamid.S2"] {
            assert!(said.contains(id), "{said}");
        }
        assert!(!said.contains(secret), "never the content: {said}");

        // A hostile id is cut short and cannot start a log line of its own.
        let mut forged = message("text", json!({}));
        forged["id"] = json!(format!("x\nFAKE LOG LINE{}", "y".repeat(500)));
        let parsed = parse(&delivery(json!([forged]), json!([]))).expect("a delivery");
        let said = &parsed.batches[0].skipped[0];
        assert!(!said.contains('\n') && said.len() < 200, "{said}");

        // Unreadable contacts only cost the name; an unreadable number
        // costs its change (it could land on another channel).
        let mut body: Value =
            serde_json::from_slice(&delivery(json!([good("4")]), json!([]))).expect("json");
        body["entry"][0]["changes"][0]["value"]["contacts"] = json!([{"profile": 1}]);
        let parsed = parse(body.to_string().as_bytes()).expect("a delivery");
        assert_eq!(parsed.batches[0].messages[0].profile_name, None);
        body["entry"][0]["changes"][0]["value"]["metadata"] = json!({"phone_number_id": 7});
        let parsed = parse(body.to_string().as_bytes()).expect("a delivery");
        assert!(parsed.batches[0].messages.is_empty());
        assert_eq!(parsed.batches[0].skipped.len(), 1);
    }

    #[test]
    fn what_is_not_a_delivery_is_an_error_never_a_panic() {
        for body in [
            &b"not json"[..],
            b"",
            b"[]",
            br#"{"object": "page", "entry": []}"#,
            br#"{"object": "whatsapp_business_account", "entry": "x"}"#,
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        // Other fields and empty batches are fine, and carry nothing.
        let other = br#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}"#;
        let parsed = parse(other).expect("parses");
        assert!(parsed.batches.is_empty());
        assert!(parsed.template_updates.is_empty());
        assert_eq!(
            parsed.skipped,
            ["template status update: names no template"]
        );
    }

    #[test]
    fn template_status_updates_are_read_with_their_integer_id_and_reason() {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "message_template_status_update", "value": {
                "event": "REJECTED", "message_template_id": 1234567890123456_u64,
                "message_template_name": "order_update", "message_template_language": "en_US",
                "reason": "INVALID_FORMAT", "rejection_info": {"reason": "Variables are missing examples"}}},
            {"field": "message_template_status_update", "value": {
                "event": "PAUSED", "message_template_id": 77, "message_template_name": "promo",
                "message_template_language": "pt_BR", "reason": null,
                "other_info": {"title": "FIRST_PAUSE", "description": "Low quality"}}},
            {"field": "message_template_status_update", "value": {
                "event": "approved", "message_template_id": 78, "reason": "NONE"}}
        ]}]});
        let parsed = parse(body.to_string().as_bytes()).expect("parses");
        let updates = parsed.template_updates;
        assert_eq!(updates.len(), 3);
        assert_eq!(updates[0].template_id.as_deref(), Some("1234567890123456"));
        assert_eq!(updates[0].event, "REJECTED");
        assert_eq!(
            updates[0].reason.as_deref(),
            Some("INVALID_FORMAT: Variables are missing examples")
        );
        assert_eq!(
            updates[1].reason.as_deref(),
            Some("FIRST_PAUSE: Low quality")
        );
        assert_eq!(updates[1].language.as_deref(), Some("pt_BR"));
        assert_eq!(updates[2].event, "APPROVED");
        assert_eq!(updates[2].reason, None);
    }
}
