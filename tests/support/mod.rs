//! Test support: one private PostgreSQL cluster per test run, a fresh
//! database per test cloned from a migrated template, the real app served on
//! a local port, and a cookie-keeping browser-like client.
#![allow(dead_code)]

pub mod cloud;
pub mod fake_graph;
pub mod fake_openai;
pub mod fake_stripe;
pub mod fake_wa_web;
pub mod fake_waha;
pub mod local_server;
pub mod smtp_sink;
pub mod steps;

pub use steps::*;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};
use tokio::net::TcpListener;
use wacrm::infra::config::Config;
use wacrm::infra::embedded_pg::{Cluster, Durability};
use wacrm::server::{Application, Jobs};
use wacrm::state::AppState;

use smtp_sink::SmtpSink;

const TEMPLATE_DB: &str = "wacrm_template";

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);
static CREATE_DB_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The run's cluster, started on first use with a migrated template database.
/// A watchdog process stops and removes it when the test process exits.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime");
            runtime.block_on(start_cluster())
        })
        .join()
        .expect("starting the test cluster panicked")
    })
}

async fn start_cluster() -> Cluster {
    wacrm::infra::tls::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("wacrm-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = match Cluster::start(&dir, Durability::Throwaway).await {
        Ok(c) => c,
        Err(e) => panic!("the tests need PostgreSQL server binaries: {e}"),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = cluster.stop_command_line(),
        dir = dir.display()
    );
    // The watchdog outlives this process on purpose: it is never waited for.
    #[allow(clippy::zombie_processes)]
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawning the cluster watchdog");
    wacrm::infra::db::ensure_database(&cluster, TEMPLATE_DB)
        .await
        .expect("creating the template database");
    wacrm::infra::db::migrate(&cluster.connect_options(TEMPLATE_DB))
        .await
        .expect("migrating the template database");
    cluster
}

/// A new database for one test, cloned from the migrated template.
pub async fn fresh_database() -> PgConnectOptions {
    let cluster = cluster();
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        DB_COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let _guard = CREATE_DB_LOCK.lock().await;
    let mut conn = match PgConnection::connect_with(&cluster.connect_options("postgres")).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "connect to the test cluster: {e}{}",
            server_log_tail(cluster)
        ),
    };
    if let Err(e) = conn
        .execute(sqlx::AssertSqlSafe(format!(
            "create database {name} template {TEMPLATE_DB} strategy file_copy"
        )))
        .await
    {
        panic!("create the test database: {e}{}", server_log_tail(cluster));
    }
    let _ = conn.close().await;
    cluster.connect_options(&name)
}

/// The end of the cluster's log and the free disk, for a failure that
/// looks like the server died (CI shows only the panic).
fn server_log_tail(cluster: &Cluster) -> String {
    let log = std::fs::read_to_string(cluster.log_file()).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    let disk = std::process::Command::new("df")
        .args(["-h", &std::env::temp_dir().to_string_lossy()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    format!("\n--- the server's log ends ---\n{tail}\n--- free disk ---\n{disk}")
}

/// Drops a test's database once the test is done with it, so a run needs
/// disk for the tests running at once, not for every test it ran (CI
/// machines can have little free disk). It runs on its own thread: `Drop`
/// cannot wait on the test's runtime. A drop that fails costs only disk.
fn drop_database_soon(name: String) {
    let Some(cluster) = CLUSTER.get() else {
        return;
    };
    let options = cluster.connect_options("postgres");
    let _ = std::thread::Builder::new()
        .name(format!("drop {name}"))
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect_with(&options).await {
                    // `with (force)` ends the app's connections still open.
                    let _ = conn
                        .execute(sqlx::AssertSqlSafe(format!(
                            "drop database if exists {name} with (force)"
                        )))
                        .await;
                    let _ = conn.close().await;
                }
            });
        });
}

/// The real application on a local port, with its own database and SMTP
/// sink; dropping it stops the app and drops the database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    pub admin: PgConnectOptions,
    pub smtp: SmtpSink,
    /// Its background tasks and server (`kill` them to play a dead process).
    pub background: Background,
    /// Whether a job worker runs in the background; without one the test
    /// runs due jobs itself ([`TestApp::run_pending_jobs`]).
    pub worker: bool,
    _data_dir: TempDir,
}

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.background.kill();
        if let Some(name) = self.admin.get_database() {
            drop_database_soon(name.to_owned());
        }
    }
}

