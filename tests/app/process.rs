//! The binary itself: first start on an empty data dir, a second instance on
//! the same data dir, graceful shutdown stopping the private cluster.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::fake_graph::{FakeGraph, SendFailure};
use crate::support::{
    Browser, CloudNumber, TempDir, connect_number, location, sync_templates, until,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

async fn wait_ready(port: u16, limit: Duration) -> bool {
    wacrm::infra::tls::install_crypto_provider();
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && r.status() == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn wacrm(data_dir: &std::path::Path, port: u16) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_wacrm"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WACRM_DATA_DIR", data_dir)
        .env("WACRM_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// SIGTERM: the process exits 0 and has stopped its private cluster.
async fn stops_cleanly(child: &mut tokio::process::Child, data: &std::path::Path) {
    let pid = child.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits")
        .expect("wait");
    assert!(exit.success(), "graceful shutdown exits 0");
    assert!(
        !data.join("postgres/pgdata/postmaster.pid").exists(),
        "cluster stopped"
    );
}

#[tokio::test]
async fn binary_starts_its_own_postgres_refuses_a_second_instance_and_stops_cleanly() {
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-proc-{}", uuid::Uuid::new_v4())));
    let data = dir.0.join("data");
    let port = free_port();
    let mut first = wacrm(&data, port).spawn().expect("spawn wacrm");
    assert!(
        wait_ready(port, Duration::from_secs(60)).await,
        "first start never became ready"
    );
    assert!(data.join("postgres/pgdata/PG_VERSION").exists());
    assert!(
        data.join("secret.key").exists(),
        "development key generated"
    );

    let second = wacrm(&data, free_port())
        .output()
        .await
        .expect("second wacrm");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(
        wait_ready(port, Duration::from_secs(2)).await,
        "the first one is unharmed"
    );

    stops_cleanly(&mut first, &data).await;

    // Restart on the existing data dir.
    let mut again = wacrm(&data, port).spawn().expect("restart");
    assert!(
        wait_ready(port, Duration::from_secs(30)).await,
        "restart never became ready"
    );
    let pid = again.id().expect("pid").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let _ = tokio::time::timeout(Duration::from_secs(30), again.wait()).await;
}

#[tokio::test]
async fn migrate_subcommand_applies_migrations_and_exits() {
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-mig-{}", uuid::Uuid::new_v4())));
    let output = wacrm(&dir.0.join("data"), free_port())
        .arg("migrate")
        .output()
        .await
        .expect("migrate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !dir.0.join("data/postgres/pgdata/postmaster.pid").exists(),
        "cluster stopped after migrate"
    );
}

// ---- A process killed mid-send ---------------------------------------------

const TOKEN: &str = "EAAGm0PX4ZCpsBAKkilledprocesstoken0123";
const APP_SECRET: &str = "fedcba9876543210fedcba9876543210";
const NUMBER_ID: &str = "106540352242923";
const CUSTOMER: &str = "16505551234";
/// Seconds a killed process keeps its jobs (`WACRM_JOB_LEASE_SECS`).
const LEASE_SECS: u64 = 3;
/// Seconds a send of unknown outcome waits for Meta's report
/// (`WHATSAPP_SEND_CONFIRM_SECS`): longer than a restart takes, as in
/// production (two minutes there).
const CONFIRM_SECS: u64 = 15;

/// A wacrm process of the kill test, talking to the fake Graph server.
async fn start_sender(data: &std::path::Path, graph: &str) -> (tokio::process::Child, String) {
    let port = free_port();
    let child = wacrm(data, port)
        .env("WACRM_SECRET_KEY", crate::support::test_secret_key())
        .env("WHATSAPP_GRAPH_URL", graph)
        // The process never gives up on Graph by itself: it is killed.
        .env("WHATSAPP_TIMEOUT_SECS", "600")
        .env("WHATSAPP_SEND_CONFIRM_SECS", CONFIRM_SECS.to_string())
        .env("WACRM_JOB_LEASE_SECS", LEASE_SECS.to_string())
        .spawn()
        .expect("spawn wacrm");
    assert!(
        wait_ready(port, Duration::from_secs(90)).await,
        "wacrm never became ready"
    );
    (child, format!("http://127.0.0.1:{port}"))
}

/// SIGKILL: no shutdown, no cleanup, as a crash or the OOM killer.
async fn kill_hard(child: &mut tokio::process::Child) {
    child.start_kill().expect("SIGKILL");
    let _ = child.wait().await;
}

/// A cluster left running by a killed wacrm is stopped when the test ends,
/// whatever happens in between (SIGQUIT: PostgreSQL's immediate shutdown).
struct StopsPostgres(std::path::PathBuf);

impl Drop for StopsPostgres {
    fn drop(&mut self) {
        let pid_file = self.0.join("postgres/pgdata/postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned))
        {
            let _ = std::process::Command::new("kill")
                .args(["-QUIT", &pid])
                .status();
        }
    }
}

/// A superuser connection to the database of the wacrm on `data`.
async fn wacrm_db(data: &std::path::Path) -> sqlx::PgConnection {
    let options = wacrm::infra::embedded_pg::connect_options_in(&data.join("postgres"), "wacrm");
    <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
        .await
        .expect("connect to wacrm's cluster")
}

/// (status, provider id, send marked) of our message with this text.
async fn our_message(data: &std::path::Path, text: &str) -> (String, Option<String>, bool) {
    let mut conn = wacrm_db(data).await;
    sqlx::query_as(
        "select status, provider_message_id, send_attempted_at is not null \
         from messages where body = $1 and direction = 'out'",
    )
    .bind(text)
    .fetch_one(&mut conn)
    .await
    .expect("our message")
}

async fn admin_scalar<T>(data: &std::path::Path, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .fetch_one(&mut wacrm_db(data).await)
        .await
        .expect(sql)
}

async fn deliver_signed(base: &str, channel: &str, payload: &serde_json::Value) -> u16 {
    let body = payload.to_string().into_bytes();
    let signature = wacrm::channels::cloud_api::signature::sign(APP_SECRET.as_bytes(), &body);
    reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp/{channel}"))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .expect("POST delivery")
        .status()
        .as_u16()
}

fn on_number(value: serde_json::Value) -> serde_json::Value {
    let mut value = value;
    value["messaging_product"] = serde_json::json!("whatsapp");
    value["metadata"] =
        serde_json::json!({"display_phone_number": "15550783882", "phone_number_id": NUMBER_ID});
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340399", "changes": [{"field": "messages", "value": value}]}]
    })
}

fn message_sends(graph: &FakeGraph) -> usize {
    graph
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/messages"))
        .count()
}

/// Acme's owner, signed up on the wacrm at `base`, with its number
/// connected: the owner's browser and the channel's id.
async fn acme_with_number(base: &str) -> (Browser, String) {
    let owner = Browser::new(base);
    let signed_up = owner
        .post_form(
            "/signup",
            &[
                ("name", "Olga"),
                ("email", "owner@acme.test"),
                ("password", crate::support::PASSWORD),
                ("org_name", "Acme"),
            ],
        )
        .await;
    assert_eq!(signed_up.status(), 303);
    let number = CloudNumber {
        phone_number_id: NUMBER_ID,
        waba_id: "102290129340399",
        access_token: TOKEN,
        app_secret: APP_SECRET,
    };
    let channel = connect_number(&owner, &number).await;
    (owner, channel)
}

/// The issue's "a worker killed between claim and send → sent once after
/// restart", with real processes and SIGKILL, in both places a kill can
/// land: before WhatsApp took the message (it is sent by the next process)
/// and after (Meta's report records it; it is not sent again). The private
/// cluster the killed process leaves running is taken over and stopped by
/// the next one.
#[tokio::test]
async fn a_send_interrupted_by_a_killed_process_goes_out_once_after_restart() {
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-kill-{}", uuid::Uuid::new_v4())));
    let data = dir.0.join("data");
    let _stops = StopsPostgres(data.clone());
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3882", "Acme Sales");
    // The first send reaches Graph, which holds it without taking it.
    graph.script_send_failures(
        NUMBER_ID,
        vec![SendFailure::Stall(Duration::from_secs(300))],
    );

    let (mut first, base) = start_sender(&data, &graph.base_url()).await;
    let (owner, channel) = acme_with_number(&base).await;
    let hello = on_number(serde_json::json!({
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": "wamid.KILLHELLO", "timestamp": time::OffsetDateTime::now_utc().unix_timestamp().to_string(), "type": "text", "text": {"body": "Hi"}}]
    }));
    assert_eq!(deliver_signed(&base, &channel, &hello).await, 200);
    let conversation: String = admin_scalar(
        &data,
        "select conversation_id::text from messages where provider_message_id = 'wamid.KILLHELLO'",
    )
    .await;
    let reply = |text: &'static str| {
        let (owner, path) = (&owner, format!("/inbox/{conversation}/messages"));
        async move {
            let response = owner.post_form(&path, &[("text", text)]).await;
            assert_eq!(response.status(), 303, "reply {text}");
        }
    };

    // 1. Killed while Graph holds the request, before it took the message.
    reply("Before Graph took it").await;
    until(
        Duration::from_secs(20),
        "the send to reach Graph",
        || async { message_sends(&graph) == 1 },
    )
    .await;
    // Held past the lease: the claim is renewed, so no other worker of the
    // same process takes the job meanwhile.
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 2)).await;
    let held: (i32, bool) = sqlx::query_as(
        "select attempts, coalesce(locked_until > now(), false) from jobs where queue = 'messages'",
    )
    .fetch_one(&mut wacrm_db(&data).await)
    .await
    .expect("the send job");
    assert_eq!(held, (1, true), "claimed once, claim kept while running");
    kill_hard(&mut first).await;
    assert_eq!(
        our_message(&data, "Before Graph took it").await,
        ("queued".to_owned(), None, true),
        "the outcome is unknown to wacrm"
    );

    let (mut second, base) = start_sender(&data, &graph.base_url()).await;
    until(
        Duration::from_secs(LEASE_SECS + CONFIRM_SECS + 20),
        "the send after restart",
        || async { our_message(&data, "Before Graph took it").await.0 != "queued" },
    )
    .await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 1, "taken once");
    assert_eq!(message_sends(&graph), 2, "the held request, then the send");
    assert_eq!(
        our_message(&data, "Before Graph took it").await,
        ("sent".to_owned(), Some(sent[0].wamid.clone()), false)
    );

    // 2. Killed after Graph took the message, before wacrm heard so.
    graph.script_send_failures(
        NUMBER_ID,
        vec![SendFailure::Delay(Duration::from_secs(300))],
    );
    let owner = Browser::new(&base);
    let logged_in = owner
        .post_form(
            "/login",
            &[
                ("email", "owner@acme.test"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    assert_eq!(logged_in.status(), 303);
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "After Graph took it")],
        )
        .await;
    assert_eq!(response.status(), 303);
    until(Duration::from_secs(20), "Graph to take it", || async {
        graph.sent().len() == 2
    })
    .await;
    kill_hard(&mut second).await;
    let (mut third, base) = start_sender(&data, &graph.base_url()).await;
    // Meta reports what it took, naming our message; it retries until a
    // server answers 200, so the report reaches the restarted process.
    let taken = graph.sent()[1].clone();
    let ours = taken.body["biz_opaque_callback_data"]
        .as_str()
        .expect("our id echoed")
        .to_owned();
    let report = on_number(serde_json::json!({"statuses": [{
        "id": taken.wamid, "status": "sent", "recipient_id": CUSTOMER,
        "timestamp": time::OffsetDateTime::now_utc().unix_timestamp().to_string(),
        "biz_opaque_callback_data": ours,
    }]}));
    assert_eq!(deliver_signed(&base, &channel, &report).await, 200);
    assert_eq!(
        our_message(&data, "After Graph took it").await,
        ("sent".to_owned(), Some(taken.wamid.clone()), false)
    );
    // Past the lease and the confirmation window: not sent again.
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + CONFIRM_SECS + 2)).await;
    assert_eq!(graph.sent().len(), 2, "each message taken once");
    assert_eq!(message_sends(&graph), 3);
    let jobs_left: i64 =
        admin_scalar(&data, "select count(*) from jobs where queue = 'messages'").await;
    assert_eq!(jobs_left, 0, "the interrupted send job is done");

    // The last process stops the cluster the killed ones left running.
    stops_cleanly(&mut third, &data).await;
}

