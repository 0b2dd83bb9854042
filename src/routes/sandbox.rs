//! The sandbox channel's simulator: someone plays a customer, writes in
//! through the same ingest path a real channel uses, and sees the replies
//! with their ticks (viewing them reports "delivered"; a button, "read").

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::db;
use crate::db::messages::Message;
use crate::domain::{DeliveryStatus, MessageKind, PhoneE164};
use crate::error::Result;
use crate::inbox::ingest::{self, Inbound, Ingested};
use crate::tenancy::member::{Page, Tenant};

const SHOWN: i64 = 100;
const MAX_TEXT: usize = 4096;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sandbox", get(show))
        .route("/sandbox/messages", post(send))
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

pub async fn send(mut tenant: Tenant, Form(customer): Form<Customer>) -> Result<Response> {
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
    let channel = db::channels::sandbox(&mut tenant.tx).await?;
    let provider_id = format!("sandbox-in.{}", Uuid::now_v7());
    let inbound = Inbound {
        from: phone.clone(),
        profile_name: Some(customer.name.trim()).filter(|n| !n.is_empty()),
        provider_message_id: &provider_id,
        kind: MessageKind::Text,
        body: text,
        media: None,
        raw: None,
        sent_at: None,
    };
    let outcome = ingest::ingest(&mut tenant.tx, &channel, &inbound).await?;
    tenant.tx.commit().await?;
    if outcome == Ingested::Blocked {
        tenant
            .session
            .flash(
                "error",
                "This number is blocked in the workspace: the message was dropped.",
            )
            .await?;
    }
    Ok(Redirect::to(&format!("/sandbox?{}", customer.query(&phone))).into_response())
}

pub async fn read(mut tenant: Tenant, Form(customer): Form<Customer>) -> Result<Response> {
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
