//! What a linked phone's chat history costs to import: generated history
//! blobs, as the phone sends them to a newly linked device (zlib-compressed
//! `HistorySync` protobufs, a few hundred chats each), read chat by chat
//! and imported into a workspace through the same session inbox live
//! messages take (this process, its own PostgreSQL). Prints the time, the
//! messages per second and the peak memory above the process's resident
//! set before each step, beside a whole-blob decode (what the library's
//! `LazyHistorySync::get()` does) for comparison.
//!
//! `cargo bench --bench history` (about 2 minutes).

// The shared bench helpers (common/) unwrap: a bench that cannot set up should stop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::time::Instant;

#[path = "common/mod.rs"]
mod common;

use common::in_process::{app_with_workspace, own_status_kib};
use wacrm::channels::whatsapp_web::events::WorkspaceInbox;
use wacrm::channels::whatsapp_web::history::{self, LidPhones};
use wacrm::infra::embedded_pg::{Cluster, Durability};
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::prelude::wa;

/// Blobs the phone sends, chats per blob, messages per chat.
const BLOBS: usize = 10;
const CHATS_PER_BLOB: usize = 200;
const MESSAGES_PER_CHAT: usize = 50;
/// Days of history imported (the default).
const DAYS: i64 = 30;

/// Starts a new peak: the kernel sets the high-water mark to the current
/// resident set (proc(5), clear_refs "5"). Returns that resident set, MiB.
fn reset_peak() -> f64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    own_status_kib("VmRSS:") / 1024.0
}

/// The peak resident set since [`reset_peak`], MiB.
fn peak() -> f64 {
    own_status_kib("VmHWM:") / 1024.0
}

/// One blob of `CHATS_PER_BLOB` one-to-one chats (numbers from `first`),
/// messages spread over the last `DAYS`, a tenth of them photos, a third
/// ours; compressed as the phone sends it. Returns it and its inflated size.
fn blob(first: usize, now: i64) -> std::io::Result<(Vec<u8>, u64)> {
    let conversations = (first..first + CHATS_PER_BLOB)
        .map(|chat| wa::Conversation {
            id: format!("55119{chat:08}@s.whatsapp.net"),
            name: Some(format!("Customer {chat}")),
            messages: (0..MESSAGES_PER_CHAT)
                .map(|i| history_message(chat, i, now))
                .collect(),
            ..Default::default()
        })
        .collect();
    let sync = wa::HistorySync {
        sync_type: wa::history_sync::HistorySyncType::INITIAL_BOOTSTRAP,
        conversations,
        ..Default::default()
    };
    let plain = sync.encode_to_vec();
    let mut zipped = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zipped.write_all(&plain)?;
    Ok((zipped.finish()?, plain.len() as u64))
}

