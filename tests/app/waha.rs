//! Linked phones run on the workspace's WAHA server, end to end against a
//! fake WAHA: the owner sets it up from Settings (wacrm creates the WAHA
//! session with a signed webhook back to itself), the QR code shows, the
//! link is reported, customers' messages arrive once however often WAHA
//! delivers them and only with the right signature, replies and files go
//! out through WAHA's API, acks move them on, files come in, edits and
//! deletes show; bad settings and other workspaces get nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::fake_waha::{self, Engine, FakeWaha};
use crate::support::*;

pub(crate) const API_KEY: &str = "waha-api-key-1";
const CUSTOMER: &str = "16505551234";
const WAIT: Duration = Duration::from_secs(10);

async fn app_for_waha() -> TestApp {
    spawn_app_with(waha_config).await
}

/// The same app without a job worker: a test that waits for a send or a
/// file fetch runs the queued jobs itself ([`TestApp::run_pending_jobs`])
/// instead of polling for the worker's result.
pub(crate) async fn app_for_waha_on_demand() -> TestApp {
    spawn_app_without_worker_with(waha_config).await
}

fn waha_config(config: &mut wacrm::infra::config::Config) {
    // The fake listens on 127.0.0.1.
    config.waha_allow_private_networks = true;
    config.whatsapp_web_send_rate = 50;
}

/// How many times wacrm called WAHA's `endpoint` (failed calls too).
fn calls_to(waha: &FakeWaha, endpoint: &str) -> usize {
    let path = format!("/api/{endpoint}");
    waha.requests()
        .iter()
        .filter(|(m, p)| m == "POST" && *p == path)
        .count()
}

pub(crate) async fn scalar<T>(app: &TestApp, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect(sql)
}

/// Sets up a phone on `waha` from the Settings form; the response.
async fn connect(
    owner: &Browser,
    waha: &FakeWaha,
    api_key: &str,
    phone: &str,
) -> reqwest::Response {
    owner
        .post_form(
            "/settings/linked-devices",
            &[
                ("name", "Shop phone"),
                ("phone", phone),
                ("runs_on", "waha"),
                ("waha_url", &waha.base_url()),
                ("waha_api_key", api_key),
                ("waha_session", ""),
            ],
        )
        .await
}

/// A phone set up on `waha` and linked as 16505550199 "Acme Shop"; its
/// channel id.
pub(crate) async fn linked(app: &TestApp, owner: &Browser, waha: &FakeWaha) -> String {
    let response = connect(owner, waha, API_KEY, "").await;
    assert_eq!(response.status(), 303);
    let channel = location(&response)
        .trim_start_matches("/settings/linked-devices/")
        .to_owned();
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    assert_eq!(
        waha.set_status("default", "WORKING", Some(("16505550199", "Acme Shop")))
            .await,
        200
    );
    let status: String = scalar(
        app,
        &format!("select status from whatsapp_web_sessions where channel_id = '{channel}'"),
    )
    .await;
    assert_eq!(status, "linked");
    channel
}

async fn status_of(app: &TestApp, body: &str) -> String {
    scalar(
        app,
        &format!("select status from messages where body = '{body}'"),
    )
    .await
}

#[tokio::test]
async fn a_phone_on_waha_is_set_up_shows_its_qr_and_links() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;

    let response = connect(&owner, &waha, API_KEY, "").await;
    assert_eq!(response.status(), 303);
    let page_path = location(&response);
    let channel = page_path.trim_start_matches("/settings/linked-devices/");

    // The WAHA session exists, started, with our signed webhook.
    let session = waha.session("default").expect("WAHA session created");
    assert_eq!(session.status, "STARTING");
    assert!(
        session
            .webhook_url
            .as_deref()
            .is_some_and(|u| u.ends_with(&format!("/webhooks/waha/{channel}"))),
        "{:?}",
        session.webhook_url
    );
    let key = session.hmac_key.expect("an HMAC key");
    assert!(key.len() >= 32, "a strong webhook key");
    // `message.any` (not `message`): it carries the phone's own messages too.
    for event in [
        "message.any",
        "message.ack",
        "session.status",
        "message.revoked",
    ] {
        assert!(session.events.iter().any(|e| e == event), "{event}");
    }
    // The keys are sealed at rest.
    let raw: Vec<u8> = scalar(
        &app,
        "select api_key_sealed || webhook_key_sealed from waha_bridges",
    )
    .await;
    let raw = String::from_utf8_lossy(&raw);
    assert!(!raw.contains(API_KEY) && !raw.contains(&key));
    // No lease: wacrm runs no session of its own for it.
    assert_eq!(
        app.count("select count(*) from whatsapp_web_leases").await,
        0
    );

    let (_, page) = owner.page(&page_path).await;
    assert!(page.contains("Starting"), "{page}");

    // WAHA waits for a scan: the page shows WAHA's current QR code.
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    let (status, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert_eq!(status, 200);
    assert!(
        fragment.contains("Scan this code") && fragment.contains("<svg"),
        "{fragment}"
    );
    assert!(
        waha.requests()
            .iter()
            .any(|(m, p)| m == "GET" && p == "/api/default/auth/qr"),
        "asked WAHA for the QR"
    );

    // Scanned: linked, with the number and name WAHA reports.
    assert_eq!(
        waha.set_status("default", "WORKING", Some(("16505550199", "Acme Shop")))
            .await,
        200
    );
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(
        fragment.contains("Linked")
            && fragment.contains("+16505550199")
            && fragment.contains("Acme Shop"),
        "{fragment}"
    );
    let (_, list) = owner.page("/settings/linked-devices").await;
    assert!(list.contains("Shop phone") && list.contains("+16505550199"));

    // The same WAHA session again would take its webhook: refused, and
    // WAHA is not touched.
    let before = waha.requests().len();
    let again = connect(&owner, &waha, API_KEY, "").await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .expect("page")
            .contains("already one of your linked phones")
    );
    assert_eq!(waha.requests().len(), before);
    assert_eq!(
        app.count("select count(*) from channels where kind = 'whatsapp_web'")
            .await,
        1
    );
}

#[tokio::test]
async fn linking_by_code_asks_waha_for_one_once_it_waits_for_a_scan() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = connect(&owner, &waha, API_KEY, "+1 650 555 0199").await;
    assert_eq!(response.status(), 303);
    let page_path = location(&response);
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(
        fragment.contains("Type this code") && fragment.contains(fake_waha::PAIR_CODE),
        "{fragment}"
    );
    assert!(!fragment.contains("<svg"), "no QR when linking by code");
}

