//! Customers WAHA names by their WhatsApp LID (`<digits>@lid`, the number
//! hidden): before a delivery's messages are stored, WAHA's LIDs API is
//! asked for the number, so that a customer seen by LID and by number is
//! one contact (`contacts.wa_lid`, see
//! [`crate::features::inbox::ingest::Inbound`]). A lookup that finds
//! nothing, fails or takes too long leaves the message under the LID alone
//! (a contact with a hidden number, shown in the inbox): nothing is
//! dropped for want of a number. [S: devlikeapro/waha-docs
//! content/docs/how-to/contacts/index.md "API - Lids"; protocols-field.md 7]

use std::time::Duration;

use uuid::Uuid;

use super::client::WahaSession;
use crate::channels::whatsapp_web::link::{SessionEvent, WebInbound};
use crate::domain::PhoneE164;
use crate::infra::db;
use crate::infra::tenancy::TenantTx;

/// How long one lookup may take: the delivery waits for it (WAHA retries a
/// delivery that is not answered in time), and a message whose lookup is
/// not answered is stored under the LID anyway.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// What to ask WAHA about one message of a delivery (by its index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The number of a customer named by LID. `stored`: the message is
    /// stored already (WAHA delivered it under the number too, the same
    /// bare id): if the number is still unknown there is nothing to add.
    PhoneOf { index: usize, stored: bool },
    /// The LID of a customer writing from their number, asked only while
    /// the workspace has customers known by LID alone and this number's
    /// contact has no LID yet: they may be the same person.
    LidOf { index: usize },
}

fn messages(event: &SessionEvent) -> Option<&Vec<WebInbound>> {
    match event {
        SessionEvent::Messages(m) | SessionEvent::SentFromPhone(m) => Some(m),
        _ => None,
    }
}

fn messages_mut(event: &mut SessionEvent) -> Option<&mut Vec<WebInbound>> {
    match event {
        SessionEvent::Messages(m) | SessionEvent::SentFromPhone(m) => Some(m),
        _ => None,
    }
}

/// What to ask WAHA about `event`'s customers, read in the delivery's
/// transaction (the calls themselves come after its commit).
pub async fn plan(
    tx: &mut TenantTx,
    channel_id: Uuid,
    event: &SessionEvent,
) -> sqlx::Result<Vec<Ask>> {
    let Some(messages) = messages(event) else {
        return Ok(vec![]);
    };
    let mut asks = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        match (&message.from, &message.lid) {
            (None, Some(_)) => {
                let stored = db::messages::by_provider_id(tx, channel_id, &message.id)
                    .await?
                    .is_some();
                asks.push(Ask::PhoneOf { index, stored });
            }
            (Some(digits), None) if may_be_known_by_lid(tx, digits).await? => {
                asks.push(Ask::LidOf { index });
            }
            _ => {}
        }
    }
    Ok(asks)
}

/// Whether the customer with number `digits` may be one of the
/// workspace's customers known by LID alone: there are such contacts, and
/// this number's contact (if any) has no LID yet. Otherwise no lookup is
/// made: most deliveries ask WAHA nothing.
async fn may_be_known_by_lid(tx: &mut TenantTx, digits: &str) -> sqlx::Result<bool> {
    let Ok(phone) = PhoneE164::parse(&format!("+{digits}"), None) else {
        return Ok(false);
    };
    crate::infra::db::contacts::may_be_known_by_lid(tx, &phone).await
}

/// Asks WAHA (`waha`; `None` when its client could not be made) what
/// `asks` say and writes the answers into `event`'s messages: a LID's
/// number into `from`, a number's LID into `lid`. A message named by LID
/// whose number stays unknown is kept under the LID, unless it is stored
/// already (then it is left out: it would only add an empty contact).
pub async fn resolve(
    waha: Option<&WahaSession<'_>>,
    channel_id: Uuid,
    asks: &[Ask],
    event: &mut SessionEvent,
) {
    let Some(messages) = messages_mut(event) else {
        return;
    };
    let mut left_out = Vec::new();
    for ask in asks {
        match *ask {
            Ask::PhoneOf { index, stored } => {
                let Some(message) = messages.get_mut(index) else {
                    continue;
                };
                let Some(lid) = message.lid.clone() else {
                    continue;
                };
                let found = match waha {
                    Some(waha) => waha.phone_of_lid(&lid, LOOKUP_TIMEOUT).await,
                    None => Ok(None),
                };
                match found {
                    Ok(Some(phone)) => message.from = Some(phone),
                    Ok(None) if stored => left_out.push(index),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(%channel_id, error = %e, "WAHA did not tell a LID's number: kept under the LID");
                        if stored {
                            left_out.push(index);
                        }
                    }
                }
            }
            Ask::LidOf { index } => {
                let Some(message) = messages.get_mut(index) else {
                    continue;
                };
                let Some(phone) = message.from.clone() else {
                    continue;
                };
                let found = match waha {
                    Some(waha) => waha.lid_of_phone(&phone, LOOKUP_TIMEOUT).await,
                    None => Ok(None),
                };
                match found {
                    Ok(lid) => message.lid = lid,
                    Err(e) => {
                        tracing::warn!(%channel_id, error = %e, "WAHA did not tell a number's LID");
                    }
                }
            }
        }
    }
    left_out.sort_unstable();
    for index in left_out.into_iter().rev() {
        messages.remove(index);
    }
}
