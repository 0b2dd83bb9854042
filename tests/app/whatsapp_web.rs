//! Linked-device (WhatsApp Web) channels around a scripted session: the
//! QR and the link reach the owner's view of the session, customers'
//! messages reach the inbox once, replies go out once through the process
//! that runs the session, a logout ends it, and across processes exactly one
//! runs a session, another taking over when it dies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;
use wacrm::channels::whatsapp_web::link::{SessionEvent, WebInbound};
use wacrm::domain::{DeliveryStatus, MessageKind};
use wacrm::infra::db::web_sessions::{self, RunsOn, WebStatus};

use crate::support::fake_wa_web::FakeWeb;
use crate::support::*;

pub(crate) const CUSTOMER: &str = "16505551234";

pub(crate) async fn app_with(fake: &Arc<FakeWeb>, lease_secs: u32) -> TestApp {
    let connector: Arc<dyn wacrm::channels::whatsapp_web::link::Connector> = fake.clone();
    spawn_app_with_connector(Some(connector), move |config| {
        config.whatsapp_web_lease_secs = lease_secs;
        config.whatsapp_web_send_rate = 50;
    })
    .await
}

/// A new linked-device channel of `org` (as the connect page makes it).
pub(crate) async fn new_channel(app: &TestApp, org: Uuid, pair_phone: Option<&str>) -> Uuid {
    let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&app.state.pool, org)
        .await
        .expect("tx");
    let id = Uuid::now_v7();
    web_sessions::create(&mut tx, id, "Shop phone", pair_phone, 30, RunsOn::Wacrm)
        .await
        .expect("channel");
    tx.commit().await.expect("commit");
    id
}

async fn session(app: &TestApp, org: Uuid, channel: Uuid) -> web_sessions::WebSession {
    let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&app.state.pool, org)
        .await
        .expect("tx");
    web_sessions::find(&mut tx, channel)
        .await
        .expect("find")
        .expect("session")
}

/// Waits until the session's status is `status` (or fails after 5 s).
async fn until_status(
    app: &TestApp,
    org: Uuid,
    channel: Uuid,
    status: WebStatus,
) -> web_sessions::WebSession {
    let started = Instant::now();
    loop {
        let now = session(app, org, channel).await;
        if now.status == status {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "status stayed {:?}",
            now.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn text(id: &str, body: &str) -> WebInbound {
    WebInbound {
        id: id.into(),
        from: Some(CUSTOMER.into()),
        lid: None,
        push_name: Some("Sheena Nelson".into()),
        sent_at: None,
        kind: MessageKind::Text,
        body: body.into(),
        media: None,
        raw: None,
        reply_to: None,
        group: None,
    }
}

/// Switches on a rule ("Answer fast") that every customer message sets
/// off (it raises the conversation's priority); what must set nothing off
/// leaves `automation_runs` empty.
pub(crate) async fn rule_on_every_message(app: &TestApp, owner: &Browser) {
    crate::support::cloud::create_rule(
        app,
        owner,
        &[
            ("name", "Answer fast"),
            ("trigger", "message_received"),
            ("set_priority", "high"),
        ],
    )
    .await;
}

/// Shows (`on`) or leaves out (`off`) a linked phone's group chats from
/// its page; the response.
pub(crate) async fn show_groups(owner: &Browser, channel: &str, choice: &str) -> reqwest::Response {
    owner
        .post_form(
            &format!("/settings/linked-devices/{channel}/groups"),
            &[("groups", choice)],
        )
        .await
}

pub(crate) async fn scalar<T>(app: &TestApp, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect(sql)
}

/// How long the tests wait for what the session or the app does.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_session_shows_its_qr_links_receives_once_and_replies_once() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, Duration::from_secs(10)).await;

    // The QR the owner scans, kept sealed.
    fake.emit(
        channel,
        SessionEvent::Qr {
            code: "2@abc,def,ghi,jkl".into(),
            valid_for: Duration::from_secs(60),
        },
    );
    until(WAIT, "the QR", || async {
        session(&app, org, channel).await.qr_sealed.is_some()
    })
    .await;
    let waiting = session(&app, org, channel).await;
    assert_eq!(waiting.status, WebStatus::Waiting);
    let qr = app
        .state
        .secrets
        .open(
            org,
            &wacrm::channels::whatsapp_web::events::qr_purpose(channel),
            channel,
            waiting.qr_sealed.as_deref().expect("qr"),
        )
        .expect("opens");
    assert_eq!(qr, b"2@abc,def,ghi,jkl");
    assert!(waiting.qr_expires_at.is_some());

    // Scanned: linked, with the number and name; the QR is gone.
    fake.emit(
        channel,
        SessionEvent::Linked {
            phone: "15550783881".into(),
            name: "Acme Shop".into(),
        },
    );
    let linked = until_status(&app, org, channel, WebStatus::Linked).await;
    assert_eq!(
        (
            linked.phone.as_deref(),
            linked.display_name.as_deref(),
            linked.qr_sealed
        ),
        (Some("15550783881"), Some("Acme Shop"), None)
    );

    // A message, delivered again after a reconnect: stored once.
    fake.emit(
        channel,
        SessionEvent::Messages(vec![text("3A0001", "Hi, is it in stock?")]),
    );
    fake.emit(
        channel,
        SessionEvent::Messages(vec![
            text("3A0001", "Hi, is it in stock?"),
            text("3A0002", "The blue one"),
        ]),
    );
    until(WAIT, "both messages", || async {
        scalar::<i64>(&app, "select count(*) from messages where direction = 'in'").await == 2
    })
    .await;
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = '3A0001'",
    )
    .await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("Hi, is it in stock?") && page.contains("Sheena Nelson"));

    // A reply leaves once, through the session, under the id fixed for it.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes, in blue!")],
        )
        .await;
    assert_eq!(response.status(), 303);
    until(WAIT, "the reply sent", || async { !fake.sent().is_empty() }).await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].to.as_str(), sent[0].message.text.as_str()),
        (CUSTOMER, "Yes, in blue!")
    );
    let ours: Uuid = scalar(&app, "select id from messages where body = 'Yes, in blue!'").await;
    assert_eq!(
        sent[0].message.id,
        wacrm::channels::whatsapp_web::sender::wire_id(ours)
    );
    until(WAIT, "recorded as sent", || async {
        scalar::<String>(
            &app,
            "select status from messages where body = 'Yes, in blue!'",
        )
        .await
            == "sent"
    })
    .await;

    // The phone reports it read.
    fake.emit(
        channel,
        SessionEvent::Receipt {
            message_ids: vec![sent[0].message.id.clone()],
            status: DeliveryStatus::Read,
        },
    );
    until(WAIT, "read", || async {
        scalar::<String>(
            &app,
            "select status from messages where body = 'Yes, in blue!'",
        )
        .await
            == "read"
    })
    .await;
    assert_eq!(fake.sent().len(), 1, "sent once");
}