#[tokio::test]
async fn customers_messages_arrive_once_and_only_with_wahas_signature() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;

    // Delivered, then delivered again (WAHA retries): one message.
    let body = waha.envelope(
        "default",
        "message",
        fake_waha::customer_message(CUSTOMER, "AAAA0001", "Hi, is it in stock?"),
    );
    assert_eq!(waha.post_raw("default", body.clone(), None).await, 200);
    assert_eq!(waha.post_raw("default", body.clone(), None).await, 200);
    assert_eq!(
        app.count("select count(*) from messages where provider_message_id = 'AAAA0001'")
            .await,
        1
    );
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = 'AAAA0001'",
    )
    .await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("Hi, is it in stock?") && page.contains("Customer"));

    // A bad, missing or other key's signature: 401, nothing stored.
    let forged = waha.envelope(
        "default",
        "message",
        fake_waha::customer_message(CUSTOMER, "AAAA0002", "forged"),
    );
    let zeros = "0".repeat(128);
    assert_eq!(
        waha.post_raw("default", forged.clone(), Some(&zeros)).await,
        401
    );
    assert_eq!(
        waha.post_raw("default", forged.clone(), Some("")).await,
        401
    );
    let other_key = wacrm::channels::waha::signature::sign(b"another key", &forged);
    assert_eq!(
        waha.post_raw("default", forged, Some(&other_key)).await,
        401
    );
    // Signed, but replayed days later: acknowledged and ignored.
    let mut stale: Value = serde_json::from_slice(&waha.envelope(
        "default",
        "message",
        fake_waha::customer_message(CUSTOMER, "AAAA0004", "replayed"),
    ))
    .expect("json");
    stale["timestamp"] = json!(1_700_000_000_000_i64);
    let stale = stale.to_string().into_bytes();
    assert_eq!(waha.post_raw("default", stale, None).await, 200);
    // Signed, but not JSON WAHA would send: 400.
    assert_eq!(
        waha.post_raw("default", b"{\"no\":1}".to_vec(), None).await,
        400
    );
    assert_eq!(
        app.count("select count(*) from messages where direction = 'in'")
            .await,
        1
    );

    // Groups and our own messages (sent from the phone) are left out.
    let group = json!({"id": "false_120363@g.us_GGGG_16505551234@c.us", "from": "120363@g.us",
                       "fromMe": false, "body": "group chat", "hasMedia": false});
    assert_eq!(waha.deliver("default", "message", group).await, 200);
    assert_eq!(
        app.count("select count(*) from messages where direction = 'in'")
            .await,
        1
    );

    // A reaction, an edit and a delete-for-everyone reach the inbox.
    let reaction = json!({"id": format!("false_{CUSTOMER}@c.us_RRRR"), "from": format!("{CUSTOMER}@c.us"),
                          "fromMe": false, "timestamp": 1_764_000_100,
                          "reaction": {"text": "👍", "messageId": format!("false_{CUSTOMER}@c.us_AAAA0001")}});
    assert_eq!(
        waha.deliver("default", "message.reaction", reaction).await,
        200
    );
    assert_eq!(
        waha.customer_text("default", CUSTOMER, "AAAA0003", "Two of them")
            .await,
        200
    );
    let edit = json!({"id": format!("false_{CUSTOMER}@c.us_EEEE"), "from": format!("{CUSTOMER}@c.us"),
                      "fromMe": false, "body": "Three of them", "editedMessageId": "AAAA0003"});
    assert_eq!(waha.deliver("default", "message.edited", edit).await, 200);
    let revoke = json!({"after": {"id": format!("false_{CUSTOMER}@c.us_DDDD"), "from": format!("{CUSTOMER}@c.us")},
                        "before": null, "revokedMessageId": "AAAA0001"});
    assert_eq!(
        waha.deliver("default", "message.revoked", revoke).await,
        200
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.contains("Three of them") && page.contains("edited"),
        "edit shown"
    );
    assert!(!page.contains("Two of them"));
    assert!(page.contains("This message was deleted"), "delete shown");
    assert!(
        !page.contains("Hi, is it in stock?"),
        "the deleted text is gone"
    );
    assert!(page.contains("Reacted 👍"));
    let deleted_body: String = scalar(
        &app,
        "select body from messages where provider_message_id = 'AAAA0001'",
    )
    .await;
    assert_eq!(deleted_body, "");
}

#[tokio::test]
async fn replies_and_files_go_out_through_waha_and_acks_move_them_on() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    assert_eq!(
        waha.customer_text("default", CUSTOMER, "AAAA0001", "Do you ship?")
            .await,
        200
    );
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = 'AAAA0001'",
    )
    .await;
    let customer_message: String = scalar(
        &app,
        "select id::text from messages where provider_message_id = 'AAAA0001'",
    )
    .await;

    // WAHA fails once: the reply is retried and sent once, quoting.
    waha.fail_sends(1);
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes, worldwide."), ("reply_to", &customer_message)],
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    assert_eq!(calls_to(&waha, "sendText"), 1, "the first try");
    assert!(waha.sent().is_empty(), "which WAHA failed");
    assert_ne!(status_of(&app, "Yes, worldwide.").await, "sent");
    // The retry's backoff has passed.
    app.make_jobs_due().await;
    app.run_pending_jobs().await;
    assert_eq!(calls_to(&waha, "sendText"), 2, "retried once");
    assert_eq!(status_of(&app, "Yes, worldwide.").await, "sent");
    let sent = waha.sent();
    assert_eq!(sent.len(), 1, "sent once");
    assert_eq!(sent[0].endpoint, "sendText");
    assert_eq!(sent[0].body["chatId"], format!("{CUSTOMER}@c.us"));
    assert_eq!(sent[0].body["text"], "Yes, worldwide.");
    assert_eq!(sent[0].body["session"], "default");
    assert_eq!(
        sent[0].body["reply_to"],
        format!("false_{CUSTOMER}@c.us_AAAA0001")
    );
    let bare = sent[0].id.clone().expect("an id");
    let recorded: String = scalar(
        &app,
        "select provider_message_id from messages where body = 'Yes, worldwide.'",
    )
    .await;
    assert_eq!(recorded, bare);

    // Acks: delivered, then read.
    for (ack, name, expected) in [(2, "DEVICE", "delivered"), (3, "READ", "read")] {
        let payload = json!({"id": format!("true_{CUSTOMER}@c.us_{bare}"), "from": "16505550199@c.us",
                             "to": format!("{CUSTOMER}@c.us"), "fromMe": true, "ack": ack, "ackName": name});
        assert_eq!(waha.deliver("default", "message.ack", payload).await, 200);
        assert_eq!(status_of(&app, "Yes, worldwide.").await, expected);
    }

    // A file goes as WAHA's sendImage with the bytes.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    let response = owner
        .attach(
            &conversation,
            ("photo.png", "image/png", png),
            "Our catalogue",
            None,
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    assert_eq!(waha.sent().len(), 2, "the file sent");
    let file = &waha.sent()[1];
    assert_eq!(file.endpoint, "sendImage");
    assert_eq!(file.body["caption"], "Our catalogue");
    assert_eq!(file.body["file"]["mimetype"], "image/png");
    use base64::Engine;
    let data = file.body["file"]["data"].as_str().expect("data");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64"),
        png
    );
    assert_eq!(status_of(&app, "Our catalogue").await, "sent");
}

