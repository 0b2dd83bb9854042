//! Linked-device (WhatsApp Web) channels around a scripted session: the
//! QR and the link reach the owner's view of the session, customers'
//! messages reach the inbox once, replies go out once through the process
//! that runs the session, a logout ends it, and across processes exactly one
//! runs a session, another taking over when it dies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;
use wacrm::db::web_sessions::{self, WebStatus};
use wacrm::domain::{DeliveryStatus, MessageKind};
use wacrm::whatsapp_web::link::{SessionEvent, WebInbound};

use crate::support::fake_wa_web::FakeWeb;
use crate::support::*;

const CUSTOMER: &str = "16505551234";

async fn app_with(fake: &Arc<FakeWeb>, lease_secs: u32) -> TestApp {
    let connector: Arc<dyn wacrm::whatsapp_web::link::Connector> = fake.clone();
    spawn_app_with_connector(Some(connector), move |config| {
        config.whatsapp_web_lease_secs = lease_secs;
        config.whatsapp_web_send_rate = 50;
    })
    .await
}

/// A new linked-device channel of `org` (as the connect page makes it).
async fn new_channel(app: &TestApp, org: Uuid, pair_phone: Option<&str>) -> Uuid {
    let mut tx = wacrm::tenancy::bootstrap::for_job(&app.state.pool, org)
        .await
        .expect("tx");
    let id = web_sessions::create(&mut tx, "Shop phone", pair_phone)
        .await
        .expect("channel");
    tx.commit().await.expect("commit");
    id
}

async fn session(app: &TestApp, org: Uuid, channel: Uuid) -> web_sessions::WebSession {
    let mut tx = wacrm::tenancy::bootstrap::for_job(&app.state.pool, org)
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

fn text(id: &str, body: &str) -> WebInbound {
    WebInbound {
        id: id.into(),
        from: CUSTOMER.into(),
        push_name: Some("Sheena Nelson".into()),
        sent_at: None,
        kind: MessageKind::Text,
        body: body.into(),
        media: None,
        raw: None,
        reply_to: None,
    }
}

async fn scalar<T>(app: &TestApp, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect(sql)
}

async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
    eventually("the QR", || async {
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
            &wacrm::whatsapp_web::events::qr_purpose(channel),
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
    eventually("both messages", || async {
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
    eventually("the reply sent", || async { !fake.sent().is_empty() }).await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].to.as_str(), sent[0].message.text.as_str()),
        (CUSTOMER, "Yes, in blue!")
    );
    let ours: Uuid = scalar(&app, "select id from messages where body = 'Yes, in blue!'").await;
    assert_eq!(
        sent[0].message.id,
        wacrm::whatsapp_web::sender::wire_id(ours)
    );
    eventually("recorded as sent", || async {
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
    eventually("read", || async {
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
    eventually("the message", || async {
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
    eventually("sent after a retry", || async {
        scalar::<String>(&app, "select status from messages where body = 'Here!'").await == "sent"
    })
    .await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    let ours: Uuid = scalar(&app, "select id from messages where body = 'Here!'").await;
    assert_eq!(
        sent[0].message.id,
        wacrm::whatsapp_web::sender::wire_id(ours)
    );
}

#[tokio::test]
async fn a_logout_from_the_phone_ends_the_session_and_forgets_its_keys() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 3).await;
    app.sign_up("Olga", "owner@acme.test", "Acme").await;
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
    eventually("the code", || async {
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
    let store = wacrm::whatsapp_web::store::SessionStore::new(
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

    fake.emit(
        channel,
        SessionEvent::LoggedOut {
            reason: "removed on the phone".into(),
        },
    );
    until_status(&app, org, channel, WebStatus::LoggedOut).await;
    eventually("the session stopped", || async { fake.open(channel) == 0 }).await;
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
