//! A scripted stand-in for linked-device sessions (the real one needs
//! WhatsApp's servers): plugged in as the app's connector, it starts a
//! session per channel, lets the test play what the phone and WhatsApp
//! would do (a QR, the scan, customers' messages, receipts, a logout), and
//! records what the app sends. It also keeps count of how many sessions of
//! a channel are open at once, across every instance that shares it: a
//! session is open from its start until it is stopped or dropped (its
//! process killed).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use uuid::Uuid;
use wacrm::channels::whatsapp_web::link::{
    Connector, Inbox, LinkedSession, SessionEvent, Start, WebMediaRef, WebOutgoing,
};

#[derive(Default)]
struct Inner {
    /// Open sessions per channel: their event senders, newest last.
    open: HashMap<Uuid, Vec<(u64, UnboundedSender<SessionEvent>)>>,
    /// Where each channel's newest session commits what it receives.
    inboxes: HashMap<Uuid, Arc<dyn Inbox>>,
    /// What WhatsApp still holds per channel: handed over, never
    /// acknowledged (the commit failed, or the process died during it).
    unacked: HashMap<Uuid, Vec<Vec<SessionEvent>>>,
    /// Commits refused per channel (the app answered `Err`).
    refused: HashMap<Uuid, usize>,
    /// Per session: set to true when it dies by itself.
    deaths: HashMap<u64, tokio::sync::watch::Sender<bool>>,
    /// The most sessions of a channel ever open at once.
    most_open: HashMap<Uuid, usize>,
    starts: Vec<(Uuid, Option<String>)>,
    sent: Vec<Sent>,
    next_id: u64,
    /// Sends to refuse before one goes through.
    refuse_sends: usize,
    /// Files on "WhatsApp's servers", by direct path.
    files: HashMap<String, Vec<u8>>,
    downloads: usize,
    /// Read receipts sent: (channel, chat, message ids).
    read: Vec<(Uuid, String, Vec<String>)>,
}

/// One message the app sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub channel_id: Uuid,
    pub to: String,
    pub message: WebOutgoing,
}

#[derive(Clone, Default)]
pub struct FakeWeb(Arc<Mutex<Inner>>);