#[tokio::test]
async fn a_customers_file_is_fetched_from_waha_with_the_api_key() {
    let waha = FakeWaha::start(API_KEY).await;
    // The real job worker, end to end: it fetches the file on its own.
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    let bytes = b"%PDF-1.7\n% a price list\n";
    let url = waha.add_file("BBBB0001.pdf", "application/pdf", bytes);
    let payload = json!({"id": format!("false_{CUSTOMER}@c.us_BBBB0001"), "timestamp": 1_764_000_000,
                         "from": format!("{CUSTOMER}@c.us"), "fromMe": false, "body": "",
                         "hasMedia": true, "media": {"url": url, "mimetype": "application/pdf", "filename": "prices.pdf"}});
    assert_eq!(waha.deliver("default", "message", payload).await, 200);
    until(WAIT, "the file fetched", || async {
        let media: Option<Value> = scalar(
            &app,
            "select media from messages where provider_message_id = 'BBBB0001'",
        )
        .await;
        media.is_some_and(|m| m.get("url").is_some())
    })
    .await;
    let media: Value = scalar(
        &app,
        "select media from messages where provider_message_id = 'BBBB0001'",
    )
    .await;
    let kind: String = scalar(
        &app,
        "select kind from messages where provider_message_id = 'BBBB0001'",
    )
    .await;
    assert_eq!(kind, "document");
    let served = owner.get(media["url"].as_str().expect("url")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.expect("bytes").as_ref(), bytes);

    // A file WAHA could not keep: shown as unavailable, nothing fetched.
    let missing = json!({"id": format!("false_{CUSTOMER}@c.us_BBBB0002"), "from": format!("{CUSTOMER}@c.us"),
                         "fromMe": false, "hasMedia": true, "media": null});
    assert_eq!(waha.deliver("default", "message", missing).await, 200);
    let media: Value = scalar(
        &app,
        "select media from messages where provider_message_id = 'BBBB0002'",
    )
    .await;
    assert!(media["unavailable"].is_string());
}

#[tokio::test]
async fn hostile_files_from_waha_are_kept_as_opaque_attachments() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    let files = hostile_files();
    for (i, (name, claimed, bytes)) in files.iter().enumerate() {
        let url = waha.add_file(&format!("HOST000{i}"), claimed, bytes);
        let payload = json!({"id": format!("false_{CUSTOMER}@c.us_HOST000{i}"), "timestamp": 1_764_000_000,
                             "from": format!("{CUSTOMER}@c.us"), "fromMe": false, "body": "",
                             "hasMedia": true, "media": {"url": url, "mimetype": claimed, "filename": name}});
        assert_eq!(waha.deliver("default", "message", payload).await, 200);
    }
    app.run_pending_jobs().await;
    for (i, (_, _, bytes)) in files.iter().enumerate() {
        let sql = format!("select media from messages where provider_message_id = 'HOST000{i}'");
        let media: Value = scalar(&app, &sql).await;
        assert!(media.get("url").is_some(), "file {i} fetched: {media}");
        assert_served_as_attachment(&owner, media["url"].as_str().expect("url"), bytes).await;
    }
}

#[tokio::test]
async fn a_logout_on_the_phone_is_told_and_the_phone_links_again_through_waha() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = linked(&app, &owner, &waha).await;
    let page_path = format!("/settings/linked-devices/{channel}");

    // The phone removed the link: WAHA waits for a new scan.
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(fragment.contains("Logged out from the phone"), "{fragment}");
    app.mail_to("owner@acme.test", "removed wacrm from its linked devices")
        .await;

    // Link again: wacrm sets the WAHA session up again.
    let response = owner
        .post_form(&format!("{page_path}/relink"), &[("phone", "")])
        .await;
    assert_eq!(response.status(), 303);
    assert!(
        waha.requests()
            .iter()
            .any(|(m, p)| m == "PUT" && p == "/api/sessions/default"),
        "the existing WAHA session is updated"
    );
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(fragment.contains("Starting"), "{fragment}");
    // Waiting for a scan this time is not a logout: the new QR shows.
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(fragment.contains("Scan this code"), "{fragment}");
    assert_eq!(
        waha.set_status("default", "WORKING", Some(("16505550199", "Acme Shop")))
            .await,
        200
    );

    // Unlink: WAHA logs the phone out, later news changes nothing.
    let response = owner.post_form(&format!("{page_path}/unlink"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(waha.session("default").expect("session").logouts, 1);
    assert_eq!(waha.set_status("default", "WORKING", None).await, 200);
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(fragment.contains("Unlinked"), "{fragment}");
}

#[tokio::test]
async fn bad_waha_settings_are_refused_with_the_reason_and_nothing_is_kept() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;

    // The wrong API key: WAHA refuses, the owner reads why.
    let response = connect(&owner, &waha, "wrong-key", "").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("page");
    assert!(page.contains("API key was refused"), "{page}");
    assert!(!page.contains("wrong-key"), "the key is not shown back");

    for (url, key, session, reason) in [
        ("not a url", API_KEY, "", "address"),
        ("ftp://waha.example.com", API_KEY, "", "http"),
        (&waha.base_url(), "", "", "API key"),
        (&waha.base_url(), API_KEY, "bad name!", "session name"),
    ] {
        let response = owner
            .post_form(
                "/settings/linked-devices",
                &[
                    ("name", "Shop phone"),
                    ("runs_on", "waha"),
                    ("waha_url", url),
                    ("waha_api_key", key),
                    ("waha_session", session),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "{url} {key} {session}");
        let page = response.text().await.expect("page");
        assert!(page.contains(reason), "{reason}: {page}");
    }
    // A server that does not answer.
    let response = owner
        .post_form(
            "/settings/linked-devices",
            &[
                ("name", "Shop phone"),
                ("runs_on", "waha"),
                ("waha_url", "http://127.0.0.1:9"),
                ("waha_api_key", API_KEY),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("page")
            .contains("could not be set up")
    );
    assert_eq!(
        app.count("select count(*) from channels where kind = 'whatsapp_web'")
            .await,
        0
    );
    assert!(waha.session("default").is_none());

    // A deployment that does not allow private networks refuses them.
    let strict = spawn_app().await;
    let owner = strict.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = connect(&owner, &waha, API_KEY, "").await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("page")
            .contains("private network")
    );
    assert!(waha.session("default").is_none(), "never called");
}

#[tokio::test]
async fn another_workspace_cannot_see_change_or_feed_a_waha_phone() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = linked(&app, &owner, &waha).await;
    let other = app.sign_up("Bob", "bob@globex.test", "Globex").await;

    let (_, list) = other.page("/settings/linked-devices").await;
    assert!(!list.contains("16505550199") && !list.contains(&channel));
    for path in ["", "/status"] {
        let (status, _) = other
            .page(&format!("/settings/linked-devices/{channel}{path}"))
            .await;
        assert_eq!(status, 404, "{path}");
    }
    for path in ["unlink", "relink", "new-code", "reconnect"] {
        let response = other
            .post_form(
                &format!("/settings/linked-devices/{channel}/{path}"),
                &[("phone", "")],
            )
            .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    assert_eq!(waha.session("default").expect("session").logouts, 0);

    // Deliveries to a channel that is not a WAHA phone: 404, nothing kept.
    let body = waha.envelope(
        "default",
        "message",
        fake_waha::customer_message(CUSTOMER, "AAAA0009", "hello"),
    );
    let signature = wacrm::channels::waha::signature::sign(b"whatever", &body);
    for target in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let response = reqwest::Client::new()
            .post(app.browser().url(&format!("/webhooks/waha/{target}")))
            .header("X-Webhook-Hmac", &signature)
            .body(body.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 404, "{target}");
    }
    assert_eq!(app.count("select count(*) from messages").await, 0);
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_found_in_the_chat_and_not_sent_again() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = spawn_app_without_worker_with(|config| {
        waha_config(config);
        // WAHA's answers come after 3 s: lost.
        config.whatsapp_timeout_secs = 1;
    })
    .await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    assert_eq!(
        waha.customer_text("default", CUSTOMER, "AAAA0001", "Open today?")
            .await,
        200
    );
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = 'AAAA0001'",
    )
    .await;
    // An earlier reply with the same text is not mistaken for this one.
    for _ in 0..2 {
        let response = owner
            .post_form(
                &format!("/inbox/{conversation}/messages"),
                &[("text", "Yes")],
            )
            .await;
        assert_eq!(response.status(), 303);
        if waha.sent().is_empty() {
            app.run_pending_jobs().await;
            assert_eq!(status_of(&app, "Yes").await, "sent", "the first reply");
            waha.stall_sends(1);
        }
    }
    let sent_yes = "select count(*) from messages where body = 'Yes' and status = 'sent'";
    // The second reply's answer is lost: not recorded as sent yet.
    app.run_pending_jobs().await;
    assert_eq!(calls_to(&waha, "sendText"), 2);
    assert_eq!(app.count(sent_yes).await, 1, "the lost answer");
    // Its retry finds it in the chat instead of sending it again.
    app.make_jobs_due().await;
    app.run_pending_jobs().await;
    assert_eq!(app.count(sent_yes).await, 2, "the second reply recorded");
    assert_eq!(calls_to(&waha, "sendText"), 2, "not sent again");
    let sent = waha.sent();
    assert_eq!(sent.len(), 2, "each reply sent once: {sent:?}");
    let mut recorded: Vec<String> = sqlx::query_scalar(
        "select provider_message_id from messages where body = 'Yes' order by created_at",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("ids");
    let mut expected: Vec<String> = sent.iter().filter_map(|s| s.id.clone()).collect();
    recorded.sort();
    expected.sort();
    assert_eq!(recorded, expected);
}