#[tokio::test]
async fn a_failed_send_is_retried_under_the_same_id() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, Duration::from_secs(10)).await;
    fake.emit(
        channel,
        SessionEvent::Messages(vec![text("3A0001", "Hello?")]),
    );
    until(WAIT, "the message", || async {
        scalar::<i64>(&app, "select count(*) from messages").await == 1
    })
    .await;
    let conversation: String = scalar(&app, "select conversation_id::text from messages").await;
    fake.refuse_sends(1);
    owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Here!")],
        )
        .await;
    until(WAIT, "sent after a retry", || async {
        scalar::<String>(&app, "select status from messages where body = 'Here!'").await == "sent"
    })
    .await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    let ours: Uuid = scalar(&app, "select id from messages where body = 'Here!'").await;
    assert_eq!(
        sent[0].message.id,
        wacrm::channels::whatsapp_web::sender::wire_id(ours)
    );
}

#[tokio::test]
async fn a_logout_from_the_phone_ends_the_session_and_forgets_its_keys() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 3).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, Some("15550783881")).await;
    fake.until_open(channel, Duration::from_secs(10)).await;
    assert_eq!(
        fake.starts()[0],
        (channel, Some("15550783881".to_owned())),
        "pairs by code"
    );
    fake.emit(
        channel,
        SessionEvent::PairCode {
            code: "ABCD1234".into(),
            valid_for: Duration::from_secs(180),
        },
    );
    until(WAIT, "the code", || async {
        session(&app, org, channel).await.pair_code.as_deref() == Some("ABCD1234")
    })
    .await;
    fake.emit(
        channel,
        SessionEvent::Linked {
            phone: "15550783881".into(),
            name: "Acme".into(),
        },
    );
    until_status(&app, org, channel, WebStatus::Linked).await;
    let store = wacrm::channels::whatsapp_web::store::SessionStore::new(
        app.state.pool.clone(),
        app.state.secrets.clone(),
        org,
        channel,
    );
    whatsapp_rust::wacore::store::traits::SignalStore::put_session(
        &store,
        "x@s.whatsapp.net",
        b"keys",
    )
    .await
    .unwrap();

    let (_, before) = owner.page("/dashboard").await;
    assert!(!before.contains("Link it again"));
    fake.emit(
        channel,
        SessionEvent::LoggedOut {
            reason: "removed on the phone".into(),
        },
    );
    until_status(&app, org, channel, WebStatus::LoggedOut).await;
    // The owner is told: by mail and on every page.
    let mail = app
        .mail_to("owner@acme.test", "removed wacrm from its linked devices")
        .await;
    assert!(
        mail.body_text()
            .contains(&format!("/settings/linked-devices/{channel}"))
    );
    let (_, page) = owner.page("/dashboard").await;
    assert!(
        page.contains("A linked WhatsApp phone was logged out") && page.contains("Link it again")
    );
    until(WAIT, "the session stopped", || async {
        fake.open(channel) == 0
    })
    .await;
    assert_eq!(
        scalar::<i64>(&app, "select count(*) from whatsapp_web_state").await,
        0,
        "its keys are forgotten"
    );
    assert!(!scalar::<bool>(&app, "select wanted from whatsapp_web_leases").await);
    // Not started again, even after its lease would have lapsed.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(fake.open(channel), 0);
    assert_eq!(fake.starts().len(), 1);
}

