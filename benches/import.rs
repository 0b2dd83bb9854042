//! Import/export benchmark: prints how long a 100,000-row contact CSV takes
//! to import (new contacts, then the same file again updating them), and
//! how a streamed export of those contacts runs and what it does to the
//! server's memory.
//!
//! `cargo bench --bench import` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, loopback only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wacrm"))
        .env("WACRM_DATA_DIR", data)
        .env("WACRM_BIND", format!("127.0.0.1:{port}"))
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        // Logs only when asked for (`RUST_LOG=wacrm::import=debug` shows each batch).
        .stdout(if std::env::var_os("RUST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn wacrm")
}

fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

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

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Uploads, maps and starts an import; returns the seconds from start to done.
async fn import(
    client: &reqwest::Client,
    base: &str,
    file: &[u8],
    on_duplicate: &str,
) -> (f64, String) {
    let page = client
        .get(format!("{base}/contacts/import"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
        let body = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
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
    wacrm::server::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("wacrm-import-bench-{}", std::process::id()));
    let port = free_port();
    let mut server = spawn(&dir.join("data"), port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wait_ready(&client, &base).await;
    let page = client
        .get(format!("{base}/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signup = client
        .post(format!("{base}/signup"))
        .form(&[
            ("csrf_token", csrf(&page).as_str()),
            ("name", "Bench Owner"),
            ("email", "bench@example.com"),
            ("password", "correct horse battery staple"),
            ("org_name", "Bench Shop"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 303, "sign-up failed");

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
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