impl FakeWeb {
    pub fn new() -> Arc<FakeWeb> {
        Arc::new(FakeWeb::default())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sessions of `channel_id` open now.
    pub fn open(&self, channel_id: Uuid) -> usize {
        self.lock().open.get(&channel_id).map_or(0, Vec::len)
    }

    /// The most sessions of `channel_id` ever open at once.
    pub fn most_open(&self, channel_id: Uuid) -> usize {
        self.lock().most_open.get(&channel_id).copied().unwrap_or(0)
    }

    /// Every start: the channel and the number asked to pair by code.
    pub fn starts(&self) -> Vec<(Uuid, Option<String>)> {
        self.lock().starts.clone()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// A customer's file, downloadable at `direct_path`.
    pub fn add_file(&self, direct_path: &str, bytes: &[u8]) {
        self.lock()
            .files
            .insert(direct_path.to_owned(), bytes.to_vec());
    }

    /// Read receipts the app sent: (channel, chat number, message ids).
    pub fn read_receipts(&self) -> Vec<(Uuid, String, Vec<String>)> {
        self.lock().read.clone()
    }

    /// Downloads made.
    pub fn downloads(&self) -> usize {
        self.lock().downloads
    }

    /// Refuse the next `n` sends (a network error).
    pub fn refuse_sends(&self, n: usize) {
        self.lock().refuse_sends = n;
    }

    /// Waits (up to `limit`) until `channel_id` has an open session.
    pub async fn until_open(&self, channel_id: Uuid, limit: Duration) {
        let started = Instant::now();
        while self.open(channel_id) == 0 {
            assert!(
                started.elapsed() < limit,
                "no session of {channel_id} started"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the phone or WhatsApp does, as the channel's open session
    /// reports it.
    pub fn emit(&self, channel_id: Uuid, event: SessionEvent) {
        let inner = self.lock();
        let (_, events) = inner
            .open
            .get(&channel_id)
            .and_then(|open| open.last())
            .unwrap_or_else(|| panic!("no open session of {channel_id}"));
        if events.send(event).is_err() {
            panic!("the session of {channel_id} is not listening");
        }
    }

    /// What WhatsApp hands the open session of `channel_id` to commit, as
    /// the library's durability hook does: acknowledged only on `Ok`, else
    /// kept to be delivered again when the channel's next session starts.
    /// Held until acknowledged even while the commit runs, so a process
    /// killed during it leaves it unacknowledged too.
    pub async fn deliver(
        &self,
        channel_id: Uuid,
        received: Vec<SessionEvent>,
    ) -> anyhow::Result<()> {
        let inbox = {
            let mut inner = self.lock();
            let inbox = inner
                .inboxes
                .get(&channel_id)
                .cloned()
                .unwrap_or_else(|| panic!("no session of {channel_id} started"));
            inner
                .unacked
                .entry(channel_id)
                .or_default()
                .push(received.clone());
            inbox
        };
        let committed = inbox.commit(received.clone()).await;
        let mut inner = self.lock();
        if committed.is_ok() {
            acknowledge(&mut inner, channel_id, &received);
        } else {
            *inner.refused.entry(channel_id).or_default() += 1;
        }
        committed
    }

    /// Deliveries of `channel_id` still unacknowledged.
    pub fn unacked(&self, channel_id: Uuid) -> usize {
        self.lock().unacked.get(&channel_id).map_or(0, Vec::len)
    }

    /// Commits of `channel_id` the app refused.
    pub fn refused(&self, channel_id: Uuid) -> usize {
        self.lock().refused.get(&channel_id).copied().unwrap_or(0)
    }

    /// Hands every unacknowledged delivery of `channel_id` over again (as
    /// WhatsApp does on the next connect); how many were acknowledged now.
    pub async fn redeliver(&self, channel_id: Uuid) -> usize {
        let (inbox, pending) = {
            let inner = self.lock();
            let Some(inbox) = inner.inboxes.get(&channel_id).cloned() else {
                return 0;
            };
            (
                inbox,
                inner.unacked.get(&channel_id).cloned().unwrap_or_default(),
            )
        };
        let mut acknowledged = 0;
        for received in pending {
            if inbox.commit(received.clone()).await.is_ok() {
                acknowledge(&mut self.lock(), channel_id, &received);
                acknowledged += 1;
            }
        }
        acknowledged
    }

    /// The newest session of `channel_id` dies by itself (its connection
    /// task crashed): it closes, and reports that it finished.
    pub fn crash(&self, channel_id: Uuid) {
        let newest = self
            .lock()
            .open
            .get(&channel_id)
            .and_then(|open| open.last().map(|(id, _)| *id))
            .unwrap_or_else(|| panic!("no open session of {channel_id}"));
        self.close(channel_id, newest);
        if let Some(death) = self.lock().deaths.get(&newest) {
            let _ = death.send(true);
        }
    }

    fn close(&self, channel_id: Uuid, id: u64) {
        if let Some(open) = self.lock().open.get_mut(&channel_id) {
            open.retain(|(session, _)| *session != id);
        }
    }
}

#[async_trait::async_trait]
impl Connector for FakeWeb {
    async fn start(&self, start: Start) -> anyhow::Result<Arc<dyn LinkedSession>> {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner
            .starts
            .push((start.channel_id, start.pair_phone.clone()));
        inner.inboxes.insert(start.channel_id, start.inbox);
        let open = inner.open.entry(start.channel_id).or_default();
        open.push((id, start.events));
        let now_open = open.len();
        let most = inner.most_open.entry(start.channel_id).or_default();
        *most = (*most).max(now_open);
        let (death, died) = tokio::sync::watch::channel(false);
        inner.deaths.insert(id, death);
        Ok(Arc::new(FakeSession {
            fake: self.clone(),
            channel_id: start.channel_id,
            id,
            died,
        }))
    }
}

/// Forgets one unacknowledged delivery equal to `received`.
fn acknowledge(inner: &mut Inner, channel_id: Uuid, received: &[SessionEvent]) {
    if let Some(pending) = inner.unacked.get_mut(&channel_id) {
        let same = |held: &Vec<SessionEvent>| format!("{held:?}") == format!("{received:?}");
        if let Some(at) = pending.iter().position(same) {
            pending.remove(at);
        }
    }
}

struct FakeSession {
    fake: FakeWeb,
    channel_id: Uuid,
    id: u64,
    died: tokio::sync::watch::Receiver<bool>,
}

impl Drop for FakeSession {
    fn drop(&mut self) {
        self.fake.close(self.channel_id, self.id);
    }
}

#[async_trait::async_trait]
impl LinkedSession for FakeSession {
    async fn send(&self, to: &str, message: &WebOutgoing) -> anyhow::Result<String> {
        let mut inner = self.fake.lock();
        if inner.refuse_sends > 0 {
            inner.refuse_sends -= 1;
            anyhow::bail!("connection reset");
        }
        inner.sent.push(Sent {
            channel_id: self.channel_id,
            to: to.to_owned(),
            message: message.clone(),
        });
        // WhatsApp keeps the id it was given.
        Ok(message.id.clone())
    }

    async fn mark_read(&self, to: &str, message_ids: &[String]) -> anyhow::Result<()> {
        self.fake
            .lock()
            .read
            .push((self.channel_id, to.to_owned(), message_ids.to_vec()));
        Ok(())
    }

    async fn download(&self, media: &WebMediaRef) -> anyhow::Result<Vec<u8>> {
        let mut inner = self.fake.lock();
        inner.downloads += 1;
        match inner.files.get(&media.direct_path) {
            Some(bytes) => Ok(bytes.clone()),
            None => anyhow::bail!("404 from the media server"),
        }
    }

    async fn log_out(&self) {
        self.fake.close(self.channel_id, self.id);
    }

    async fn stop(&self) {
        self.fake.close(self.channel_id, self.id);
    }

    async fn finished(&self) {
        let mut died = self.died.clone();
        let _ = died.wait_for(|dead| *dead).await;
    }
}