#[tokio::test]
async fn one_process_runs_each_session_and_another_takes_over_when_it_dies() {
    let fake = FakeWeb::new();
    let lease = 3;
    let first = app_with(&fake, lease).await;
    let second = first.second_instance().await;
    first.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = first.org_id("Acme").await;
    let mut channels = vec![];
    for _ in 0..6 {
        channels.push(new_channel(&first, org, None).await);
    }
    for channel in &channels {
        fake.until_open(*channel, Duration::from_secs(10)).await;
    }
    // Each session runs in exactly one of the two processes.
    let owners = |channel: Uuid| {
        (
            first.state.web_sessions.get(channel).is_some(),
            second.state.web_sessions.get(channel).is_some(),
        )
    };
    for channel in &channels {
        let (a, b) = owners(*channel);
        assert!(a ^ b, "one owner of {channel}");
    }
    // Past several renewals, nothing moved and nothing doubled.
    tokio::time::sleep(Duration::from_secs(u64::from(lease) * 2)).await;
    for channel in &channels {
        assert_eq!(fake.open(*channel), 1);
    }

    // The first process dies: its sessions resume in the second within
    // about one lease, and never two at once.
    let theirs: Vec<Uuid> = channels
        .iter()
        .copied()
        .filter(|c| first.state.web_sessions.get(*c).is_some())
        .collect();
    first.background.kill();
    let died = Instant::now();
    for channel in &channels {
        let started = Instant::now();
        while second.state.web_sessions.get(*channel).is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(u64::from(lease) * 3),
                "{channel} was not taken over"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let took = died.elapsed();
    assert!(
        took < Duration::from_secs(u64::from(lease) * 2),
        "took over in {took:?}"
    );
    for channel in &channels {
        assert_eq!(fake.open(*channel), 1, "{channel} runs once");
        assert_eq!(
            fake.most_open(*channel),
            1,
            "{channel} never ran twice at once"
        );
    }
    let starts = fake.starts().len();
    assert_eq!(
        starts,
        channels.len() + theirs.len(),
        "only the dead process's sessions restarted"
    );
}

// ---- The owner's pages --------------------------------------------------------

/// Links a phone from the settings page; the new channel's id.
async fn connect_page(owner: &Browser, name: &str, phone: &str) -> Uuid {
    let response = owner
        .post_form(
            "/settings/linked-devices",
            &[("name", name), ("phone", phone)],
        )
        .await;
    assert_eq!(response.status(), 303, "connect {name}");
    let path = location(&response);
    Uuid::try_parse(path.trim_start_matches("/settings/linked-devices/"))
        .expect("channel id in the redirect")
}

async fn fragment(owner: &Browser, channel: Uuid) -> String {
    let (status, body) = owner
        .page(&format!("/settings/linked-devices/{channel}/status"))
        .await;
    assert_eq!(status, 200);
    body
}

/// Polls the status fragment until it contains `needle`.
async fn until_fragment(owner: &Browser, channel: Uuid, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let body = fragment(owner, channel).await;
        if body.contains(needle) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never showed {needle}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_owner_links_a_phone_by_qr_follows_it_live_unlinks_and_links_again() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 3).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (status, page) = owner.page("/settings/linked-devices").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("unofficial") && page.contains("banned"),
        "the warning is said"
    );

    let channel = connect_page(&owner, "Shop phone", "").await;
    let (status, page) = owner
        .page(&format!("/settings/linked-devices/{channel}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Shop phone") && page.contains("every 2s"),
        "the page follows the session"
    );
    fake.until_open(channel, Duration::from_secs(10)).await;
    assert_eq!(fake.starts()[0], (channel, None), "by QR");

    // The QR, drawn by wacrm, and its rotation.
    fake.emit(
        channel,
        SessionEvent::Qr {
            code: "2@first,ref".into(),
            valid_for: Duration::from_secs(60),
        },
    );
    let first = until_fragment(&owner, channel, "<svg").await;
    assert!(first.contains("Scan this code"));
    fake.emit(
        channel,
        SessionEvent::Qr {
            code: "2@second,ref".into(),
            valid_for: Duration::from_secs(20),
        },
    );
    let started = Instant::now();
    while fragment(&owner, channel).await == first {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the QR never rotated"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    fake.emit(
        channel,
        SessionEvent::Linked {
            phone: "15550783881".into(),
            name: "Acme Shop".into(),
        },
    );
    let linked = until_fragment(&owner, channel, "data-status=\"linked\"").await;
    assert!(
        linked.contains("+15550783881") && linked.contains("Acme Shop") && !linked.contains("<svg")
    );
    let (_, list) = owner.page("/settings/linked-devices").await;
    assert!(list.contains("Shop phone") && list.contains("+15550783881"));

    // Relinking a linked phone is refused; unlinking logs it out.
    let refused = owner
        .post_form(
            &format!("/settings/linked-devices/{channel}/relink"),
            &[("phone", "")],
        )
        .await;
    assert_eq!(refused.status(), 409);
    let response = owner
        .post_form(&format!("/settings/linked-devices/{channel}/unlink"), &[])
        .await;
    assert_eq!(response.status(), 303);
    until_fragment(&owner, channel, "data-status=\"unlinked\"").await;
    until(WAIT, "the session logged out", || async {
        fake.open(channel) == 0
    })
    .await;
    until(WAIT, "the lease let go", || async {
        scalar::<Option<Uuid>>(&app, "select owner from whatsapp_web_leases")
            .await
            .is_none()
    })
    .await;

    // Linked again, by a code this time.
    let response = owner
        .post_form(
            &format!("/settings/linked-devices/{channel}/relink"),
            &[("phone", "+1 650 555 0000")],
        )
        .await;
    assert_eq!(response.status(), 303);
    fake.until_open(channel, Duration::from_secs(10)).await;
    assert_eq!(fake.starts()[1], (channel, Some("16505550000".to_owned())));
    fake.emit(
        channel,
        SessionEvent::PairCode {
            code: "WZYEH1YY".into(),
            valid_for: Duration::from_secs(180),
        },
    );
    let code = until_fragment(&owner, channel, "WZYEH1YY").await;
    assert!(code.contains("Type this code"));
}

