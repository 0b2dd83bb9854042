//! Page weight benchmark: the bytes of HTML, CSS and JavaScript each main
//! page of the signed-in app costs a browser with an empty cache, raw and
//! gzip-compressed (level 6, as a proxy or CDN would send them), against
//! the budget of 100 KB compressed without images; and the server's
//! render time of each page (median of 20).
//!
//! `cargo bench --bench pages` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, loopback only). The inbox
//! at 2,000,000 messages is timed by `cargo bench --bench inbox`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use common::{csrf, free_port, ms, page, sign_up, spawn, stop, wait_ready};

const BUDGET_KIB: f64 = 100.0;
const CONVERSATIONS: usize = 30;
const RENDERS: usize = 20;

fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().len()
}

/// The `/static/…` CSS and JavaScript a page links.
fn assets(html: &str) -> BTreeSet<String> {
    html.split("\"/static/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|name| name.ends_with(".css") || name.ends_with(".js"))
        .map(|name| format!("/static/{name}"))
        .collect()
}

#[tokio::main]
async fn main() {
    wacrm::infra::tls::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("wacrm-bench-pages-{}", std::process::id()));
    let port = free_port();
    let server = spawn(&dir.join("data"), port);
    wait_ready(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let (client, _jar) = common::browser_client(reqwest::Client::builder());
    sign_up(&client, &base, "pages@example.com", "Page Weight Shop").await;

    // A working inbox: customers writing through the sandbox.
    let mut conversation = String::new();
    for i in 0..CONVERSATIONS {
        let form = page(&client, &format!("{base}/sandbox")).await;
        let sent = client
            .post(format!("{base}/sandbox/messages"))
            .form(&[
                ("csrf_token", csrf(&form).as_str()),
                ("name", &format!("Customer {i} Example")),
                ("phone", &format!("+5511900{i:06}")),
                (
                    "text",
                    "Hello! Do you deliver today, and how much is the large bouquet?",
                ),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 303);
        let chat = page(
            &client,
            &format!("{base}{}", sent.headers()["location"].to_str().unwrap()),
        )
        .await;
        if let Some(at) = chat.find("href=\"/inbox/") {
            conversation = chat[at + 6..at + 6 + 43].to_owned();
        }
    }

    let pages = [
        "/dashboard".to_owned(),
        "/inbox".to_owned(),
        conversation,
        "/contacts".to_owned(),
        "/deals".to_owned(),
        "/tasks".to_owned(),
        "/reports".to_owned(),
        "/settings".to_owned(),
    ];
    println!(
        "{:<52} {:>9} {:>9} {:>11} {:>11} {:>9}",
        "page", "HTML KiB", "HTML gz", "+CSS/JS KiB", "total gz", "render ms"
    );
    let mut worst: f64 = 0.0;
    for path in &pages {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(RENDERS);
        let mut html = String::new();
        for _ in 0..RENDERS {
            let started = Instant::now();
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            html = response.text().await.unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        let median: Duration = times[RENDERS / 2];
        let mut raw = html.len();
        let mut compressed = gzip_len(html.as_bytes());
        for asset in assets(&html) {
            let bytes = client
                .get(format!("{base}{asset}"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            raw += bytes.len();
            compressed += gzip_len(&bytes);
        }
        let total_kib = compressed as f64 / 1024.0;
        worst = worst.max(total_kib);
        println!(
            "{:<52} {:>9.1} {:>9.1} {:>11.1} {:>11.1} {:>9.1}",
            path,
            html.len() as f64 / 1024.0,
            gzip_len(html.as_bytes()) as f64 / 1024.0,
            raw as f64 / 1024.0,
            total_kib,
            ms(median)
        );
    }
    println!(
        "heaviest page: {worst:.1} KiB compressed (budget {BUDGET_KIB:.0} KiB): {}",
        if worst <= BUDGET_KIB {
            "within"
        } else {
            "OVER"
        }
    );
    stop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
