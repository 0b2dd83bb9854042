//! Export benchmark: the whole-workspace export of a large workspace, and
//! whether wacrm's memory stays flat while it is built. It prints
//!
//! - seeding: the workspace written straight into the database as the
//!   cluster's superuser (`insert … select generate_series`): contacts with
//!   attributes, companies, labels on contacts and conversations, attribute
//!   definitions, conversations, messages (100–300 characters, some with
//!   commas, quotes, newlines and non-ASCII text; some carry a file), notes,
//!   and media rows, most of them files in the media store (20–200 KB),
//!   some kept inline in the database; the secondary indexes of the large
//!   tables are built again after the load, then `VACUUM (ANALYZE)`;
//! - the export: from the owner's `POST /settings/exports` until its row in
//!   `data_exports` says done, polled every 200 ms with wacrm's resident
//!   memory (`VmRSS`) sampled each time; progress now and then; rows,
//!   archive size, seconds, rows/s and MB/s; how long the rows took and
//!   how long packing the archive took after them; the most the exports
//!   folder held on disk meanwhile; processor time of wacrm and of
//!   PostgreSQL; RSS before, at most during, after, and the kernel's
//!   high-water mark (`VmHWM`), and RSS growth against the archive's size;
//!   the export's own statements PostgreSQL logged as taking over 200 ms;
//! - checks, each a `PASS` or `FAIL` line (any `FAIL`: exit status 1): the
//!   archive downloaded over HTTP (streamed to disk) has the size and
//!   SHA-256 recorded on the export; the system `tar` extracts it;
//!   `sha256sum -c SHA256SUMS` passes inside; the manifest's rows per table
//!   equal the database's; `messages.jsonl` has exactly the seeded number
//!   of lines and `messages.csv` as many records; every media file is there.
//!
//! Sizes (environment, defaults in brackets): `EXPORT_BENCH_CONTACTS`
//! (100,000), `EXPORT_BENCH_COMPANIES` (1,000), `EXPORT_BENCH_LABELS` (20),
//! `EXPORT_BENCH_CONVERSATIONS` (100,000), `EXPORT_BENCH_MESSAGES`
//! (1,000,000), `EXPORT_BENCH_NOTES` (20,000), `EXPORT_BENCH_MEDIA` (2,000
//! rows, one in ten inline, 2–20 KB; the rest files, about 200 MB in all).
//! `EXPORT_BENCH_SIZES=200000,1000000` runs once per message count, each on
//! a fresh instance, with contacts, conversations and notes scaled in
//! proportion (companies, labels and media stay), then compares the runs'
//! memory: the clearest sign that it does not grow with the workspace.
//!
//! `cargo bench --bench export` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, loopback only; about four
//! minutes on 2 cores at the default size, two of them seeding, five for
//! `EXPORT_BENCH_SIZES=200000,1000000`; about 4 GB of disk meanwhile). wacrm's log is off unless `RUST_LOG` is set;
//! `WACRM_BENCH_KEEP=1` keeps the data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    Rng, free_port, load_average, memory_mib, sign_up, spawn_with, stop, thousands, wait_ready,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

const OWNER_EMAIL: &str = "owner@export-bench.test";
/// How often the export's row and wacrm's memory are read.
const POLL: Duration = Duration::from_millis(200);
/// How often a progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);
/// The longest an export may take before the bench gives up.
const RUN_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Statements slower than this are logged by PostgreSQL and listed.
const SLOW_MS: u32 = 200;
/// Tables the export takes whose rows are created here.
const TABLES: &[&str] = &[
    "contacts",
    "companies",
    "labels",
    "contact_labels",
    "attribute_definitions",
    "conversations",
    "conversation_labels",
    "messages",
    "notes",
    "scheduled_messages",
    "campaign_recipients",
    "media",
];

/// Pieces message and note bodies are made of, picked at random: two to
/// four of them make a body of 100–300 characters (a set this small
/// compresses better than real chats do).
const PHRASES: &[&str] = &[
    "Hi! Is the blue jacket still available in size M, or only in L?",
    "We open at 9:00, Monday to Saturday, and close at 18:00 on weekdays.",
    "Sure, I'll send the invoice by email, it should arrive today.",
    "The \"express\" option costs $12.90 and is delivered in 2 days.",
    "Could you check order #48213? It says \"shipped\" but nothing came.",
    "Obrigado! A entrega chegou, tudo certo com o pedido e a nota fiscal.",
    "Gracias, ¿pueden cambiar la dirección de envío antes del viernes?",
    "Address: 221B Baker Street, London, NW1 6XE, ring twice please.",
    "First line of the address\nSecond line, flat 3, back door",
    "Yes, we accept card, cash, Pix, and bank transfer for any order.",
    "Sorry for the delay; our team is back on Monday morning.",
    "Can I pay in 3 instalments, or only upfront with a discount?",
    "Here is the tracking code: BR123456789XX, use it on the site.",
    "Price list:\n- small: 10,00\n- medium: 14,50\n- large: 18,00",
    "I'd like to book a table for four, 8 pm, Friday, by the window.",
    "Your appointment is confirmed 👍 see you at 14:30 on Thursday.",
    "The product arrived broken; can you replace it or refund me?",
    "Vielen Dank für Ihre Nachricht, wir melden uns so bald wie möglich.",
    "No problem, we've refunded the 25,00 € to your card, 3–5 days.",
    "Please send a photo of the label, front and back, so we can check.",
    "Is there parking nearby, or should I take the bus from the centre?",
    "He said \"call me later\", so I'll wait until five and try again.",
    "Our new collection is out; 10% off this week only, in all stores!",
    "=SUM(A1:A3) is what the spreadsheet shows, is that a problem?",
];