fn history_message(chat: usize, i: usize, now: i64) -> wa::HistorySyncMsg {
    let age = (DAYS * 86_400 - 3_600) * (MESSAGES_PER_CHAT - i) as i64 / MESSAGES_PER_CHAT as i64;
    let message = if i % 10 == 9 {
        wa::Message {
            image_message: wa::message::ImageMessage {
                caption: Some(format!("Photo {i} of the order")),
                mimetype: Some("image/jpeg".into()),
                direct_path: Some(format!("/v/t62.7118-24/{chat}_{i}.enc")),
                media_key: Some(vec![7; 32]),
                file_sha256: Some(vec![1; 32]),
                file_enc_sha256: Some(vec![2; 32]),
                file_length: Some(120_000),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }
    } else {
        wa::Message {
            conversation: Some(format!(
                "Message {i} about order #{chat}: is it ready to collect tomorrow morning?"
            )),
            ..Default::default()
        }
    };
    let ours = i % 3 == 2;
    wa::HistorySyncMsg {
        message: wa::WebMessageInfo {
            key: wa::MessageKey {
                from_me: Some(ours),
                id: Some(format!("3EB0{chat:08}{i:04}")),
                ..Default::default()
            }
            .into(),
            message: message.into(),
            message_timestamp: Some(u64::try_from(now - age).unwrap_or(0)),
            push_name: (!ours).then(|| format!("Customer {chat}")),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
}

/// Nobody known by LID alone in the generated chats.
struct NoLids;

#[async_trait::async_trait]
impl LidPhones for NoLids {
    async fn phone_of(&self, _lid: &str) -> Option<String> {
        None
    }
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    wacrm::infra::tls::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("wacrm-bench-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = Cluster::start(&dir.join("postgres"), Durability::Throwaway).await?;
    let outcome = measure(&cluster, &dir).await;
    let _ = cluster.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(cluster: &Cluster, dir: &std::path::Path) -> anyhow::Result<()> {
    // Built, not run: no supervisor starts the channel's session, so the
    // import below is the only writer.
    let (app, org_id) = app_with_workspace(cluster, dir).await?;
    let state = app.state().clone();
    let channel_id = uuid::Uuid::now_v7();
    let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&state.pool, org_id).await?;
    wacrm::infra::db::web_sessions::create(
        &mut tx,
        channel_id,
        "Bench phone",
        None,
        DAYS as u16,
        wacrm::infra::db::web_sessions::RunsOn::Wacrm,
    )
    .await?;
    tx.commit().await?;
    let inbox = WorkspaceInbox {
        env: state.env(),
        org_id,
        channel_id,
    };

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let since = now - DAYS * 86_400;
    let blobs: Vec<(Vec<u8>, u64)> = (0..BLOBS)
        .map(|b| blob(b * CHATS_PER_BLOB, now))
        .collect::<std::io::Result<_>>()?;
    let compressed: usize = blobs.iter().map(|(b, _)| b.len()).sum();
    let inflated: u64 = blobs.iter().map(|(_, n)| n).sum();
    let messages = BLOBS * CHATS_PER_BLOB * MESSAGES_PER_CHAT;
    println!(
        "linked-phone history import: {BLOBS} blobs × {CHATS_PER_BLOB} chats × {MESSAGES_PER_CHAT} messages = {messages} messages over {DAYS} days"
    );
    println!(
        "blobs: {:.1} MiB compressed, {:.1} MiB inflated; machine: {} cores",
        compressed as f64 / 1048576.0,
        inflated as f64 / 1048576.0,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!();
    println!("| step | time | messages/s | peak MiB above the resident set before it |");
    println!("|---|---|---|---|");

    // The whole largest blob decoded at once, for comparison.
    let base = reset_peak();
    let started = Instant::now();
    let (first, first_size) = &blobs[0];
    let plain = {
        let mut out = Vec::with_capacity(*first_size as usize);
        std::io::copy(
            &mut flate2::read::ZlibDecoder::new(first.as_slice()),
            &mut out,
        )?;
        out
    };
    let decoded = wa::HistorySync::decode(&mut plain.as_slice())?;
    let whole = decoded.conversations.len();
    drop(decoded);
    drop(plain);
    println!(
        "| one blob decoded whole ({whole} chats) | {:.0} ms | {:.0} | {:.1} |",
        started.elapsed().as_secs_f64() * 1000.0,
        (CHATS_PER_BLOB * MESSAGES_PER_CHAT) as f64 / started.elapsed().as_secs_f64(),
        peak() - base
    );

    // Read chat by chat (what the import does before storing).
    let base = reset_peak();
    let started = Instant::now();
    let mut read = 0usize;
    for (blob, size) in &blobs {
        history::read_chats(blob, *size, since, |chat| {
            read += chat.customers.len() + chat.ours.len();
            true
        })?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "| all blobs read chat by chat ({read} messages) | {:.0} ms | {:.0} | {:.1} |",
        secs * 1000.0,
        read as f64 / secs,
        peak() - base
    );

    // Imported: read, then committed in chunks through the session inbox.
    for pass in ["imported", "imported again (all already stored)"] {
        let base = reset_peak();
        let started = Instant::now();
        for (blob, size) in &blobs {
            history::import(blob.clone(), *size, since, &inbox, &NoLids).await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "| all blobs {pass} | {:.1} s | {:.0} | {:.1} |",
            secs,
            read as f64 / secs,
            peak() - base
        );
    }
    let admin = cluster.connect_options("wacrm");
    let mut conn = sqlx::ConnectOptions::connect(&admin).await?;
    let stored: i64 = sqlx::query_scalar("select count(*) from messages")
        .fetch_one(&mut conn)
        .await?;
    let conversations: i64 = sqlx::query_scalar("select count(*) from conversations")
        .fetch_one(&mut conn)
        .await?;
    println!();
    println!(
        "stored: {stored} messages in {conversations} conversations (expected {read} in {})",
        BLOBS * CHATS_PER_BLOB
    );
    anyhow::ensure!(stored as usize == read, "every message read is stored once");
    Ok(())
}