#[tokio::test]
async fn a_status_delivered_late_does_not_undo_a_newer_one() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = linked(&app, &owner, &waha).await;
    // WAHA made "waiting for a scan", then "working" again; the first
    // arrives last (a retry).
    let older = waha.envelope(
        "default",
        "session.status",
        json!({"name": "default", "status": "SCAN_QR_CODE"}),
    );
    let newer = waha.envelope(
        "default",
        "session.status",
        json!({"name": "default", "status": "WORKING"}),
    );
    assert_eq!(waha.post_raw("default", newer, None).await, 200);
    assert_eq!(waha.post_raw("default", older, None).await, 200);
    let status: String = scalar(
        &app,
        &format!("select status from whatsapp_web_sessions where channel_id = '{channel}'"),
    )
    .await;
    assert_eq!(status, "linked", "not logged out by the late news");
}

#[tokio::test]
async fn a_signed_delivery_without_a_timestamp_is_refused_like_a_stale_one() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = linked(&app, &owner, &waha).await;
    let dated = |id: &str, text: &str| -> Value {
        serde_json::from_slice(&waha.envelope(
            "default",
            "message",
            fake_waha::customer_message(CUSTOMER, id, text),
        ))
        .expect("json")
    };

    // Stale, then undated in each way a body can leave the time out: each
    // signed with the right key, each answered alike and none stored.
    let mut stale = dated("CCCC0001", "stale");
    stale["timestamp"] = json!(1_700_000_000_000_i64);
    let stale_status = waha
        .post_raw("default", stale.to_string().into_bytes(), None)
        .await;
    let mut missing = dated("CCCC0002", "captured and replayed");
    missing.as_object_mut().expect("object").remove("timestamp");
    let mut null = dated("CCCC0003", "null time");
    null["timestamp"] = Value::Null;
    let mut text = dated("CCCC0004", "time as text");
    text["timestamp"] = json!("now");
    for undated in [missing, null, text] {
        let status = waha
            .post_raw("default", undated.to_string().into_bytes(), None)
            .await;
        assert_eq!(status, stale_status, "{undated}");
    }
    assert_eq!(
        stale_status, 200,
        "acknowledged, so that nothing retries it"
    );
    assert_eq!(
        app.count("select count(*) from messages where provider_message_id like 'CCCC%'")
            .await,
        0
    );

    // An undated status changes nothing either.
    let mut logged_out: Value = serde_json::from_slice(&waha.envelope(
        "default",
        "session.status",
        json!({"name": "default", "status": "STOPPED"}),
    ))
    .expect("json");
    logged_out
        .as_object_mut()
        .expect("object")
        .remove("timestamp");
    assert_eq!(
        waha.post_raw("default", logged_out.to_string().into_bytes(), None)
            .await,
        stale_status
    );
    let status: String = scalar(
        &app,
        &format!("select status from whatsapp_web_sessions where channel_id = '{channel}'"),
    )
    .await;
    assert_eq!(status, "linked");

    // The same message with its time comes in.
    assert_eq!(
        waha.post_raw(
            "default",
            dated("CCCC0002", "captured and replayed")
                .to_string()
                .into_bytes(),
            None
        )
        .await,
        200
    );
    assert_eq!(
        app.count("select count(*) from messages where provider_message_id = 'CCCC0002'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_bridge_on_a_private_address_is_refused_at_call_time_once_private_networks_are_not_allowed()
 {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    assert!(waha.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        waha.customer_text("default", CUSTOMER, "AAAA0001", "Do you ship?")
            .await,
        200
    );
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = 'AAAA0001'",
    )
    .await;
    // Allowed, the bridge on 127.0.0.1 works.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes, worldwide.")],
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    assert_eq!(status_of(&app, "Yes, worldwide.").await, "sent");
    assert_eq!(waha.sent().len(), 1);

    // The operator restarts wacrm without allowing private networks: the
    // address saved before is refused at every call, not only when saved.
    app.background.kill();
    let strict = app
        .second_instance_with(|config| config.waha_allow_private_networks = false)
        .await;
    // Its jobs, run as its worker would (with its configuration).
    let run_strict_jobs = || async {
        wacrm::worker::worker(&strict.state)
            .run_pending(10_000)
            .await
    };
    let owner = Browser::new(&strict.base);
    let response = owner
        .post_form(
            "/login",
            &[("email", "owner@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let requests_before = waha.requests().len();
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Anything else?")],
        )
        .await;
    assert_eq!(response.status(), 303);
    run_strict_jobs().await;
    assert_eq!(status_of(&app, "Anything else?").await, "failed");
    let error: String = scalar(
        &app,
        "select error from messages where body = 'Anything else?'",
    )
    .await;
    assert!(
        error.contains("private network") && error.contains("WAHA_ALLOW_PRIVATE_NETWORKS"),
        "{error}"
    );
    assert_eq!(waha.sent().len(), 1, "nothing more sent");

    // The same for an address changed in the database since it was saved.
    sqlx::query("update waha_bridges set base_url = 'http://[64:ff9b::a9fe:a9fe]:3000/'")
        .execute(&mut app.admin_conn().await)
        .await
        .expect("update");
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Through NAT64?")],
        )
        .await;
    assert_eq!(response.status(), 303);
    run_strict_jobs().await;
    assert_eq!(status_of(&app, "Through NAT64?").await, "failed");
    assert_eq!(
        waha.requests().len(),
        requests_before,
        "the WAHA server was not called"
    );
}

/// The conversation of the customer's first message (`AAAA0001`).
async fn conversation_of(app: &TestApp, waha: &FakeWaha) -> String {
    let payload = waha.customer_payload(CUSTOMER, "AAAA0001", "Do you ship?");
    assert_eq!(waha.deliver("default", "message", payload).await, 200);
    scalar(
        app,
        "select conversation_id::text from messages where provider_message_id = 'AAAA0001'",
    )
    .await
}

#[tokio::test]
async fn linking_an_existing_waha_session_keeps_the_operators_config() {
    let waha = FakeWaha::start_engine(API_KEY, Engine::Noweb).await;
    let foreign = "https://ops.example/waha-events";
    waha.preset(
        "default",
        "WORKING",
        json!({
            "proxy": {"server": "proxy.internal:3128", "username": "ops"},
            "noweb": {"store": {"enabled": true, "fullSync": false}, "markOnline": false},
            "metadata": {"team": "ops"},
            "webhooks": [{"url": foreign, "events": ["message", "session.status"]}],
        }),
    );
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = connect(&owner, &waha, API_KEY, "").await;
    assert_eq!(response.status(), 303);
    let page_path = location(&response);

    let kept = |when: &str| {
        let session = waha.session("default").expect("session");
        let config = &session.config;
        assert_eq!(config["proxy"]["server"], "proxy.internal:3128", "{when}");
        assert_eq!(config["noweb"]["store"]["enabled"], true, "{when}");
        assert_eq!(config["noweb"]["markOnline"], false, "{when}");
        assert_eq!(config["metadata"]["team"], "ops", "{when}");
        let hooks = session.webhooks();
        assert!(
            hooks.iter().any(|h| h["url"] == foreign),
            "{when}: {hooks:?}"
        );
        let ours = hooks
            .iter()
            .filter(|h| {
                h["url"]
                    .as_str()
                    .is_some_and(|u| u.contains("/webhooks/waha/"))
            })
            .count();
        assert_eq!(ours, 1, "{when}: {hooks:?}");
        assert_eq!(hooks.len(), 2, "{when}");
    };
    kept("set up");
    assert!(
        waha.requests()
            .iter()
            .any(|(m, p)| m == "GET" && p == "/api/sessions/default"),
        "the config read before it is replaced"
    );

    // Linked, logged out on the phone, linked again: updated again.
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    assert_eq!(
        waha.set_status("default", "WORKING", Some(("16505550199", "Acme Shop")))
            .await,
        200
    );
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    let response = owner
        .post_form(&format!("{page_path}/relink"), &[("phone", "")])
        .await;
    assert_eq!(response.status(), 303);
    let puts = waha
        .requests()
        .iter()
        .filter(|(m, p)| m == "PUT" && p == "/api/sessions/default")
        .count();
    assert_eq!(puts, 2);
    kept("linked again");
}

#[tokio::test]
async fn a_pairing_code_is_asked_for_once_per_link_attempt() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = connect(&owner, &waha, API_KEY, "+1 650 555 0199").await;
    assert_eq!(response.status(), 303);
    let page_path = location(&response);
    // WAHA reports SCAN_QR_CODE again each time its QR code rotates; the
    // owner is typing the first code meanwhile.
    for _ in 0..3 {
        assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
        let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
        assert!(fragment.contains(fake_waha::PAIR_CODE), "{fragment}");
    }
    assert_eq!(waha.session("default").expect("session").codes, 1);
    assert_eq!(calls_to(&waha, "default/auth/request-code"), 1);

    // The owner asks for a new one: it replaces the first, and stays.
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(fragment.contains("Get a new code"), "{fragment}");
    let response = owner.post_form(&format!("{page_path}/new-code"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(
        fragment.contains("WZYE-0002") && !fragment.contains(fake_waha::PAIR_CODE),
        "{fragment}"
    );
    assert_eq!(waha.session("default").expect("session").codes, 2);
}

#[tokio::test]
async fn a_stopped_or_failed_waha_session_is_a_lost_connection_not_a_logout() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = linked(&app, &owner, &waha).await;
    let page_path = format!("/settings/linked-devices/{channel}");
    let web_status = || async {
        scalar::<String>(
            &app,
            &format!("select status from whatsapp_web_sessions where channel_id = '{channel}'"),
        )
        .await
    };

    // FAILED: reconnecting (WAHA restarts the session), nobody mailed.
    assert_eq!(waha.set_status("default", "FAILED", None).await, 200);
    assert_eq!(web_status().await, "disconnected");
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(fragment.contains("Connection lost"), "{fragment}");
    assert_eq!(waha.session("default").expect("session").restarts, 1);
    // Failing again while it starts is not restarted in a loop.
    assert_eq!(waha.set_status("default", "STARTING", None).await, 200);
    assert_eq!(waha.set_status("default", "FAILED", None).await, 200);
    assert_eq!(waha.session("default").expect("session").restarts, 1);
    assert_eq!(web_status().await, "disconnected");
    // The owner's retry restarts it again.
    let (_, fragment) = owner.page(&format!("{page_path}/status")).await;
    assert!(fragment.contains("Reconnect now"), "{fragment}");
    let response = owner
        .post_form(&format!("{page_path}/reconnect"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(waha.session("default").expect("session").restarts, 2);
    // Back: linked again.
    assert_eq!(waha.set_status("default", "WORKING", None).await, 200);
    assert_eq!(web_status().await, "linked");
    // STOPPED (the server restarted, or someone stopped it): the same.
    assert_eq!(waha.set_status("default", "STOPPED", None).await, 200);
    assert_eq!(web_status().await, "disconnected");
    assert_eq!(waha.session("default").expect("session").restarts, 3);
    assert_eq!(waha.set_status("default", "WORKING", None).await, 200);
    assert_eq!(web_status().await, "linked");
    app.run_pending_jobs().await;
    assert!(
        !app.smtp
            .mails()
            .iter()
            .any(|m| m.data.contains("logged out")),
        "no logout mail for a lost connection"
    );

    // A real logout (WAHA waits for a new scan): told, and mailed.
    assert_eq!(waha.set_status("default", "SCAN_QR_CODE", None).await, 200);
    assert_eq!(web_status().await, "logged_out");
    app.mail_to("owner@acme.test", "removed wacrm from its linked devices")
        .await;
}

#[tokio::test]
async fn files_announced_on_wahas_default_base_come_from_the_bridge_and_other_hosts_are_never_called()
 {
    let waha = FakeWaha::start(API_KEY).await;
    // Another server on another port: an address a delivery could name.
    let elsewhere = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;

    let bytes = b"%PDF-1.7\n% a price list\n";
    let announced = waha.add_file("BBBB0001.pdf", "application/pdf", bytes);
    assert!(announced.starts_with(fake_waha::WAHA_DEFAULT_BASE));
    let on_other_host = announced.replace(fake_waha::WAHA_DEFAULT_BASE, &elsewhere.base_url());
    let off_files = format!("{}/api/sessions", elsewhere.base_url());
    for (id, url) in [
        ("BBBB0001", announced.as_str()),
        ("BBBB0002", on_other_host.as_str()),
        ("BBBB0003", off_files.as_str()),
    ] {
        let payload = waha.customer_file(CUSTOMER, id, url, "application/pdf");
        assert_eq!(waha.deliver("default", "message", payload).await, 200);
    }
    app.run_pending_jobs().await;
    for id in ["BBBB0001", "BBBB0002"] {
        let media: Value = scalar(
            &app,
            &format!("select media from messages where provider_message_id = '{id}'"),
        )
        .await;
        let url = media["url"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: {media}"));
        let served = owner.get(url).await;
        assert_eq!(served.bytes().await.expect("bytes").as_ref(), bytes, "{id}");
    }
    let media: Value = scalar(
        &app,
        "select media from messages where provider_message_id = 'BBBB0003'",
    )
    .await;
    assert!(media.get("url").is_none(), "not fetched: {media}");
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
}

#[tokio::test]
async fn ogg_opus_goes_as_a_voice_note_and_other_audio_is_converted_by_waha() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    let conversation = conversation_of(&app, &waha).await;

    // An OGG page whose first packet is Opus's header.
    let mut opus = b"OggS\0\x02".to_vec();
    opus.extend([0u8; 20]);
    opus.extend([1, 19]);
    opus.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0");
    opus.extend([0u8; 64]);
    let mp3 = b"ID3\x04\0\0\0\0\0\x0a\xff\xfb\x90\x64\0\0\0\0\0\0\0\0\0\0";
    for (name, mime, bytes) in [
        ("voice.ogg", "audio/ogg", opus.as_slice()),
        ("song.mp3", "audio/mpeg", mp3.as_slice()),
    ] {
        let response = owner
            .attach(&conversation, (name, mime, bytes), "", None)
            .await;
        assert_eq!(response.status(), 303, "{name}");
        app.run_pending_jobs().await;
    }
    let sent = waha.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].endpoint, "sendVoice");
    assert_eq!(sent[0].body.get("convert"), None, "already Opus");
    assert_eq!(sent[1].endpoint, "sendVoice");
    assert_eq!(sent[1].body["convert"], true, "WAHA converts it");
}

/// Sends "Yes" on `waha` whose answer is lost, then runs the retry; the
/// app and conversation.
async fn a_lost_answer_on(waha: &FakeWaha) -> TestApp {
    let app = spawn_app_without_worker_with(|config| {
        waha_config(config);
        // WAHA's answers come after 3 s: lost.
        config.whatsapp_timeout_secs = 1;
    })
    .await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, waha).await;
    let conversation = conversation_of(&app, waha).await;
    waha.stall_sends(1);
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes")],
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    assert_eq!(calls_to(waha, "sendText"), 1);
    assert_ne!(status_of(&app, "Yes").await, "sent", "the answer was lost");
    app.make_jobs_due().await;
    app.run_pending_jobs().await;
    app
}

#[tokio::test]
async fn a_lost_send_is_found_across_the_customers_chats_on_noweb_and_gows() {
    for engine in [Engine::Gows, Engine::Noweb] {
        let waha = FakeWaha::start_engine(API_KEY, engine).await;
        if engine == Engine::Noweb {
            waha.preset(
                "default",
                "STOPPED",
                json!({"noweb": {"store": {"enabled": true, "fullSync": false}}}),
            );
        }
        let app = a_lost_answer_on(&waha).await;
        // Filed under the customer's @lid chat (and listed twice across
        // chats): found once, by its bare id, and not sent again.
        assert_eq!(status_of(&app, "Yes").await, "sent", "{engine:?}");
        assert_eq!(calls_to(&waha, "sendText"), 1, "{engine:?}: not sent again");
        let recorded: String = scalar(
            &app,
            "select provider_message_id from messages where body = 'Yes'",
        )
        .await;
        assert_eq!(Some(recorded), waha.sent()[0].id, "{engine:?}");
        assert!(
            waha.requests()
                .iter()
                .any(|(m, p)| m == "GET" && p == "/api/default/chats/all/messages"),
            "{engine:?}"
        );
    }
}

#[tokio::test]
async fn a_lost_send_on_noweb_without_a_store_stays_unknown_and_is_not_sent_again() {
    let waha = FakeWaha::start_engine(API_KEY, Engine::Noweb).await;
    let app = a_lost_answer_on(&waha).await;
    assert_ne!(status_of(&app, "Yes").await, "sent");
    assert_eq!(calls_to(&waha, "sendText"), 1, "not sent again");
    let error: String = scalar(
        &app,
        "select coalesce(last_error, '') from jobs where last_error is not null order by id desc limit 1",
    )
    .await;
    assert!(error.contains("cannot tell"), "{error}");
    // Nothing asked of a store that is not there.
    assert!(
        !waha.requests().iter().any(|(_, p)| p.contains("/chats/")),
        "{:?}",
        waha.requests()
    );
}

#[tokio::test]
async fn each_engines_messages_files_replies_and_statuses_go_through() {
    for engine in Engine::ALL {
        let waha = FakeWaha::start_engine(API_KEY, engine).await;
        let app = app_for_waha_on_demand().await;
        let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
        let channel = linked(&app, &owner, &waha).await;

        // A text, with the name from the engine's own data.
        let conversation = conversation_of(&app, &waha).await;
        let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
        assert!(
            page.contains("Do you ship?") && page.contains("Customer"),
            "{engine:?}"
        );

        // A file, announced on WAHA's default base.
        let bytes = b"%PDF-1.7\n% specs\n";
        let url = waha.add_file("FILE0001.pdf", "application/pdf", bytes);
        let payload = waha.customer_file(CUSTOMER, "FILE0001", &url, "application/pdf");
        assert_eq!(waha.deliver("default", "message", payload).await, 200);
        app.run_pending_jobs().await;
        let media: Value = scalar(
            &app,
            "select media from messages where provider_message_id = 'FILE0001'",
        )
        .await;
        assert!(media.get("url").is_some(), "{engine:?}: {media}");

        // A reaction, its time a float on NOWEB and GOWS.
        let reaction = waha.customer_reaction(
            CUSTOMER,
            "REAC0001",
            "👍",
            &format!("false_{CUSTOMER}@c.us_AAAA0001"),
        );
        assert_eq!(
            waha.deliver("default", "message.reaction", reaction).await,
            200
        );
        assert_eq!(
            app.count("select count(*) from messages where provider_message_id = 'REAC0001'")
                .await,
            1,
            "{engine:?}"
        );

        // A reply, recorded under the engine's id; its ack moves it on.
        let response = owner
            .post_form(
                &format!("/inbox/{conversation}/messages"),
                &[("text", "Yes, worldwide.")],
            )
            .await;
        assert_eq!(response.status(), 303);
        app.run_pending_jobs().await;
        assert_eq!(
            status_of(&app, "Yes, worldwide.").await,
            "sent",
            "{engine:?}"
        );
        let bare = waha.sent()[0].id.clone().expect("an id");
        let recorded: String = scalar(
            &app,
            "select provider_message_id from messages where body = 'Yes, worldwide.'",
        )
        .await;
        assert_eq!(recorded, bare, "{engine:?}");
        let ack = json!({"id": format!("true_{CUSTOMER}@c.us_{bare}"), "fromMe": true,
                         "to": format!("{CUSTOMER}@c.us"), "ack": 2, "ackName": "DEVICE"});
        assert_eq!(waha.deliver("default", "message.ack", ack).await, 200);
        assert_eq!(
            status_of(&app, "Yes, worldwide.").await,
            "delivered",
            "{engine:?}"
        );

        // Statuses: a failure is a lost connection, WORKING links again.
        assert_eq!(waha.set_status("default", "FAILED", None).await, 200);
        let status: String = scalar(
            &app,
            &format!("select status from whatsapp_web_sessions where channel_id = '{channel}'"),
        )
        .await;
        assert_eq!(status, "disconnected", "{engine:?}");
    }
}

#[tokio::test]
async fn opening_a_conversation_marks_the_waha_chat_read_once_per_new_message() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    let body = waha.envelope(
        "default",
        "message",
        fake_waha::customer_message(CUSTOMER, "AAAAR001", "Is it in stock?"),
    );
    assert_eq!(waha.post_raw("default", body, None).await, 200);
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = 'AAAAR001'",
    )
    .await;
    owner.page(&format!("/inbox/{conversation}")).await;
    app.run_pending_jobs().await;
    assert_eq!(
        waha.seen(),
        vec![("default".to_owned(), format!("{CUSTOMER}@c.us"))]
    );
    // Opened again, nothing new: nothing more.
    owner.page(&format!("/inbox/{conversation}")).await;
    app.run_pending_jobs().await;
    assert_eq!(waha.seen().len(), 1);
}