/// How large a workspace to seed.
#[derive(Debug, Clone, Copy)]
struct Scale {
    contacts: i32,
    companies: i32,
    labels: i32,
    conversations: i32,
    messages: i32,
    notes: i32,
    media: i32,
}

fn env_count(name: &str, default: i32, least: i32) -> i32 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.replace(['_', ','], "")
                .parse()
                .unwrap_or_else(|_| panic!("{name} is a number"))
        })
        .unwrap_or(default)
        .max(least)
}

impl Scale {
    fn from_env() -> Scale {
        Scale {
            contacts: env_count("EXPORT_BENCH_CONTACTS", 100_000, 1),
            companies: env_count("EXPORT_BENCH_COMPANIES", 1_000, 1),
            labels: env_count("EXPORT_BENCH_LABELS", 20, 2),
            conversations: env_count("EXPORT_BENCH_CONVERSATIONS", 100_000, 1),
            messages: env_count("EXPORT_BENCH_MESSAGES", 1_000_000, 1),
            notes: env_count("EXPORT_BENCH_NOTES", 20_000, 0),
            media: env_count("EXPORT_BENCH_MEDIA", 2_000, 0),
        }
    }

    /// This scale with `messages` messages, and contacts, conversations and
    /// notes in proportion.
    fn with_messages(self, messages: i32) -> Scale {
        let factor = f64::from(messages) / f64::from(self.messages);
        let scaled = |n: i32| ((f64::from(n) * factor).round() as i32).max(1);
        Scale {
            contacts: scaled(self.contacts),
            conversations: scaled(self.conversations),
            messages,
            notes: scaled(self.notes),
            ..self
        }
    }

    fn describe(&self) -> String {
        let n = |v: i32| thousands(v as u64);
        format!(
            "{} contacts, {} companies, {} labels, {} conversations, {} messages, {} notes, {} media",
            n(self.contacts),
            n(self.companies),
            n(self.labels),
            n(self.conversations),
            n(self.messages),
            n(self.notes),
            n(self.media)
        )
    }
}

/// What the seeding statements refer to: `$1` the workspace, `$2` its
/// sandbox channel, `$3` its owner, `$4` [`PHRASES`]; numbers from `$5` on.
struct Workspace {
    org: Uuid,
    channel: Uuid,
    owner: Uuid,
}

impl Workspace {
    /// Runs one seeding statement with these numbers as `$5`, `$6`, …; how
    /// many rows it wrote.
    async fn insert(&self, conn: &mut PgConnection, sql: &'static str, numbers: &[i32]) -> u64 {
        let mut query = sqlx::query(sql)
            .bind(self.org)
            .bind(self.channel)
            .bind(self.owner)
            .bind(PHRASES);
        for n in numbers {
            query = query.bind(n);
        }
        query.execute(conn).await.unwrap().rows_affected()
    }
}