pub fn test_secret_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

/// One instance built as `wacrm serve` builds it, served in the
/// background; `connector` replaces the linked-device (WhatsApp Web)
/// connector.
async fn start_instance(
    admin: &PgConnectOptions,
    config: Config,
    listener: TcpListener,
    connector: Option<std::sync::Arc<dyn wacrm::channels::whatsapp_web::link::Connector>>,
    worker: bool,
) -> (AppState, Background) {
    let mut app = Application::build_on(listener, config, admin)
        .await
        .expect("application");
    if let Some(connector) = connector {
        app.state_mut().web_connector = connector;
    }
    let state = app.state().clone();
    let jobs = if worker { Jobs::Run } else { Jobs::OnDemand };
    let running = tokio::spawn(async move {
        let _ = app.run_until_stopped(jobs, std::future::pending()).await;
    });
    (state, Background(running))
}

/// An instance's server and background tasks: aborted together, as when
/// its process is killed.
pub struct Background(tokio::task::JoinHandle<()>);

impl Background {
    pub fn kill(&self) {
        self.0.abort();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with_connector(None, customize).await
}

/// The app with its linked-device sessions run by `connector` (a fake).
pub async fn spawn_app_with_connector(
    connector: Option<std::sync::Arc<dyn wacrm::channels::whatsapp_web::link::Connector>>,
    customize: impl FnOnce(&mut Config),
) -> TestApp {
    start_app(connector, true, customize).await
}

/// The app without a background job worker: queued jobs wait until the
/// test runs them ([`TestApp::run_pending_jobs`]), so it need not poll.
pub async fn spawn_app_without_worker() -> TestApp {
    spawn_app_without_worker_with(|_| {}).await
}

/// [`spawn_app_without_worker`] with its configuration changed.
pub async fn spawn_app_without_worker_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    start_app(None, false, customize).await
}

