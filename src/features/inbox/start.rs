//! An agent writes first: the conversation with a contact (or with a phone
//! number, which becomes a contact) on a channel of the workspace, opened
//! for the first message. The first message itself goes through the inbox
//! as any reply: where WhatsApp's 24-hour window is closed (a Cloud API
//! number, a customer who never wrote) the inbox offers only templates.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::PhoneE164;
use crate::domain::contact::ContactFields;
use crate::error::AppError;
use crate::features::billing::limits::{self, Counted};
use crate::infra::config::Config;
use crate::infra::db;
use crate::infra::tenancy::TenantTx;

/// Whom to write to.
#[derive(Debug, Clone)]
pub enum Recipient {
    /// A contact of the workspace.
    Contact(Uuid),
    /// A number typed in (with the name to give a new contact).
    Phone { phone: PhoneE164, name: String },
}

/// The conversation to write in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub conversation_id: Uuid,
    pub contact_id: Uuid,
    /// An unresolved conversation with the contact on that channel was
    /// there already: it is the one to continue.
    pub continued: bool,
    /// The typed number was already this contact's (their name).
    pub known_contact: Option<String>,
}

/// Why a conversation cannot be started (each a reason to show).
pub const NO_CHANNEL: &str = "Pick one of the workspace's WhatsApp numbers.";
pub const NO_PHONE: &str =
    "This contact has no phone number: add one on their page to write to them.";
pub const BLOCKED: &str = "This contact is blocked: unblock them on their page to write to them.";

/// Opens (or finds) the conversation with `recipient` on `channel_id`; a
/// new one is assigned to `starter`, the member who writes in it (an
/// integration is none: it stays unassigned). A contact or channel of
/// another workspace is not found.
pub async fn start(
    config: &Config,
    tx: &mut TenantTx,
    starter: Option<Uuid>,
    channel_id: Uuid,
    recipient: Recipient,
) -> Result<Started, AppError> {
    let channel = db::channels::find(tx, channel_id)
        .await?
        .ok_or_else(|| AppError::Unprocessable(NO_CHANNEL.into()))?;
    let (contact_id, known_contact) = match recipient {
        Recipient::Contact(id) => {
            let contact = db::contacts::find(tx, id)
                .await?
                .ok_or(AppError::NotFound)?;
            if contact.phone.is_none() {
                return Err(AppError::Unprocessable(NO_PHONE.into()));
            }
            if contact.blocked {
                return Err(AppError::Unprocessable(BLOCKED.into()));
            }
            (contact.id, None)
        }
        Recipient::Phone { phone, name } => match db::contacts::id_by_phone(tx, &phone).await? {
            Some(id) => {
                let contact = db::contacts::find(tx, id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                if contact.blocked {
                    return Err(AppError::Unprocessable(BLOCKED.into()));
                }
                (id, Some(contact.name))
            }
            None => {
                limits::check_one(config, tx, Counted::Contacts).await??;
                let fields = ContactFields {
                    name,
                    phone: Some(phone),
                    email: None,
                    company_name: None,
                    label_ids: vec![],
                    attributes: serde_json::Map::new(),
                    opted_out: false,
                    blocked: false,
                };
                (db::contacts::insert(tx, &fields, None).await?, None)
            }
        },
    };
    let continued = db::conversations::other_active(tx, channel.id, contact_id, Uuid::nil())
        .await?
        .is_some();
    let opened = db::conversations::find_or_open_all(
        tx,
        channel.id,
        &BTreeMap::from([(contact_id, OffsetDateTime::now_utc())]),
    )
    .await?;
    let conversation_id = *opened.get(&contact_id).ok_or(AppError::NotFound)?;
    if !continued && starter.is_some() {
        db::conversations::assign(tx, conversation_id, starter).await?;
    }
    Ok(Started {
        conversation_id,
        contact_id,
        continued,
        known_contact,
    })
}