/// The secondary indexes of the large tables: dropped before the load and
/// built again after it (much faster than keeping them up to date row by
/// row). Name and definition.
async fn secondary_indexes(conn: &mut PgConnection) -> Vec<(String, String)> {
    sqlx::query_as(
        "select i.indexname::text, i.indexdef from pg_indexes i \
         where i.schemaname = current_schema() \
           and i.tablename in ('messages', 'contacts', 'conversations', 'notes', 'contact_labels') \
           and not exists (select 1 from pg_constraint c \
                           where c.conindid = (quote_ident(i.indexname))::regclass)",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// The media rows and their files: one in ten kept inline in the database
/// (2–20 KB), the rest as files in the media store (20–200 KB). Bytes
/// written.
async fn seed_media(conn: &mut PgConnection, data: &Path, org: Uuid, count: i32) -> u64 {
    let mut rng = Rng(0x0e58_0127);
    let mut written = 0;
    let mut tx = conn.begin().await.unwrap();
    for i in 1..=count {
        let inline = i % 10 == 0;
        let size = if inline {
            2_000 + rng.below(18_001)
        } else {
            20_000 + rng.below(180_001)
        };
        let mut bytes = Vec::with_capacity(size + 8);
        while bytes.len() < size {
            bytes.extend_from_slice(&rng.next().to_le_bytes());
        }
        bytes.truncate(size);
        written += size as u64;
        let (content_type, filename) = if i % 3 == 0 {
            ("application/pdf", format!("Fatura março {i}.pdf"))
        } else {
            ("image/jpeg", format!("IMG_{i:05}.jpg"))
        };
        let (inline_bytes, sha256) = if inline {
            (Some(bytes), None)
        } else {
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let dir = data.join("media").join(&sha256[0..2]).join(&sha256[2..4]);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(&sha256), &bytes).unwrap();
            (None, Some(sha256))
        };
        sqlx::query(
            "insert into media (org_id, id, content_type, filename, bytes, sha256, size, created_at) \
             values ($1, md5('media' || $2)::uuid, $3, $4, $5, $6, $7, \
                     timestamptz '2025-01-01 00:00:00+00' + make_interval(secs => $2 * 600))",
        )
        .bind(org)
        .bind(i)
        .bind(content_type)
        .bind(filename)
        .bind(inline_bytes)
        .bind(sha256)
        .bind(size as i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    written
}

/// Seeds the workspace; each table's rows in it afterwards.
async fn seed(
    conn: &mut PgConnection,
    data: &Path,
    scale: &Scale,
    org: Uuid,
) -> BTreeMap<&'static str, i64> {
    let owner: Uuid = sqlx::query_scalar(
        "select u.id from users u join memberships m on m.user_id = u.id \
         where m.org_id = $1 and lower(u.email) = $2",
    )
    .bind(org)
    .bind(OWNER_EMAIL)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "insert into channels (org_id, id, kind, name) values ($1, gen_random_uuid(), 'sandbox', 'Sandbox') \
         on conflict (org_id) where kind = 'sandbox' do nothing",
    )
    .bind(org)
    .execute(&mut *conn)
    .await
    .unwrap();
    let channel: Uuid =
        sqlx::query_scalar("select id from channels where org_id = $1 and kind = 'sandbox'")
            .bind(org)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    let workspace = Workspace {
        org,
        channel,
        owner,
    };
    for setting in [
        "set maintenance_work_mem = '512MB'",
        "set synchronous_commit = off",
    ] {
        sqlx::query(setting).execute(&mut *conn).await.unwrap();
    }
    let indexes = secondary_indexes(conn).await;
    for (name, _) in &indexes {
        sqlx::query(sqlx::AssertSqlSafe(format!("drop index \"{name}\"")))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let step = |what: &str, rows: u64, started: Instant| {
        println!(
            "  {what:<22} {:>11} rows in {:>5.1} s",
            thousands(rows),
            started.elapsed().as_secs_f64()
        );
    };

    let started = Instant::now();
    let rows = workspace.insert(
        conn,
        "insert into companies (org_id, id, name, domain, address, attributes, created_at, updated_at) \
         select $1, md5('company' || n)::uuid, \
                'Company ' || n || case when n % 10 = 0 then ', Ltd.' else '' end, \
                'company' || n || '.example', \
                n || ' Market Street, Suite ' || (10 + n % 90) || E'\\nSpringfield', \
                jsonb_build_object('industry', (array['Retail', 'Food', 'Travel', 'Health', 'Software'])[1 + n % 5], \
                                   'employees', 5 + n % 500), \
                timestamptz '2024-06-01 00:00:00+00' + make_interval(secs => n * 60), \
                timestamptz '2024-06-01 00:00:00+00' + make_interval(secs => n * 60) \
         from generate_series(1, $5) as n",
        &[scale.companies],
    )
    .await;
    step("companies", rows, started);

    let started = Instant::now();
    let rows = workspace.insert(
        conn,
        "insert into attribute_definitions (org_id, id, entity, key, label, kind, options, position) \
         select $1, gen_random_uuid(), entity, key, label, kind, options, position \
         from (values ('contact', 'plan', 'Plan', 'select', array['Free', 'Pro', 'Gold'], 0), \
                      ('contact', 'city', 'City', 'text', '{}'::text[], 1), \
                      ('contact', 'score', 'Score', 'number', '{}'::text[], 2), \
                      ('contact', 'vip', 'VIP', 'checkbox', '{}'::text[], 3), \
                      ('contact', 'renewal', 'Renewal', 'date', '{}'::text[], 4), \
                      ('company', 'industry', 'Industry', 'text', '{}'::text[], 0)) \
              as d(entity, key, label, kind, options, position)",
        &[],
    )
    .await;
    step("attribute definitions", rows, started);

    let started = Instant::now();
    let rows = workspace.insert(
        conn,
        "insert into contacts (org_id, id, name, phone, email, company_id, attributes, opted_out, \
                               created_at, updated_at) \
         select $1, md5('contact' || n)::uuid, \
                case when n % 50 = 0 then 'Lima, Ana \"' || n || '\"' \
                     else (array['Ana', 'Bruno', 'Carla', 'Diego', 'Elena', 'Fábio', 'Giulia', 'Hiro'])[1 + n % 8] \
                          || ' ' || (array['Silva', 'Souza', 'Costa', 'Müller', 'Smith', 'García', 'Rossi', \
                                            'Tanaka', 'Nguyen', 'Okafor'])[1 + (n / 8) % 10] end, \
                '+1650' || lpad(n::text, 7, '0'), \
                case when n % 3 = 0 then 'customer' || n || '@example.com' end, \
                case when n % 4 <> 0 then md5('company' || (1 + n % $6))::uuid end, \
                jsonb_build_object('plan', (array['Free', 'Pro', 'Gold'])[1 + n % 3], \
                                   'city', (array['São Paulo', 'Lisbon', 'Berlin', 'Austin', 'Osaka'])[1 + n % 5], \
                                   'score', n % 100, 'vip', n % 7 = 0, \
                                   'renewal', to_char(date '2026-01-01' + n % 365, 'YYYY-MM-DD')), \
                n % 100 = 0, \
                timestamptz '2024-07-01 00:00:00+00' + make_interval(secs => n * 60), \
                timestamptz '2024-07-01 00:00:00+00' + make_interval(secs => n * 60) \
         from generate_series(1, $5) as n",
        &[scale.contacts, scale.companies],
    )
    .await;
    step("contacts", rows, started);

    let started = Instant::now();
    let mut rows = workspace
        .insert(
            conn,
            "insert into labels (org_id, id, name, color, created_at) \
         select $1, md5('label' || n)::uuid, 'Label ' || n, \
                '#' || lpad(to_hex((n::bigint * 2654435) % 16777216), 6, '0'), \
                timestamptz '2024-06-01 00:00:00+00' + make_interval(secs => n) \
         from generate_series(1, $5) as n",
            &[scale.labels],
        )
        .await;
    // Two in three contacts have a label, one in five a second one.
    rows += workspace
        .insert(
            conn,
            "insert into contact_labels (org_id, contact_id, label_id) \
         select $1, md5('contact' || n)::uuid, md5('label' || (1 + (n + k) % $6))::uuid \
         from generate_series(1, $5) as n, (values (0), (1)) as t(k) \
         where (k = 0 and n % 3 <> 0) or (k = 1 and n % 5 = 0)",
            &[scale.contacts, scale.labels],
        )
        .await;
    step("labels (+ on contacts)", rows, started);

    let started = Instant::now();
    // One a contact (more than one: the older ones resolved).
    let mut rows = workspace.insert(
        conn,
        "insert into conversations (org_id, id, channel_id, contact_id, status, priority, assignee_id, \
                                    last_message_at, last_inbound_at, last_message_preview, \
                                    inbound_count, created_at) \
         select $1, md5('conversation' || n)::uuid, $2, md5('contact' || (1 + (n - 1) % $6))::uuid, \
                case when n > $6 then 'resolved' \
                     else (array['open', 'pending', 'resolved', 'resolved'])[1 + n % 4] end, \
                (array['none', 'none', 'low', 'medium', 'high', 'urgent'])[1 + n % 6], \
                case when n % 3 = 0 then $3 end, \
                timestamptz '2025-12-01 00:00:00+00' + make_interval(secs => n), \
                timestamptz '2025-12-01 00:00:00+00' + make_interval(secs => n), \
                'Thanks, see you tomorrow', 5, \
                timestamptz '2025-01-01 00:00:00+00' + make_interval(secs => n * 30) \
         from generate_series(1, $5) as n",
        &[scale.conversations, scale.contacts],
    )
    .await;
    rows += workspace
        .insert(
            conn,
            "insert into conversation_labels (org_id, conversation_id, label_id) \
         select $1, md5('conversation' || n)::uuid, md5('label' || (1 + n % $6))::uuid \
         from generate_series(1, $5) as n where n % 4 = 0",
            &[scale.conversations, scale.labels],
        )
        .await;
    step("conversations (+ labels)", rows, started);

    let started = Instant::now();
    let bytes = seed_media(conn, data, org, scale.media).await;
    println!(
        "  {:<22} {:>11} rows in {:>5.1} s ({:.0} MB, nine in ten as files)",
        "media",
        thousands(scale.media as u64),
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );

    // In time order over a year, spread across the conversations; every
    // `stride`-th carries one of the media files.
    let stride = (scale.messages / scale.media.max(1)).max(1);
    let started = Instant::now();
    let rows = workspace.insert(
        conn,
        "insert into messages (org_id, id, conversation_id, channel_id, direction, kind, body, media, \
                               sender_kind, sender_user_id, provider_message_id, status, created_at) \
         select $1, md5('message' || n)::uuid, md5('conversation' || (1 + n % $6))::uuid, $2, \
                case when n % 2 = 0 then 'in' else 'out' end, \
                case when m is null then 'text' when m % 3 = 0 then 'document' else 'image' end, \
                p[1 + abs(hashint4(n * 8) % cardinality(p))] || ' ' || p[1 + abs(hashint4(n * 8 + 1) % cardinality(p))] \
                || case when n % 4 >= 1 then ' ' || p[1 + abs(hashint4(n * 8 + 2) % cardinality(p))] else '' end \
                || case when n % 4 >= 2 then ' ' || p[1 + abs(hashint4(n * 8 + 3) % cardinality(p))] else '' end \
                || case when n % 5 = 0 then ' (ref ' || n || ')' else '' end, \
                case when m is not null then jsonb_build_object( \
                    'url', '/media/' || md5('media' || m)::uuid, \
                    'mime_type', case when m % 3 = 0 then 'application/pdf' else 'image/jpeg' end, \
                    'filename', case when m % 3 = 0 then 'Fatura março ' || m || '.pdf' \
                                     else 'IMG_' || lpad(m::text, 5, '0') || '.jpg' end) end, \
                case when n % 2 = 0 then 'contact' else 'member' end, \
                case when n % 2 = 1 then $3 end, \
                'wamid.bench' || n, \
                case when n % 2 = 0 then 'received' \
                     else (array['sent', 'delivered', 'read'])[1 + n % 3] end, \
                timestamptz '2025-01-02 00:00:00+00' + make_interval(secs => n * (31536000.0 / $5)) \
         from generate_series(1, $5) as n \
         cross join lateral (select case when n % $7 = 0 and n / $7 <= $8 then n / $7 end as m) as file \
         cross join (select $4::text[] as p) as phrases",
        &[scale.messages, scale.conversations, stride, scale.media],
    )
    .await;
    step("messages", rows, started);

    let started = Instant::now();
    let rows = workspace.insert(
        conn,
        "insert into notes (org_id, id, contact_id, company_id, author_id, body, created_at) \
         select $1, md5('note' || n)::uuid, \
                case when n % 10 <> 0 then md5('contact' || (1 + n % $6))::uuid end, \
                case when n % 10 = 0 then md5('company' || (1 + n % $7))::uuid end, \
                $3, p[1 + abs(hashint4(n * 8) % cardinality(p))] || ' ' || p[1 + abs(hashint4(n * 8 + 1) % cardinality(p))], \
                timestamptz '2025-01-01 00:00:00+00' + make_interval(secs => n * 600) \
         from generate_series(1, $5) as n, (select $4::text[] as p) as phrases",
        &[scale.notes, scale.contacts, scale.companies],
    )
    .await;
    step("notes", rows, started);

    let started = Instant::now();
    for (_, definition) in &indexes {
        sqlx::query(sqlx::AssertSqlSafe(definition.clone()))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    println!(
        "  {} secondary indexes built again in {:.1} s",
        indexes.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    sqlx::query("vacuum (analyze)")
        .execute(&mut *conn)
        .await
        .unwrap();
    println!(
        "  vacuum (analyze) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut counts = BTreeMap::new();
    for table in TABLES {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where org_id = $1"
        )))
        .bind(org)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        counts.insert(*table, count);
    }
    counts
}

/// wacrm's memory while something runs, sampled by the caller.
#[derive(Debug, Clone, Copy)]
struct Memory {
    pid: u32,
    before: f64,
    max: f64,
}

impl Memory {
    fn start(pid: u32) -> Memory {
        let before = memory_mib(pid, "VmRSS:");
        Memory {
            pid,
            before,
            max: before,
        }
    }

    fn sample(&mut self) -> f64 {
        let now = memory_mib(self.pid, "VmRSS:");
        self.max = self.max.max(now);
        now
    }
}

/// What one run measured, for the comparison of sizes.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    scale: Scale,
    rows: i64,
    archive_bytes: u64,
    seconds: f64,
    rss_before: f64,
    rss_max: f64,
    rss_after: f64,
    high_water: f64,
    failures: usize,
}

/// Prints a check's outcome; whether it passed.
fn check(passed: bool, what: &str) -> bool {
    println!("{} {what}", if passed { "PASS" } else { "FAIL" });
    passed
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Streams the archive to `path`; its size and SHA-256, and the most
/// memory wacrm used meanwhile.
async fn download(
    client: &reqwest::Client,
    url: &str,
    path: &Path,
    pid: u32,
) -> (u64, String, f64) {
    let mut response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "the download");
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(path).await.unwrap());
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut memory = Memory::start(pid);
    let mut sampled = Instant::now();
    while let Some(chunk) = response.chunk().await.unwrap() {
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await.unwrap();
        if sampled.elapsed() >= POLL {
            memory.sample();
            sampled = Instant::now();
        }
    }
    file.flush().await.unwrap();
    (size, hex::encode(hasher.finalize()), memory.max)
}

