//! A per-process read cache in front of Postgres rows that change rarely and
//! are read on every request (session records).
//!
//! Postgres stays the only source of truth: a trigger on the table sends
//! `NOTIFY` when a row changes, and [`crate::infra::notifications`] drops that entry in
//! every instance. While the listener is not connected the cache is off (no
//! hits, no fills), because a missed notification could leave a stale entry.
//! A fill is refused if anything was invalidated between the read it comes
//! from and the fill ("ticket"), so a notification that overtakes a slow read
//! cannot be undone by it. Entries also expire after a TTL as a backstop.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Proof of the cache's state before a database read; see [`ReadCache::fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

pub struct ReadCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    ttl: Duration,
    capacity: usize,
}

struct Inner<K, V> {
    entries: HashMap<K, (V, Instant)>,
    /// Bumped by every invalidation: a ticket from before it is void.
    epoch: u64,
    /// The invalidation listener is connected and listening.
    listening: bool,
}

impl<K: Eq + Hash + Clone, V: Clone> ReadCache<K, V> {
    pub fn new(capacity: usize, ttl: Duration) -> ReadCache<K, V> {
        ReadCache {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                epoch: 0,
                listening: false,
            }),
            ttl,
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // The data is a cache: after a panic elsewhere it is still usable
        // (at worst stale for one TTL, and every mutation is one step).
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let inner = self.lock();
        if !inner.listening {
            return None;
        }
        match inner.entries.get(key) {
            Some((value, filled_at)) if filled_at.elapsed() < self.ttl => Some(value.clone()),
            _ => None,
        }
    }

    /// Take before reading the database; pass to [`ReadCache::fill`].
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().epoch)
    }

    /// Store what was read under `ticket`, unless something was invalidated
    /// since (the read may predate that change) or the cache is off.
    pub fn fill(&self, key: K, value: V, ticket: Ticket) {
        let mut inner = self.lock();
        if !inner.listening || inner.epoch != ticket.0 {
            return;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            // Arbitrary eviction keeps memory bounded; a victim is only a miss.
            if let Some(victim) = inner.entries.keys().next().cloned() {
                inner.entries.remove(&victim);
            }
        }
        inner.entries.insert(key, (value, Instant::now()));
    }

    /// The row behind `key` changed (or is about to).
    pub fn invalidate(&self, key: &K) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.entries.remove(key);
    }

    /// Drop everything; serve from the cache again only if `listening`.
    pub fn reset(&self, listening: bool) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.entries.clear();
        inner.listening = listening;
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening_cache() -> ReadCache<u32, &'static str> {
        let cache = ReadCache::new(2, Duration::from_secs(60));
        cache.reset(true);
        cache
    }

    #[test]
    fn serves_a_fill_until_invalidated() {
        let cache = listening_cache();
        cache.fill(1, "a", cache.ticket());
        assert_eq!(cache.get(&1), Some("a"));
        cache.invalidate(&1);
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn refuses_a_fill_from_before_an_invalidation() {
        let cache = listening_cache();
        let ticket = cache.ticket();
        // Another instance changed some row while we were reading.
        cache.invalidate(&7);
        cache.fill(1, "stale?", ticket);
        assert_eq!(cache.get(&1), None);
        cache.fill(1, "fresh", cache.ticket());
        assert_eq!(cache.get(&1), Some("fresh"));
    }

    #[test]
    fn is_off_while_not_listening() {
        let cache: ReadCache<u32, &str> = ReadCache::new(2, Duration::from_secs(60));
        cache.fill(1, "a", cache.ticket());
        assert_eq!(cache.get(&1), None, "never listened");
        cache.reset(true);
        cache.fill(1, "a", cache.ticket());
        cache.reset(false);
        assert_eq!(cache.get(&1), None, "listener lost: everything dropped");
        assert!(cache.is_empty());
    }

    #[test]
    fn a_ticket_from_before_a_reconnect_is_void() {
        let cache = listening_cache();
        let ticket = cache.ticket();
        cache.reset(false);
        cache.reset(true);
        cache.fill(1, "read while deaf", ticket);
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn entries_expire() {
        let cache = ReadCache::new(2, Duration::from_millis(0));
        cache.reset(true);
        cache.fill(1, "a", cache.ticket());
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn stays_within_capacity() {
        let cache = listening_cache();
        for key in 0..10 {
            cache.fill(key, "v", cache.ticket());
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&9), Some("v"), "the newest fill is kept");
    }
}