/// The issue's "kill the process mid-campaign and restart: every recipient
/// sent exactly once (counted at the fake)". Meta reports each message it
/// takes (with our id echoed), so the test plays Meta and reports what the
/// fake took, to whichever process is up.
#[tokio::test]
async fn a_campaign_interrupted_by_a_killed_process_reaches_everyone_exactly_once() {
    const RECIPIENTS: usize = 40;
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-kill-{}", uuid::Uuid::new_v4())));
    let data = dir.0.join("data");
    let _stops = StopsPostgres(data.clone());
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3882", "Acme Sales");
    graph.add_templates(
        "102290129340399",
        TOKEN,
        vec![serde_json::json!({"name": "news", "language": "en_US", "status": "APPROVED",
            "category": "MARKETING", "id": "7", "components": [{"type": "BODY", "text": "Hi {{1}}, news from Acme."}]})],
    );
    let (mut first, base) = start_sender(&data, &graph.base_url()).await;
    let (owner, channel) = acme_with_number(&base).await;
    sync_templates(&owner, &channel).await;
    let org: uuid::Uuid = admin_scalar(&data, "select id from organizations").await;
    let mut db = wacrm_db(&data).await;
    for i in 0..RECIPIENTS {
        sqlx::query("insert into contacts (org_id, id, name, phone) values ($1, $2, $3, $4)")
            .bind(org)
            .bind(uuid::Uuid::now_v7())
            .bind(format!("Customer {i:02}"))
            .bind(format!("+1650555{:04}", 2000 + i))
            .execute(&mut db)
            .await
            .expect("contact");
    }
    let created = owner
        .post_form(
            "/campaigns",
            &[
                ("name", "News"),
                ("channel_id", &channel),
                ("template", "news|en_US"),
                ("var_source", "first_name"),
                ("var_key", ""),
                ("var_text", ""),
                // Ten a second: about four seconds in all.
                ("rate_per_minute", "600"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let campaign = location(&created);
    let started = owner.post_form(&format!("{campaign}/start"), &[]).await;
    assert_eq!(started.status(), 303);

    // Killed part-way.
    until(
        Duration::from_secs(30),
        "part of the campaign sent",
        || async { graph.sent().len() >= 10 },
    )
    .await;
    kill_hard(&mut first).await;
    let at_kill = graph.sent().len();
    assert!(at_kill < RECIPIENTS, "killed mid-campaign ({at_kill})");

    let (mut second, base) = start_sender(&data, &graph.base_url()).await;
    let mut reported = std::collections::HashSet::new();
    let unfinished = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from campaign_recipients where state in ('pending', 'queued')",
        )
        .fetch_one(&mut wacrm_db(&data).await)
        .await
        .expect("unfinished")
    };
    let limit = Instant::now() + Duration::from_secs(LEASE_SECS + CONFIRM_SECS + 60);
    while unfinished().await > 0 {
        assert!(Instant::now() < limit, "the campaign never finished");
        // Meta's reports of what it took.
        for sent in graph.sent() {
            if !reported.insert(sent.wamid.clone()) {
                continue;
            }
            let report = on_number(serde_json::json!({"statuses": [{
                "id": sent.wamid, "status": "sent", "recipient_id": sent.to,
                "timestamp": time::OffsetDateTime::now_utc().unix_timestamp().to_string(),
                "biz_opaque_callback_data": sent.body["biz_opaque_callback_data"],
            }]}));
            assert_eq!(deliver_signed(&base, &channel, &report).await, 200);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = graph.sent();
    let to: std::collections::BTreeSet<&str> = sent.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to.len(), RECIPIENTS, "everyone reached");
    assert_eq!(sent.len(), RECIPIENTS, "no one twice");
    let states: Vec<(String, i64)> =
        sqlx::query_as("select state, count(*) from campaign_recipients group by state")
            .fetch_all(&mut wacrm_db(&data).await)
            .await
            .expect("states");
    assert_eq!(states, [("sent".to_owned(), RECIPIENTS as i64)]);
    until(Duration::from_secs(10), "the campaign done", || async {
        admin_scalar::<String>(&data, "select state from campaigns").await == "done"
    })
    .await;
    stops_cleanly(&mut second, &data).await;
}