#[tokio::test]
async fn bad_input_is_refused_and_another_workspace_sees_and_changes_nothing() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 3).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let other = app.sign_up("Bob", "owner@globex.test", "Globex").await;

    for (name, phone, says) in [
        ("", "", "Give the phone a name"),
        (&"x".repeat(101)[..], "", "Give the phone a name"),
        ("Shop", "call me", "is not a phone number"),
        ("Shop", "+1 23", "is not a phone number"),
    ] {
        let response = owner
            .post_form(
                "/settings/linked-devices",
                &[("name", name), ("phone", phone)],
            )
            .await;
        assert_eq!(response.status(), 422, "{name:?} {phone:?}");
        assert!(response.text().await.unwrap().contains(says));
    }
    assert_eq!(
        scalar::<i64>(&app, "select count(*) from whatsapp_web_sessions").await,
        0
    );

    let channel = connect_page(&owner, "Front desk", "").await;
    fake.until_open(channel, Duration::from_secs(10)).await;
    fake.emit(
        channel,
        SessionEvent::Linked {
            phone: "15550783881".into(),
            name: "Acme".into(),
        },
    );
    until_fragment(&owner, channel, "data-status=\"linked\"").await;

    for path in [
        format!("/settings/linked-devices/{channel}"),
        format!("/settings/linked-devices/{channel}/status"),
        "/settings/linked-devices/not-an-id".to_owned(),
    ] {
        assert_eq!(other.get(&path).await.status(), 404, "{path}");
    }
    let (_, theirs) = other.page("/settings/linked-devices").await;
    assert!(!theirs.contains("Front desk"));
    for action in ["unlink", "relink"] {
        let response = other
            .post_form(
                &format!("/settings/linked-devices/{channel}/{action}"),
                &[("phone", "")],
            )
            .await;
        assert_eq!(response.status(), 404, "{action}");
    }
    for action in ["unlink", "relink"] {
        let response = owner
            .post_form(
                &format!("/settings/linked-devices/not-an-id/{action}"),
                &[("phone", "")],
            )
            .await;
        assert_eq!(response.status(), 404, "{action} of no id");
    }
    let response = owner
        .post_form(
            &format!("/settings/linked-devices/{channel}/relink"),
            &[("phone", "call me")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("is not a phone number")
    );
    let org = app.org_id("Acme").await;
    assert_eq!(session(&app, org, channel).await.status, WebStatus::Linked);
    assert_eq!(fake.open(channel), 1, "still running");
}

#[tokio::test]
async fn a_customers_edit_and_delete_for_everyone_show_in_the_conversation() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, Duration::from_secs(10)).await;
    fake.emit(
        channel,
        SessionEvent::Messages(vec![
            text("3A0101", "I want two"),
            text("3A0102", "my card is SECRETCARD"),
        ]),
    );
    until(WAIT, "both messages", || async {
        scalar::<i64>(&app, "select count(*) from messages where direction = 'in'").await == 2
    })
    .await;
    fake.emit(
        channel,
        SessionEvent::Edited {
            message_id: "3A0101".into(),
            body: "I want three".into(),
        },
    );
    fake.emit(
        channel,
        SessionEvent::Revoked {
            message_id: "3A0102".into(),
        },
    );
    // An edit of a message wacrm never had changes nothing.
    fake.emit(
        channel,
        SessionEvent::Edited {
            message_id: "3A0199".into(),
            body: "ghost".into(),
        },
    );
    until(WAIT, "deleted", || async {
        scalar::<i64>(
            &app,
            "select count(*) from messages where deleted_at is not null",
        )
        .await
            == 1
    })
    .await;
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = '3A0101'",
    )
    .await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("I want three") && !page.contains("I want two"));
    assert!(page.contains("edited"));
    assert!(page.contains("This message was deleted") && !page.contains("SECRETCARD"));
    // It was the newest: the conversation list no longer shows it either.
    assert_eq!(
        scalar::<String>(&app, "select last_message_preview from conversations").await,
        wacrm::infra::db::messages::DELETED_PREVIEW
    );
    assert_eq!(
        scalar::<i64>(
            &app,
            "select count(*) from messages where body like '%SECRETCARD%' or body = 'ghost'"
        )
        .await,
        0
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A customer's image whose file waits at `direct_path` (of `bytes`).
fn image(id: &str, direct_path: &str, bytes: &[u8]) -> WebInbound {
    use sha2::Digest;
    let reference = wacrm::channels::whatsapp_web::link::WebMediaRef {
        media_type: "image".into(),
        direct_path: direct_path.into(),
        media_key: b64(&[7; 32]),
        file_sha256: b64(&sha2::Sha256::digest(bytes)),
        file_enc_sha256: b64(&[9; 32]),
        file_length: bytes.len() as u64,
    };
    WebInbound {
        kind: MessageKind::Image,
        body: "The receipt".into(),
        media: Some(serde_json::json!({
            "mime_type": "image/png", "filename": "",
            "wa": serde_json::to_value(reference).expect("json"),
        })),
        ..text(id, "")
    }
}

/// Acme's owner with a phone linked as 15550783881 "Acme Shop" on a fake
/// session: the fake, the app, the owner and the channel.
async fn linked_acme() -> (Arc<FakeWeb>, TestApp, Browser, Uuid) {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, Duration::from_secs(10)).await;
    fake.emit(
        channel,
        SessionEvent::Linked {
            phone: "15550783881".into(),
            name: "Acme Shop".into(),
        },
    );
    (fake, app, owner, channel)
}

/// A workspace whose linked phone received [`hostile_files`] from a
/// customer, all fetched: the app, its owner, the fake session (kept alive)
/// and each file's URL with its bytes.
pub(crate) async fn hostile_files_from_a_linked_phone()
-> (TestApp, Browser, Arc<FakeWeb>, Vec<(String, Vec<u8>)>) {
    let (fake, app, owner, channel) = linked_acme().await;
    let files = hostile_files();
    let messages = files
        .iter()
        .enumerate()
        .map(|(i, (name, claimed, bytes))| {
            let path = format!("/v/t62.7118-24/hostile{i}");
            fake.add_file(&path, bytes);
            let mut message = image(&format!("3AH00{i}"), &path, bytes);
            if let Some(media) = message.media.as_mut() {
                media["mime_type"] = serde_json::Value::from(*claimed);
                media["filename"] = serde_json::Value::from(*name);
            }
            message
        })
        .collect();
    fake.emit(channel, SessionEvent::Messages(messages));
    until(WAIT, "all fetched", || async {
        scalar::<i64>(&app, "select count(*) from messages where media ? 'url'").await == 4
    })
    .await;
    let mut stored = Vec::new();
    for (i, (_, _, bytes)) in files.into_iter().enumerate() {
        let media: serde_json::Value =
            sqlx::query_scalar("select media from messages where provider_message_id = $1")
                .bind(format!("3AH00{i}"))
                .fetch_one(&mut app.admin_conn().await)
                .await
                .expect("media");
        stored.push((media["url"].as_str().expect("url").to_owned(), bytes));
    }
    (app, owner, fake, stored)
}

