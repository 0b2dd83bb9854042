//! What every benchmark needs: the real release binary on its own data dir
//! and port, a signed-in owner, memory readings, and a minimal keep-alive
//! HTTP client. Included by each bench with `#[path]`; a bench uses only
//! part of it.
#![allow(dead_code)]

pub mod in_process;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password every benchmark owner signs up with.
pub const PASSWORD: &str = "correct horse battery staple";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts wacrm (its own private PostgreSQL under `data`). Logs only when
/// asked for: `RUST_LOG=wacrm::features::import=debug` shows each import batch.
pub fn spawn(data: &Path, port: u16) -> Child {
    spawn_with(data, port, &[])
}

/// Like [`spawn`], with more settings in the environment (e.g.
/// `WHATSAPP_GRAPH_URL`); they take precedence over the defaults above.
pub fn spawn_with(data: &Path, port: u16, env: &[(&str, &str)]) -> Child {
    let log = std::env::var("RUST_LOG").ok();
    Command::new(env!("CARGO_BIN_EXE_wacrm"))
        .env("WACRM_DATA_DIR", data)
        .env("WACRM_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", log.as_deref().unwrap_or("warn"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(if log.is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn wacrm")
}

/// Waits until `/readyz` answers 200; how long that took.
pub async fn wait_ready(port: u16) -> Duration {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && r.status() == 200
        {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// SIGTERM, as an operator would stop it (it stops its cluster too).
pub fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Resident memory of a process, in MiB (`VmRSS:` or `VmHWM:`).
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The page's CSRF token.
pub fn csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Signs a new owner and workspace up; `client` keeps the session cookie.
pub async fn sign_up(client: &reqwest::Client, base: &str, email: &str, org_name: &str) {
    let page = page(client, &format!("{base}/signup")).await;
    let signup = client
        .post(format!("{base}/signup"))
        .form(&[
            ("csrf_token", csrf(&page).as_str()),
            ("name", "Bench Owner"),
            ("email", email),
            ("password", PASSWORD),
            ("org_name", org_name),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 303, "sign-up failed");
}

/// A minimal HTTP/1.1 keep-alive client, like wrk's: the load generator
/// shares the machine's cores with wacrm and Postgres, so it should cost as
/// little as possible.
pub struct KeepAlive {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
}

impl KeepAlive {
    pub async fn connect(port: u16) -> KeepAlive {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream.set_nodelay(true).unwrap();
        KeepAlive {
            stream,
            buffer: Vec::with_capacity(256 * 1024),
        }
    }

    /// Sends one request and reads its whole response; the status.
    pub async fn request(&mut self, request: &[u8]) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(request).await.unwrap();
        self.buffer.clear();
        let mut chunk = [0u8; 64 * 1024];
        let (head, body) = loop {
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end]).unwrap();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().unwrap())
                    })
                    .expect("responses have a Content-Length");
                break (end + 4, length);
            }
        };
        while self.buffer.len() < head + body {
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
        std::str::from_utf8(&self.buffer[9..12])
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// Fields of `/proc/<pid>/stat` after the command name: (ppid, own
/// utime+stime, reaped children's cutime+cstime), in seconds.
fn proc_stat(pid: &str) -> Option<(u32, f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // The kernel reports these in USER_HZ, 100 per second on Linux.
    Some((
        fields.get(1)?.parse().ok()?,
        (tick(11)? + tick(12)?) / 100.0,
        (tick(13)? + tick(14)?) / 100.0,
    ))
}

/// Processor seconds so far of (wacrm, its PostgreSQL cluster: the
/// postmaster, its reaped children and every live server process, this
/// process).
pub fn process_seconds(app_pid: u32, postmaster_pid: u32) -> (f64, f64, f64) {
    let own = |pid: &str| proc_stat(pid).map_or(0.0, |(_, own, _)| own);
    let mut db =
        proc_stat(&postmaster_pid.to_string()).map_or(0.0, |(_, own, reaped)| own + reaped);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Some((ppid, own, _)) = proc_stat(pid)
            && ppid == postmaster_pid
        {
            db += own;
        }
    }
    (own(&app_pid.to_string()), db, own("self"))
}

/// A page's HTML (the client keeps the session).
pub async fn page(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Deterministic pseudo-random numbers (SplitMix64): the same data every
/// run. Benches add their own methods in their own `impl` blocks.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    /// Uniform in `0.0..1.0`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The `p` quantile (0 to 1) of latencies sorted ascending: the nearest
/// rank, so p = 1 is the slowest.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// A duration in milliseconds, as the reports print them.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// [`percentile`] in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    ms(percentile(sorted, p))
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The 1-minute load average, as `/proc/loadavg` gives it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// A client as the benches' browser: keeps cookies in the returned jar and
/// does not follow redirects.
pub fn browser_client(
    builder: reqwest::ClientBuilder,
) -> (reqwest::Client, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = builder
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (client, jar)
}

/// The `Cookie` header a signed-in browser sends to `base`.
pub fn session_cookie(jar: &reqwest::cookie::Jar, base: &str) -> String {
    use reqwest::cookie::CookieStore;
    jar.cookies(&base.parse().unwrap())
        .expect("signed-in cookie")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Has the cluster log every statement slower than `ms` (to
/// `postgres/postgres.log` under the data dir), from now on.
pub async fn log_statements_over(admin: &sqlx::PgPool, ms: u32) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "alter system set log_min_duration_statement = {ms}"
    )))
    .execute(admin)
    .await
    .unwrap();
    sqlx::query("select pg_reload_conf()")
        .execute(admin)
        .await
        .unwrap();
}

