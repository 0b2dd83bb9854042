//! Campaign benchmark: a 100,000-recipient campaign through a fake Graph
//! API. It prints
//!
//! - how long the start took: from "Start now" (`POST
//!   /campaigns/{id}/start`) until the campaign runs, which includes the
//!   job's pickup and storing the segment (100,000 contacts, 1 % of them
//!   opted out) as recipients in one statement;
//! - the send rate against the configured limits: the campaign's rate
//!   (messages a minute) and the number's (`WHATSAPP_SEND_RATE` a second),
//!   the mean rate from the first send to the last, and the most sent in
//!   any one second (from each recipient's `sent_at`);
//! - duplicates and losses counted at the fake (messages per recipient
//!   number; must be 0 and 0);
//! - wacrm's resident memory before, at most during (sampled each second,
//!   and the kernel's high-water mark) and after the run.
//!
//! `cargo bench --bench campaigns` (release build of the real binary, its
//! own private PostgreSQL under a temporary data dir, the fake Graph API in
//! this process, loopback only; about seven minutes on 2 cores). wacrm's
//! log is off unless `RUST_LOG` is set; `WACRM_BENCH_KEEP=1` keeps the data
//! directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/fake_graph.rs"]
mod fake_graph;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{
    free_port, load_average, memory_mib, sign_up, spawn_with, stop, thousands, wait_ready,
};
use fake_graph::FakeGraph;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const TOKEN: &str = "EAAGm0PX4ZCpsBAKbenchcampaigntoken0123";
const APP_SECRET: &str = "00112233445566778899aabbccddeeff";
const NUMBER_ID: &str = "106540352242999";
const WABA_ID: &str = "102290129340999";
const OWNER_EMAIL: &str = "owner@campaign-bench.test";
const CONTACTS: i64 = 100_000;
/// Every this-many-th contact is opted out (skipped, counted).
const OPTED_OUT_EVERY: i64 = 100;
/// The number's limit, messages a second (as Meta's default throughput
/// is 80, a raised tier's several hundred).
const SEND_RATE: &str = "400";
/// The campaign's own limit, messages a minute (300 a second).
const CAMPAIGN_RATE: &str = "18000";
/// The longest the run may take before the bench gives up.
const RUN_LIMIT: Duration = Duration::from_secs(40 * 60);

