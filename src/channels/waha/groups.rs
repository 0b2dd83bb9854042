//! Naming WAHA's group chats: a group first seen in a message is called
//! "WhatsApp group" until WAHA tells its name. Its `group.v2.*` events
//! name groups joined or renamed from now on; for a group the phone was in
//! before, WAHA's groups API is asked once the message is stored (after
//! the delivery's commit; nothing is held open while WAHA answers). A
//! lookup that fails leaves the placeholder; the next message asks again.

use std::time::Duration;

use super::client::WahaSession;
use crate::channels::whatsapp_web::link::SessionEvent;
use crate::infra::db;
use crate::infra::tenancy::TenantTx;

/// How long one lookup may take (the delivery waits for it).
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The groups of a delivery's messages whose contact still has no name.
pub async fn unnamed(tx: &mut TenantTx, event: &SessionEvent) -> sqlx::Result<Vec<String>> {
    let messages = match event {
        SessionEvent::Messages(m) | SessionEvent::SentFromPhone(m) => m,
        _ => return Ok(vec![]),
    };
    let mut groups: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.group.as_ref().map(|g| g.id.as_str()))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let mut unnamed = vec![];
    for group in groups {
        if db::contacts::group_is_unnamed(tx, group).await? {
            unnamed.push(group.to_owned());
        }
    }
    Ok(unnamed)
}

/// Asks WAHA what each group is called: the names it knows.
pub async fn names(waha: &WahaSession<'_>, groups: &[String]) -> Vec<SessionEvent> {
    let mut named = vec![];
    for group in groups {
        match waha.group_subject(group, LOOKUP_TIMEOUT).await {
            Ok(Some(name)) => named.push(SessionEvent::GroupNamed {
                group: group.clone(),
                name,
            }),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "WAHA: reading a group's name failed"),
        }
    }
    named
}