/// A statement the cluster logged as slow: how often, and the time taken.
#[derive(Debug, Clone)]
pub struct SlowStatement {
    pub statement: String,
    pub count: usize,
    pub total_ms: f64,
    pub max_ms: f64,
}

/// The slow statements in the cluster's log (see [`log_statements_over`]),
/// one entry per statement text, the most frequent first.
pub fn slow_statements(data: &Path) -> Vec<SlowStatement> {
    let log = std::fs::read_to_string(data.join("postgres/postgres.log")).unwrap_or_default();
    let mut slow: Vec<SlowStatement> = Vec::new();
    for line in log.lines() {
        // `… LOG:  duration: 1234.567 ms  execute sqlx_s_3: select …`
        let Some((_, timed)) = line.split_once("duration: ") else {
            continue;
        };
        let Some((ms, rest)) = timed.split_once(" ms") else {
            continue;
        };
        let ms: f64 = ms.trim().parse().unwrap_or(0.0);
        let rest = rest.trim_start();
        let statement = rest.split_once(": ").map_or(rest, |(_, s)| s).to_owned();
        match slow.iter_mut().find(|s| s.statement == statement) {
            Some(known) => {
                known.count += 1;
                known.total_ms += ms;
                known.max_ms = known.max_ms.max(ms);
            }
            None => slow.push(SlowStatement {
                statement,
                count: 1,
                total_ms: ms,
                max_ms: ms,
            }),
        }
    }
    slow.sort_by_key(|s| std::cmp::Reverse(s.count));
    slow
}

/// The process id of wacrm's private PostgreSQL cluster (its postmaster).
pub fn postmaster_pid(data: &Path) -> u32 {
    std::fs::read_to_string(data.join("postgres/pgdata/postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse().ok())
        .expect("the cluster's postmaster.pid")
}

/// Posts a form as the signed-in browser would, its CSRF token first; the
/// response (redirects are not followed).
pub async fn submit(
    client: &reqwest::Client,
    url: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf_token", csrf)];
    form.extend_from_slice(fields);
    client.post(url).form(&form).send().await.unwrap()
}

/// A bench's first step: TLS for the HTTP client, then its first line (the
/// machine's processors and load); whether to keep the data directory
/// afterwards (`WACRM_BENCH_KEEP=1`).
pub fn begin(name: &str) -> bool {
    wacrm::infra::tls::install_crypto_provider();
    println!(
        "{name} benchmark: {} CPU(s), load average (1 min) {} at the start",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    std::env::var("WACRM_BENCH_KEEP").is_ok_and(|v| v == "1")
}

/// Connection options as the superuser of wacrm's private cluster under
/// `data`, in the app's database.
pub fn superuser_options(data: &Path) -> sqlx::postgres::PgConnectOptions {
    wacrm::infra::embedded_pg::connect_options_in(&data.join("postgres"), "wacrm")
}

/// A pool of up to `connections` as that superuser.
pub async fn admin_pool(data: &Path, connections: u32) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections)
        .connect_with(superuser_options(data))
        .await
        .unwrap()
}