async fn start_app(
    connector: Option<std::sync::Arc<dyn wacrm::channels::whatsapp_web::link::Connector>>,
    worker: bool,
    customize: impl FnOnce(&mut Config),
) -> TestApp {
    wacrm::infra::tls::install_crypto_provider();
    // `RUST_LOG=warn cargo test ...` shows what the server logs.
    if std::env::var_os("RUST_LOG").is_some() {
        wacrm::init_tracing();
    }
    let admin = fresh_database().await;
    let smtp = SmtpSink::start().await;
    let data_dir = std::env::temp_dir().join(format!(
        "wacrm-test-data-{}-{}",
        std::process::id(),
        DB_COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let mut config = Config::for_tests(data_dir.clone());
    config.bind = addr;
    config.smtp_url = Some(smtp.url().into());
    config.secret_key = Some(test_secret_key().into());
    customize(&mut config);
    let (state, background) = start_instance(&admin, config, listener, connector, worker).await;
    TestApp {
        addr,
        base: format!("http://{addr}"),
        state,
        admin,
        smtp,
        background,
        worker,
        _data_dir: TempDir(data_dir),
    }
}

/// Another wacrm instance on the same database (as behind a load balancer).
pub struct Instance {
    pub base: String,
    pub state: AppState,
    pub background: Background,
}

impl TestApp {
    /// Start a second instance on this app's database and configuration.
    pub async fn second_instance(&self) -> Instance {
        self.second_instance_with(|_| {}).await
    }

    /// A second instance with its configuration changed (as when the
    /// operator restarts wacrm with other settings).
    pub async fn second_instance_with(&self, customize: impl FnOnce(&mut Config)) -> Instance {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut config = (*self.state.config).clone();
        config.bind = addr;
        customize(&mut config);
        let connector = Some(self.state.web_connector.clone());
        let (state, background) =
            start_instance(&self.admin, config, listener, connector, self.worker).await;
        Instance {
            base: format!("http://{addr}"),
            state,
            background,
        }
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A superuser connection to this test's database (for assertions).
    pub async fn admin_conn(&self) -> PgConnection {
        PgConnection::connect_with(&self.admin)
            .await
            .expect("admin connection")
    }

    /// Sign up a new owner with their workspace; returns the signed-in browser.
    pub async fn sign_up(&self, name: &str, email: &str, org: &str) -> Browser {
        let browser = self.sign_up_unverified(name, email, org).await;
        // As if they had opened the link mailed to them (inviting needs it).
        sqlx::query("update users set email_verified_at = now() where lower(email) = lower($1)")
            .bind(email)
            .execute(&mut self.admin_conn().await)
            .await
            .expect("verified");
        browser
    }

    /// Sign up a new owner who has not opened their verification mail.
    pub async fn sign_up_unverified(&self, name: &str, email: &str, org: &str) -> Browser {
        let browser = self.browser();
        let response = browser
            .post_form(
                "/signup",
                &[
                    ("name", name),
                    ("email", email),
                    ("password", PASSWORD),
                    ("org_name", org),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "sign-up of {email} failed");
        browser
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Browser {
        let browser = self.browser();
        let response = browser
            .post_form("/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(response.status(), 303, "login of {email} failed");
        browser
    }

    /// The mail to `to` whose body contains `needle` (sent by the due jobs
    /// first when no worker runs).
    pub async fn mail_to(&self, to: &str, needle: &str) -> smtp_sink::ReceivedMail {
        if !self.worker {
            self.run_pending_jobs().await;
        }
        self.smtp
            .wait_for(to, needle, Duration::from_secs(10))
            .await
    }

    /// `select count(*) ...` as the superuser (sees every workspace).
    pub async fn count(&self, sql: &'static str) -> i64 {
        let mut conn = self.admin_conn().await;
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect("count query")
    }

    /// The user id of an email address.
    pub async fn user_id(&self, email: &str) -> uuid::Uuid {
        let mut conn = self.admin_conn().await;
        sqlx::query_scalar("select id from users where lower(email) = lower($1)")
            .bind(email)
            .fetch_one(&mut conn)
            .await
            .expect("user exists")
    }

    /// The id of the workspace named `name`.
    pub async fn org_id(&self, name: &str) -> uuid::Uuid {
        let mut conn = self.admin_conn().await;
        sqlx::query_scalar("select id from organizations where name = $1")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .expect("workspace exists")
    }
}

/// The password every test user gets unless a test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    csrf: std::sync::Mutex<Option<String>>,
}

impl Browser {
    /// A browser-like client of the server at `base` (keeps cookies, does
    /// not follow redirects).
    pub fn new(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
            csrf: std::sync::Mutex::new(None),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Sends a file from the inbox composer (token in the query, as the
    /// form does), with a caption and optionally quoting a message.
    pub async fn attach(
        &self,
        conversation: &str,
        (filename, mime, bytes): (&str, &str, &[u8]),
        caption: &str,
        reply_to: Option<&str>,
    ) -> reqwest::Response {
        let token = self.csrf_token().await;
        let part = reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name(filename.to_owned())
            .mime_str(mime)
            .expect("mime");
        let mut form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("text", caption.to_owned());
        if let Some(reply_to) = reply_to {
            form = form.text("reply_to", reply_to.to_owned());
        }
        self.client
            .post(self.url(&format!(
                "/inbox/{conversation}/attachments?csrf_token={token}"
            )))
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    /// GET a page: status and body; remembers the page's CSRF token.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        if let Some(token) = hidden_value(&body, "csrf_token") {
            *self.csrf.lock().expect("csrf lock") = Some(token);
        }
        (status, body)
    }

    /// The session's CSRF token (from the last page, or a fresh page).
    pub async fn csrf_token(&self) -> String {
        if let Some(token) = self.csrf.lock().expect("csrf lock").clone() {
            return token;
        }
        for path in ["/login", "/dashboard", "/workspaces"] {
            let (_, body) = self.page(path).await;
            if let Some(token) = hidden_value(&body, "csrf_token") {
                return token;
            }
        }
        panic!("no page offered a csrf_token")
    }

    /// POST a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        let response = self.post_form_raw(path, &all).await;
        // Signing in, out or up rotates the session and its token.
        if response.status() == 303 {
            self.forget_csrf();
        }
        response
    }

    /// POST exactly these fields (no CSRF token added).
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// GET `path` until it answers `status`, for at most 2 s: a session
    /// changed in SQL reaches the session caches by `NOTIFY`, not at once.
    pub async fn eventually(&self, path: &str, status: u16) -> reqwest::Response {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let response = self.get(path).await;
            if response.status() == status || std::time::Instant::now() > deadline {
                return response;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Forget the remembered CSRF token (after a session change).
    pub fn forget_csrf(&self) {
        *self.csrf.lock().expect("csrf lock") = None;
    }
}

/// The value of the first `<input ... name="NAME" value="...">`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Repeat `attempt` until it is refused with 429: returns the number of
/// tries and the refusal. Rate limits count in fixed windows, so a window
/// boundary inside the loop can at most double the count; past that it fails.
pub async fn tries_until_429<F, Fut>(limit: usize, mut attempt: F) -> (usize, reqwest::Response)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    for n in 1..=(2 * limit + 1) {
        let response = attempt().await;
        if response.status() == 429 {
            return (n, response);
        }
    }
    panic!("no 429 after {} attempts", 2 * limit + 1)
}

/// Where a 303 points.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Waits until `done` holds, checking every 20 ms; fails naming `what`
/// after `limit`.
pub async fn until<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A WhatsApp Cloud API number as Settings → WhatsApp numbers takes it.
pub struct CloudNumber<'a> {
    pub phone_number_id: &'a str,
    pub waba_id: &'a str,
    pub access_token: &'a str,
    pub app_secret: &'a str,
}

/// Connects the number as "Sales line"; the channel's id.
pub async fn connect_number(owner: &Browser, number: &CloudNumber<'_>) -> String {
    let connected = owner
        .post_form(
            "/settings/channels",
            &[
                ("name", "Sales line"),
                ("phone_number_id", number.phone_number_id),
                ("waba_id", number.waba_id),
                ("access_token", number.access_token),
                ("app_secret", number.app_secret),
            ],
        )
        .await;
    assert_eq!(connected.status(), 303, "connecting the number");
    location(&connected)
        .trim_start_matches("/settings/channels/")
        .to_owned()
}

/// Syncs the channel's templates from (the fake) Graph.
pub async fn sync_templates(owner: &Browser, channel: &str) {
    let synced = owner
        .post_form(&format!("/settings/channels/{channel}/templates"), &[])
        .await;
    assert_eq!(synced.status(), 303, "syncing templates");
}

/// Files a hostile customer sends, as (name, claimed type, bytes): a page,
/// a scripted SVG, a page behind a JPEG's first bytes, and a page under a
/// lying type with parameters.
pub fn hostile_files() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let script = b"<html><body><script>document.title='ran';fetch('/team')</script></body></html>";
    let mut polyglot =
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
    polyglot.extend_from_slice(script);
    vec![
        ("page.html", "text/html", script.to_vec()),
        (
            "logo.svg",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"document.title='ran'\"><script>document.title='ran'</script></svg>".to_vec(),
        ),
        ("photo.jpg", "image/jpeg", polyglot),
        ("photo.jpg", "image/jpeg,text/html", script.to_vec()),
    ]
}

/// Checks that a stored file is served as an opaque, sandboxed download
/// with its bytes intact.
pub async fn assert_served_as_attachment(browser: &Browser, url: &str, bytes: &[u8]) {
    let response = browser.get(url).await;
    assert_eq!(response.status(), 200, "{url}");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/octet-stream", "{url}");
    assert!(
        header("content-disposition").starts_with("attachment; filename=\""),
        "{url}: {}",
        header("content-disposition")
    );
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; sandbox",
        "{url}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff", "{url}");
    assert_eq!(
        header("cross-origin-resource-policy"),
        "same-origin",
        "{url}"
    );
    assert_eq!(
        response.bytes().await.expect("bytes").as_ref(),
        bytes,
        "{url}"
    );
}

impl TestApp {
    /// Claims and runs every job due in this app's database, as the worker
    /// does (same claim, run and outcome), until none is due; returns how
    /// many ran. A job that fails waits for its backoff, so it is not run
    /// again here. Use it on an app without a worker
    /// ([`spawn_app_without_worker`]): with one, a job the worker claimed
    /// may still be running when this returns.
    pub async fn run_pending_jobs(&self) -> usize {
        wacrm::worker::worker(&self.state).run_pending(10_000).await
    }

    /// Makes every queued job due now (as if its time or backoff had
    /// passed), so that [`TestApp::run_pending_jobs`] runs it.
    pub async fn make_jobs_due(&self) {
        let mut conn = self.admin_conn().await;
        sqlx::query("update jobs set run_at = now() where run_at > now()")
            .execute(&mut conn)
            .await
            .expect("jobs due now");
    }
}
