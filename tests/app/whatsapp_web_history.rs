//! A newly linked phone's chat history: the last N days of one-to-one
//! chats come in once, as read, waiting for the customer, and set nothing
//! off; live messages with the same ids are the same messages; 0 days
//! imports nothing; the link form checks the setting.

use time::OffsetDateTime;
use uuid::Uuid;
use wacrm::channels::whatsapp_web::link::{SessionEvent, WebInbound};
use wacrm::infra::db::web_sessions::{self, RunsOn};

use crate::support::fake_wa_web::FakeWeb;
use crate::support::*;
use crate::whatsapp_web::{
    CUSTOMER, WAIT, app_with, new_channel, rule_on_every_message, scalar, text,
};

fn days_ago(id: &str, body: &str, days: i64) -> WebInbound {
    let mut message = text(id, body);
    message.sent_at = Some(OffsetDateTime::now_utc() - time::Duration::days(days));
    message
}

fn history(customers: Vec<WebInbound>, ours: Vec<WebInbound>) -> Vec<SessionEvent> {
    vec![SessionEvent::History { customers, ours }]
}

/// The chat the phone sends on link: a customer's question 40 days ago
/// (too old), two recent ones, and the business's answer typed on the phone.
fn the_chat() -> Vec<SessionEvent> {
    let mut answer = days_ago("3EB0HIST3", "Yes, until 6pm.", 1);
    answer.sent_at = answer.sent_at.map(|at| at + time::Duration::hours(1));
    answer.push_name = None;
    history(
        vec![
            days_ago("3A00HIST0", "Long ago", 40),
            days_ago("3A00HIST1", "Hello", 2),
            days_ago("3A00HIST2", "Are you open on Sunday?", 1),
        ],
        vec![answer],
    )
}

#[tokio::test]
async fn the_phones_recent_chats_come_in_once_as_read_and_set_nothing_off() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    // A rule that every customer message sets off: history must not.
    rule_on_every_message(&app, &owner).await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;

    fake.deliver(channel, the_chat()).await.expect("committed");
    // The same history again (the phone sends chunks more than once): once.
    fake.deliver(channel, the_chat()).await.expect("committed");

    assert_eq!(
        app.count("select count(*) from messages").await,
        3,
        "the 40-day-old message is left out, the rest stored once"
    );
    let ours: (String, bool) = sqlx::query_as(
        "select direction, from_phone from messages where provider_message_id = '3EB0HIST3'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("our answer");
    assert_eq!(ours, ("out".into(), true));
    let conversation: (String, i64, String, bool) = sqlx::query_as(
        "select status, inbound_count, last_message_preview, receipts_through is not null \
         from conversations",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("one conversation");
    assert_eq!(
        conversation,
        ("pending".into(), 0, "Yes, until 6pm.".into(), true),
        "waiting for the customer, nothing unread, read receipts already sent"
    );
    let name: String = scalar(&app, "select name from contacts").await;
    assert_eq!(name, "Sheena Nelson");
    assert_eq!(
        scalar::<i64>(&app, "select history_imported from whatsapp_web_sessions").await,
        3
    );
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from automation_runs").await,
        0,
        "history sets no rule off"
    );
    let (_, page) = owner
        .page(&format!("/settings/linked-devices/{channel}"))
        .await;
    assert!(page.contains("3 messages"), "{page}");

    // A live message the history already had is the same message.
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![days_ago(
            "3A00HIST2",
            "Are you open on Sunday?",
            1,
        )])],
    )
    .await
    .expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 3);

    // The customer writes again: the same conversation opens, and only the
    // new message is new, unread, acted on and marked read.
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![text("3A00LIVE1", "Hello?")])],
    )
    .await
    .expect("committed");
    let open: (i64, String, i64) =
        sqlx::query_as("select count(*) over (), status, inbound_count from conversations")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("one conversation");
    assert_eq!(open, (1, "open".into(), 1));
    until(WAIT, "the rule ran for the live message", || async {
        app.count("select count(*) from automation_runs").await == 1
    })
    .await;
    let id: String = scalar(&app, "select id::text from conversations").await;
    let (status, page) = owner.page(&format!("/inbox/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Are you open on Sunday?"), "history shown");
    until(WAIT, "the read receipt", || async {
        !fake.read_receipts().is_empty()
    })
    .await;
    let receipts = fake.read_receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].1, CUSTOMER);
    assert_eq!(receipts[0].2, vec!["3A00LIVE1".to_owned()]);
}

#[tokio::test]
async fn a_phone_set_to_no_history_imports_none_and_the_form_checks_the_days() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&app.state.pool, org)
        .await
        .expect("tx");
    let channel = Uuid::now_v7();
    web_sessions::create(&mut tx, channel, "No history", None, 0, RunsOn::Wacrm)
        .await
        .expect("channel");
    tx.commit().await.expect("commit");
    fake.until_open(channel, WAIT).await;
    fake.deliver(channel, the_chat()).await.expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 0);
    assert_eq!(app.count("select count(*) from conversations").await, 0);

    // The link form: the default is 30 days; outside 0..=365 is refused.
    let (_, form) = owner.page("/settings/linked-devices").await;
    assert!(form.contains("name=\"history_days\""), "{form}");
    assert!(form.contains("value=\"30\""), "{form}");
    for bad in ["400", "-1", "ten"] {
        let refused = owner
            .post_form(
                "/settings/linked-devices",
                &[
                    ("name", "Shop"),
                    ("runs_on", "wacrm"),
                    ("history_days", bad),
                ],
            )
            .await;
        assert_eq!(refused.status(), 422, "{bad}");
        let body = refused.text().await.expect("body");
        assert!(body.contains("days of history"), "{body}");
    }
    assert_eq!(
        app.count("select count(*) from whatsapp_web_sessions")
            .await,
        1,
        "nothing made from a refused form"
    );
    let linked = owner
        .post_form(
            "/settings/linked-devices",
            &[
                ("name", "Shop"),
                ("runs_on", "wacrm"),
                ("history_days", "7"),
            ],
        )
        .await;
    assert_eq!(linked.status(), 303);
    assert_eq!(
        scalar::<i32>(
            &app,
            "select history_days from whatsapp_web_sessions order by channel_id desc limit 1"
        )
        .await,
        7
    );
}
