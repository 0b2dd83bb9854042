//! Billing benchmark: how fast Stripe's signed webhook deliveries are
//! answered and applied, and that shuffled and replayed events still leave
//! every workspace in Stripe's latest state. It prints
//!
//! - set-up: one owner signs up and starts Checkout through the routes (the
//!   fake Stripe API answers); 999 more workspaces, each with its Stripe
//!   customer, are written straight into the database (sign-ups are rate
//!   limited per address, and their cost is not what is measured here);
//! - deliveries: six events per workspace (checkout completed; subscription
//!   created active, updated past due, updated active again; the invoice's
//!   payment failed, then paid), 6,000 in all, shuffled across workspaces
//!   and within each, signed as Stripe signs them and posted from 16
//!   connections: deliveries/s, p50/p99/max per answer, refusals;
//! - applied: time from the first delivery until the job queue has applied
//!   every event, events/s;
//! - checked: every workspace ends `active` on Pro with its invoice `paid`
//!   (whatever the order), and the whole set delivered again stores and
//!   queues nothing new;
//! - memory of the wacrm process before and after.
//!
//! `cargo bench --bench billing` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, the fake Stripe API in
//! this process, loopback only; under a minute). wacrm's log is off unless
//! `RUST_LOG` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;
#[path = "../tests/support/fake_stripe.rs"]
mod fake_stripe;
#[path = "../tests/support/local_server.rs"]
mod local_server;

use common::{
    Rng, browser_client, free_port, memory_mib, percentile, sign_up, spawn_with, stop, wait_ready,
};
use fake_stripe::FakeStripe;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const WORKSPACES: usize = 1_000;
const CLIENTS: usize = 16;
const DATABASE: &str = "wacrm";

fn shown(d: Duration) -> String {
    format!("{:.1} ms", common::ms(d))
}

/// One workspace's six events, in Stripe time order from `t`.
fn events_of(stripe: &FakeStripe, org: Uuid, customer: &str, n: usize, t: i64) -> Vec<Value> {
    let subscription = format!("sub_bench{n:05}");
    let invoice = format!("in_bench{n:05}");
    let period_end = t + 30 * 86_400;
    let sub = |status: &str| {
        fake_stripe::subscription_object(
            &subscription,
            customer,
            fake_stripe::PRICE_PRO,
            status,
            period_end,
            false,
        )
    };
    let inv = |status: &str| {
        fake_stripe::invoice_object(&invoice, customer, &format!("B-{n:05}"), status, 2900, t)
    };
    vec![
        stripe.event(
            "checkout.session.completed",
            json!({"id": format!("cs_bench{n:05}"), "object": "checkout.session",
                   "mode": "subscription", "status": "complete", "payment_status": "paid",
                   "customer": customer, "subscription": subscription,
                   "client_reference_id": org.to_string()}),
            t,
        ),
        stripe.event("customer.subscription.created", sub("active"), t + 1),
        stripe.event("customer.subscription.updated", sub("past_due"), t + 2),
        stripe.event("invoice.payment_failed", inv("open"), t + 2),
        stripe.event("customer.subscription.updated", sub("active"), t + 3),
        stripe.event("invoice.paid", inv("paid"), t + 3),
    ]
}

/// Posts every event signed, from `CLIENTS` connections; each answer's
/// time and the statuses other than 200.
async fn deliver(url: &str, events: &[Value]) -> (Vec<Duration>, Vec<u16>, Duration) {
    let bodies: Arc<Vec<Vec<u8>>> =
        Arc::new(events.iter().map(|e| e.to_string().into_bytes()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..CLIENTS {
        let bodies = bodies.clone();
        let next = next.clone();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut times = vec![];
            let mut refused = vec![];
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = time::OffsetDateTime::now_utc().unix_timestamp();
                let signature =
                    wacrm::features::billing::signature::sign(fake_stripe::WEBHOOK_SECRET, body, t);
                let sent = Instant::now();
                let status = client
                    .post(&url)
                    .header("content-type", "application/json; charset=utf-8")
                    .header("Stripe-Signature", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                times.push(sent.elapsed());
                if status != 200 {
                    refused.push(status);
                }
            }
            (times, refused)
        }));
    }
    let mut times = vec![];
    let mut refused = vec![];
    for task in tasks {
        let (t, r) = task.await.unwrap();
        times.extend(t);
        refused.extend(r);
    }
    let took = started.elapsed();
    times.sort();
    (times, refused, took)
}

async fn count(admin: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(admin).await.unwrap()
}