#[tokio::test]
async fn hostile_files_from_a_linked_phone_are_kept_as_opaque_attachments() {
    let (_app, owner, _fake, stored) = hostile_files_from_a_linked_phone().await;
    for (url, bytes) in &stored {
        assert_served_as_attachment(&owner, url, bytes).await;
    }
}

#[tokio::test]
async fn files_come_in_through_the_session_and_files_replies_and_reactions_go_out() {
    let (fake, app, owner, channel) = linked_acme().await;

    // A customer's image: downloaded through the session, checked, kept.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    fake.add_file("/v/t62.7118-24/receipt", png);
    fake.add_file("/v/t62.7118-24/damaged", b"not what was sent");
    fake.emit(
        channel,
        SessionEvent::Messages(vec![
            image("3A0201", "/v/t62.7118-24/receipt", png),
            image("3A0202", "/v/t62.7118-24/damaged", png),
        ]),
    );
    until(WAIT, "both fetched", || async {
        scalar::<i64>(
            &app,
            "select count(*) from messages where media ? 'url' or media ? 'unavailable'",
        )
        .await
            == 2
    })
    .await;
    let media: serde_json::Value = scalar(
        &app,
        "select media from messages where provider_message_id = '3A0201'",
    )
    .await;
    assert!(media.get("wa").is_none(), "the file's keys are dropped");
    let served = owner.get(media["url"].as_str().expect("url")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.expect("bytes").as_ref(), png);
    let damaged: serde_json::Value = scalar(
        &app,
        "select media from messages where provider_message_id = '3A0202'",
    )
    .await;
    assert!(
        damaged["unavailable"]
            .as_str()
            .is_some_and(|r| r.contains("damaged")),
        "{damaged}"
    );
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = '3A0201'",
    )
    .await;
    let customer_message: String = scalar(
        &app,
        "select id::text from messages where provider_message_id = '3A0201'",
    )
    .await;

    // A reply quoting it, a reaction to it, a file.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[
                ("text", "Thanks, received"),
                ("reply_to", &customer_message),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/reactions"),
            &[("message_id", &customer_message), ("emoji", "👍")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .attach(
            &conversation,
            ("invoice.pdf", "application/pdf", b"%PDF-1.7\n%invoice\n"),
            "Your invoice",
            None,
        )
        .await;
    assert_eq!(response.status(), 303);
    until(WAIT, "three sent", || async { fake.sent().len() == 3 }).await;
    let sent = fake.sent();
    let quoted = wacrm::channels::whatsapp_web::link::WebQuoted {
        id: "3A0201".into(),
        ours: false,
        member: None,
        text: "The receipt".into(),
    };
    assert_eq!(sent[0].message.text, "Thanks, received");
    assert_eq!(sent[0].message.reply_to.as_ref(), Some(&quoted));
    assert!(!sent[0].message.reaction && sent[0].message.file.is_none());
    assert!(sent[1].message.reaction);
    assert_eq!(sent[1].message.text, "👍");
    assert_eq!(sent[1].message.reply_to.as_ref(), Some(&quoted));
    let file = sent[2].message.file.as_ref().expect("a file");
    assert_eq!(
        (file.kind, file.mime_type.as_str(), file.filename.as_str()),
        (MessageKind::Document, "application/pdf", "invoice.pdf")
    );
    assert_eq!(file.bytes, b"%PDF-1.7\n%invoice\n");
    assert_eq!(sent[2].message.text, "Your invoice");
    until(WAIT, "all recorded as sent", || async {
        scalar::<i64>(
            &app,
            "select count(*) from messages where direction = 'out' and status = 'sent'",
        )
        .await
            == 3
    })
    .await;
}

#[tokio::test]
async fn a_process_runs_no_more_sessions_than_its_cap_and_another_runs_the_rest() {
    let fake = FakeWeb::new();
    let connector: Arc<dyn wacrm::channels::whatsapp_web::link::Connector> = fake.clone();
    let first = spawn_app_with_connector(Some(connector), |config| {
        config.whatsapp_web_max_sessions = 2;
    })
    .await;
    first.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = first.org_id("Acme").await;
    let mut channels = vec![];
    for _ in 0..3 {
        channels.push(new_channel(&first, org, None).await);
    }
    until(WAIT, "two sessions", || async {
        first.state.web_sessions.channels().len() == 2
    })
    .await;
    // A few claim rounds later, still two: the third waits.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(first.state.web_sessions.channels().len(), 2);
    let waiting: Vec<Uuid> = channels
        .iter()
        .copied()
        .filter(|c| fake.open(*c) == 0)
        .collect();
    assert_eq!(waiting.len(), 1);

    // Another process takes the one left.
    let second = first.second_instance().await;
    fake.until_open(waiting[0], Duration::from_secs(10)).await;
    assert!(second.state.web_sessions.get(waiting[0]).is_some());
    assert_eq!(first.state.web_sessions.channels().len(), 2);
}

