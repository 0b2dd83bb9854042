//! The sandbox channel's simulator: someone plays a customer, writes in
//! through the same ingest path a real channel uses, and sees the replies
//! with their ticks (viewing them reports "delivered"; a button, "read").

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::media::sniff_image;
use crate::domain::{DeliveryStatus, MessageKind, PhoneE164};
use crate::error::{AppError, Result};
use crate::features::inbox::ingest::{self, Inbound, Ingested};
use crate::infra::db;
use crate::infra::db::messages::Message;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::upload::{read_file, upload_error};

const SHOWN: i64 = 100;
const MAX_TEXT: usize = 4096;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sandbox", get(show))
        .route("/sandbox/messages", post(send))
        .route(
            "/sandbox/images",
            post(send_image).layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES + 64 * 1024)),
        )
        .route("/sandbox/read", post(read))
}

/// The customer being played.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Customer {
    name: String,
    phone: String,
    text: String,
}

impl Customer {
    fn query(&self, phone: &PhoneE164) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("phone", phone.as_str());
        if !self.name.trim().is_empty() {
            url.append_pair("name", self.name.trim());
        }
        url.finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox/index.html")]
pub struct SandboxPage {
    page: Page,
    customer: Customer,
    messages: Vec<Message>,
    errors: Vec<String>,
    conversation_id: Option<Uuid>,
}

async fn phone_of(
    tenant: &mut Tenant,
    typed: &str,
) -> Result<std::result::Result<PhoneE164, String>> {
    let country = db::orgs::default_country(&mut tenant.tx).await?;
    Ok(PhoneE164::parse(typed, country).map_err(|e| format!("Phone: {e}")))
}

async fn render(
    mut tenant: Tenant,
    status: StatusCode,
    customer: Customer,
    errors: Vec<String>,
) -> Result<Response> {
    let mut messages = vec![];
    let mut conversation_id = None;
    if errors.is_empty()
        && !customer.phone.trim().is_empty()
        && let Ok(phone) = phone_of(&mut tenant, &customer.phone).await?
    {
        let channel = db::channels::sandbox(&mut tenant.tx).await?;
        if let Some(contact_id) = db::contacts::id_by_phone(&mut tenant.tx, &phone).await? {
            // The customer's phone shows the replies: they are delivered.
            for id in db::messages::report_to_contact(
                &mut tenant.tx,
                channel.id,
                contact_id,
                DeliveryStatus::Delivered,
            )
            .await?
            {
                db::conversations::notify(&mut tenant.tx, id).await?;
            }
            messages =
                db::messages::customer_view(&mut tenant.tx, channel.id, contact_id, SHOWN).await?;
            conversation_id = messages.last().map(|m| m.conversation_id);
        }
    }
    tenant.tx.commit().await?;
    // A sent message leaves the box; a refused one stays to be fixed.
    let text = if errors.is_empty() {
        String::new()
    } else {
        customer.text.clone()
    };
    let page = SandboxPage {
        page: tenant.page,
        customer: Customer { text, ..customer },
        messages,
        errors,
        conversation_id,
    };
    Ok((status, page).into_response())
}

pub async fn show(tenant: Tenant, Query(customer): Query<Customer>) -> Result<Response> {
    render(tenant, StatusCode::OK, customer, vec![]).await
}

pub async fn send(
    State(state): State<AppState>,
    mut tenant: Tenant,
    HtmlForm(customer): HtmlForm<Customer>,
) -> Result<Response> {
    let mut errors = vec![];
    let phone = match phone_of(&mut tenant, &customer.phone).await? {
        Ok(phone) => Some(phone),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let text = customer.text.trim();
    if text.is_empty() {
        errors.push("Message: type something to send.".into());
    } else if text.chars().count() > MAX_TEXT {
        errors.push(format!("Message: {MAX_TEXT} characters at most."));
    }
    if customer.name.trim().chars().count() > 200 {
        errors.push("Name: 200 characters at most.".into());
    }
    let Some(phone) = phone.filter(|_| errors.is_empty()) else {
        return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, customer, errors).await;
    };
    deliver(
        &state,
        tenant,
        &customer,
        phone,
        MessageKind::Text,
        text,
        None,
    )
    .await
}

/// Delivers a customer's message through the channel-agnostic ingest, then
/// shows the chat.
async fn deliver(
    state: &AppState,
    mut tenant: Tenant,
    customer: &Customer,
    phone: PhoneE164,
    kind: MessageKind,
    text: &str,
    media: Option<serde_json::Value>,
) -> Result<Response> {
    let channel = db::channels::sandbox(&mut tenant.tx).await?;
    let provider_id = format!("sandbox-in.{}", Uuid::now_v7());
    let inbound = Inbound {
        from: Some(phone.clone()),
        lid: None,
        user_id: None,
        profile_name: Some(customer.name.trim()).filter(|n| !n.is_empty()),
        provider_message_id: &provider_id,
        kind,
        body: text,
        media,
        raw: None,
        sent_at: None,
        reply_to: None,
        group: None,
    };
    let outcome = ingest::ingest(&mut tenant.tx, &state.secrets, &channel, &inbound).await?;
    tenant.tx.commit().await?;
    if outcome == Ingested::Blocked {
        tenant
            .session
            .flash(
                FlashKind::Error,
                "This number is blocked in the workspace: the message was dropped.",
            )
            .await?;
    }
    Ok(Redirect::to(&format!("/sandbox?{}", customer.query(&phone))).into_response())
}

/// The largest image the simulator sends (WhatsApp's limit for images).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// A customer sends an image with an optional caption (a multipart form:
/// `name`, `phone`, `text` for the caption, `image`).
pub async fn send_image(
    State(state): State<AppState>,
    mut tenant: Tenant,
    mut multipart: Multipart,
) -> Result<Response> {
    let too_large = || {
        AppError::TooLarge(format!(
            "The image is larger than {} MB.",
            MAX_IMAGE_BYTES / (1024 * 1024)
        ))
    };
    let mut customer = Customer::default();
    let mut image: Option<(String, Vec<u8>)> = None;
    let unreadable = |e| upload_error(e, &too_large);
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image" {
            let filename = field
                .file_name()
                .unwrap_or("image")
                .chars()
                .take(200)
                .collect();
            let bytes = read_file(&mut field, MAX_IMAGE_BYTES, &too_large).await?;
            image = Some((filename, bytes));
        } else {
            let value = field.text().await.map_err(unreadable)?;
            match name.as_str() {
                "name" => customer.name = value,
                "phone" => customer.phone = value,
                "text" => customer.text = value,
                _ => {}
            }
        }
    }
    let mut errors = vec![];
    let phone = match phone_of(&mut tenant, &customer.phone).await? {
        Ok(phone) => Some(phone),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let caption = customer.text.trim().to_owned();
    if caption.chars().count() > 1024 {
        errors.push("Caption: 1024 characters at most.".into());
    }
    let content_type = match &image {
        Some((_, bytes)) if bytes.is_empty() => {
            errors.push("Image: choose an image to send.".into());
            None
        }
        Some((_, bytes)) => {
            let sniffed = sniff_image(bytes);
            if sniffed.is_none() {
                errors.push("Image: send a PNG, JPEG, GIF or WebP image.".into());
            }
            sniffed
        }
        None => {
            errors.push("Image: choose an image to send.".into());
            None
        }
    };
    let (Some(phone), Some(content_type), Some((filename, bytes)), true) =
        (phone, content_type, image, errors.is_empty())
    else {
        return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, customer, errors).await;
    };
    let media_id = db::media::insert(&mut tenant.tx, content_type, &filename, &bytes).await?;
    let media = serde_json::json!({
        "url": format!("/media/{media_id}"),
        "mime_type": content_type,
        "filename": filename,
    });
    deliver(
        &state,
        tenant,
        &customer,
        phone,
        MessageKind::Image,
        &caption,
        Some(media),
    )
    .await
}

pub async fn read(mut tenant: Tenant, HtmlForm(customer): HtmlForm<Customer>) -> Result<Response> {
    let phone = match phone_of(&mut tenant, &customer.phone).await? {
        Ok(phone) => phone,
        Err(e) => return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, customer, vec![e]).await,
    };
    let channel = db::channels::sandbox(&mut tenant.tx).await?;
    if let Some(contact_id) = db::contacts::id_by_phone(&mut tenant.tx, &phone).await? {
        for id in db::messages::report_to_contact(
            &mut tenant.tx,
            channel.id,
            contact_id,
            DeliveryStatus::Read,
        )
        .await?
        {
            db::conversations::notify(&mut tenant.tx, id).await?;
        }
    }
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/sandbox?{}", customer.query(&phone))).into_response())
}