async fn scalar_i64(pool: &PgPool, sql: &'static str, campaign: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(campaign)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let keep = common::begin("campaign");
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3999", "Bench Sales");
    graph.add_templates(
        WABA_ID,
        TOKEN,
        vec![
            json!({"name": "news", "language": "en_US", "status": "APPROVED",
            "category": "MARKETING", "id": "7",
            "components": [{"type": "BODY", "text": "Hi {{1}}, our news this week."}]}),
        ],
    );
    let graph_url = graph.base_url();
    let dir = std::env::temp_dir().join(format!("wacrm-campaigns-{}", std::process::id()));
    let data = dir.join("data");
    let port = free_port();
    let mut env = vec![
        ("WHATSAPP_GRAPH_URL", graph_url.as_str()),
        ("WHATSAPP_SEND_RATE", SEND_RATE),
    ];
    if std::env::var("RUST_LOG").is_err() {
        env.push(("RUST_LOG", "off"));
    }
    let server = spawn_with(&data, port, &env);
    wait_ready(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let (client, _jar) = common::browser_client(reqwest::Client::builder());
    sign_up(&client, &base, OWNER_EMAIL, "Bench Shop").await;
    let csrf = common::csrf(&common::page(&client, &format!("{base}/settings/channels")).await);
    let connected = client
        .post(format!("{base}/settings/channels"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Sales line"),
            ("phone_number_id", NUMBER_ID),
            ("waba_id", WABA_ID),
            ("access_token", TOKEN),
            ("app_secret", APP_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), 303, "connecting the number");
    let channel = connected.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/settings/channels/")
        .to_owned();
    let csrf = common::csrf(&common::page(&client, &format!("{base}/campaigns/new")).await);
    let synced = client
        .post(format!("{base}/settings/channels/{channel}/templates"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 303, "syncing templates");

    let admin = common::admin_pool(&data, 2).await;
    let org: Uuid = sqlx::query_scalar("select id from organizations")
        .fetch_one(&admin)
        .await
        .unwrap();
    let seeding = Instant::now();
    sqlx::query(
        "insert into contacts (org_id, id, name, phone, opted_out) \
         select $1, gen_random_uuid(), 'Customer ' || n, '+1650' || lpad(n::text, 7, '0'), \
                n % $3 = 0 \
         from generate_series(1, $2) as n",
    )
    .bind(org)
    .bind(CONTACTS)
    .bind(OPTED_OUT_EVERY)
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query("analyze contacts")
        .execute(&admin)
        .await
        .unwrap();
    // Statements slower than this are logged, and counted at the end.
    common::log_statements_over(&admin, 200).await;
    println!(
        "seeded {} contacts ({} opted out) in {:.1} s",
        thousands(CONTACTS as u64),
        thousands((CONTACTS / OPTED_OUT_EVERY) as u64),
        seeding.elapsed().as_secs_f64()
    );

    let csrf = common::csrf(&common::page(&client, &format!("{base}/campaigns/new")).await);
    let created = client
        .post(format!("{base}/campaigns"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Weekly news"),
            ("channel_id", channel.as_str()),
            ("template", "news|en_US"),
            ("var_source", "first_name"),
            ("var_key", ""),
            ("var_text", "there"),
            ("rate_per_minute", CAMPAIGN_RATE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303, "creating the campaign");
    let path = created.headers()["location"].to_str().unwrap().to_owned();
    let campaign: Uuid = path.trim_start_matches("/campaigns/").parse().unwrap();
    let csrf = common::csrf(&common::page(&client, &format!("{base}{path}")).await);

    let rss_before = memory_mib(server.id(), "VmRSS:");
    let start = Instant::now();
    let started = client
        .post(format!("{base}{path}/start"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303, "starting the campaign");
    loop {
        let state: String = sqlx::query_scalar("select state from campaigns where id = $1")
            .bind(campaign)
            .fetch_one(&admin)
            .await
            .unwrap();
        if state != "scheduled" {
            assert_eq!(state, "running", "the campaign started");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let materialized = start.elapsed();
    let stored = scalar_i64(
        &admin,
        "select count(*) from campaign_recipients where campaign_id = $1",
        campaign,
    )
    .await;
    let skipped = scalar_i64(
        &admin,
        "select count(*) from campaign_recipients where campaign_id = $1 and state = 'skipped'",
        campaign,
    )
    .await;
    println!(
        "start: {} recipients stored ({} skipped as opted out) and running {:.2} s after \"Start now\"",
        thousands(stored as u64),
        thousands(skipped as u64),
        materialized.as_secs_f64()
    );

    let mut peak_rss = rss_before;
    let mut last_print = Instant::now();
    loop {
        peak_rss = peak_rss.max(memory_mib(server.id(), "VmRSS:"));
        let left = scalar_i64(
            &admin,
            "select count(*) from campaign_recipients where campaign_id = $1 \
             and state in ('pending', 'queued')",
            campaign,
        )
        .await;
        if left == 0 {
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(30) {
            println!(
                "  … {} sent, {} to go ({:.0} s)",
                thousands(graph.sent().len() as u64),
                thousands(left as u64),
                start.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        assert!(start.elapsed() < RUN_LIMIT, "the campaign never finished");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let total = start.elapsed();
    let rss_after = memory_mib(server.id(), "VmRSS:");
    let rss_high_water = memory_mib(server.id(), "VmHWM:");

    let (first, last, busiest): (f64, f64, i64) = sqlx::query_as(
        "select extract(epoch from min(sent_at))::float8, extract(epoch from max(sent_at))::float8, \
           (select max(n) from (select count(*) as n from campaign_recipients \
              where campaign_id = $1 and sent_at is not null \
              group by date_trunc('second', sent_at)) per_second) \
         from campaign_recipients where campaign_id = $1",
    )
    .bind(campaign)
    .fetch_one(&admin)
    .await
    .unwrap();
    let sent_states = scalar_i64(
        &admin,
        "select count(*) from campaign_recipients where campaign_id = $1 and state = 'sent'",
        campaign,
    )
    .await;
    let mut per_number: HashMap<String, usize> = HashMap::new();
    let mut per_second: HashMap<u64, usize> = HashMap::new();
    for message in graph.sent() {
        *per_number.entry(message.to).or_default() += 1;
        let second = message
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        *per_second.entry(second).or_default() += 1;
    }
    let busiest_at_fake = per_second.values().copied().max().unwrap_or(0);
    // The most taken in any 60 s (sliding), against the campaign's limit a
    // minute.
    let mut times: Vec<f64> = graph
        .sent()
        .iter()
        .filter_map(|m| m.at.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .collect();
    times.sort_by(f64::total_cmp);
    let mut busiest_minute = 0;
    let mut first_in_window = 0;
    for (i, t) in times.iter().enumerate() {
        while times[first_in_window] <= t - 60.0 {
            first_in_window += 1;
        }
        busiest_minute = busiest_minute.max(i + 1 - first_in_window);
    }
    let duplicates: usize = per_number.values().map(|n| n.saturating_sub(1)).sum();
    let expected = (stored - skipped) as usize;
    let lost = expected.saturating_sub(per_number.len());
    let span = (last - first).max(0.001);
    println!(
        "send: {} messages in {:.0} s from the first to the last, {:.0} a second on average \
         (campaign limit {} a minute = {} a second; the number's limit {SEND_RATE} a second); \
         at most {} taken by the fake in any 60 s, at most {busiest_at_fake} in any one clock \
         second ({busiest} recorded as sent in any one second by wacrm)",
        thousands(sent_states as u64),
        span,
        sent_states as f64 / span,
        CAMPAIGN_RATE,
        CAMPAIGN_RATE.parse::<i64>().unwrap() / 60,
        thousands(busiest_minute as u64),
    );
    println!(
        "exactly once: {} recipients reached at the fake, {duplicates} duplicates, {lost} lost \
         (targets: 0 and 0)",
        thousands(per_number.len() as u64)
    );
    println!(
        "memory (wacrm RSS): {rss_before:.1} MiB before, {peak_rss:.1} MiB at most during the \
         run (high-water mark {rss_high_water:.1} MiB), {rss_after:.1} MiB after"
    );
    let slow = common::slow_statements(&data);
    println!(
        "statements over 200 ms in PostgreSQL: {}",
        slow.iter().map(|s| s.count).sum::<usize>()
    );
    for slow in slow.iter().take(3) {
        let statement: String = slow.statement.chars().take(100).collect();
        println!("  {} × {statement}", slow.count);
    }
    println!(
        "whole run {:.0} s; load average (1 min) {} at the end",
        total.as_secs_f64(),
        load_average()
    );
    stop(server);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(duplicates, 0, "a recipient got the campaign twice");
    assert_eq!(lost, 0, "a recipient never got the campaign");
}
