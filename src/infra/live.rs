//! Live inbox fan-out inside one instance. Every instance hears the
//! database's `wacrm_inbox` notifications on its one `LISTEN` connection
//! (`crate::infra::notifications`) and passes them here; each open event stream
//! subscribes. Nothing here is needed by another instance.

use tokio::sync::broadcast;
use uuid::Uuid;

/// Events buffered per subscriber before it is told to resync.
const CAPACITY: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveEvent {
    /// A conversation changed: a message, its status or assignee.
    Changed {
        org_id: Uuid,
        conversation_id: Uuid,
        assignee: Option<Uuid>,
    },
    /// Notifications may have been missed (the listener reconnected):
    /// every page should refresh.
    Resync,
}

impl LiveEvent {
    /// The `NOTIFY` payload `{org_id}:{conversation_id}:{assignee or empty}`.
    pub fn parse(payload: &str) -> Option<LiveEvent> {
        let mut parts = payload.split(':');
        let org_id = Uuid::try_parse(parts.next()?).ok()?;
        let conversation_id = Uuid::try_parse(parts.next()?).ok()?;
        let assignee = match parts.next()? {
            "" => None,
            id => Some(Uuid::try_parse(id).ok()?),
        };
        Some(LiveEvent::Changed {
            org_id,
            conversation_id,
            assignee,
        })
    }
}

pub type LiveHub = broadcast::Sender<LiveEvent>;

pub fn new_hub() -> LiveHub {
    broadcast::channel(CAPACITY).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_or_are_ignored() {
        let org = Uuid::now_v7();
        let conversation = Uuid::now_v7();
        assert_eq!(
            LiveEvent::parse(&format!("{org}:{conversation}:")),
            Some(LiveEvent::Changed {
                org_id: org,
                conversation_id: conversation,
                assignee: None
            })
        );
        assert!(LiveEvent::parse(&format!("{org}:{conversation}:{org}")).is_some());
        assert_eq!(LiveEvent::parse("garbage"), None);
        assert_eq!(LiveEvent::parse(&format!("{org}:nope:")), None);
    }
}
