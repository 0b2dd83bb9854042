//! What one linked-device (WhatsApp Web) session costs wacrm itself while
//! idle: the app runs in this process (its own PostgreSQL) with the tests'
//! scripted session in place of the protocol library, so the figures are
//! wacrm's share: the session's task, events channel, registry entry, its
//! lease renewals. Memory is this process's resident set; CPU its user +
//! system time over an idle minute, with 0, 1,000 and 5,000 sessions.
//!
//! `cargo bench --bench whatsapp_web` (about 3 minutes).

// The shared bench helpers (common/) unwrap: a bench that cannot set up should stop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/fake_wa_web.rs"]
mod fake_wa_web;

use std::time::{Duration, Instant};

use common::in_process::{app_with_workspace, own_status_kib};
use wacrm::infra::embedded_pg::{Cluster, Durability};
use wacrm::server::Jobs;

/// How long each idle measurement lasts.
const IDLE: Duration = Duration::from_secs(60);
/// What the protocol library itself keeps per session, by its own docs
/// (`agent_docs/observability.md`: "the real per-session ~1 MiB", most of
/// it its SQLite page cache, which the Postgres store does not have; its
/// transport alone is estimated at 64 KiB).
const LIBRARY_BYTES_DOCUMENTED: f64 = 1024.0 * 1024.0;

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 here).
    (ticks(11) + ticks(12)) / 100.0
}

fn mem_available_mib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    wacrm::infra::tls::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("wacrm-bench-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = Cluster::start(&dir.join("postgres"), Durability::Throwaway).await?;
    let outcome = measure(&cluster, &dir).await;
    let _ = cluster.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(cluster: &Cluster, dir: &std::path::Path) -> anyhow::Result<()> {
    let fake = fake_wa_web::FakeWeb::new();
    let (mut app, org_id) = app_with_workspace(cluster, dir).await?;
    app.state_mut().web_connector = fake.clone();
    let state = app.state().clone();
    let instance = tokio::spawn(app.run_until_stopped(Jobs::Run, std::future::pending()));

    println!("wacrm per idle linked-device session (scripted session, no protocol library)");
    println!(
        "lease {} s; machine: {} cores, {:.0} MiB available",
        state.config.whatsapp_web_lease_secs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_available_mib()
    );
    println!();
    println!(
        "| sessions | resident MiB | KiB per session (vs 0) | CPU over {} s idle | CPU µs/s per session |",
        IDLE.as_secs()
    );
    println!("|---|---|---|---|---|");
    let mut channels = vec![];
    let mut base_rss = 0.0;
    let mut per_session_bytes = 0.0;
    for target in [0usize, 1_000, 5_000] {
        let started = Instant::now();
        while channels.len() < target {
            let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&state.pool, org_id).await?;
            for _ in 0..200.min(target - channels.len()) {
                let name = format!("Phone {}", channels.len());
                let id = uuid::Uuid::now_v7();
                wacrm::infra::db::web_sessions::create(
                    &mut tx,
                    id,
                    &name,
                    None,
                    0,
                    wacrm::infra::db::web_sessions::RunsOn::Wacrm,
                )
                .await?;
                channels.push(id);
            }
            tx.commit().await?;
        }
        // Every session claimed and started.
        while state.web_sessions.channels().len() < target {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(600),
                "sessions never all started"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let start_took = started.elapsed();
        let open: usize = channels.iter().map(|c| fake.open(*c)).sum();
        anyhow::ensure!(open == target, "{open} sessions open, {target} wanted");
        tokio::time::sleep(Duration::from_secs(5)).await;
        let rss_kib = own_status_kib("VmRSS:");
        let cpu_before = cpu_seconds();
        tokio::time::sleep(IDLE).await;
        let cpu = cpu_seconds() - cpu_before;
        let rss_kib = rss_kib.max(own_status_kib("VmRSS:"));
        let per_session = if target == 0 {
            base_rss = rss_kib;
            None
        } else {
            let kib = (rss_kib - base_rss) / target as f64;
            per_session_bytes = kib * 1024.0;
            Some(kib)
        };
        let cpu_per_session = if target == 0 {
            "–".to_owned()
        } else {
            format!("{:.1}", cpu / IDLE.as_secs_f64() / target as f64 * 1e6)
        };
        println!(
            "| {} | {:.1} | {} | {:.2} s ({:.2} %) | {} |",
            target,
            rss_kib / 1024.0,
            per_session.map_or("–".to_owned(), |k| format!("{k:.1}")),
            cpu,
            cpu / IDLE.as_secs_f64() * 100.0,
            cpu_per_session
        );
        println!(
            "  (created and started in {:.1} s)",
            start_took.as_secs_f64()
        );
    }
    let available = mem_available_mib() * 1024.0 * 1024.0;
    println!();
    println!(
        "Sessions one process could hold here by memory: {:.0} with wacrm's share alone ({:.1} KiB each); {:.0} adding the library's documented ~1 MiB per session.",
        available / per_session_bytes.max(1.0),
        per_session_bytes / 1024.0,
        available / (per_session_bytes + LIBRARY_BYTES_DOCUMENTED)
    );
    instance.abort();
    Ok(())
}