/// Bytes in the files under `dir` (none if it is not there).
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => folder_bytes(&entry.path()),
            _ => entry.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Lines in a file, read in pieces.
fn count_lines(path: &Path) -> u64 {
    let mut reader = std::fs::File::open(path).unwrap();
    let mut buffer = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = reader.read(&mut buffer).unwrap();
        if n == 0 {
            return lines;
        }
        lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Records in a CSV file after its header.
fn count_csv_records(path: &Path) -> u64 {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let mut record = csv::ByteRecord::new();
    let mut records = 0;
    while reader.read_byte_record(&mut record).unwrap() {
        records += 1;
    }
    records
}

/// The export's row: state, rows done and in all, size and SHA-256.
type ExportRow = (String, i64, i64, Option<i64>, Option<String>);

async fn export_row(admin: &PgPool, id: Uuid) -> ExportRow {
    sqlx::query_as(
        "select state, rows_done, rows_total, size_bytes, sha256 from data_exports where id = $1",
    )
    .bind(id)
    .fetch_one(admin)
    .await
    .unwrap()
}

/// One whole run at `scale` on a fresh instance.
async fn run(scale: Scale, keep: bool) -> Outcome {
    println!("workspace: {}", scale.describe());
    let dir = std::env::temp_dir().join(format!(
        "wacrm-export-{}-{}",
        std::process::id(),
        scale.messages
    ));
    let data = dir.join("data");
    let port = free_port();
    let mut env = vec![];
    if std::env::var("RUST_LOG").is_err() {
        env.push(("RUST_LOG", "off"));
    }
    let server = spawn_with(&data, port, &env);
    let pid = server.id();
    wait_ready(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let (client, _jar) = common::browser_client(reqwest::Client::builder());
    sign_up(&client, &base, OWNER_EMAIL, "Export Bench Shop").await;

    let admin = common::admin_pool(&data, 2).await;
    let org: Uuid = sqlx::query_scalar("select id from organizations")
        .fetch_one(&admin)
        .await
        .unwrap();
    println!("seeding (as the superuser, straight into the tables):");
    let seeding = Instant::now();
    let mut conn = PgConnection::connect_with(&common::superuser_options(&data))
        .await
        .unwrap();
    let expected = seed(&mut conn, &data, &scale, org).await;
    conn.close().await.unwrap();
    let table_mb: f64 = sqlx::query_scalar(
        "select sum(pg_total_relation_size(c.oid))::float8 / 1e6 from pg_class c \
         where c.relkind = 'r' and c.relnamespace = current_schema()::regnamespace",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    println!(
        "seeded in {:.0} s; the database's tables with their indexes take {table_mb:.0} MB",
        seeding.elapsed().as_secs_f64()
    );
    common::log_statements_over(&admin, SLOW_MS).await;

    // The owner asks for the export, as on the page.
    let page = common::page(&client, &format!("{base}/settings/exports")).await;
    let csrf = common::csrf(&page);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let postmaster = common::postmaster_pid(&data);
    let cpu_before = common::process_seconds(pid, postmaster);
    let high_water_before = memory_mib(pid, "VmHWM:");
    let mut memory = Memory::start(pid);
    let requested = Instant::now();
    let response = common::submit(&client, &format!("{base}/settings/exports"), &csrf, &[]).await;
    assert_eq!(response.status(), 303, "asking for the export");
    let export: Uuid = sqlx::query_scalar(
        "select id from data_exports where org_id = $1 order by created_at desc limit 1",
    )
    .bind(org)
    .fetch_one(&admin)
    .await
    .unwrap();
    println!(
        "export: requested; wacrm RSS {:.1} MiB (high-water mark so far {high_water_before:.1} MiB)",
        memory.before
    );
    let mut printed = Instant::now();
    let mut last_state = String::new();
    let exports_folder = data.join("exports");
    let mut disk_max = 0;
    // When every row was written (the files are packed after that).
    let mut rows_written_at = None;
    let row = loop {
        let rss = memory.sample();
        disk_max = disk_max.max(folder_bytes(&exports_folder));
        let row = export_row(&admin, export).await;
        let (state, done, total, _, _) = &row;
        if state == "done" || state == "failed" {
            break row;
        }
        if state == "running" && *total > 0 && done >= total && rows_written_at.is_none() {
            rows_written_at = Some(requested.elapsed().as_secs_f64());
        }
        if *state != last_state || printed.elapsed() >= PROGRESS_EVERY {
            println!(
                "  … {:>4.0} s  {state:<7} {:>11} of {} rows  RSS {rss:.1} MiB (max {:.1})",
                requested.elapsed().as_secs_f64(),
                thousands(*done as u64),
                thousands(*total as u64),
                memory.max
            );
            last_state.clone_from(state);
            printed = Instant::now();
        }
        assert!(requested.elapsed() < RUN_LIMIT, "the export never finished");
        tokio::time::sleep(POLL).await;
    };
    let seconds = requested.elapsed().as_secs_f64();
    let cpu_after = common::process_seconds(pid, postmaster);
    memory.sample();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = memory_mib(pid, "VmRSS:");
    let high_water = memory_mib(pid, "VmHWM:");
    let (state, _, rows, size_bytes, sha256) = row;
    let mut passed = vec![check(state == "done", &format!("the export ended {state}"))];
    let archive_bytes = size_bytes.unwrap_or(0) as u64;
    println!(
        "export: {} rows, archive {:.1} MB, done {seconds:.1} s after the request: \
         {:.0} rows/s, {:.1} MB/s of archive",
        thousands(rows as u64),
        mb(archive_bytes),
        rows as f64 / seconds,
        mb(archive_bytes) / seconds
    );
    if let Some(at) = rows_written_at {
        println!(
            "phases: every row written to the work folder {at:.1} s after the request, then \
             {:.1} s packing the archive (the progress shows all rows done meanwhile)",
            seconds - at
        );
    }
    println!(
        "disk: the exports folder held {:.1} MB at most during the export (work files and the \
         archive being written), {:.1} MB after",
        mb(disk_max),
        mb(folder_bytes(&exports_folder))
    );
    println!(
        "processor time during the export: wacrm {:.1} s, PostgreSQL {:.1} s (of {seconds:.0} s)",
        cpu_after.0 - cpu_before.0,
        cpu_after.1 - cpu_before.1
    );
    println!(
        "memory (wacrm RSS): {:.1} MiB before, {:.1} MiB at most during the export, \
         {rss_after:.1} MiB after; high-water mark {high_water_before:.1} MiB before, \
         {high_water:.1} MiB after",
        memory.before, memory.max
    );
    println!(
        "memory against the archive: RSS grew {:.1} MiB at most while {:.1} MiB of archive \
         were written ({:.2} MiB per 100 MiB of archive)",
        memory.max - memory.before,
        archive_bytes as f64 / 1048576.0,
        (memory.max - memory.before) / (archive_bytes as f64 / 1048576.0).max(1.0) * 100.0
    );
    let slow = common::slow_statements(&data);
    println!("statements over {SLOW_MS} ms in PostgreSQL during the export:");
    for slow in &slow {
        let statement = slow.statement.replace('\n', " ");
        // Each table's rows are one statement: named by its table.
        let shown = statement
            .strip_prefix("select row_to_json")
            .and_then(|rest| rest.split(" from ").nth(2))
            .and_then(|rest| rest.split(' ').next())
            .map_or_else(
                || statement.chars().take(90).collect(),
                |table| format!("rows of {table}"),
            );
        println!(
            "  {:>3} × {:>8.1} s at most, {:>8.1} s in all: {shown}",
            slow.count,
            slow.max_ms / 1e3,
            slow.total_ms / 1e3
        );
    }

    if state == "done" {
        let archive = dir.join("download.tar.gz");
        let started = Instant::now();
        let (size, digest, download_rss) = download(
            &client,
            &format!("{base}/settings/exports/{export}/download"),
            &archive,
            pid,
        )
        .await;
        let took = started.elapsed().as_secs_f64();
        println!(
            "download: {:.1} MB in {took:.1} s ({:.0} MB/s), wacrm RSS at most {download_rss:.1} MiB",
            mb(size),
            mb(size) / took
        );
        passed.push(check(
            size == archive_bytes && Some(&digest) == sha256.as_ref(),
            &format!(
                "the download ({} bytes, SHA-256 {}…) matches data_exports ({} bytes, {}…)",
                size,
                &digest[..16],
                archive_bytes,
                sha256.as_deref().map_or("none", |s| &s[..16.min(s.len())])
            ),
        ));
        passed.extend(verify(&dir, &archive, &expected, scale.messages));
    }
    stop(server);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("kept {}", dir.display());
    }
    Outcome {
        scale,
        rows,
        archive_bytes,
        seconds,
        rss_before: memory.before,
        rss_max: memory.max,
        rss_after,
        high_water,
        failures: passed.iter().filter(|p| !**p).count(),
    }
}

/// Extracts the archive with the system's `tar` and checks it with
/// `sha256sum` and against the database; each check's outcome.
fn verify(dir: &Path, archive: &Path, expected: &BTreeMap<&str, i64>, messages: i32) -> Vec<bool> {
    let mut passed = Vec::new();
    let out = dir.join("extracted");
    std::fs::create_dir_all(&out).unwrap();
    let started = Instant::now();
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(&out)
        .status()
        .unwrap();
    let folders: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    passed.push(check(
        tar.success() && folders.len() == 1,
        &format!(
            "tar -xzf extracts one folder ({:.1} s)",
            started.elapsed().as_secs_f64()
        ),
    ));
    let Some(folder) = folders.first().filter(|_| folders.len() == 1) else {
        return passed;
    };
    let started = Instant::now();
    let sums = Command::new("sha256sum")
        .args(["--check", "--quiet", "--strict", "SHA256SUMS"])
        .current_dir(folder)
        .status()
        .unwrap();
    let files = count_lines(&folder.join("SHA256SUMS"));
    passed.push(check(
        sums.success(),
        &format!(
            "sha256sum -c SHA256SUMS: {} files ({:.1} s)",
            thousands(files),
            started.elapsed().as_secs_f64()
        ),
    ));

    let manifest: Value =
        serde_json::from_reader(std::fs::File::open(folder.join("manifest.json")).unwrap())
            .unwrap();
    let sizes: BTreeMap<&str, u64> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["size"].as_u64().unwrap()))
        .collect();
    println!("rows exported per table (from manifest.json):");
    let mut mismatched = Vec::new();
    for (table, rows) in manifest["rows"].as_object().unwrap() {
        let rows = rows.as_i64().unwrap_or(-1);
        let size = |ext: &str| {
            mb(sizes
                .get(format!("{table}.{ext}").as_str())
                .copied()
                .unwrap_or(0))
        };
        println!(
            "  {table:<22} {:>11}  (jsonl {:>7.1} MB, csv {:>7.1} MB)",
            thousands(rows.max(0) as u64),
            size("jsonl"),
            size("csv")
        );
        if let Some(&want) = expected.get(table.as_str())
            && want != rows
        {
            mismatched.push(format!("{table}: {rows} exported, {want} in the database"));
        }
    }
    let media_files = sizes.keys().filter(|p| p.starts_with("media/")).count() as i64;
    let media_bytes: u64 = sizes
        .iter()
        .filter(|(p, _)| p.starts_with("media/"))
        .map(|(_, s)| s)
        .sum();
    let all_bytes: u64 = sizes.values().sum();
    println!(
        "  {} files, {:.1} MB before compression ({} media files, {:.1} MB)",
        thousands(sizes.len() as u64),
        mb(all_bytes),
        thousands(media_files as u64),
        mb(media_bytes)
    );
    let missing = manifest["missing_files"].as_array().map_or(0, Vec::len);
    passed.push(check(
        mismatched.is_empty(),
        &if mismatched.is_empty() {
            format!(
                "the manifest's rows equal the database's for all {} tables",
                expected.len()
            )
        } else {
            format!("rows differ: {}", mismatched.join("; "))
        },
    ));
    let want_media = expected.get("media").copied().unwrap_or(0);
    passed.push(check(
        media_files == want_media && missing == 0,
        &format!(
            "{} media files in the archive for {} media rows, {missing} missing",
            thousands(media_files as u64),
            thousands(want_media as u64)
        ),
    ));
    let started = Instant::now();
    let lines = count_lines(&folder.join("messages.jsonl"));
    let records = count_csv_records(&folder.join("messages.csv"));
    passed.push(check(
        lines == messages as u64,
        &format!(
            "messages.jsonl has {} lines, {} messages seeded",
            thousands(lines),
            thousands(messages as u64)
        ),
    ));
    passed.push(check(
        records == messages as u64,
        &format!(
            "messages.csv has {} records ({:.1} s to count both)",
            thousands(records),
            started.elapsed().as_secs_f64()
        ),
    ));
    // The first message as exported: its body went through JSON and CSV.
    let first =
        std::io::BufReader::new(std::fs::File::open(folder.join("messages.jsonl")).unwrap())
            .lines()
            .next()
            .map(|l| l.unwrap())
            .unwrap_or_default();
    let body: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    passed.push(check(
        body["body"]
            .as_str()
            .is_some_and(|b| PHRASES.iter().any(|p| b.contains(p))),
        "the first message's body reads back from messages.jsonl",
    ));
    passed
}

