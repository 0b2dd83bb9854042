//! Foundation benchmark: prints start-up time (empty data dir and restart),
//! authenticated page throughput and latency at 16 concurrent clients, and
//! the wacrm process's memory idle and under that load.
//!
//! `cargo bench --bench foundation` (release build of the real binary, its
//! own private PostgreSQL under a temporary data dir, loopback only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use common::{
    KeepAlive, free_port, memory_mib, ms, percentile_ms, sign_up, spawn, stop, wait_ready,
};

use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);
const REFERENCE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() {
    wacrm::infra::tls::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("wacrm-bench-{}", std::process::id()));
    let data = dir.join("data");
    let port = free_port();

    let first = spawn(&data, port);
    let cold = wait_ready(port).await;
    stop(first);
    let server = spawn(&data, port);
    let warm = wait_ready(port).await;
    println!(
        "start-up: empty data dir -> /readyz 200 in {:.2} s (target < 10 s)",
        cold.as_secs_f64()
    );
    println!(
        "start-up: restart on existing data dir -> /readyz 200 in {:.2} s (target < 2 s)",
        warm.as_secs_f64()
    );

    let base = format!("http://127.0.0.1:{port}");
    let (client, jar) =
        common::browser_client(reqwest::Client::builder().pool_max_idle_per_host(CLIENTS));
    sign_up(&client, &base, "bench@example.com", "Bench Shop").await;
    let dashboard = client
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);

    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.id();
    let idle_rss = memory_mib(pid, "VmRSS:");

    let cookie = common::session_cookie(&jar, &base);
    let run = |path: &'static str, duration: Duration| {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n");
        async move {
            let deadline = Instant::now() + duration;
            let mut tasks = Vec::new();
            for _ in 0..CLIENTS {
                let request = request.clone();
                tasks.push(tokio::spawn(async move {
                    let mut connection = KeepAlive::connect(port).await;
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        let status = connection.request(request.as_bytes()).await;
                        assert_eq!(status, 200, "{request}");
                        latencies.push(started.elapsed());
                    }
                    latencies
                }));
            }
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.unwrap());
            }
            all
        }
    };
    run("/dashboard", WARMUP).await;
    let sampler = tokio::spawn(async move {
        let mut peak: f64 = 0.0;
        let until = Instant::now() + MEASURE;
        while Instant::now() < until {
            peak = peak.max(memory_mib(pid, "VmRSS:"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peak
    });
    let started = Instant::now();
    let mut latencies = run("/dashboard", MEASURE).await;
    let elapsed = started.elapsed();
    let load_rss = sampler.await.unwrap();
    latencies.sort();
    println!(
        "authenticated page GET /dashboard, {CLIENTS} concurrent clients, {:.0} s: {} requests, {:.0} req/s",
        elapsed.as_secs_f64(),
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 5 ms)",
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "wacrm RSS: idle {idle_rss:.1} MiB, under load (peak sampled) {load_rss:.1} MiB, high-water {:.1} MiB (target < 50 MB)",
        memory_mib(pid, "VmHWM:")
    );
    // Reference points for the same load: no session and one query
    // (`/readyz`), and a session plus one query without a tenant transaction
    // (`/profile`). They show how the cost grows with database round trips.
    for path in ["/readyz", "/profile"] {
        let started = Instant::now();
        let mut latencies = run(path, REFERENCE).await;
        let elapsed = started.elapsed();
        latencies.sort();
        println!(
            "reference GET {path}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile_ms(&latencies, 0.50),
            percentile_ms(&latencies, 0.99)
        );
    }
    stop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
