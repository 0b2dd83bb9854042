//! Inbox benchmark: how the cost of the inbox, contact search and message
//! search grows with data. For each size it prints
//!
//! - seeding: 100 workspaces (one large, 99 small) loaded with `COPY` into
//!   the app's own schema, indexes in place: rows and seconds per table,
//!   then `VACUUM (ANALYZE)`, and the size of each table and its indexes;
//! - HTTP latency at 8 concurrent keep-alive clients signed in as a member of
//!   the large workspace: requests, req/s, p50/p95/p99/max for the inbox list
//!   (first page, and the page reached by following 40 "older" links),
//!   opening a conversation with many messages (picked in the list, where
//!   htmx loads only the panes beside it, and by link, the whole page),
//!   contact search and message
//!   search (or "not built yet" while `/search` answers 404), beside their
//!   targets (list and view p99 < 15 ms, search p95 < 100 ms); also the
//!   median with a single client, and the processor time per request spent
//!   in wacrm, in PostgreSQL and in the load generator;
//!
//! and, when both sizes ran, a table comparing them.
//!
//! Sizes: `full` (large workspace 100,000 contacts, 200,000 conversations,
//! 2,000,000 messages; the others 200 / 300 / 3,000) and `tenth` (a tenth of
//! each). `WACRM_BENCH_SCALE=tenth|full|both` (default both);
//! `WACRM_BENCH_KEEP=1` keeps the data directories for inspection.
//!
//! `cargo bench --bench inbox` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, loopback only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;
mod data;
mod load;
mod seed;

use common::{
    KeepAlive, Rng, free_port, load_average, ms, percentile_ms, sign_up, spawn, stop, thousands,
    wait_ready,
};

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use data::*;
use load::*;
use seed::*;

const CLIENTS: usize = 8;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(5);
/// The single-client measurement after each scenario.
const ALONE: Duration = Duration::from_secs(2);
const WORKSPACES: usize = 100;
/// The deep list page is reached by following this many "older" links.
const DEEP_PAGES: usize = 40;
/// Conversations opened at random in the "open a conversation" scenario.
const OPENED: usize = 200;
/// "Many messages": more than one page of the conversation pane.
const MANY_MESSAGES: u32 = 100;
const OWNER_EMAIL: &str = "owner@bench.example";
/// The database the app creates in its private cluster (`src/infra/db/mod.rs`).
const DATABASE: &str = "wacrm";
/// History the seeded conversations span.
const SPAN_DAYS: i64 = 730;
const DAY_US: i64 = 86_400_000_000;
const SECOND_US: i64 = 1_000_000;
/// Bytes handed to `COPY` at a time.
const CHUNK: usize = 1 << 20;

const CONTACT_SEARCHES: [&str; 6] = ["mart", "silva", "ana", "schröder", "+55 11 9", "4821"];
const MESSAGE_SEARCHES: [&str; 5] = ["pedido", "invoice", "lieferung", "garantia", "ongkir"];

struct SizeResult {
    label: &'static str,
    outcomes: Vec<Outcome>,
}

