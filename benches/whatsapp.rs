//! WhatsApp benchmark: how fast Meta's signed webhook deliveries are stored,
//! and how fast queued replies go out through the Graph API, each once. It
//! prints
//!
//! - ingest: signed deliveries (`POST /webhooks/whatsapp/{channel}`, signed
//!   as Meta signs them) from 8 keep-alive connections, with 1 and with 100
//!   text messages per delivery, each size from its own 1,000 customers
//!   (a few write a lot, most a little), so contacts and conversations are
//!   both created and found; each size sends for at most 30 s, and a
//!   refused delivery is sent again after 0.1 s, as Meta would retry it,
//!   unless the 30 s have passed. Per size: messages/s, p50/p99/max per
//!   delivery, refusals by status, PostgreSQL's deadlock count, processor
//!   time per message in wacrm, in PostgreSQL and in this process; that
//!   every message delivered was stored once; then the raw rate of plain
//!   PostgreSQL inserts of the same rows (every one planned) into a scratch
//!   table like `messages` (same columns, checks and indexes; no foreign
//!   keys, no row-level security, empty at the start), as the cluster's
//!   superuser over as many connections, a transaction per batch of the
//!   delivery's size: one INSERT per row and, for 100, also one multi-row
//!   INSERT; and wacrm's rate as a share of each. Then, for comparison, 100
//!   per delivery over a single connection (15 s), where no transaction
//!   waits for another's locks;
//! - outbound: 10,000 replies queued through the inbox
//!   (`POST /inbox/{id}/messages`, held back by a trigger until all are
//!   queued), then drained by the job worker through a fake Graph API:
//!   messages/s, Graph calls, processor time per message, what the worker's
//!   claim query costs with all of them due (`EXPLAIN ANALYZE`), duplicates
//!   (sends per our message id, which each send carries in
//!   `biz_opaque_callback_data`) and lost messages (any not ending `sent`);
//!   then 10,000 more with 10 % of Graph calls failing (HTTP 500 and
//!   429/130429 at random places in the sequence), retried after the send
//!   backoff (1 s, doubling, jittered);
//!
//! and the targets beside the figures: at least 5,000 messages/s with 100
//! per delivery and at least half the raw insert rate; no duplicate and none
//! lost.
//!
//! `cargo bench --bench whatsapp` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, the fake Graph API in this
//! process, loopback only; four to six minutes). wacrm's log is off unless
//! `RUST_LOG` is set; `WACRM_BENCH_KEEP=1` keeps the data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/fake_graph.rs"]
mod fake_graph;

use common::{
    KeepAlive, Rng, free_port, load_average, memory_mib, percentile_ms, sign_up, spawn_with, stop,
    thousands, wait_ready,
};
use fake_graph::{FakeGraph, SendFailure};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// Concurrent keep-alive connections (and database connections for the
/// raw inserts).
const CLIENTS: usize = 8;
/// Distinct customers writing in, per delivery size.
const CUSTOMERS: usize = 1_000;
/// Messages delivered one per delivery.
const SINGLE_MESSAGES: usize = 10_000;
/// Messages per batched delivery, and how many messages go that way.
const BATCH: usize = 100;
const BATCHED_MESSAGES: usize = 100_000;
/// Replies drained per outbound run.
const REPLIES: usize = 10_000;
/// One Graph call in this many fails in the second outbound run.
const FAIL_ONE_IN: usize = 10;
/// The longest an ingest run sends deliveries (one refused after it is not
/// sent again).
const INGEST_BUDGET: Duration = Duration::from_secs(30);
/// The same for the single-connection comparison.
const ALONE_BUDGET: Duration = Duration::from_secs(15);
/// How long a refused delivery waits before it is sent again.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// A delivery refused this often stops the benchmark.
const MAX_REFUSALS: usize = 50;
/// How often the drain is checked (a count of the jobs left, which costs
/// PostgreSQL a little).
const DRAIN_POLL: Duration = Duration::from_millis(200);
/// The longest an outbound run may take to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

const TARGET_RATE: f64 = 5_000.0;
const TARGET_SHARE: f64 = 0.5;

const OWNER_EMAIL: &str = "owner@bench.example";
const NUMBER_ID: &str = "106540352242922";
const WABA_ID: &str = "102290129340398";
const TOKEN: &str = "EAAGm0PX4ZCpsBAKbenchaccesstoken0123456789";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The database the app creates in its private cluster (`src/infra/db/mod.rs`).
const DATABASE: &str = "wacrm";
/// Graph settings handed to wacrm.
const GRAPH_TIMEOUT_SECS: &str = "10";
const SEND_CONFIRM_SECS: &str = "30";
/// The number's send rate: high enough that the drain measures the
/// pipeline, not the 80/s default limit.
const SEND_RATE: &str = "10000";

/// Space-separated: customers' first and last names, and the words their
/// messages are made of.
const FIRST: &str = "João Maria Ana Lucas Camila José Lucía Carlos Sofía James Emily Daniel \
    Budi Siti Putri Dimas Lukas Anna Lena Felix";
const LAST: &str = "Silva Santos Oliveira Souza García Martínez López Smith Johnson Brown \
    Santoso Wijaya Saputra Müller Schmidt Weber Costa Pereira Taylor Halim";
const WORDS: &str = "olá bom dia pedido quando chega obrigado hola gracias envío precio tienes \
    talla hi my order is late please can you check the tracking number thanks halo kak ready \
    stok ongkir berapa ya hallo meine bestellung ist noch nicht da danke invoice payment pix \
    boleto today tomorrow ok";