#[tokio::main]
async fn main() {
    wacrm::infra::tls::install_crypto_provider();
    let stripe = FakeStripe::start().await;
    let dir = std::env::temp_dir().join(format!("wacrm-bench-billing-{}", std::process::id()));
    let data = dir.join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api_url = stripe.base_url();
    let server = spawn_with(
        &data,
        port,
        &[
            ("STRIPE_SECRET_KEY", fake_stripe::SECRET_KEY),
            ("STRIPE_WEBHOOK_SECRET", fake_stripe::WEBHOOK_SECRET),
            ("STRIPE_API_URL", &api_url),
            ("STRIPE_PRICE_STARTER", fake_stripe::PRICE_STARTER),
            ("STRIPE_PRICE_PRO", fake_stripe::PRICE_PRO),
        ],
    );
    wait_ready(port).await;
    let pid = server.id();

    // One workspace through the routes: sign-up and Checkout.
    let (client, _jar) = browser_client(reqwest::Client::builder());
    sign_up(&client, &base, "owner@bench.test", "Bench 0").await;
    let page = common::page(&client, &format!("{base}/settings/billing")).await;
    let checkout = client
        .post(format!("{base}/settings/billing/checkout"))
        .form(&[
            ("csrf_token", common::csrf(&page).as_str()),
            ("plan", "pro"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), 303, "checkout");
    let session = stripe
        .sessions()
        .last()
        .cloned()
        .expect("a Checkout session");

    let socket_dir = std::fs::canonicalize(data.join("postgres").join("run")).unwrap();
    let admin = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(
            PgConnectOptions::new()
                .socket(&socket_dir)
                .port(5432)
                .username(wacrm::infra::embedded_pg::SUPERUSER)
                .database(DATABASE),
        )
        .await
        .unwrap();
    let mut customers: Vec<(Uuid, String)> = vec![(
        session.client_reference_id.parse().unwrap(),
        session.customer,
    )];
    // The rest straight into the database, each with its Stripe customer.
    let mut tx = admin.begin().await.unwrap();
    for n in 1..WORKSPACES {
        let org = Uuid::now_v7();
        let customer = format!("cus_bench{n:05}");
        sqlx::query("insert into organizations (id, name) values ($1, $2)")
            .bind(org)
            .bind(format!("Bench {n}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("insert into billing_accounts (org_id, stripe_customer_id) values ($1, $2)")
            .bind(org)
            .bind(&customer)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(
            "insert into billing_customer_routes (stripe_customer_id, org_id) values ($1, $2)",
        )
        .bind(&customer)
        .bind(org)
        .execute(&mut *tx)
        .await
        .unwrap();
        customers.push((org, customer));
    }
    tx.commit().await.unwrap();

    let t = time::OffsetDateTime::now_utc().unix_timestamp() - 3_600;
    let mut rng = Rng(0x5717_1be5);
    let mut events = vec![];
    for (n, (org, customer)) in customers.iter().enumerate() {
        events.extend(events_of(&stripe, *org, customer, n, t));
    }
    // Fisher–Yates: any order across and within workspaces.
    for i in (1..events.len()).rev() {
        events.swap(i, rng.below(i + 1));
    }
    let memory_before = memory_mib(pid, "VmRSS:");
    println!(
        "wacrm (release) on {base}, its private PostgreSQL, fake Stripe API at {api_url}; \
         {WORKSPACES} workspaces with a Stripe customer, {} events shuffled",
        events.len()
    );

    let url = format!("{base}/webhooks/stripe");
    let first = Instant::now();
    let (times, refused, took) = deliver(&url, &events).await;
    println!(
        "deliveries: {} in {:.2} s from {CLIENTS} connections = {:.0}/s; answer p50 {}, p99 {}, max {}; refused {}",
        times.len(),
        took.as_secs_f64(),
        times.len() as f64 / took.as_secs_f64(),
        shown(percentile(&times, 0.5)),
        shown(percentile(&times, 0.99)),
        shown(*times.last().unwrap()),
        refused.len()
    );
    loop {
        let pending = count(
            &admin,
            "select count(*) from stripe_events where processed_at is null",
        )
        .await;
        if pending == 0 {
            break;
        }
        assert!(
            first.elapsed() < Duration::from_secs(300),
            "{pending} events still unapplied after 300 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let applied = first.elapsed();
    println!(
        "applied: all {} in {:.2} s from the first delivery = {:.0} events/s through the job queue",
        events.len(),
        applied.as_secs_f64(),
        events.len() as f64 / applied.as_secs_f64()
    );

    // Whatever the order, each workspace ends in Stripe's latest state.
    let wrong = count(
        &admin,
        "select count(*) from billing_accounts \
         where status is distinct from 'active' or plan <> 'pro'",
    )
    .await;
    let unpaid = count(
        &admin,
        "select count(*) from invoices where status <> 'paid'",
    )
    .await;
    let invoices = count(&admin, "select count(*) from invoices").await;
    let stored = count(&admin, "select count(*) from stripe_events").await;
    let jobs = count(&admin, "select count(*) from jobs").await;

    // Everything again, as Stripe retries: nothing new stored or queued.
    let (_, refused_again, took_again) = deliver(&url, &events).await;
    let stored_again = count(&admin, "select count(*) from stripe_events").await;
    let jobs_again = count(&admin, "select count(*) from jobs").await;
    println!(
        "checked: workspaces not active on Pro: {wrong} (must be 0); invoices {invoices}, not paid: {unpaid} (must be 0); \
         events stored {stored}; replay of all {} in {:.2} s, refused {}: stored {} more, queued {} more (must be 0, 0)",
        events.len(),
        took_again.as_secs_f64(),
        refused_again.len(),
        stored_again - stored,
        jobs_again - jobs,
    );
    println!(
        "memory of wacrm: {:.1} MiB before, {:.1} MiB after, peak {:.1} MiB",
        memory_before,
        memory_mib(pid, "VmRSS:"),
        memory_mib(pid, "VmHWM:")
    );
    let ok = refused.is_empty()
        && refused_again.is_empty()
        && wrong == 0
        && unpaid == 0
        && invoices == WORKSPACES as i64
        && stored == events.len() as i64
        && stored_again == stored
        && jobs_again == jobs;
    admin.close().await;
    stop(server);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "a check above failed");
}
