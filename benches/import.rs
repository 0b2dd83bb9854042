//! Import/export benchmark: prints how long a 100,000-row contact CSV takes
//! to import (new contacts, then the same file again updating them), and
//! how a streamed export of those contacts runs and what it does to the
//! server's memory.
//!
//! `cargo bench --bench import` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, loopback only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use common::{csrf, free_port, memory_mib, sign_up, spawn, stop, wait_ready};

use std::time::{Duration, Instant};

const ROWS: usize = 100_000;

/// A realistic file: names, unique phones and emails, a company from 500,
/// one or two labels from eight.
fn contacts_csv() -> Vec<u8> {
    let first = [
        "Maria", "João", "Ana", "Pedro", "Lucía", "Ahmed", "Mei", "Olga", "Tom", "Priya",
    ];
    let last = [
        "Souza", "Silva", "García", "Müller", "Khan", "Chen", "Novak", "Smith", "Patel", "Rossi",
    ];
    let labels = [
        "VIP",
        "Lead",
        "Customer",
        "Wholesale",
        "Recife",
        "Berlin",
        "Newsletter",
        "Churned",
    ];
    let mut csv = String::from("Full name,Phone,Email,Company,Tags\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "{} {},+49151{:08},person{i}@example.com,Company {},{}; {}\n",
            first[i % first.len()],
            last[(i / 10) % last.len()],
            i,
            i % 500,
            labels[i % labels.len()],
            labels[(i / 8) % labels.len()],
        ));
    }
    csv.into_bytes()
}

/// Uploads, maps and starts an import; returns the seconds from start to done.
async fn import(
    client: &reqwest::Client,
    base: &str,
    file: &[u8],
    on_duplicate: &str,
) -> (f64, String) {
    let page = common::page(client, &format!("{base}/contacts/import")).await;
    let token = csrf(&page);
    let part = reqwest::multipart::Part::bytes(file.to_vec()).file_name("contacts.csv");
    let uploaded = Instant::now();
    let response = client
        .post(format!("{base}/contacts/import?csrf_token={token}"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "upload");
    let upload_secs = uploaded.elapsed().as_secs_f64();
    let path = response.headers()["location"].to_str().unwrap().to_owned();
    let fields = [
        ("csrf_token", token.as_str()),
        ("map", "name"),
        ("map", "phone"),
        ("map", "email"),
        ("map", "company"),
        ("map", "labels"),
        ("on_duplicate", on_duplicate),
    ];
    let started = Instant::now();
    let response = client
        .post(format!("{base}{path}"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "start");
    loop {
        let body = common::page(client, &format!("{base}{path}")).await;
        if body.contains("data-status=\"done\"") {
            let summary = ["created", "updated", "skipped", "failed"]
                .map(|what| {
                    let marker = format!("data-count=\"{what}\">");
                    let start = body.find(&marker).unwrap() + marker.len();
                    format!(
                        "{what} {}",
                        &body[start..start + body[start..].find('<').unwrap()]
                    )
                })
                .join(", ");
            return (
                started.elapsed().as_secs_f64(),
                format!("upload {upload_secs:.2} s; {summary}"),
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "import never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() {
    wacrm::infra::tls::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("wacrm-import-bench-{}", std::process::id()));
    let port = free_port();
    let server = spawn(&dir.join("data"), port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wait_ready(port).await;
    sign_up(&client, &base, "bench@example.com", "Bench Shop").await;

    let file = contacts_csv();
    println!(
        "file: {ROWS} rows, {:.1} MB (name, phone, email, company of 500, two labels of 8)",
        file.len() as f64 / 1e6
    );
    let (secs, summary) = import(&client, &base, &file, "skip").await;
    println!(
        "import, all new: {secs:.2} s, {:.0} rows/s (target 100,000 rows < 30 s); {summary}",
        ROWS as f64 / secs
    );
    let (secs, summary) = import(&client, &base, &file, "update").await;
    println!(
        "import again, updating every contact: {secs:.2} s, {:.0} rows/s; {summary}",
        ROWS as f64 / secs
    );

    let pid = server.id();
    let before = memory_mib(pid, "VmRSS:");
    let started = Instant::now();
    let mut response = client
        .get(format!("{base}/contacts/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut lines, mut peak) = (0usize, 0usize, before);
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        peak = peak.max(memory_mib(pid, "VmRSS:"));
    }
    println!(
        "export: {} rows, {:.1} MB in {:.2} s; server RSS {before:.1} MiB before, peak {peak:.1} MiB while streaming",
        lines - 1,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    stop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