#[tokio::main]
async fn main() {
    let keep = common::begin("export");
    let scale = Scale::from_env();
    let sizes: Vec<i32> = std::env::var("EXPORT_BENCH_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .map(|s| {
                    s.trim()
                        .replace('_', "")
                        .parse()
                        .expect("EXPORT_BENCH_SIZES: message counts")
                })
                .collect()
        })
        .unwrap_or_else(|| vec![scale.messages]);
    let mut outcomes = Vec::new();
    for messages in sizes {
        outcomes.push(run(scale.with_messages(messages), keep).await);
        println!();
    }
    if outcomes.len() > 1 {
        println!("memory against size (wacrm RSS, MiB):");
        println!(
            "  {:>11} {:>11} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "messages", "rows", "archive MB", "s", "before", "max", "growth", "after", "VmHWM"
        );
        for o in &outcomes {
            println!(
                "  {:>11} {:>11} {:>11.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                thousands(o.scale.messages as u64),
                thousands(o.rows as u64),
                mb(o.archive_bytes),
                o.seconds,
                o.rss_before,
                o.rss_max,
                o.rss_max - o.rss_before,
                o.rss_after,
                o.high_water
            );
        }
        let (small, large) = (&outcomes[0], &outcomes[outcomes.len() - 1]);
        println!(
            "  {:.1}× the rows and {:.1}× the archive: RSS at most {:.1} MiB against {:.1} MiB \
             (growth {:.1} MiB against {:.1} MiB)",
            large.rows as f64 / small.rows.max(1) as f64,
            large.archive_bytes as f64 / small.archive_bytes.max(1) as f64,
            large.rss_max,
            small.rss_max,
            large.rss_max - large.rss_before,
            small.rss_max - small.rss_before
        );
    }
    println!("load average (1 min) {} at the end", load_average());
    let failures: usize = outcomes.iter().map(|o| o.failures).sum();
    if failures > 0 {
        println!("{failures} check(s) failed");
        std::process::exit(1);
    }
}
