//! Secrets at rest: a sealed value belongs to its row (copied into another
//! channel of the same workspace it does not open, and that channel's send
//! fails in words), and `wacrm secrets rotate` re-seals every sealed value
//! with the first key so an older key can be removed; every sealed column
//! of the schema is known to it.

use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wacrm::channels::cloud_api::signature;
use wacrm::channels::whatsapp_web::events::qr_purpose;
use wacrm::channels::whatsapp_web::link::SessionEvent;
use wacrm::channels::whatsapp_web::store::SessionStore;
use wacrm::features::auth::totp;
use wacrm::features::secret_rotation::{SEALED_COLUMNS, Scope, Tally, rotate};
use wacrm::infra::jobs::SendEmail;
use wacrm::infra::secrets::SecretBox;
use whatsapp_rust::wacore::store::traits::*;

use crate::support::fake_graph::FakeGraph;
use crate::support::fake_waha::FakeWaha;
use crate::support::*;

const WABA_ID: &str = "102290129340398";
const NUMBER_A: &str = "106540352242922";
const TOKEN_A: &str = "EAAGm0PX4ZCpsBAKtokenofnumberA0123456789";
const SECRET_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NUMBER_B: &str = "106540352242933";
const TOKEN_B: &str = "EAAGm0PX4ZCpsBAKtokenofnumberB0123456789";
const SECRET_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const CUSTOMER: &str = "16505551234";
const WAIT: Duration = Duration::from_secs(15);

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

async fn app_with(graph: &FakeGraph, secret_key: String) -> TestApp {
    let base = graph.base_url();
    spawn_app_with(move |config| {
        config.whatsapp_graph_url = base.parse().expect("url");
        config.whatsapp_timeout_secs = 5;
        config.secret_key = Some(secret_key.into());
        // The fake WAHA listens on 127.0.0.1.
        config.waha_allow_private_networks = true;
    })
    .await
}

/// A customer's text on `number_id`, delivered to `base` signed with the
/// channel's app secret; its conversation's id.
async fn customer_writes_in(
    app: &TestApp,
    base: &str,
    channel: &str,
    number_id: &str,
    app_secret: &str,
    wamid: &str,
) -> String {
    let timestamp = (time::OffsetDateTime::now_utc().unix_timestamp() - 5).to_string();
    let payload: Value = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number_id},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
            "messages": [{"from": CUSTOMER, "id": wamid, "timestamp": timestamp,
                          "type": "text", "text": {"body": "Hi, I need help"}}]
        }}]}]
    });
    let body = payload.to_string().into_bytes();
    let signed = signature::sign(app_secret.as_bytes(), &body);
    let response = reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp/{channel}"))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", signed)
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200, "delivery to {channel}");
    sqlx::query_scalar("select conversation_id::text from messages where provider_message_id = $1")
        .bind(wamid)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("conversation")
}

/// The agent replies; the message's (status, error) once it left the queue.
async fn reply_settles(
    app: &TestApp,
    agent: &Browser,
    conversation: &str,
    text: &str,
) -> (String, Option<String>) {
    let response = agent
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", text)],
        )
        .await;
    assert_eq!(response.status(), 303, "reply {text}");
    let started = std::time::Instant::now();
    loop {
        let (status, error): (String, Option<String>) = sqlx::query_as(
            "select status, error from messages where body = $1 and direction = 'out'",
        )
        .bind(text)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("outbound message");
        if status != "queued" {
            return (status, error);
        }
        assert!(started.elapsed() < WAIT, "{text} still queued");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_token_copied_into_another_channel_does_not_open_and_its_sends_fail_in_words() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_A, TOKEN_A, "+1 555-078-3881", "Acme Sales");
    graph.add_number(NUMBER_B, TOKEN_B, "+1 555-078-3882", "Acme Support");
    let app = app_with(&graph, test_secret_key()).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let number = |phone_number_id, access_token, app_secret| CloudNumber {
        phone_number_id,
        waba_id: WABA_ID,
        access_token,
        app_secret,
    };
    let sales = connect_number(&owner, &number(NUMBER_A, TOKEN_A, SECRET_A)).await;
    let support = connect_number(&owner, &number(NUMBER_B, TOKEN_B, SECRET_B)).await;

    // Someone with the database, not the key, gives Support the token of
    // Sales: same workspace, same purpose, another row.
    sqlx::query(
        "update channels set access_token_sealed = \
         (select access_token_sealed from channels where id = $1::uuid) where id = $2::uuid",
    )
    .bind(&sales)
    .bind(&support)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();

    let conversation =
        customer_writes_in(&app, &app.base, &support, NUMBER_B, SECRET_B, "wamid.B1").await;
    let (status, error) = reply_settles(&app, &owner, &conversation, "Support here").await;
    assert_eq!(status, "failed");
    assert_eq!(
        error.as_deref(),
        Some(wacrm::channels::cloud_api::sender::UNREADABLE_TOKEN),
        "the agent reads why"
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("stored access token cannot be read"));
    // (Sales's own template sync, queued when it was connected, rightly
    // uses its token.)
    assert!(
        !graph
            .requests()
            .iter()
            .any(|r| r.path_and_query.contains(NUMBER_B)
                && r.authorization.as_deref() == Some(&format!("Bearer {TOKEN_A}"))),
        "the token of Sales never left for Support"
    );
    assert!(graph.sent().is_empty());

    // Sales itself is unaffected.
    let conversation =
        customer_writes_in(&app, &app.base, &sales, NUMBER_A, SECRET_A, "wamid.A1").await;
    let (status, error) = reply_settles(&app, &owner, &conversation, "Sales here").await;
    assert_eq!((status.as_str(), error), ("sent", None));
}