// ---------------------------------------------------------------------------
// What this benchmark draws from `common::Rng`.

impl Rng {
    /// A customer index skewed towards the first: a few write a lot.
    fn customer(&mut self, n: usize) -> usize {
        let u = self.unit();
        ((u * u * n as f64) as usize).min(n - 1)
    }

    /// 2 to 12 words of `words`.
    fn sentence(&mut self, words: &[&str]) -> String {
        let count = 2 + self.below(11);
        (0..count)
            .map(|_| *self.pick(words))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `application/x-www-form-urlencoded` value.
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Processor time, from /proc.

/// Processor seconds so far: wacrm, its PostgreSQL cluster (every server
/// process), this process (load generator and fake Graph API), and the
/// whole machine's busy time (all cores), with when it was read.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    app: f64,
    db: f64,
    load: f64,
    machine: f64,
    at: Instant,
}

/// Busy seconds of all cores since boot, from `/proc/stat`.
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: idle and iowait
    // are not busy.
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (total - idle) / 100.0
}

/// The share of the machine's processor time that other work took between
/// the readings (the main session's builds, say).
fn others(before: Cpu, after: Cpu) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let ours = (after.app - before.app) + (after.db - before.db) + (after.load - before.load);
    let available = (after.at - before.at).as_secs_f64() * cores;
    let other = (after.machine - before.machine - ours).max(0.0);
    format!(
        "other work on the machine took {:.0} % of its processor time, this run's processes {:.0} %",
        other / available * 100.0,
        ours / available * 100.0
    )
}

fn cpu(app_pid: u32, postmaster_pid: u32) -> Cpu {
    let (app, db, load) = common::process_seconds(app_pid, postmaster_pid);
    Cpu {
        app,
        db,
        load,
        machine: machine_busy(),
        at: Instant::now(),
    }
}

/// Processor time per item between two readings, in ms.
fn per_item(before: Cpu, after: Cpu, items: usize) -> (f64, f64, f64) {
    let per = |a: f64, b: f64| (b - a) * 1e3 / items as f64;
    (
        per(before.app, after.app),
        per(before.db, after.db),
        per(before.load, after.load),
    )
}

// ---------------------------------------------------------------------------
// Sending requests over keep-alive connections.

struct Sent {
    /// How many requests were sent (all of them unless the budget ran out).
    taken: usize,
    /// Those answered as expected (the others were refused after the budget
    /// ran out, and not sent again).
    answered: Vec<usize>,
    /// One per request answered as expected.
    latencies: Vec<Duration>,
    /// Statuses of refused attempts (each was sent again).
    refused: Vec<u16>,
    elapsed: Duration,
}

/// Every request once, from `clients` connections taking the next in turn,
/// until `budget` has passed; a request answered otherwise than `expected`
/// is sent again after a pause, unless the budget has passed.
async fn send_all(
    port: u16,
    requests: Arc<Vec<Vec<u8>>>,
    expected: u16,
    clients: usize,
    budget: Option<Duration>,
) -> Sent {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, requests) = (next.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut connection = KeepAlive::connect(port).await;
            let (mut answered, mut latencies, mut refused) = (Vec::new(), Vec::new(), Vec::new());
            loop {
                if budget.is_some_and(|b| started.elapsed() >= b) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                let mut refusals = 0;
                loop {
                    let sent = Instant::now();
                    let status = connection.request(request).await;
                    if status == expected {
                        latencies.push(sent.elapsed());
                        answered.push(i);
                        break;
                    }
                    refused.push(status);
                    if budget.is_some_and(|b| started.elapsed() >= b) {
                        break;
                    }
                    refusals += 1;
                    assert!(
                        refusals < MAX_REFUSALS,
                        "request {i} refused {refusals} times (last {status})"
                    );
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
            (answered, latencies, refused)
        }));
    }
    let (mut answered, mut latencies, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for task in tasks {
        let (a, l, r) = task.await.unwrap();
        answered.extend(a);
        latencies.extend(l);
        refused.extend(r);
    }
    Sent {
        taken: next.load(Ordering::Relaxed).min(requests.len()),
        answered,
        latencies,
        refused,
        elapsed: started.elapsed(),
    }
}