#[tokio::test]
async fn replies_typed_on_the_phone_arrive_through_message_any_once_and_api_echoes_do_not() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    let events = waha.session("default").expect("session").events;
    assert!(
        events.iter().any(|e| e == "message.any"),
        "subscribed to message.any: {events:?}"
    );
    let customer = waha.envelope(
        "default",
        "message.any",
        fake_waha::customer_message(CUSTOMER, "AAAAP001", "Do you deliver?"),
    );
    assert_eq!(waha.post_raw("default", customer, None).await, 200);
    let typed = json!({
        "id": format!("true_{CUSTOMER}@c.us_3EB0PHONE"), "timestamp": 1764200100,
        "from": "16505550199@c.us", "to": format!("{CUSTOMER}@c.us"), "fromMe": true,
        "source": "app", "body": "Yes, tomorrow.", "hasMedia": false,
    });
    let body = waha.envelope("default", "message.any", typed);
    assert_eq!(waha.post_raw("default", body.clone(), None).await, 200);
    assert_eq!(
        waha.post_raw("default", body, None).await,
        200,
        "WAHA retried"
    );
    let echo = json!({
        "id": format!("true_{CUSTOMER}@c.us_3EB0API"), "timestamp": 1764200101,
        "from": "16505550199@c.us", "to": format!("{CUSTOMER}@c.us"), "fromMe": true,
        "source": "api", "body": "Sent by wacrm", "hasMedia": false,
    });
    let body = waha.envelope("default", "message.any", echo);
    assert_eq!(waha.post_raw("default", body, None).await, 200);

    let rows: Vec<(String, String, bool)> =
        sqlx::query_as("select body, direction, from_phone from messages order by created_at")
            .fetch_all(&mut app.admin_conn().await)
            .await
            .expect("messages");
    assert_eq!(
        rows,
        vec![
            ("Do you deliver?".to_owned(), "in".to_owned(), false),
            ("Yes, tomorrow.".to_owned(), "out".to_owned(), true),
        ]
    );
}

