//! The linked-device sessions this process runs, by channel: how senders
//! reach a running session. Filled by the supervisor; kept apart from it so
//! the application state can hold it without depending on the supervisor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::link::LinkedSession;

/// The sessions this process runs, by channel: the senders' way to them.
#[derive(Clone, Default)]
pub struct Running(Arc<Mutex<HashMap<Uuid, Arc<dyn LinkedSession>>>>);

impl Running {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<dyn LinkedSession>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The session of `channel_id`, if this process runs it.
    pub fn get(&self, channel_id: Uuid) -> Option<Arc<dyn LinkedSession>> {
        self.lock().get(&channel_id).cloned()
    }

    pub fn channels(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }

    pub(super) fn insert(&self, channel_id: Uuid, session: Arc<dyn LinkedSession>) {
        self.lock().insert(channel_id, session);
    }

    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    pub(super) fn remove(&self, channel_id: Uuid) -> Option<Arc<dyn LinkedSession>> {
        self.lock().remove(&channel_id)
    }
}
