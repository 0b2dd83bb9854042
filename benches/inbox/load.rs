//! The load: keep-alive clients signed in to the large workspace, the
//! scenarios they request, and each scenario's latencies and CPU.

use super::*;

/// `clients` clients, each sending requests for paths picked at random,
/// for `duration`; every latency with the index of its path.
pub(crate) async fn load(
    port: u16,
    cookie: &str,
    (paths, headers): (&[String], &str),
    clients: usize,
    duration: Duration,
) -> Vec<(usize, Duration)> {
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        paths
            .iter()
            .map(|p| get_request(port, cookie, p, headers))
            .collect(),
    );
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0x00c1_1e47 + client as u64);
            let mut connection = KeepAlive::connect(port).await;
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let i = rng.below(requests.len());
                let started = Instant::now();
                let status = connection.request(&requests[i]).await;
                let took = started.elapsed();
                assert_eq!(
                    status,
                    200,
                    "{}",
                    String::from_utf8_lossy(&requests[i])
                        .lines()
                        .next()
                        .unwrap_or("")
                );
                samples.push((i, took));
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) requests: usize,
    pub(crate) per_second: f64,
    pub(crate) p50: f64,
    pub(crate) p95: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

pub(crate) fn stats(latencies: &mut [Duration], elapsed: Duration) -> Stats {
    latencies.sort();
    let at = |p: f64| percentile_ms(latencies, p);
    Stats {
        requests: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: ms(*latencies.last().unwrap()),
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    P99(f64),
    P95(f64),
}

impl Target {
    pub(crate) fn describe(self) -> String {
        match self {
            Target::P99(ms) => format!("p99 < {ms} ms"),
            Target::P95(ms) => format!("p95 < {ms} ms"),
        }
    }

    pub(crate) fn met(self, s: &Stats) -> bool {
        match self {
            Target::P99(ms) => s.p99 < ms,
            Target::P95(ms) => s.p95 < ms,
        }
    }
}

pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) target: Option<Target>,
    /// (label, path); labels are printed when there are several kinds.
    pub(crate) paths: Vec<(String, String)>,
    /// Extra request header lines, each ending in `\r\n`.
    pub(crate) headers: &'static str,
    pub(crate) breakdown: bool,
}

/// The headers htmx sends when a conversation is picked in the list: only
/// the panes beside it are loaded.
pub(crate) const PICKED_IN_LIST: &str = "HX-Request: true\r\nHX-Target: panes\r\n";

pub(crate) fn get_request(port: u16, cookie: &str, path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n{headers}\r\n")
        .into_bytes()
}

/// The running app as the scenarios reach it.
pub(crate) struct Server<'a> {
    pub(crate) port: u16,
    pub(crate) cookie: &'a str,
    pub(crate) pid: u32,
    pub(crate) postmaster: u32,
}

pub(crate) struct Outcome {
    pub(crate) name: &'static str,
    pub(crate) target: Option<Target>,
    /// At `CLIENTS` clients, and the median with one; `None`: not built yet.
    pub(crate) stats: Option<(Stats, f64)>,
}

pub(crate) const HEADER: &str = "  scenario                                    requests   req/s   p50 ms   p95 ms   p99 ms   max ms  1 client p50  target";

/// One line of the table; `alone` is the median with a single client.
pub(crate) fn row(name: &str, s: &Stats, alone: Option<f64>, target: Option<Target>) -> String {
    let verdict = target
        .map(|t| {
            format!(
                "{} {}",
                t.describe(),
                if t.met(s) { "ok" } else { "MISSED" }
            )
        })
        .unwrap_or_default();
    let alone = alone.map(|ms| format!("{ms:.2}")).unwrap_or_default();
    format!(
        "  {:<42} {:>9} {:>7.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>13}  {}",
        name,
        thousands(s.requests as u64),
        s.per_second,
        s.p50,
        s.p95,
        s.p99,
        s.max,
        alone,
        verdict
    )
}

/// One client asking for every path in turn, at least once each and for
/// at least `duration`: latency without queueing behind other clients.
pub(crate) async fn sequential(
    port: u16,
    cookie: &str,
    (paths, headers): (&[String], &str),
    duration: Duration,
) -> Vec<(usize, Duration)> {
    let mut connection = KeepAlive::connect(port).await;
    let started = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < paths.len() || started.elapsed() < duration {
        let i = samples.len() % paths.len();
        let request = get_request(port, cookie, &paths[i], headers);
        let sent = Instant::now();
        let status = connection.request(&request).await;
        assert_eq!(status, 200, "{}", paths[i]);
        samples.push((i, sent.elapsed()));
    }
    samples
}

/// Where the processor time goes, in seconds so far: wacrm, its
/// PostgreSQL cluster (every server process), and this load generator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cpu {
    pub(crate) app: f64,
    pub(crate) db: f64,
    pub(crate) load: f64,
}

pub(crate) fn cpu(app_pid: u32, postmaster_pid: u32) -> Cpu {
    let (app, db, load) = common::process_seconds(app_pid, postmaster_pid);
    Cpu { app, db, load }
}

/// Warm up, measure at `CLIENTS` clients (with the processor time it took),
/// then once more with one client; prints the rows.
pub(crate) async fn run_scenario(server: &Server<'_>, scenario: &Scenario) -> (Stats, f64) {
    let (port, cookie) = (server.port, server.cookie);
    let paths: Vec<String> = scenario.paths.iter().map(|(_, p)| p.clone()).collect();
    let requests = (paths.as_slice(), scenario.headers);
    load(port, cookie, requests, CLIENTS, WARMUP).await;
    let before = cpu(server.pid, server.postmaster);
    let started = Instant::now();
    let samples = load(port, cookie, requests, CLIENTS, MEASURE).await;
    let elapsed = started.elapsed();
    let after = cpu(server.pid, server.postmaster);
    let single_started = Instant::now();
    let single = sequential(port, cookie, requests, ALONE).await;
    let single_elapsed = single_started.elapsed();
    let of = |samples: &[(usize, Duration)], path: Option<usize>| -> Vec<Duration> {
        samples
            .iter()
            .filter(|(j, _)| path.is_none_or(|p| p == *j))
            .map(|(_, d)| *d)
            .collect()
    };
    let total = stats(&mut of(&samples, None), elapsed);
    let alone = stats(&mut of(&single, None), single_elapsed).p50;
    println!(
        "{}",
        row(scenario.name, &total, Some(alone), scenario.target)
    );
    let per_request = |a: f64, b: f64| (b - a) * 1e3 / total.requests as f64;
    println!(
        "    processor time per request at {CLIENTS} clients: wacrm {:.2} ms, PostgreSQL {:.2} ms, \
         load generator {:.2} ms",
        per_request(before.app, after.app),
        per_request(before.db, after.db),
        per_request(before.load, after.load)
    );
    if scenario.breakdown {
        for (i, (label, _)) in scenario.paths.iter().enumerate() {
            let mut mine = of(&samples, Some(i));
            if mine.is_empty() {
                continue;
            }
            let mut mine_alone = of(&single, Some(i));
            let alone =
                (!mine_alone.is_empty()).then(|| stats(&mut mine_alone, single_elapsed).p50);
            println!(
                "{}",
                row(
                    &format!("  {label}"),
                    &stats(&mut mine, elapsed),
                    alone,
                    None
                )
            );
        }
    }
    (total, alone)
}