/// A customer's WhatsApp LID (digits) in the tests of chats named by LID.
const LID: &str = "100000012345678";

/// The workspace's contacts: (phone, LID, name), by phone then LID.
async fn contacts(app: &TestApp) -> Vec<(Option<String>, Option<String>, String)> {
    sqlx::query_as("select phone, wa_lid, name from contacts order by phone nulls last, wa_lid")
        .fetch_all(&mut app.admin_conn().await)
        .await
        .expect("contacts")
}

#[tokio::test]
async fn a_chat_named_by_lid_whose_number_waha_knows_is_the_numbers_contact() {
    let waha = FakeWaha::start_engine(API_KEY, Engine::Noweb).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    waha.know_lid(LID, CUSTOMER);

    let payload = fake_waha::lid_message(LID, "AAAAK001", "Hi, by LID", false);
    assert_eq!(waha.deliver("default", "message", payload).await, 200);
    assert_eq!(
        waha.lid_lookups(),
        [format!("/api/default/lids/{LID}%40lid")],
        "asked WAHA for the number, `@` written %40"
    );
    let plus = format!("+{CUSTOMER}");
    assert_eq!(
        contacts(&app).await,
        [(
            Some(plus.clone()),
            Some(LID.to_owned()),
            "Customer".to_owned()
        )]
    );
    // Typed on the phone into the LID chat: ours, in the same conversation.
    let typed = fake_waha::lid_message(LID, "3EB0K002", "Hello from the shop", true);
    assert_eq!(waha.deliver("default", "message.any", typed).await, 200);
    // Then the number's chat: the same conversation, nothing more to ask.
    assert_eq!(
        waha.customer_text("default", CUSTOMER, "AAAAK003", "Hi, by number")
            .await,
        200
    );
    assert_eq!(waha.lid_lookups().len(), 2, "{:?}", waha.lid_lookups());
    assert_eq!(contacts(&app).await.len(), 1);
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "select body, direction, from_phone from messages order by provider_message_id",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("messages");
    assert_eq!(
        rows,
        [
            ("Hello from the shop".to_owned(), "out".to_owned(), true),
            ("Hi, by LID".to_owned(), "in".to_owned(), false),
            ("Hi, by number".to_owned(), "in".to_owned(), false),
        ]
    );
    assert_eq!(app.count("select count(*) from conversations").await, 1);

    // A reply goes to the number's chat.
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes, we ship.")],
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    let sent = waha.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["chatId"], format!("{CUSTOMER}@c.us"));
}