async fn run_size(scale: Scale, keep: bool) -> SizeResult {
    let run_started = Instant::now();
    println!();
    println!(
        "=== {}: large workspace {} contacts / {} conversations / {} messages; \
         {} others {} / {} / {} each ===",
        scale.label,
        thousands(scale.contacts as u64),
        thousands(scale.conversations as u64),
        thousands(scale.messages as u64),
        WORKSPACES - 1,
        thousands(scale.small_contacts as u64),
        thousands(scale.small_conversations as u64),
        thousands(scale.small_messages as u64),
    );
    let dir = std::env::temp_dir().join(format!(
        "wacrm-inbox-{}-{}",
        scale.label,
        std::process::id()
    ));
    let data = dir.join("data");
    let port = free_port();
    let server = spawn(&data, port);
    wait_ready(port).await;

    let base = format!("http://127.0.0.1:{port}");
    let (client, jar) = common::browser_client(reqwest::Client::builder());
    sign_up(&client, &base, OWNER_EMAIL, "Big Shop").await;

    let socket_dir = std::fs::canonicalize(data.join("postgres").join("run")).unwrap();
    let options = PgConnectOptions::new()
        .socket(&socket_dir)
        .port(5432)
        .username(wacrm::infra::embedded_pg::SUPERUSER)
        .database(DATABASE);
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    let (owner_org, owner): (Uuid, Uuid) = sqlx::query_as(
        "select m.org_id, u.id from users u join memberships m on m.user_id = u.id \
         where lower(u.email) = $1",
    )
    .bind(OWNER_EMAIL)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    println!("seeding:");
    let seeded = seed(&mut conn, &scale, owner_org, owner).await;
    let plan = &seeded.plan;

    let cookie = common::session_cookie(&jar, &base);

    // The deep page: follow "older conversations" links as a person would.
    let following = Instant::now();
    let mut cursor = String::new();
    for _ in 0..DEEP_PAGES {
        let path = if cursor.is_empty() {
            "/inbox?status=all".to_owned()
        } else {
            format!("/inbox?status=all&before={cursor}")
        };
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        cursor = next_cursor(&response.text().await.unwrap()).expect("a next link");
    }
    println!(
        "deep list page: followed {DEEP_PAGES} \"older\" links ({} conversations down) in {:.2} s",
        thousands(DEEP_PAGES as u64 * 50),
        following.elapsed().as_secs_f64()
    );

    let mut rng = Rng::new(0x0be4);
    let mut long: Vec<&Conversation> = plan
        .conversations
        .iter()
        .filter(|c| c.org == 0 && c.messages >= MANY_MESSAGES)
        .collect();
    let mut opened = Vec::new();
    while opened.len() < OPENED && !long.is_empty() {
        let c = long.swap_remove(rng.below(long.len()));
        opened.push((
            format!("{} messages", c.messages),
            format!("/inbox/{}", c.id),
        ));
    }
    let median_messages = {
        let mut n: Vec<u32> = opened
            .iter()
            .map(|(l, _)| l.split(' ').next().unwrap().parse().unwrap())
            .collect();
        n.sort_unstable();
        n.get(n.len() / 2).copied().unwrap_or(0)
    };
    println!(
        "open a conversation: {} conversations with >= {MANY_MESSAGES} messages (median {median_messages}), at random",
        opened.len()
    );

    let mut contact_paths = Vec::new();
    for q in CONTACT_SEARCHES {
        let lower = q.to_lowercase();
        let mut patterns = vec![format!("%{lower}%")];
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        if q.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            && digits.len() >= 3
        {
            patterns.push(format!("%{digits}%"));
        }
        let matches: i64 = sqlx::query_scalar(
            "select count(*) from contacts where org_id = $1 and search_text like any($2)",
        )
        .bind(owner_org)
        .bind(&patterns)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        contact_paths.push((
            format!("q={q} ({} contacts match)", thousands(matches as u64)),
            format!("/contacts?q={}", percent_encode(q)),
        ));
    }

    let probe = client
        .get(format!("{base}/search?q=pedido"))
        .send()
        .await
        .unwrap()
        .status();
    let mut message_paths = Vec::new();
    if probe == 200 {
        for q in MESSAGE_SEARCHES {
            let matches: i64 = sqlx::query_scalar(
                "select count(*) from messages where org_id = $1 \
                 and (search_tsv @@ plainto_tsquery('simple', $2) or lower(body) like $3)",
            )
            .bind(owner_org)
            .bind(q)
            .bind(format!("%{}%", q.to_lowercase()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
            message_paths.push((
                format!("q={q} ({} messages match)", thousands(matches as u64)),
                format!("/search?q={}", percent_encode(q)),
            ));
        }
    }

    let scenarios = vec![
        Scenario {
            name: "inbox list, first page",
            target: Some(Target::P99(15.0)),
            paths: vec![(String::new(), "/inbox?status=all".to_owned())],
            headers: "",
            breakdown: false,
        },
        Scenario {
            name: "inbox list, page 41",
            target: Some(Target::P99(15.0)),
            paths: vec![(String::new(), format!("/inbox?status=all&before={cursor}"))],
            headers: "",
            breakdown: false,
        },
        Scenario {
            name: "open a conversation (picked in the list)",
            target: Some(Target::P99(15.0)),
            paths: opened.clone(),
            headers: PICKED_IN_LIST,
            breakdown: false,
        },
        Scenario {
            name: "open a conversation by link (whole page)",
            target: None,
            paths: opened,
            headers: "",
            breakdown: false,
        },
        Scenario {
            name: "contact search",
            target: Some(Target::P95(100.0)),
            paths: contact_paths,
            headers: "",
            breakdown: true,
        },
        Scenario {
            name: "message search",
            target: Some(Target::P95(100.0)),
            paths: message_paths,
            headers: "",
            breakdown: true,
        },
    ];
    println!(
        "HTTP: {CLIENTS} keep-alive clients signed in as the large workspace's owner, \
         {} s warm-up then {} s per scenario:",
        WARMUP.as_secs(),
        MEASURE.as_secs()
    );
    println!("{HEADER}");
    let load_before = load_average();
    let postmaster = common::postmaster_pid(&data);
    let target = Server {
        port,
        cookie: &cookie,
        pid: server.id(),
        postmaster,
    };
    let mut outcomes = Vec::new();
    for scenario in &scenarios {
        let stats = if scenario.paths.is_empty() {
            println!("  message search: not built yet (GET /search answered {probe})");
            None
        } else {
            Some(run_scenario(&target, scenario).await)
        };
        outcomes.push(Outcome {
            name: scenario.name,
            target: scenario.target,
            stats,
        });
    }
    drop(conn);
    stop(server);
    if keep {
        println!("kept data directory: {}", data.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "machine load average (1 min) before the HTTP scenarios {load_before}, after {} \
         (other work on the machine skews the figures)",
        load_average()
    );
    println!(
        "{} run: {:.0} s (seeding {:.0} s)",
        scale.label,
        run_started.elapsed().as_secs_f64(),
        seeded.seconds
    );
    SizeResult {
        label: scale.label,
        outcomes,
    }
}

fn compare(small: &SizeResult, large: &SizeResult) {
    println!();
    println!(
        "=== growth: {} vs {} (10x the data), ms ===",
        large.label, small.label
    );
    println!(
        "  {:<24} {:>20} {:>9} {:>20} {:>9} {:>6}  target at {}",
        "scenario",
        format!("{} p50/p95/p99", small.label),
        "1 client",
        format!("{} p50/p95/p99", large.label),
        "1 client",
        "p95 x",
        large.label
    );
    for (a, b) in small.outcomes.iter().zip(&large.outcomes) {
        let cells = |s: &Option<(Stats, f64)>| match s {
            Some((s, alone)) => (
                format!("{:.1}/{:.1}/{:.1}", s.p50, s.p95, s.p99),
                format!("{alone:.1}"),
            ),
            None => ("not built yet".to_owned(), "-".to_owned()),
        };
        let growth = match (&a.stats, &b.stats) {
            (Some((x, _)), Some((y, _))) => format!("{:.1}", y.p95 / x.p95),
            _ => "-".to_owned(),
        };
        let verdict = match (&b.stats, b.target) {
            (Some((s, _)), Some(target)) if target.met(s) => "ok",
            (Some(_), Some(_)) => "MISSED",
            _ => "",
        };
        let (small_cell, small_alone) = cells(&a.stats);
        let (large_cell, large_alone) = cells(&b.stats);
        println!(
            "  {:<24} {:>20} {:>9} {:>20} {:>9} {:>6}  {} {}",
            a.name,
            small_cell,
            small_alone,
            large_cell,
            large_alone,
            growth,
            b.target.map(Target::describe).unwrap_or_default(),
            verdict
        );
    }
}

#[tokio::main]
async fn main() {
    wacrm::infra::tls::install_crypto_provider();
    let started = Instant::now();
    let scales = match std::env::var("WACRM_BENCH_SCALE").as_deref() {
        Ok("tenth") => vec![TENTH],
        Ok("full") => vec![FULL],
        Ok("both") | Err(_) => vec![TENTH, FULL],
        Ok(other) => panic!("WACRM_BENCH_SCALE must be tenth, full or both, not {other}"),
    };
    let keep = std::env::var("WACRM_BENCH_KEEP").is_ok_and(|v| v == "1");
    println!(
        "inbox benchmark: {} CPU(s), sizes {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        scales
            .iter()
            .map(|s| s.label)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut results = Vec::new();
    for scale in scales {
        results.push(run_size(scale, keep).await);
    }
    if let [small, large] = results.as_slice() {
        compare(small, large);
    }
    println!();
    println!("whole run: {:.0} s", started.elapsed().as_secs_f64());
}