/// "none", or each refusing status with its count.
fn refusals(statuses: &[u16]) -> String {
    if statuses.is_empty() {
        return "none".to_owned();
    }
    let mut counts: Vec<(u16, usize)> = Vec::new();
    for s in statuses {
        match counts.iter_mut().find(|(status, _)| status == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((*s, 1)),
        }
    }
    counts.sort();
    counts
        .iter()
        .map(|(s, n)| format!("{} x {s}", thousands(*n as u64)))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------
// The running app as the scenarios reach it.

struct Bench {
    port: u16,
    pid: u32,
    postmaster: u32,
    /// The signed-in owner's session cookie and CSRF token.
    cookie: String,
    csrf: String,
    org: Uuid,
    channel: Uuid,
    /// The cluster's superuser, on the app's database.
    admin: PgPool,
    /// The cluster's log (deadlocks are reported there).
    pg_log: std::path::PathBuf,
    graph: FakeGraph,
}

impl Bench {
    fn cpu(&self) -> Cpu {
        cpu(self.pid, self.postmaster)
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(self.org)
            .fetch_one(&self.admin)
            .await
            .unwrap()
    }
}

// ---------------------------------------------------------------------------
// Ingest.

struct Customer {
    wa_id: String,
    name: String,
}

/// `n` customers with valid mobile numbers none of `taken` has.
fn customers(rng: &mut Rng, n: usize, taken: &mut HashSet<String>) -> Vec<Customer> {
    // (prefix, digits after it): Brazil, Mexico, Spain, US, UK, Indonesia, Germany.
    const NUMBERS: [(&str, u32); 9] = [
        ("55119", 8),
        ("55219", 8),
        ("52155", 8),
        ("346", 8),
        ("1415", 7),
        ("447700", 6),
        ("62812", 8),
        ("49151", 8),
        ("49176", 8),
    ];
    let first: Vec<&str> = FIRST.split_whitespace().collect();
    let last: Vec<&str> = LAST.split_whitespace().collect();
    let mut out = Vec::new();
    while out.len() < n {
        let (prefix, digits) = *rng.pick(&NUMBERS);
        let number = format!(
            "{prefix}{:0width$}",
            rng.next() % 10u64.pow(digits),
            width = digits as usize
        );
        if !taken.contains(&number)
            && wacrm::domain::PhoneE164::parse(&format!("+{number}"), None).is_ok()
        {
            taken.insert(number.clone());
            out.push(Customer {
                wa_id: number,
                name: format!("{} {}", rng.pick(&first), rng.pick(&last)),
            });
        }
    }
    out
}

/// The deliveries of one size, as raw HTTP requests signed with the app
/// secret (provider ids start with `prefix` and then count up), and the
/// rows wacrm stores for their messages, in the same order.
fn deliveries(
    rng: &mut Rng,
    bench: &Bench,
    customers: &[Customer],
    per_delivery: usize,
    total: usize,
    prefix: &str,
) -> (Vec<Vec<u8>>, Vec<Row>) {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let start = OffsetDateTime::now_utc().unix_timestamp() - 3_600;
    let mut requests = Vec::new();
    let mut rows = Vec::with_capacity(total);
    let mut conversations: HashMap<usize, Uuid> = HashMap::new();
    let mut i = 0;
    while i < total {
        let count = per_delivery.min(total - i);
        let mut profiles = Vec::new();
        let mut seen = HashSet::new();
        let mut messages = Vec::new();
        for _ in 0..count {
            let index = rng.customer(customers.len());
            let customer = &customers[index];
            if seen.insert(customer.wa_id.as_str()) {
                profiles.push(json!({"profile": {"name": customer.name}, "wa_id": customer.wa_id}));
            }
            let mut random = [0u8; 12];
            random[..8].copy_from_slice(&rng.next().to_le_bytes());
            random[8..].copy_from_slice(&rng.next().to_le_bytes()[..4]);
            let timestamp = start + (i as i64 * 3_000 / total as i64);
            let id = format!("{prefix}{i:07}{}", URL_SAFE_NO_PAD.encode(random));
            let text = rng.sentence(&words);
            messages.push(json!({
                "from": customer.wa_id,
                "id": id,
                "timestamp": timestamp.to_string(),
                "type": "text",
                "text": {"body": text},
            }));
            let conversation = *conversations.entry(index).or_insert_with(Uuid::now_v7);
            rows.push((
                bench.org,
                Uuid::now_v7(),
                conversation,
                bench.channel,
                "in".to_owned(),
                "text".to_owned(),
                text,
                "contact".to_owned(),
                Some(id),
                "received".to_owned(),
                OffsetDateTime::from_unix_timestamp(timestamp).unwrap(),
            ));
            i += 1;
        }
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER_ID},
                "contacts": profiles,
                "messages": messages,
            }}]}]
        })
        .to_string();
        let signature =
            wacrm::channels::cloud_api::signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
        let mut request = format!(
            "POST /webhooks/whatsapp/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\n\
             Content-Length: {}\r\n\r\n",
            bench.channel,
            bench.port,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body.as_bytes());
        requests.push(request);
    }
    (requests, rows)
}

/// A message row as wacrm stores it, for the raw inserts: org, id,
/// conversation, channel, direction, kind, body, sender kind, provider id,
/// status, time.
type Row = (
    Uuid,
    Uuid,
    Uuid,
    Uuid,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    OffsetDateTime,
);

const RAW_COLUMNS: &str = "org_id, id, conversation_id, channel_id, direction, kind, body, \
    sender_kind, provider_message_id, status, created_at";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawMode {
    /// One INSERT statement per row, a transaction per batch.
    PerRow,
    /// One multi-row INSERT per batch.
    MultiRow,
}