#[tokio::test]
async fn an_unknown_lid_is_a_visible_conversation_answered_at_its_lid_and_joins_the_number_later() {
    let waha = FakeWaha::start_engine(API_KEY, Engine::Gows).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;

    // WAHA does not know the number: kept under the LID, in the inbox.
    let mut payload = fake_waha::lid_message(LID, "AAAAU001", "Hello, I saw your ad", false);
    payload["_data"] = json!({});
    assert_eq!(waha.deliver("default", "message", payload).await, 200);
    assert_eq!(
        contacts(&app).await,
        [(
            None,
            Some(LID.to_owned()),
            "WhatsApp user (number hidden)".to_owned()
        )]
    );
    let (_, inbox) = owner.page("/inbox").await;
    assert!(
        inbox.contains("WhatsApp user (number hidden)") && inbox.contains("Hello, I saw your ad"),
        "visible in the conversation list: {inbox}"
    );

    // A quoted reply, a reaction and the read receipt go to the LID chat.
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    let customer_message: String = scalar(
        &app,
        "select id::text from messages where provider_message_id = 'AAAAU001'",
    )
    .await;
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Welcome!"), ("reply_to", &customer_message)],
        )
        .await;
    assert_eq!(response.status(), 303);
    owner.page(&format!("/inbox/{conversation}")).await;
    app.run_pending_jobs().await;
    let sent = waha.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body["chatId"], format!("{LID}@lid"));
    assert_eq!(
        sent[0].body["reply_to"],
        format!("false_{LID}@lid_AAAAU001")
    );
    assert_eq!(status_of(&app, "Welcome!").await, "sent");
    assert_eq!(
        waha.seen(),
        vec![("default".to_owned(), format!("{LID}@lid"))]
    );

    // WAHA learns the number; the customer writes from the number's chat:
    // the same contact and conversation.
    waha.know_lid(LID, CUSTOMER);
    assert_eq!(
        waha.customer_text("default", CUSTOMER, "AAAAU002", "It's me again")
            .await,
        200
    );
    assert!(
        waha.lid_lookups()
            .contains(&format!("/api/default/lids/pn/{CUSTOMER}%40c.us")),
        "{:?}",
        waha.lid_lookups()
    );
    let after = contacts(&app).await;
    assert_eq!(after.len(), 1, "one contact: {after:?}");
    assert_eq!(
        (after[0].0.as_deref(), after[0].1.as_deref()),
        (Some(&format!("+{CUSTOMER}")[..]), Some(LID))
    );
    let conversations: Vec<String> =
        sqlx::query_scalar("select distinct conversation_id::text from messages")
            .fetch_all(&mut app.admin_conn().await)
            .await
            .expect("conversations");
    assert_eq!(conversations, std::slice::from_ref(&conversation));
    assert_eq!(app.count("select count(*) from conversations").await, 1);
    // Known both ways now: the next message asks WAHA nothing.
    let asked = waha.lid_lookups().len();
    assert_eq!(
        waha.customer_text("default", CUSTOMER, "AAAAU003", "Still me")
            .await,
        200
    );
    assert_eq!(waha.lid_lookups().len(), asked);
    // And replies now go to the number.
    owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Got it.")],
        )
        .await;
    app.run_pending_jobs().await;
    assert_eq!(waha.sent()[1].body["chatId"], format!("{CUSTOMER}@c.us"));
}