/// A blob as the first version sealed it (workspace and purpose, no row),
/// made here independently of the application.
fn v1_blob(key_byte: u8, org_id: Uuid, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
    let key = [key_byte; 32];
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let nonce = [3u8; 12];
    let aad = format!("wacrm/secret/v1/{org_id}/{purpose}");
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .unwrap();
    let mut blob = vec![1u8];
    blob.extend_from_slice(&Sha256::digest(key)[..4]);
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    blob
}

/// Non-null values of each sealed column, as the superuser counts them.
async fn stored(app: &TestApp) -> Vec<u64> {
    let mut conn = app.admin_conn().await;
    let mut counts = Vec::new();
    for c in SEALED_COLUMNS {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {} where {} is not null",
            c.table, c.column
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        counts.push(n as u64);
    }
    counts
}

/// (resealed, already current, failed) of every column.
fn counts(tallies: &[Tally]) -> Vec<(u64, u64, u64)> {
    tallies
        .iter()
        .map(|t| (t.resealed, t.current, t.failed))
        .collect()
}

#[tokio::test]
async fn rotating_reseals_every_secret_with_the_first_key_so_the_old_key_can_go() {
    let (k1, k2) = (key(0x11), key(0x22));
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_A, TOKEN_A, "+1 555-078-3881", "Acme Sales");
    let app = app_with(&graph, k1.clone()).await;

    // Under K1: Acme's number, its own AI key, its owner's second factor.
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let sales = connect_number(
        &owner,
        &CloudNumber {
            phone_number_id: NUMBER_A,
            waba_id: WABA_ID,
            access_token: TOKEN_A,
            app_secret: SECRET_A,
        },
    )
    .await;
    let response = owner
        .post_form(
            "/settings/ai",
            &[("enabled", "on"), ("api_key", "sk-acme-0123456789")],
        )
        .await;
    assert_eq!(response.status(), 303, "AI key set");
    let (totp_secret, _) = enrol(&owner).await;
    // Globex: a phone on its WAHA server, a linked phone waiting for its
    // scan with its session state, and an AI key stored before rows were
    // bound (version 1).
    let bob = app.sign_up("Bob", "owner@globex.test", "Globex").await;
    let waha = FakeWaha::start("waha-api-key-1").await;
    let response = bob
        .post_form(
            "/settings/linked-devices",
            &[
                ("name", "Shop phone"),
                ("phone", ""),
                ("runs_on", "waha"),
                ("waha_url", &waha.base_url()),
                ("waha_api_key", "waha-api-key-1"),
                ("waha_session", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "WAHA phone set up");
    let globex = app.org_id("Globex").await;
    let web_channel = Uuid::new_v4();
    let mut conn = app.admin_conn().await;
    sqlx::query(
        "insert into channels (org_id, id, kind, name) values ($1, $2, 'whatsapp_web', 'Shop')",
    )
    .bind(globex)
    .bind(web_channel)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("insert into whatsapp_web_sessions (org_id, channel_id) values ($1, $2)")
        .bind(globex)
        .bind(web_channel)
        .execute(&mut conn)
        .await
        .unwrap();
    wacrm::channels::whatsapp_web::events::apply(
        &app.state.env(),
        globex,
        web_channel,
        SessionEvent::Qr {
            code: "2@qr,code".into(),
            valid_for: Duration::from_secs(600),
        },
    )
    .await
    .unwrap();
    let session = |state: &wacrm::state::AppState| {
        SessionStore::new(
            state.pool.clone(),
            state.secrets.clone(),
            globex,
            web_channel,
        )
    };
    session(&app.state)
        .put_session("15551234567@s.whatsapp.net", b"SIGNAL-SESSION")
        .await
        .unwrap();
    sqlx::query("insert into ai_settings (org_id, api_key_sealed) values ($1, $2)")
        .bind(globex)
        .bind(v1_blob(
            0x11,
            globex,
            wacrm::infra::db::ai::KEY_PURPOSE,
            b"sk-globex-v1",
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    // A mail queued for tomorrow.
    let mail = SendEmail {
        to: "bob@globex.test".into(),
        subject: "Tomorrow".into(),
        body: "See you".into(),
    };
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let job = wacrm::infra::jobs::enqueue_at(&mut conn, &app.state.secrets, &mail, Some(tomorrow))
        .await
        .unwrap();
    // Mails of the sign-ups sent: what is queued stays put from here.
    until(WAIT, "sign-up mails sent", || async {
        app.count("select count(*) from jobs").await == 1
    })
    .await;
    app.background.kill();
    let stored = stored(&app).await;
    for (c, n) in SEALED_COLUMNS.iter().zip(&stored) {
        assert!(*n > 0, "the test stores a value in {c:?}");
    }

    let pool = wacrm::infra::db::app_pool(&app.admin, 2).await.unwrap();
    // K2 alone opens nothing yet: every value is counted failed, left alone.
    let only_k2 = SecretBox::from_config(&k2).unwrap();
    let none: Vec<_> = stored.iter().map(|n| (0, 0, *n)).collect();
    assert_eq!(counts(&rotate(&pool, &only_k2).await.unwrap()), none);

    // K2 first, K1 still there: everything is re-sealed with K2.
    let both = SecretBox::from_config(&format!("{k2},{k1}")).unwrap();
    let tallies = rotate(&pool, &both).await.unwrap();
    let all_resealed: Vec<_> = stored.iter().map(|n| (*n, 0, 0)).collect();
    assert_eq!(counts(&tallies), all_resealed, "{tallies:#?}");
    assert_eq!(
        tallies[0].to_string(),
        "channels.access_token_sealed: resealed 1, already current 0, failed 0"
    );
    // Again: nothing to do.
    let all_current: Vec<_> = stored.iter().map(|n| (0, *n, 0)).collect();
    assert_eq!(counts(&rotate(&pool, &both).await.unwrap()), all_current);
    // K1 removed: everything opens with K2 alone.
    assert_eq!(counts(&rotate(&pool, &only_k2).await.unwrap()), all_current);
    pool.close().await;

    // The application with K2 only.
    let k2_app = app
        .second_instance_with(|config| config.secret_key = Some(k2.clone().into()))
        .await;
    // The owner signs in with their second factor (the TOTP secret opens).
    let browser = Browser::new(&k2_app.base);
    let response = browser
        .post_form(
            "/login",
            &[("email", "owner@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/login/two-factor");
    let code = totp::code_at(&totp_secret, unix_now() + 30).unwrap();
    assert_eq!(second_step(&browser, &code).await.status(), 303);
    // The number's app secret checks a delivery, its token sends the reply.
    let conversation = customer_writes_in(
        &app,
        &k2_app.base,
        &sales,
        NUMBER_A,
        SECRET_A,
        "wamid.AFTER",
    )
    .await;
    let (status, error) = reply_settles(&app, &browser, &conversation, "Rotated and sent").await;
    assert_eq!((status.as_str(), error), ("sent", None));
    assert_eq!(
        graph.sent()[0].body["text"]["body"],
        "Rotated and sent",
        "sent with the number's token"
    );
    // The linked phone's state, the version-1 AI key and tomorrow's mail.
    assert_eq!(
        session(&k2_app.state)
            .get_session("15551234567@s.whatsapp.net")
            .await
            .unwrap()
            .map(|b| b.to_vec()),
        Some(b"SIGNAL-SESSION".to_vec())
    );
    let globex_key: Vec<u8> =
        sqlx::query_scalar("select api_key_sealed from ai_settings where org_id = $1")
            .bind(globex)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(globex_key[0], 2, "re-sealed as version 2");
    assert_eq!(
        k2_app
            .state
            .secrets
            .open(
                globex,
                wacrm::infra::db::ai::KEY_PURPOSE,
                globex,
                &globex_key
            )
            .unwrap(),
        b"sk-globex-v1"
    );
    let qr: Vec<u8> =
        sqlx::query_scalar("select qr_sealed from whatsapp_web_sessions where channel_id = $1")
            .bind(web_channel)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        k2_app
            .state
            .secrets
            .open(globex, &qr_purpose(web_channel), web_channel, &qr)
            .unwrap(),
        b"2@qr,code"
    );
    let payload: Vec<u8> = sqlx::query_scalar("select payload from jobs where id = $1")
        .bind(job)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        wacrm::infra::jobs::open_payload::<SendEmail>(&k2_app.state.secrets, job, &payload)
            .unwrap(),
        mail
    );
}

/// Byte columns that hold no secret: files as uploaded, sqlx's own
/// bookkeeping, and hashes (a `*_hash` column) of tokens never stored.
const PLAIN_BYTEA: &[(&str, &str)] = &[
    ("_sqlx_migrations", "checksum"),
    ("contact_imports", "csv"),
    ("media", "bytes"),
];

#[tokio::test]
async fn every_sealed_column_of_the_schema_is_listed_for_rotation() {
    let admin = fresh_database().await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&admin)
        .await
        .unwrap();
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns \
         where table_schema = 'public' and data_type = 'bytea' order by 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let listed = |table: &str, column: &str| {
        SEALED_COLUMNS
            .iter()
            .any(|c| c.table == table && c.column == column)
    };
    for (table, column) in &columns {
        if listed(table, column) {
            continue;
        }
        assert!(
            !column.ends_with("_sealed"),
            "{table}.{column} is sealed: list it in wacrm::features::secret_rotation::SEALED_COLUMNS"
        );
        assert!(
            column.ends_with("_hash") || PLAIN_BYTEA.contains(&(&table[..], &column[..])),
            "{table}.{column} is new: if it holds sealed values, list it in \
             wacrm::features::secret_rotation::SEALED_COLUMNS, otherwise in PLAIN_BYTEA here"
        );
    }
    // Each listed column exists, its keys are its table's primary key, and
    // it is visited as its table is guarded.
    for c in SEALED_COLUMNS {
        assert!(
            columns.contains(&(c.table.to_owned(), c.column.to_owned())),
            "{c:?} is a bytea column"
        );
        let primary_key: Vec<(String, String)> = sqlx::query_as(
            "select a.attname::text, format_type(a.atttypid, a.atttypmod) \
             from pg_index i \
             cross join lateral unnest(i.indkey) with ordinality as k(attnum, n) \
             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum \
             where i.indrelid = $1::regclass and i.indisprimary order by k.n",
        )
        .bind(c.table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let keys: Vec<(String, String)> = c
            .keys
            .iter()
            .map(|(name, ty)| (name.to_string(), ty.to_string()))
            .collect();
        assert_eq!(primary_key, keys, "{c:?}");
        let guarded: bool =
            sqlx::query_scalar("select relrowsecurity from pg_class where oid = $1::regclass")
                .bind(c.table)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(guarded, c.scope == Scope::Workspace, "{c:?}");
    }
}

/// `wacrm secrets rotate` against the database `admin` names, with
/// `WACRM_SECRET_KEY` = `keys`: (success, stdout, stderr).
async fn rotate_command(
    admin: &sqlx::postgres::PgConnectOptions,
    keys: &str,
) -> (bool, String, String) {
    let socket = admin
        .get_socket()
        .expect("the test cluster listens on a socket");
    let url = format!(
        "postgres://{}@localhost/{}?host={}&port={}",
        admin.get_username(),
        admin.get_database().expect("database"),
        socket.display(),
        admin.get_port()
    );
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-rotate-{}", Uuid::new_v4())));
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_wacrm"))
        .args(["secrets", "rotate"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("WACRM_SECRET_KEY", keys)
        .env("WACRM_DATA_DIR", &dir.0)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_rotate_command_prints_each_column_and_fails_while_a_value_does_not_open() {
    let (k1, k2, k3) = (key(0x11), key(0x22), key(0x33));
    let admin = fresh_database().await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&admin)
        .await
        .unwrap();
    let mail = SendEmail {
        to: "ops@acme.test".into(),
        subject: "Later".into(),
        body: "Queued under K1".into(),
    };
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let k1_box = SecretBox::from_config(&k1).unwrap();
    wacrm::infra::jobs::enqueue_at(&mut conn, &k1_box, &mail, Some(later))
        .await
        .unwrap();

    // A key that opens nothing: the value is named as failed, left alone,
    // and the command fails.
    let (ok, stdout, stderr) = rotate_command(&admin, &k3).await;
    assert!(!ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("jobs.payload: resealed 0, already current 0, failed 1"),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 sealed value(s) did not open"),
        "{stderr}"
    );

    let (ok, stdout, stderr) = rotate_command(&admin, &format!("{k2},{k1}")).await;
    assert!(ok, "{stdout}{stderr}");
    let k2_id = hex::encode(&Sha256::digest([0x22u8; 32])[..4]);
    assert!(
        stdout.starts_with(&format!("re-sealing with key {k2_id}\n")),
        "{stdout}"
    );
    for c in SEALED_COLUMNS {
        let counts = if c.table == "jobs" {
            "resealed 1, already current 0, failed 0"
        } else {
            "resealed 0, already current 0, failed 0"
        };
        assert!(
            stdout.contains(&format!("{}.{}: {counts}\n", c.table, c.column)),
            "{stdout}"
        );
    }
    let (ok, stdout, stderr) = rotate_command(&admin, &k2).await;
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("jobs.payload: resealed 0, already current 1, failed 0"),
        "{stdout}"
    );
}