/// Inserts `rows` into a fresh scratch table like `messages` in batches of
/// `batch` over `CLIENTS` connections; the time it took and the processor
/// time per row.
async fn raw_inserts(
    bench: &Bench,
    rows: &Arc<Vec<Row>>,
    batch: usize,
    mode: RawMode,
) -> (Duration, (f64, f64, f64)) {
    sqlx::raw_sql(
        "drop table if exists bench_raw_messages; \
         create table bench_raw_messages (like messages including all)",
    )
    .execute(&bench.admin)
    .await
    .unwrap();
    let batches = rows.len().div_ceil(batch);
    let next = Arc::new(AtomicUsize::new(0));
    let mut connections = Vec::new();
    for _ in 0..CLIENTS {
        connections.push(bench.admin.acquire().await.unwrap());
    }
    let before = bench.cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut connection in connections {
        let (next, rows) = (next.clone(), rows.clone());
        tasks.push(tokio::spawn(async move {
            let one = format!(
                "insert into bench_raw_messages ({RAW_COLUMNS}) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            );
            let many = format!(
                "insert into bench_raw_messages ({RAW_COLUMNS}) \
                 select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], \
                 $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                 $11::timestamptz[])"
            );
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    break;
                }
                let chunk = &rows[b * batch..((b + 1) * batch).min(rows.len())];
                match mode {
                    RawMode::PerRow => {
                        let mut tx = connection.begin().await.unwrap();
                        for row in chunk {
                            sqlx::query(sqlx::AssertSqlSafe(one.as_str()))
                                .bind(row.0)
                                .bind(row.1)
                                .bind(row.2)
                                .bind(row.3)
                                .bind(&row.4)
                                .bind(&row.5)
                                .bind(&row.6)
                                .bind(&row.7)
                                .bind(&row.8)
                                .bind(&row.9)
                                .bind(row.10)
                                .execute(&mut *tx)
                                .await
                                .unwrap();
                        }
                        tx.commit().await.unwrap();
                    }
                    RawMode::MultiRow => {
                        let column = |f: fn(&Row) -> Uuid| chunk.iter().map(f).collect::<Vec<_>>();
                        let text = |f: fn(&Row) -> &str| {
                            chunk.iter().map(|r| f(r).to_owned()).collect::<Vec<_>>()
                        };
                        sqlx::query(sqlx::AssertSqlSafe(many.as_str()))
                            .bind(column(|r| r.0))
                            .bind(column(|r| r.1))
                            .bind(column(|r| r.2))
                            .bind(column(|r| r.3))
                            .bind(text(|r| &r.4))
                            .bind(text(|r| &r.5))
                            .bind(text(|r| &r.6))
                            .bind(text(|r| &r.7))
                            .bind(chunk.iter().map(|r| r.8.clone()).collect::<Vec<_>>())
                            .bind(text(|r| &r.9))
                            .bind(chunk.iter().map(|r| r.10).collect::<Vec<_>>())
                            .execute(&mut *connection)
                            .await
                            .unwrap();
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let after = bench.cpu();
    let stored: i64 = sqlx::query_scalar("select count(*) from bench_raw_messages")
        .fetch_one(&bench.admin)
        .await
        .unwrap();
    assert_eq!(stored as usize, rows.len(), "every raw row inserted");
    sqlx::query("drop table bench_raw_messages")
        .execute(&bench.admin)
        .await
        .unwrap();
    (elapsed, per_item(before, after, rows.len()))
}

struct Ingest {
    label: String,
    per_delivery: usize,
    /// Messages delivered (and answered 200).
    messages: usize,
    rate: f64,
    /// Raw rows/s: one INSERT per row, and (batched only) multi-row.
    raw_per_row: Option<f64>,
    raw_multi_row: Option<f64>,
    stored_once: bool,
}

/// One ingest run: the delivery size, how many messages at most, over how
/// many connections, for how long at most, and whether the raw inserts of
/// its rows are measured too.
struct IngestPlan {
    per_delivery: usize,
    messages: usize,
    clients: usize,
    budget: Duration,
    prefix: &'static str,
    raw: bool,
}

const INGEST_HEADER: &str = "  per delivery, connections   deliveries   messages  seconds    msg/s  p50 ms  p99 ms  max ms  refused (sent again)";

/// The statements PostgreSQL names in the deadlocks it logged after byte
/// `from` of its log, by their first words, most frequent first.
fn deadlocked_statements(bench: &Bench, from: u64) -> String {
    let log = std::fs::read(&bench.pg_log).unwrap_or_default();
    let log = String::from_utf8_lossy(log.get(from as usize..).unwrap_or_default());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in log.lines() {
        // "\tProcess 7201: insert into contacts (org_id, ..."
        let Some((head, statement)) = line.trim().split_once(": ") else {
            continue;
        };
        let is_process = head
            .strip_prefix("Process ")
            .is_some_and(|pid| pid.bytes().all(|b| b.is_ascii_digit()));
        if is_process {
            let words: Vec<&str> = statement.split_whitespace().take(4).collect();
            *counts.entry(words.join(" ")).or_default() += 1;
        }
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(s, n)| format!("{} x \"{s} ...\"", thousands(*n as u64)))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn deadlocks(bench: &Bench) -> i64 {
    // Statistics reach the view within a second of a transaction's end.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sqlx::query_scalar("select deadlocks from pg_stat_database where datname = current_database()")
        .fetch_one(&bench.admin)
        .await
        .unwrap()
}

async fn ingest(
    bench: &Bench,
    rng: &mut Rng,
    taken: &mut HashSet<String>,
    plan: &IngestPlan,
) -> Ingest {
    let IngestPlan {
        per_delivery,
        clients,
        prefix,
        ..
    } = *plan;
    let people = customers(rng, CUSTOMERS, taken);
    let (requests, rows) = deliveries(rng, bench, &people, per_delivery, plan.messages, prefix);
    let requests = Arc::new(requests);
    let contacts_before = bench
        .count("select count(*) from contacts where org_id = $1")
        .await;
    let conversations_before = bench
        .count("select count(*) from conversations where org_id = $1")
        .await;
    let deadlocks_before = deadlocks(bench).await;
    let log_before = std::fs::metadata(&bench.pg_log).map_or(0, |m| m.len());
    let before = bench.cpu();
    let mut sent = send_all(
        bench.port,
        requests.clone(),
        200,
        clients,
        Some(plan.budget),
    )
    .await;
    let after = bench.cpu();
    let deadlocked = deadlocks(bench).await - deadlocks_before;
    let size = |i: usize| per_delivery.min(plan.messages - i * per_delivery);
    let total: usize = sent.answered.iter().map(|&i| size(i)).sum();
    let bytes: usize = sent.answered.iter().map(|&i| requests[i].len()).sum();
    sent.latencies.sort();
    let rate = total as f64 / sent.elapsed.as_secs_f64();
    let label = format!("{per_delivery}, {clients}");
    println!(
        "  {label:>26} {:>12} {:>10} {:>8.2} {:>8.0} {:>7.2} {:>7.2} {:>7.2}  {}",
        thousands(sent.answered.len() as u64),
        thousands(total as u64),
        sent.elapsed.as_secs_f64(),
        rate,
        percentile_ms(&sent.latencies, 0.50),
        percentile_ms(&sent.latencies, 0.99),
        percentile_ms(&sent.latencies, 1.0),
        refusals(&sent.refused)
    );
    if sent.taken < requests.len() {
        println!(
            "    stopped after the {} s budget: {} of {} deliveries planned were sent, {} of them \
             refused after it and not sent again (Meta would, later)",
            plan.budget.as_secs(),
            thousands(sent.taken as u64),
            thousands(requests.len() as u64),
            thousands((sent.taken - sent.answered.len()) as u64)
        );
    }
    let (app, db, load) = per_item(before, after, total);
    println!(
        "    {:.1} KB per delivery; deadlocks in PostgreSQL: {}; processor time per message: \
         wacrm {app:.3} ms, PostgreSQL {db:.3} ms, load generator {load:.3} ms",
        bytes as f64 / sent.answered.len().max(1) as f64 / 1024.0,
        thousands(deadlocked as u64)
    );
    println!("    {}", others(before, after));
    if deadlocked > 0 {
        println!(
            "    statements in the deadlocks (PostgreSQL's log): {}",
            deadlocked_statements(bench, log_before)
        );
    }

    // Stored once each.
    let pattern = format!("{prefix}%");
    let (stored, distinct): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct provider_message_id) from messages \
         where org_id = $1 and channel_id = $2 and provider_message_id like $3",
    )
    .bind(bench.org)
    .bind(bench.channel)
    .bind(&pattern)
    .fetch_one(&bench.admin)
    .await
    .unwrap();
    let contacts = bench
        .count("select count(*) from contacts where org_id = $1")
        .await
        - contacts_before;
    let conversations = bench
        .count("select count(*) from conversations where org_id = $1")
        .await
        - conversations_before;
    let stored_once = stored == total as i64 && distinct == total as i64;
    println!(
        "    stored: {} messages ({} distinct provider ids) of {} delivered: {}; \
         {} contacts and {} conversations created, found for the other messages",
        thousands(stored as u64),
        thousands(distinct as u64),
        thousands(total as u64),
        if stored_once {
            "each once, ok"
        } else {
            "MISMATCH"
        },
        thousands(contacts as u64),
        thousands(conversations as u64),
    );

    // The same rows, every one planned (also those not sent in the budget),
    // inserted plainly.
    let rows = Arc::new(rows);
    let mut modes = Vec::new();
    if plan.raw {
        modes.push(RawMode::PerRow);
        if per_delivery > 1 {
            modes.push(RawMode::MultiRow);
        }
    }
    let mut raw_per_row = None;
    let mut raw_multi_row = None;
    for mode in modes {
        let (elapsed, (app, db, load)) = raw_inserts(bench, &rows, per_delivery, mode).await;
        let raw = rows.len() as f64 / elapsed.as_secs_f64();
        let how = match (mode, per_delivery) {
            (RawMode::PerRow, 1) => "1 INSERT per transaction".to_owned(),
            (RawMode::PerRow, n) => format!("{n} single-row INSERTs per transaction"),
            (RawMode::MultiRow, n) => format!("one {n}-row INSERT per transaction"),
        };
        let _ = app;
        println!(
            "    raw inserts of the {} planned rows, {how}: {:.2} s, {:.0} rows/s; \
             wacrm's rate is {:.1} % of it; processor time per row: PostgreSQL {db:.3} ms, \
             this process {load:.3} ms",
            thousands(rows.len() as u64),
            elapsed.as_secs_f64(),
            raw,
            rate / raw * 100.0
        );
        match mode {
            RawMode::PerRow => raw_per_row = Some(raw),
            RawMode::MultiRow => raw_multi_row = Some(raw),
        }
    }
    Ingest {
        label,
        per_delivery,
        messages: total,
        rate,
        raw_per_row,
        raw_multi_row,
        stored_once,
    }
}

// ---------------------------------------------------------------------------
// Outbound.

struct Outbound {
    label: &'static str,
    drained: Option<Duration>,
    rate: f64,
    duplicates: usize,
    lost: usize,
}

fn graph_sends(graph: &FakeGraph) -> usize {
    graph
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/messages"))
        .count()
}

/// `REPLIES` replies queued through the inbox and held back, then drained
/// through the fake Graph API (failing one call in `fail_one_in` if given).
async fn outbound(
    bench: &Bench,
    rng: &mut Rng,
    conversations: &[Uuid],
    run: u32,
    label: &'static str,
    fail_one_in: Option<usize>,
) -> Outbound {
    // Held back until every reply is queued, so that the drain is measured
    // alone (the worker would otherwise start with the first).
    sqlx::raw_sql(
        "create or replace function bench_hold_jobs() returns trigger language plpgsql as $$ \
         begin if new.queue = 'messages' then new.run_at := 'infinity'; end if; return new; end $$; \
         create trigger bench_hold_jobs before insert on jobs \
         for each row execute function bench_hold_jobs()",
    )
    .execute(&bench.admin)
    .await
    .unwrap();
    let marker = format!("Reply r{run}n");
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let requests: Vec<Vec<u8>> = (0..REPLIES)
        .map(|i| {
            let conversation = rng.pick(conversations);
            let body = format!(
                "text={}&csrf_token={}",
                form_encode(&format!("{marker}{i:05} {}", rng.sentence(&words))),
                bench.csrf
            );
            let mut request = format!(
                "POST /inbox/{conversation}/messages HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
                 Cookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\n\r\n",
                bench.port,
                bench.cookie,
                body.len()
            )
            .into_bytes();
            request.extend_from_slice(body.as_bytes());
            request
        })
        .collect();
    let queued = send_all(bench.port, Arc::new(requests), 303, CLIENTS, None).await;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from messages where org_id = $1 and direction = 'out' and body like $2",
    )
    .bind(bench.org)
    .bind(format!("{marker}%"))
    .fetch_all(&bench.admin)
    .await
    .unwrap();
    assert_eq!(ids.len(), REPLIES, "every reply queued once");

    if let Some(n) = fail_one_in {
        // Enough for every first try and the retries of those that fail.
        let script_calls = REPLIES + REPLIES / (n - 1);
        // A failure every n-th call on average, at random places; the other
        // calls answer at once (a zero delay is a plain success).
        let mut script = Vec::with_capacity(script_calls);
        let mut failures = 0;
        for _ in 0..script_calls {
            if rng.below(n) == 0 {
                failures += 1;
                script.push(if failures % 2 == 0 {
                    SendFailure::Http(500)
                } else {
                    SendFailure::Graph {
                        status: 429,
                        code: 130429,
                        message: "(#130429) Rate limit hit".into(),
                    }
                });
            } else {
                script.push(SendFailure::Delay(Duration::ZERO));
            }
        }
        bench.graph.script_send_failures(NUMBER_ID, script);
    }
    let calls_before = graph_sends(&bench.graph);
    let sent_before = bench.graph.sent().len();

    let before = bench.cpu();
    let started = Instant::now();
    sqlx::raw_sql(
        "drop trigger bench_hold_jobs on jobs; drop function bench_hold_jobs(); \
         update jobs set run_at = now() where queue = 'messages' and run_at = 'infinity'; \
         select pg_notify('wacrm_jobs', 'messages')",
    )
    .execute(&bench.admin)
    .await
    .unwrap();
    // What one claim of the worker costs with the whole run due.
    let explained: Vec<String> = sqlx::query_scalar(
        "explain (analyze, costs off) select id from jobs \
         where run_at <= now() and attempts < max_attempts \
           and (locked_until is null or locked_until < now()) \
         order by run_at, id limit 1 for update skip locked",
    )
    .fetch_all(&bench.admin)
    .await
    .unwrap();
    let mut drained = None;
    // When nine in ten, and 99 in 100, were done.
    let mut milestones: [Option<Duration>; 2] = [None, None];
    while started.elapsed() < DRAIN_LIMIT {
        let left: i64 = sqlx::query_scalar(
            "select count(*) from jobs where queue = 'messages' and attempts < max_attempts",
        )
        .fetch_one(&bench.admin)
        .await
        .unwrap();
        for (milestone, share) in milestones.iter_mut().zip([10, 100]) {
            if milestone.is_none() && left as usize <= REPLIES / share {
                *milestone = Some(started.elapsed());
            }
        }
        if left == 0 {
            drained = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let after = bench.cpu();
    let elapsed = drained.unwrap_or(started.elapsed());

    // Once each, none lost.
    let sent = bench.graph.sent();
    let calls = graph_sends(&bench.graph) - calls_before;
    let accepted = sent.len() - sent_before;
    let ours: HashSet<String> = ids.iter().map(Uuid::to_string).collect();
    let mut sends: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in &sent {
        if let Some(id) = s.body["biz_opaque_callback_data"].as_str()
            && ours.contains(id)
        {
            sends.entry(id).or_default().push(s.wamid.as_str());
        }
    }
    let duplicates: usize = sends.values().map(|w| w.len().saturating_sub(1)).sum();
    let never_sent = ours
        .iter()
        .filter(|id| !sends.contains_key(id.as_str()))
        .count();
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "select id, status, provider_message_id from messages where org_id = $1 and id = any($2)",
    )
    .bind(bench.org)
    .bind(&ids)
    .fetch_all(&bench.admin)
    .await
    .unwrap();
    let mut statuses: HashMap<&str, usize> = HashMap::new();
    let mut wrong_wamid = 0;
    for (id, status, wamid) in &rows {
        *statuses.entry(status.as_str()).or_default() += 1;
        let id = id.to_string();
        if status == "sent"
            && sends.get(id.as_str()).and_then(|w| w.first()).copied() != wamid.as_deref()
        {
            wrong_wamid += 1;
        }
    }
    let not_sent = REPLIES - statuses.get("sent").copied().unwrap_or(0);
    let lost = not_sent.max(never_sent);
    let mut status_list: Vec<String> = statuses
        .iter()
        .map(|(s, n)| format!("{} {s}", thousands(*n as u64)))
        .collect();
    status_list.sort();

    let rate = REPLIES as f64 / elapsed.as_secs_f64();
    let (app, db, load) = per_item(before, after, REPLIES);
    println!("  {label}:");
    println!(
        "    queued {} replies through the inbox in {:.2} s ({:.0}/s at {CLIENTS} connections; \
         refused: {}), held until all were queued",
        thousands(REPLIES as u64),
        queued.elapsed.as_secs_f64(),
        REPLIES as f64 / queued.elapsed.as_secs_f64(),
        refusals(&queued.refused)
    );
    match drained {
        Some(d) => println!(
            "    drained in {:.2} s (90 % after {:.1} s, 99 % after {:.1} s): {:.0} messages/s; \
             {} Graph calls, {} failed ({:.1} %), {} accepted",
            d.as_secs_f64(),
            milestones[0].unwrap_or(d).as_secs_f64(),
            milestones[1].unwrap_or(d).as_secs_f64(),
            rate,
            thousands(calls as u64),
            thousands((calls - accepted) as u64),
            (calls - accepted) as f64 * 100.0 / calls.max(1) as f64,
            thousands(accepted as u64)
        ),
        None => println!(
            "    NOT drained within {} s; {} Graph calls, {} accepted",
            DRAIN_LIMIT.as_secs(),
            thousands(calls as u64),
            thousands(accepted as u64)
        ),
    }
    println!(
        "    processor time per message: wacrm {app:.3} ms, PostgreSQL {db:.3} ms, \
         this process (fake Graph API, polling) {load:.3} ms"
    );
    println!("    {}", others(before, after));
    let nodes: Vec<String> = explained
        .iter()
        .filter_map(|l| {
            let node = l.trim().trim_start_matches("->").trim();
            let node = node.split(" (actual").next().unwrap_or(node);
            (!node.contains(':')).then(|| node.to_owned())
        })
        .collect();
    println!(
        "    the worker's claim query with all {} due: {} ({})",
        thousands(REPLIES as u64),
        explained
            .iter()
            .find_map(|l| l.trim().strip_prefix("Execution Time: "))
            .unwrap_or("?"),
        nodes.join(" > ")
    );
    println!(
        "    outcome: {}; duplicates {duplicates} {}; lost {lost} {} (never sent {never_sent}, \
         not ending sent {not_sent}); provider id differs from Graph's {wrong_wamid}",
        status_list.join(", "),
        if duplicates == 0 { "ok" } else { "MISSED" },
        if lost == 0 { "ok" } else { "MISSED" },
    );
    Outbound {
        label,
        drained,
        rate,
        duplicates,
        lost,
    }
}

// ---------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let keep = common::begin("whatsapp");

    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Bench Sales");
    let graph_url = graph.base_url();
    let dir = std::env::temp_dir().join(format!("wacrm-whatsapp-{}", std::process::id()));
    let data = dir.join("data");
    let port = free_port();
    let mut env = vec![
        ("WHATSAPP_GRAPH_URL", graph_url.as_str()),
        ("WHATSAPP_TIMEOUT_SECS", GRAPH_TIMEOUT_SECS),
        ("WHATSAPP_SEND_CONFIRM_SECS", SEND_CONFIRM_SECS),
        ("WHATSAPP_SEND_RATE", SEND_RATE),
    ];
    // Retried sends and refused deliveries are logged (errors, warnings):
    // the figures count them instead. `RUST_LOG` shows them.
    if std::env::var("RUST_LOG").is_err() {
        env.push(("RUST_LOG", "off"));
    }
    let server = spawn_with(&data, port, &env);
    wait_ready(port).await;

    let base = format!("http://127.0.0.1:{port}");
    let (client, jar) = common::browser_client(reqwest::Client::builder());
    sign_up(&client, &base, OWNER_EMAIL, "Bench Shop").await;
    let page = common::page(&client, &format!("{base}/settings/channels")).await;
    let csrf = common::csrf(&page);
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
    let location = connected.headers()["location"].to_str().unwrap().to_owned();
    let channel: Uuid = location
        .trim_start_matches("/settings/channels/")
        .parse()
        .unwrap();
    // The session's CSRF token after the redirect's flash, as a browser has it.
    let page = common::page(&client, &format!("{base}{location}")).await;
    let csrf = common::csrf(&page);
    let cookie = common::session_cookie(&jar, &base);

    let socket_dir = std::fs::canonicalize(data.join("postgres").join("run")).unwrap();
    let options = PgConnectOptions::new()
        .socket(&socket_dir)
        .port(5432)
        .username(wacrm::infra::embedded_pg::SUPERUSER)
        .database(DATABASE);
    let admin = PgPoolOptions::new()
        .max_connections(CLIENTS as u32 + 1)
        .connect_with(options.clone())
        .await
        .unwrap();
    let org: Uuid = sqlx::query_scalar(
        "select m.org_id from users u join memberships m on m.user_id = u.id \
         where lower(u.email) = $1",
    )
    .bind(OWNER_EMAIL)
    .fetch_one(&admin)
    .await
    .unwrap();
    let postmaster = common::postmaster_pid(&data);
    let bench = Bench {
        port,
        pid: server.id(),
        postmaster,
        cookie,
        csrf,
        org,
        channel,
        admin,
        pg_log: data.join("postgres/postgres.log"),
        graph,
    };
    // Settings in effect, as the cluster reports them.
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    let (sync_commit, fsync): (String, String) =
        sqlx::query_as("select current_setting('synchronous_commit'), current_setting('fsync')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    drop(conn);
    println!(
        "wacrm (release) on 127.0.0.1:{port}, its private PostgreSQL (synchronous_commit {sync_commit}, \
         fsync {fsync}), fake Graph API at {graph_url}; one number connected (channel {channel})"
    );

    let mut rng = Rng(0x0057_a7e5);
    let mut taken = HashSet::new();
    println!();
    println!(
        "=== ingest: signed deliveries to /webhooks/whatsapp/{{channel}}, {CLIENTS} keep-alive \
         connections, {} customers per size ===",
        thousands(CUSTOMERS as u64)
    );
    println!("{INGEST_HEADER}");
    let mut runs = Vec::new();
    for plan in [
        IngestPlan {
            per_delivery: 1,
            messages: SINGLE_MESSAGES,
            clients: CLIENTS,
            budget: INGEST_BUDGET,
            prefix: "wamid.HBgMS",
            raw: true,
        },
        IngestPlan {
            per_delivery: BATCH,
            messages: BATCHED_MESSAGES,
            clients: CLIENTS,
            budget: INGEST_BUDGET,
            prefix: "wamid.HBgMB",
            raw: true,
        },
        // For comparison: the same deliveries one at a time, where no two
        // transactions wait for each other's locks.
        IngestPlan {
            per_delivery: BATCH,
            messages: BATCHED_MESSAGES,
            clients: 1,
            budget: ALONE_BUDGET,
            prefix: "wamid.HBgMA",
            raw: false,
        },
    ] {
        runs.push(ingest(&bench, &mut rng, &mut taken, &plan).await);
    }

    println!();
    println!(
        "=== outbound: replies queued, then sent by the job worker through the fake Graph API \
         (WHATSAPP_TIMEOUT_SECS={GRAPH_TIMEOUT_SECS}, WHATSAPP_SEND_CONFIRM_SECS={SEND_CONFIRM_SECS}, WHATSAPP_SEND_RATE={SEND_RATE}) ==="
    );
    let conversations: Vec<Uuid> =
        sqlx::query_scalar("select id from conversations where org_id = $1 and channel_id = $2")
            .bind(bench.org)
            .bind(bench.channel)
            .fetch_all(&bench.admin)
            .await
            .unwrap();
    println!(
        "  to {} conversations at random",
        thousands(conversations.len() as u64)
    );
    let clean = outbound(
        &bench,
        &mut rng,
        &conversations,
        1,
        "Graph answering every call",
        None,
    )
    .await;
    let failing = outbound(
        &bench,
        &mut rng,
        &conversations,
        2,
        "Graph failing 1 call in 10 (HTTP 500, 429/130429)",
        Some(FAIL_ONE_IN),
    )
    .await;

    println!();
    println!("=== targets ===");
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    for run in &runs {
        let targeted = run.per_delivery == BATCH && run.raw_per_row.is_some();
        println!(
            "  ingest, {} (per delivery, connections), {} messages: {:.0} messages/s  {}; \
             stored once each: {}",
            run.label,
            thousands(run.messages as u64),
            run.rate,
            if targeted {
                format!(
                    "target >= {} msg/s {}",
                    thousands(TARGET_RATE as u64),
                    verdict(run.rate >= TARGET_RATE)
                )
            } else {
                "(no target)".to_owned()
            },
            verdict(run.stored_once)
        );
        let shares = [
            (run.raw_per_row, "single-row INSERTs"),
            (run.raw_multi_row, "-row INSERT"),
        ];
        for (raw, how) in shares {
            let Some(raw) = raw else { continue };
            let how = if how.starts_with('-') {
                format!("one {}{how}", run.per_delivery)
            } else {
                format!("{} {how}", run.per_delivery)
            };
            let share = run.rate / raw;
            println!(
                "    {:.0} % of the raw rate ({:.0} rows/s, {how} per transaction){}",
                share * 100.0,
                raw,
                if targeted {
                    format!("  target >= 50 % {}", verdict(share >= TARGET_SHARE))
                } else {
                    String::new()
                }
            );
        }
    }
    for run in [&clean, &failing] {
        println!(
            "  outbound, {}: {}; duplicates {} {}, lost {} {}",
            run.label,
            match run.drained {
                Some(d) => format!(
                    "{} messages in {:.1} s, {:.0}/s",
                    thousands(REPLIES as u64),
                    d.as_secs_f64(),
                    run.rate
                ),
                None => "not drained".to_owned(),
            },
            run.duplicates,
            verdict(run.duplicates == 0),
            run.lost,
            verdict(run.lost == 0 && run.drained.is_some()),
        );
    }
    println!(
        "wacrm memory: {:.0} MiB now, peak {:.0} MiB; machine load average (1 min) {} at the end \
         (other work on the machine skews the figures)",
        memory_mib(bench.pid, "VmRSS:"),
        memory_mib(bench.pid, "VmHWM:"),
        load_average()
    );
    let Bench { admin, .. } = bench;
    admin.close().await;
    stop(server);
    if keep {
        println!("kept data directory: {}", data.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("whole run: {:.0} s", started.elapsed().as_secs_f64());
}