#[tokio::test]
async fn a_reply_on_an_unlinked_phone_fails_with_the_reason_instead_of_waiting() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, Duration::from_secs(10)).await;
    fake.emit(
        channel,
        SessionEvent::Messages(vec![text("3A0301", "Still open?")]),
    );
    until(WAIT, "the message", || async {
        scalar::<i64>(&app, "select count(*) from messages where direction = 'in'").await == 1
    })
    .await;
    let conversation: String = scalar(
        &app,
        "select conversation_id::text from messages where provider_message_id = '3A0301'",
    )
    .await;
    let page = format!("/settings/linked-devices/{channel}");
    let response = owner.post_form(&format!("{page}/unlink"), &[]).await;
    assert_eq!(response.status(), 303);
    until(WAIT, "the session stopped", || async {
        app.state.web_sessions.get(channel).is_none()
    })
    .await;
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes until six")],
        )
        .await;
    assert_eq!(response.status(), 303);
    until(WAIT, "the reply failed", || async {
        scalar::<String>(
            &app,
            "select status from messages where body = 'Yes until six'",
        )
        .await
            == "failed"
    })
    .await;
    let error: String = scalar(
        &app,
        "select error from messages where body = 'Yes until six'",
    )
    .await;
    assert!(error.contains("no longer linked"), "{error}");
    assert!(fake.sent().is_empty());
}

/// Makes the database refuse the first message stored from now on (as a
/// full disk or a dropped connection would), then accept the rest.
async fn refuse_the_next_message_insert(app: &TestApp) {
    sqlx::raw_sql(
        "create sequence refuse_once_seq; \
         create function refuse_once() returns trigger language plpgsql as $$ \
         begin if nextval('refuse_once_seq') = 1 then raise exception 'disk full'; end if; \
         return new; end $$; \
         create trigger refuse_once before insert on messages \
         for each row execute function refuse_once(); \
         grant usage on sequence refuse_once_seq to public;",
    )
    .execute(&mut app.admin_conn().await)
    .await
    .expect("the trigger");
}

#[tokio::test]
async fn a_message_whose_commit_fails_is_delivered_again_and_stored_exactly_once() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    // The message and the customer's edit of it, received together: the
    // edit applies after its message.
    let received = vec![
        SessionEvent::Messages(vec![text("3A00D1", "Is it in stock?")]),
        SessionEvent::Edited {
            message_id: "3A00D1".into(),
            body: "Is the blue one in stock?".into(),
        },
    ];
    refuse_the_next_message_insert(&app).await;
    let first = fake.deliver(channel, received.clone()).await;
    assert!(first.is_err(), "the failed commit is not acknowledged");
    assert_eq!(fake.unacked(channel), 1);
    assert_eq!(app.count("select count(*) from messages").await, 0);
    assert_eq!(
        app.count("select count(*) from contacts").await,
        0,
        "nothing half-stored"
    );

    // WhatsApp delivers it again on the next connect.
    assert_eq!(fake.redeliver(channel).await, 1, "acknowledged this time");
    assert_eq!(fake.unacked(channel), 0);
    assert_eq!(app.count("select count(*) from messages").await, 1);
    let body: String = scalar(&app, "select body from messages").await;
    assert_eq!(body, "Is the blue one in stock?");

    // The acknowledgement was lost (a crash right after the commit): the
    // same delivery again changes nothing.
    fake.deliver(channel, received).await.expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 1);
    assert_eq!(
        app.count("select inbound_count from conversations").await,
        1,
        "counted once"
    );
}

#[tokio::test]
async fn a_process_killed_during_a_commit_leaves_the_message_to_the_next_one() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 3).await;
    app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;

    // The commit waits on a lock (a slow database) when the process dies.
    let mut locker = app.admin_conn().await;
    sqlx::raw_sql("begin; lock table messages in exclusive mode")
        .execute(&mut locker)
        .await
        .expect("lock");
    let delivering = {
        let fake = fake.clone();
        tokio::spawn(async move {
            fake.deliver(
                channel,
                vec![SessionEvent::Messages(vec![text("3A00K1", "Hello?")])],
            )
            .await
        })
    };
    until(WAIT, "the commit waiting on the lock", || async {
        app.count(
            "select count(*) from pg_locks where relation = 'messages'::regclass and not granted",
        )
        .await
            > 0
    })
    .await;
    // Killed: the server, its sessions and the commit in flight.
    app.background.kill();
    delivering.abort();
    let _ = delivering.await;
    sqlx::raw_sql("commit")
        .execute(&mut locker)
        .await
        .expect("unlock");
    until(WAIT, "the dead process's connections gone", || async {
        app.count(
            "select count(*) from pg_locks where relation = 'messages'::regclass and not granted",
        )
        .await
            == 0
    })
    .await;
    assert_eq!(
        app.count("select count(*) from messages").await,
        0,
        "never committed"
    );
    assert_eq!(fake.unacked(channel), 1, "so never acknowledged");

    // Another process takes the session over; WhatsApp delivers again.
    let _second = app.second_instance().await;
    until(Duration::from_secs(15), "the session resumed", || async {
        fake.starts().len() == 2 && fake.open(channel) == 1
    })
    .await;
    assert_eq!(fake.redeliver(channel).await, 1);
    assert_eq!(app.count("select count(*) from messages").await, 1);
    assert_eq!(fake.unacked(channel), 0);
}