#[tokio::test]
async fn a_message_delivered_under_the_lid_and_the_number_is_stored_once() {
    let waha = FakeWaha::start_engine(API_KEY, Engine::Noweb).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    waha.know_lid(LID, CUSTOMER);
    let by_lid = fake_waha::lid_message(LID, "AAAAD001", "Once only", false);
    assert_eq!(waha.deliver("default", "message", by_lid).await, 200);
    let by_number = fake_waha::customer_message(CUSTOMER, "AAAAD001", "Once only");
    assert_eq!(waha.deliver("default", "message", by_number).await, 200);
    assert_eq!(
        app.count("select count(*) from messages where body = 'Once only'")
            .await,
        1
    );

    // The other way round, WAHA not knowing the LID: the copy under the
    // LID adds nothing (no second message, no empty hidden-number contact).
    const OTHER: &str = "16505554321";
    const OTHER_LID: &str = "100000087654321";
    let by_number = fake_waha::customer_message(OTHER, "AAAAD002", "Twice sent");
    assert_eq!(waha.deliver("default", "message", by_number).await, 200);
    let by_lid = fake_waha::lid_message(OTHER_LID, "AAAAD002", "Twice sent", false);
    assert_eq!(waha.deliver("default", "message", by_lid).await, 200);
    assert_eq!(
        app.count("select count(*) from messages where body = 'Twice sent'")
            .await,
        1
    );
    assert_eq!(contacts(&app).await.len(), 2, "{:?}", contacts(&app).await);
}

#[tokio::test]
async fn a_lids_api_that_fails_or_hangs_still_stores_the_message_under_the_lid() {
    let waha = FakeWaha::start_engine(API_KEY, Engine::Gows).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    linked(&app, &owner, &waha).await;
    waha.know_lid(LID, CUSTOMER);

    waha.fail_lids(true);
    let payload = fake_waha::lid_message(LID, "AAAAF001", "WAHA failed", false);
    assert_eq!(waha.deliver("default", "message", payload).await, 200);
    assert_eq!(waha.lid_lookups().len(), 1, "asked");
    assert_eq!(
        app.count("select count(*) from messages where body = 'WAHA failed'")
            .await,
        1
    );
    waha.fail_lids(false);

    waha.stall_lids(true);
    let started = std::time::Instant::now();
    let payload = fake_waha::lid_message("100000087654321", "AAAAF002", "WAHA hung", false);
    assert_eq!(waha.deliver("default", "message", payload).await, 200);
    assert!(
        started.elapsed() < Duration::from_millis(4500),
        "not held for WAHA's 5 s: {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.count("select count(*) from messages where body = 'WAHA hung'")
            .await,
        1
    );
    let hidden = app
        .count("select count(*) from contacts where phone is null and wa_lid is not null")
        .await;
    assert_eq!(hidden, 2, "both kept under their LIDs");
}