#[tokio::test]
async fn replies_typed_on_the_phone_are_ours_once_and_count_as_a_persons_answer() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    // Every customer message raises the priority: the phone's must not.
    rule_on_every_message(&app, &owner).await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;

    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![text(
            "3A00P1",
            "Do you deliver?",
        )])],
    )
    .await
    .expect("committed");
    let mut reply = text("3EB0PHONE1", "Yes, tomorrow morning.");
    // The push name on our own message is the business's.
    reply.push_name = Some("Acme Store".into());
    let sent_from_phone = vec![SessionEvent::SentFromPhone(vec![reply])];
    fake.deliver(channel, sent_from_phone.clone())
        .await
        .expect("committed");
    // Delivered again (a lost acknowledgement): still once.
    fake.deliver(channel, sent_from_phone)
        .await
        .expect("committed");

    assert_eq!(app.count("select count(*) from messages").await, 2);
    let row: (String, String, String, bool, bool) = sqlx::query_as(
        "select direction, sender_kind, status, from_phone, automated from messages \
         where provider_message_id = '3EB0PHONE1'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("the phone's reply");
    assert_eq!(
        row,
        ("out".into(), "member".into(), "sent".into(), true, false),
        "ours, a person's, sent"
    );
    let name: String = scalar(&app, "select name from contacts").await;
    assert_eq!(name, "Sheena Nelson", "the customer keeps their own name");
    assert_eq!(
        app.count("select inbound_count from conversations").await,
        1,
        "our reply is not unread"
    );
    let preview: String = scalar(&app, "select last_message_preview from conversations").await;
    assert_eq!(preview, "Yes, tomorrow morning.");
    until(WAIT, "the rule ran for the customer's message", || async {
        app.count("select count(*) from automation_runs").await >= 1
    })
    .await;
    assert_eq!(
        app.count("select count(*) from automation_runs").await,
        1,
        "only the customer's message set the rule off"
    );

    // The conversation shows who answered, and where.
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Yes, tomorrow morning."), "{page}");
    assert!(page.contains("Sent from the phone"), "{page}");

    // The customer's receipt reaches the phone's message like any other.
    fake.emit(
        channel,
        SessionEvent::Receipt {
            message_ids: vec!["3EB0PHONE1".into()],
            status: DeliveryStatus::Read,
        },
    );
    until(WAIT, "read", || async {
        scalar::<String>(
            &app,
            "select status from messages where provider_message_id = '3EB0PHONE1'",
        )
        .await
            == "read"
    })
    .await;
}

#[tokio::test]
async fn a_replaced_session_pauses_shows_why_lets_its_lease_go_and_resumes_later() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    fake.emit(
        channel,
        SessionEvent::Linked {
            phone: "15550783881".into(),
            name: "Acme".into(),
        },
    );
    until_status(&app, org, channel, WebStatus::Linked).await;

    // Another program took the link over.
    fake.emit(
        channel,
        SessionEvent::Paused {
            reason: "Another program connected with this phone's link and replaced wacrm.".into(),
            retry_after: Duration::from_secs(3),
        },
    );
    until(WAIT, "stopped", || async { fake.open(channel) == 0 }).await;
    let paused = session(&app, org, channel).await;
    assert_eq!(paused.status, WebStatus::Disconnected);
    assert!(
        paused
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("Another program"))
    );
    // The lease is free but not claimable before the retry: no zombie holds
    // it, and nobody fights the other program at once.
    let (holder, waits): (Option<Uuid>, bool) = sqlx::query_as(
        "select owner, lease_until > now() from whatsapp_web_leases where channel_id = $1",
    )
    .bind(channel)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("lease");
    assert_eq!((holder, waits), (None, true));
    let (status, page) = owner
        .page(&format!("/settings/linked-devices/{channel}/status"))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Paused since") && page.contains("Another program"),
        "{page}"
    );
    assert_eq!(fake.starts().len(), 1, "not restarted before the retry");

    // After the retry it runs again; linking clears the problem.
    until(WAIT, "started again", || async { fake.open(channel) == 1 }).await;
    assert_eq!(fake.starts().len(), 2);
    fake.emit(
        channel,
        SessionEvent::Linked {
            phone: "15550783881".into(),
            name: "Acme".into(),
        },
    );
    until(WAIT, "the problem cleared", || async {
        session(&app, org, channel).await.problem.is_none()
    })
    .await;
}

#[tokio::test]
async fn a_session_that_dies_by_itself_is_started_again_at_once() {
    let fake = FakeWeb::new();
    // A long lease: only the release, not its lapse, can restart it in time.
    let app = app_with(&fake, 60).await;
    app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    fake.crash(channel);
    until(WAIT, "started again", || async {
        fake.starts().len() == 2 && fake.open(channel) == 1
    })
    .await;
    assert_eq!(fake.most_open(channel), 1, "never two at once");
}

#[tokio::test]
async fn an_undecryptable_message_waits_visibly_and_its_content_fills_it_in_once() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    let mut placeholder = text("3A00U1", "");
    placeholder.kind = MessageKind::Unknown;
    fake.deliver(
        channel,
        vec![SessionEvent::Undecryptable(vec![placeholder.clone()])],
    )
    .await
    .expect("committed");
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    let (_, list) = owner.page("/inbox").await;
    assert!(list.contains("Waiting for this message"), "{list}");
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.contains("Waiting for this message. This may take a while."),
        "{page}"
    );
    // Told again that it failed: still one placeholder.
    fake.deliver(
        channel,
        vec![SessionEvent::Undecryptable(vec![placeholder])],
    )
    .await
    .expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 1);

    // The phone sends it again; it takes the placeholder's place.
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![text(
            "3A00U1",
            "Can I pay by card?",
        )])],
    )
    .await
    .expect("committed");
    assert_eq!(
        app.count("select count(*) from messages").await,
        1,
        "filled in, not added"
    );
    let (body, waiting): (String, bool) =
        sqlx::query_as("select body, awaiting_content from messages")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("the message");
    assert_eq!((body.as_str(), waiting), ("Can I pay by card?", false));
    assert_eq!(
        app.count("select inbound_count from conversations").await,
        1,
        "unread once"
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.contains("Can I pay by card?") && !page.contains("Waiting for this message. This")
    );
}

#[tokio::test]
async fn opening_a_conversation_marks_the_customers_messages_read_once_unless_switched_off() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![
            text("3A00R1", "Hi"),
            text("3A00R2", "Are you open today?"),
        ])],
    )
    .await
    .expect("committed");
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    let (status, _) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    until(WAIT, "the read receipt", || async {
        !fake.read_receipts().is_empty()
    })
    .await;
    let receipts = fake.read_receipts();
    assert_eq!(receipts.len(), 1);
    let (on, to, mut ids) = receipts[0].clone();
    ids.sort();
    assert_eq!((on, to.as_str()), (channel, CUSTOMER));
    assert_eq!(ids, vec!["3A00R1".to_owned(), "3A00R2".to_owned()]);

    // Opened again with nothing new: no second receipt.
    owner.page(&format!("/inbox/{conversation}")).await;
    app.run_pending_jobs().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.read_receipts().len(), 1);

    // A new message: only it is marked.
    let mut later = text("3A00R3", "Hello?");
    later.sent_at = Some(time::OffsetDateTime::now_utc() + time::Duration::seconds(5));
    fake.deliver(channel, vec![SessionEvent::Messages(vec![later])])
        .await
        .expect("committed");
    owner.page(&format!("/inbox/{conversation}")).await;
    until(WAIT, "the second receipt", || async {
        fake.read_receipts().len() == 2
    })
    .await;
    assert_eq!(fake.read_receipts()[1].2, vec!["3A00R3".to_owned()]);

    // Switched off in the workspace settings: opening sends nothing.
    let (_, settings) = owner.page("/settings").await;
    assert!(
        settings.contains("name=\"read_receipts\" checked"),
        "on by default"
    );
    let off = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "UTC"),
                ("agents_see", "all"),
            ],
        )
        .await;
    assert_eq!(off.status(), 303);
    let mut last = text("3A00R4", "Anyone?");
    last.sent_at = Some(time::OffsetDateTime::now_utc() + time::Duration::seconds(10));
    fake.deliver(channel, vec![SessionEvent::Messages(vec![last])])
        .await
        .expect("committed");
    owner.page(&format!("/inbox/{conversation}")).await;
    app.run_pending_jobs().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.read_receipts().len(),
        2,
        "no receipt when switched off"
    );
}

#[tokio::test]
async fn a_customer_seen_by_lid_alone_is_shown_then_becomes_one_contact_with_their_number() {
    const LID: &str = "100000012345678";
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;

    // Only the LID is known: a contact with a hidden number, in the inbox.
    let mut first = text("3A00L1", "Hello, I saw your ad");
    first.from = None;
    first.lid = Some(LID.into());
    first.push_name = None;
    fake.deliver(channel, vec![SessionEvent::Messages(vec![first])])
        .await
        .expect("committed");
    let (name, phone): (String, Option<String>) =
        sqlx::query_as("select name, phone from contacts")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("the contact");
    assert_eq!(
        (name.as_str(), phone),
        ("WhatsApp user (number hidden)", None)
    );
    let (_, inbox) = owner.page("/inbox").await;
    assert!(
        inbox.contains("WhatsApp user (number hidden)") && inbox.contains("Hello, I saw your ad"),
        "visible in the conversation list: {inbox}"
    );
    // A reply goes to the chat's own address (the LID).
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Welcome! How can we help?")],
        )
        .await;
    until(WAIT, "sent to the LID chat", || async {
        fake.sent().len() == 1
    })
    .await;
    assert_eq!(fake.sent()[0].to, format!("{LID}@lid"));

    // Later the number comes with the LID: still one contact, one
    // conversation, both messages in it.
    let mut second = text("3A00L2", "My number is this one");
    second.lid = Some(LID.into());
    fake.deliver(channel, vec![SessionEvent::Messages(vec![second])])
        .await
        .expect("committed");
    assert_eq!(
        app.count("select count(*) from contacts").await,
        1,
        "one contact"
    );
    let (phone, lid): (Option<String>, Option<String>) =
        sqlx::query_as("select phone, wa_lid from contacts")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("the contact");
    assert_eq!(phone.as_deref(), Some(&format!("+{CUSTOMER}")[..]));
    assert_eq!(lid.as_deref(), Some(LID));
    assert_eq!(app.count("select count(*) from conversations").await, 1);
    assert_eq!(
        app.count("select count(distinct conversation_id) from messages")
            .await,
        1,
        "every message in the one conversation"
    );
    assert_eq!(
        app.count("select inbound_count from conversations").await,
        2
    );
}

#[tokio::test]
async fn a_receipt_for_a_logged_out_phone_is_dropped_instead_of_waiting_forever() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![text("3A00G1", "Hi")])],
    )
    .await
    .expect("committed");
    fake.emit(
        channel,
        SessionEvent::LoggedOut {
            reason: "removed on the phone".into(),
        },
    );
    until_status(&app, org, channel, WebStatus::LoggedOut).await;
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    owner.page(&format!("/inbox/{conversation}")).await;
    until(WAIT, "the queue empty", || async {
        app.count("select count(*) from jobs").await == 0
    })
    .await;
    assert!(fake.read_receipts().is_empty());
}

#[tokio::test]
async fn a_copy_of_a_stored_message_under_another_address_makes_no_empty_contact() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    let mut by_lid = text("3A00COPY", "Hello");
    by_lid.from = None;
    by_lid.lid = Some("100000099887766".into());
    fake.deliver(channel, vec![SessionEvent::Messages(vec![by_lid])])
        .await
        .expect("committed");
    // The same message again, under the number, with nothing linking the
    // two: stored once, and no contact made for the number.
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![text("3A00COPY", "Hello")])],
    )
    .await
    .expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 1);
    assert_eq!(app.count("select count(*) from contacts").await, 1);
}
