//! Scheduled messages ("send later"): sent once at their time on the
//! sandbox; the time read in the workspace's time zone; edited, canceled
//! or sent at once until they go; on a Cloud API number whose 24-hour
//! window is closed, the fallback template goes, or the message fails with
//! a note in the conversation; bad input kept and explained; other
//! workspaces and agents who may not see the conversation get 404.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::fake_graph::FakeGraph;
use crate::support::*;

const WAIT: Duration = Duration::from_secs(15);

/// `at` on a clock `offset_hours` from UTC, as a `datetime-local` field
/// sends it (with seconds).
fn local_value(at: OffsetDateTime, offset_hours: i64) -> String {
    let local = at + time::Duration::hours(offset_hours);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// A UTC workspace's field value `secs` seconds from now.
fn in_secs(secs: i64) -> String {
    local_value(OffsetDateTime::now_utc() + time::Duration::seconds(secs), 0)
}

async fn schedule(
    browser: &Browser,
    conversation: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post_form(&format!("/inbox/{conversation}/schedule"), fields)
        .await
}

/// Schedules `text` a minute from now with a fallback template
/// (`name|language`) and its values (lines of one field), if any.
async fn with_fallback(
    owner: &Browser,
    conversation: &str,
    text: &str,
    (template, values): (&str, Option<&str>),
) -> reqwest::Response {
    let at = in_secs(60);
    let mut fields = vec![
        ("text", text),
        ("send_at", at.as_str()),
        ("template", template),
    ];
    fields.extend(values.map(|v| ("values", v)));
    schedule(owner, conversation, &fields).await
}

/// The id of the scheduled message with this text.
async fn scheduled_id(app: &TestApp, text: &str) -> String {
    sqlx::query_scalar("select id::text from scheduled_messages where body = $1")
        .bind(text)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("scheduled message")
}

/// (state, reason) of the scheduled message `id`.
async fn state_of(app: &TestApp, id: &str) -> (String, String) {
    sqlx::query_as("select state, reason from scheduled_messages where id = $1::uuid")
        .bind(id)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("scheduled message")
}

async fn until_state(app: &TestApp, id: &str, state: &str) {
    until(WAIT, state, || async { state_of(app, id).await.0 == state }).await;
}

/// Messages (not notes) with this text.
async fn sent_count(app: &TestApp, text: &str) -> i64 {
    sqlx::query_scalar("select count(*) from messages where body = $1 and not private")
        .bind(text)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("count")
}

/// Waits until every scheduled-message job due so far ran (sending or not);
/// a job queued for a time since moved earlier stays until then.
async fn jobs_done(app: &TestApp) {
    until(WAIT, "scheduled jobs done", || async {
        app.count("select count(*) from jobs where queue = 'scheduled' and run_at <= now()")
            .await
            == 0
    })
    .await;
}

/// As if `secs` seconds had passed for the scheduled messages and the job
/// queue (their times move that much earlier, so what they say about one
/// another holds), then the jobs due run. For an app without a worker.
async fn after_secs(app: &TestApp, secs: f64) {
    let mut conn = app.admin_conn().await;
    sqlx::query(
        "update scheduled_messages set send_at = send_at - make_interval(secs => $1), \
           created_at = created_at - make_interval(secs => $1)",
    )
    .bind(secs)
    .execute(&mut conn)
    .await
    .expect("scheduled messages earlier");
    sqlx::query("update jobs set run_at = run_at - make_interval(secs => $1)")
        .bind(secs)
        .execute(&mut conn)
        .await
        .expect("jobs earlier");
    app.run_pending_jobs().await;
}

/// No scheduled-message job due now is left (each ran, sending or not).
async fn assert_jobs_done(app: &TestApp) {
    assert_eq!(
        app.count("select count(*) from jobs where queue = 'scheduled' and run_at <= now()")
            .await,
        0,
        "scheduled jobs done"
    );
}

// The real job worker, end to end, at real time: the others run the
// queue themselves (`after_secs`).
#[tokio::test]
async fn a_message_scheduled_on_the_sandbox_goes_out_once_at_its_time() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 81 90000 0001", "Oi").await;
    let back = format!("/inbox/{conversation}");
    let response = schedule(
        &owner,
        &conversation,
        &[
            ("text", "See you tomorrow!"),
            ("send_at", &in_secs(2)),
            ("return_to", &back),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), back);
    let (_, page) = owner.page(&back).await;
    assert!(page.contains("Scheduled for"), "the flash says when");
    assert!(
        page.contains("Scheduled here") && page.contains("See you tomorrow!"),
        "listed beside the composer"
    );
    let id = scheduled_id(&app, "See you tomorrow!").await;
    assert_eq!(state_of(&app, &id).await.0, "scheduled");
    assert_eq!(sent_count(&app, "See you tomorrow!").await, 0, "not yet");
    let (status, list) = owner.page("/scheduled").await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("id=\"scheduled-{id}\" data-state=\"scheduled\"")));

    until_state(&app, &id, "sent").await;
    jobs_done(&app).await;
    assert_eq!(
        sent_count(&app, "See you tomorrow!").await,
        1,
        "exactly once"
    );
    let (at_its_time, linked, author): (bool, bool, bool) = sqlx::query_as(
        "select m.created_at >= s.send_at, s.message_id = m.id, \
           m.sender_user_id = s.author_id and m.sender_user_id is not null \
         from scheduled_messages s join messages m on m.body = s.body and not m.private \
         where s.id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("message");
    assert!(at_its_time, "not before its time");
    assert!(linked, "the row names the message it became");
    assert!(author, "sent as the member who scheduled it");
    until(WAIT, "the sandbox send", || async {
        app.count(
            "select count(*) from messages where body = 'See you tomorrow!' and status = 'sent'",
        )
        .await
            == 1
    })
    .await;
    let (_, list) = owner.page("/scheduled").await;
    assert!(list.contains(&format!("id=\"scheduled-{id}\" data-state=\"sent\"")));
    let (_, page) = owner.page(&back).await;
    assert!(!page.contains("Scheduled here"), "no longer upcoming");
}

#[tokio::test]
async fn the_time_is_read_on_the_workspace_clock() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "America/Sao_Paulo"),
                ("agents_see", "all"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let conversation = customer_writes(&owner, "Maria", "+55 81 90000 0002", "Oi").await;
    // 09:00 in São Paulo (UTC-3, no daylight saving) 30 days from now.
    let day =
        (OffsetDateTime::now_utc() - time::Duration::hours(3)).date() + time::Duration::days(30);
    let typed = format!("{day}T09:00");
    let response = schedule(
        &owner,
        &conversation,
        &[("text", "Bom dia!"), ("send_at", &typed)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let id = scheduled_id(&app, "Bom dia!").await;
    let stored: OffsetDateTime =
        sqlx::query_scalar("select send_at from scheduled_messages where id = $1::uuid")
            .bind(&id)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("send_at");
    assert_eq!(stored, day.with_hms(12, 0, 0).expect("time").assume_utc());
    let (_, list) = owner.page("/scheduled").await;
    assert!(list.contains(&format!("{day} 09:00")) && list.contains("America/Sao_Paulo"));
    let (status, form) = owner.page(&format!("/scheduled/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        form.contains(&format!("value=\"{day}T09:00\"")),
        "edited as typed"
    );
}

#[tokio::test]
async fn edits_cancels_and_send_now_keep_to_the_latest_word() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 81 90000 0003", "Oi").await;

    // Edited: the new text at the new time, the old never.
    let response = schedule(
        &owner,
        &conversation,
        &[("text", "First draft"), ("send_at", &in_secs(60))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let edited = scheduled_id(&app, "First draft").await;
    let response = owner
        .post_form(
            &format!("/scheduled/{edited}"),
            &[("text", "Edited text"), ("send_at", &in_secs(120))],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/scheduled");

    // Canceled: never sent, even once its time has passed.
    let response = schedule(
        &owner,
        &conversation,
        &[("text", "Never mind"), ("send_at", &in_secs(60))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let canceled = scheduled_id(&app, "Never mind").await;
    let response = owner
        .post_form(&format!("/scheduled/{canceled}/cancel"), &[])
        .await;
    assert_eq!(response.status(), 303);

    // Sent now: an hour early.
    let response = schedule(
        &owner,
        &conversation,
        &[("text", "Right away"), ("send_at", &in_secs(3600))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let now = scheduled_id(&app, "Right away").await;
    let response = owner
        .post_form(&format!("/scheduled/{now}/send-now"), &[])
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    assert_eq!(state_of(&app, &now).await.0, "sent");

    // The first time passes: nothing goes, the edit's time is still ahead.
    after_secs(&app, 90.0).await;
    assert_eq!(state_of(&app, &edited).await.0, "scheduled");
    assert_eq!(sent_count(&app, "Edited text").await, 0);
    // Then the edit's time.
    after_secs(&app, 60.0).await;
    assert_eq!(state_of(&app, &edited).await.0, "sent");
    assert_jobs_done(&app).await;
    assert_eq!(sent_count(&app, "Edited text").await, 1);
    assert_eq!(sent_count(&app, "First draft").await, 0);
    let on_time: bool = sqlx::query_scalar(
        "select m.created_at >= s.send_at and s.send_at > s.created_at + interval '60 seconds' \
         from scheduled_messages s join messages m on m.id = s.message_id where s.id = $1::uuid",
    )
    .bind(&edited)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("edited");
    assert!(on_time, "at the new time, not the first");
    assert_eq!(sent_count(&app, "Never mind").await, 0);
    let (state, reason) = state_of(&app, &canceled).await;
    assert_eq!(state, "canceled");
    assert!(reason.contains("Olga"), "{reason}");
    assert_eq!(sent_count(&app, "Right away").await, 1);

    // Gone messages cannot change: a 409 page that says why.
    let later = in_secs(60);
    for (id, says) in [(&now, "Already sent"), (&canceled, "Already canceled")] {
        for (path, fields) in [
            (
                format!("/scheduled/{id}"),
                vec![("text", "Again"), ("send_at", later.as_str())],
            ),
            (format!("/scheduled/{id}/cancel"), vec![]),
            (format!("/scheduled/{id}/send-now"), vec![]),
        ] {
            let response = owner.post_form(&path, &fields).await;
            assert_eq!(response.status(), 409, "{path}");
            assert!(response.text().await.expect("body").contains(says));
        }
    }
    assert_eq!(sent_count(&app, "Again").await, 0);
    let (status, page) = owner.page(&format!("/scheduled/{now}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-state=\"sent\"") && !page.contains("name=\"send_at\""));
}

#[tokio::test]
async fn bad_times_and_empty_text_are_refused_with_the_reason_and_the_text_kept() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 81 90000 0004", "Oi").await;
    let two_years = local_value(OffsetDateTime::now_utc() + time::Duration::days(730), 0);
    for (text, send_at, says) in [
        (
            "Happy new year",
            "2020-01-01T09:00",
            "Pick a time in the future",
        ),
        ("Happy new year", "next tuesday", "is not a date and time"),
        ("Happy new year", "", "Pick a date and time"),
        ("Happy new year", two_years.as_str(), "within a year"),
        ("   ", "2099-01-01T09:00", "The message is empty"),
    ] {
        let response = schedule(
            &owner,
            &conversation,
            &[("text", text), ("send_at", send_at)],
        )
        .await;
        assert_eq!(response.status(), 422, "{send_at}");
        let page = response.text().await.expect("body");
        assert!(page.contains(says), "{says}: {page}");
        assert!(
            page.contains(&format!(">{text}</textarea>")),
            "the text is kept"
        );
        assert!(page.contains(&format!("/inbox/{conversation}/schedule")));
    }
    let long = "x".repeat(4097);
    let response = schedule(
        &owner,
        &conversation,
        &[("text", &long), ("send_at", &in_secs(3600))],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.expect("body").contains("too long"));
    // A template on a number that has none.
    let response = schedule(
        &owner,
        &conversation,
        &[
            ("text", "Hi"),
            ("send_at", &in_secs(3600)),
            ("template", "order_update|en_US"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("not an approved template")
    );
    assert_eq!(
        app.count("select count(*) from scheduled_messages").await,
        0
    );

    // Editing refuses the same way, keeping what was typed.
    let response = schedule(
        &owner,
        &conversation,
        &[("text", "Later"), ("send_at", &in_secs(3600))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let id = scheduled_id(&app, "Later").await;
    let response = owner
        .post_form(
            &format!("/scheduled/{id}"),
            &[("text", "Much later"), ("send_at", "2020-01-01T09:00")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(page.contains("Pick a time in the future") && page.contains(">Much later</textarea>"));
    assert_eq!(scheduled_id(&app, "Later").await, id, "unchanged");
}

#[tokio::test]
async fn other_workspaces_and_agents_who_may_not_see_the_conversation_get_404() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let conversation = customer_writes(&team.owner, "Ana", "+4930901820", "one").await;
    let admin_id = app.user_id("admin@acme.test").await.to_string();
    let response = team
        .owner
        .post_form(
            &format!("/inbox/{conversation}/assign"),
            &[("assignee", &admin_id)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = schedule(
        &team.owner,
        &conversation,
        &[("text", "Private plans"), ("send_at", &in_secs(3600))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let id = scheduled_id(&app, "Private plans").await;

    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    agents_see_only_theirs(&team.owner).await;
    let later = in_secs(60);
    for (who, browser) in [("other workspace", &other), ("agent", &team.agent)] {
        let (status, _) = browser.page(&format!("/scheduled/{id}")).await;
        assert_eq!(status, 404, "{who}");
        let (status, list) = browser.page("/scheduled").await;
        assert_eq!(status, 200);
        assert!(!list.contains("Private plans"), "{who}");
        for (path, fields) in [
            (
                format!("/scheduled/{id}"),
                vec![("text", "Hijacked"), ("send_at", later.as_str())],
            ),
            (format!("/scheduled/{id}/cancel"), vec![]),
            (format!("/scheduled/{id}/send-now"), vec![]),
            (
                format!("/inbox/{conversation}/schedule"),
                vec![("text", "Hijacked"), ("send_at", later.as_str())],
            ),
        ] {
            let response = browser.post_form(&path, &fields).await;
            assert_eq!(response.status(), 404, "{who}: {path}");
        }
    }
    for garbage in [
        "/scheduled/not-an-id",
        "/scheduled/00000000-0000-0000-0000-000000000000",
    ] {
        assert_eq!(team.owner.page(garbage).await.0, 404, "{garbage}");
    }
    let (status, list) = team.admin.page("/scheduled").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("Private plans"),
        "the admin sees every conversation"
    );
    assert_eq!(state_of(&app, &id).await.0, "scheduled", "untouched");
    assert_eq!(
        app.count("select count(*) from scheduled_messages where body = 'Hijacked'")
            .await,
        0
    );
}

// ---- A Cloud API number whose 24-hour window is closed ----------------------

use crate::support::cloud::{
    APP_SECRET, NUMBER_ID, TOKEN, WABA_ID, app_with_graph_on_demand, customer_writes_on_number,
    order_named,
};

/// Acme's owner with a Cloud API number (templates synced) on which the
/// customer last wrote 25 hours ago: the conversation's id.
async fn closed_window(app: &TestApp, owner: &Browser) -> String {
    let channel = connect_number(
        owner,
        &CloudNumber {
            phone_number_id: NUMBER_ID,
            waba_id: WABA_ID,
            access_token: TOKEN,
            app_secret: APP_SECRET,
        },
    )
    .await;
    sync_templates(owner, &channel).await;
    customer_writes_on_number(app, &channel, ("wamid.OLD", "Hello?"), 25 * 3600).await
}

fn we_are_back() -> Value {
    json!({"name": "we_are_back", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "7",
        "components": [{"type": "BODY", "text": "Hi {{1}}, we saw your message and will answer here."}]})
}

#[tokio::test]
async fn a_closed_window_sends_the_fallback_template_or_fails_with_a_note() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    graph.add_templates(WABA_ID, TOKEN, vec![we_are_back()]);
    let app = app_with_graph_on_demand(&graph, 5, 120).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = closed_window(&app, &owner).await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.contains("value=\"we_are_back|en_US\""),
        "the fallback is offered"
    );

    // A fallback whose values do not fit is refused when scheduling.
    let response = with_fallback(
        &owner,
        &conversation,
        "Are you still there?",
        ("we_are_back|en_US", None),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("needs 1 value")
    );

    // With a fallback: the template goes, not the text.
    let response = with_fallback(
        &owner,
        &conversation,
        "Are you still there?",
        ("we_are_back|en_US", Some("Sheena")),
    )
    .await;
    assert_eq!(response.status(), 303);
    let with_fallback = scheduled_id(&app, "Are you still there?").await;
    // Without: refused at its time, said in the conversation.
    let response = schedule(
        &owner,
        &conversation,
        &[("text", "Hello again"), ("send_at", &in_secs(60))],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.contains("will have closed by then"),
        "warned when scheduling"
    );
    let without = scheduled_id(&app, "Hello again").await;

    app.run_pending_jobs().await;
    assert!(graph.sent().is_empty(), "nothing before its time");
    after_secs(&app, 90.0).await;
    let (state, reason) = state_of(&app, &with_fallback).await;
    assert_eq!(state, "sent");
    assert_eq!(
        reason,
        "The 24-hour window was closed: sent as template we_are_back."
    );
    assert!(!graph.sent().is_empty(), "the template at the fake");
    assert_eq!(state_of(&app, &without).await.0, "failed");
    assert_jobs_done(&app).await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 1, "the template only: {sent:?}");
    assert_eq!(sent[0].body["type"], "template");
    assert_eq!(sent[0].body["template"]["name"], "we_are_back");
    assert_eq!(
        sent[0].body["template"]["components"][0]["parameters"][0]["text"],
        "Sheena"
    );
    assert_eq!(sent_count(&app, "Are you still there?").await, 0);
    assert_eq!(sent_count(&app, "Hello again").await, 0);

    let (_, reason) = state_of(&app, &without).await;
    assert!(
        reason.contains("24-hour window was closed") && reason.contains("no fallback template"),
        "{reason}"
    );
    let notes: Vec<String> = sqlx::query_scalar(
        "select body from messages where conversation_id = $1::uuid and private",
    )
    .bind(&conversation)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("notes");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("The scheduled message was not sent.")
            && notes[0].contains("Hello again"),
        "{}",
        notes[0]
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("The scheduled message was not sent."));
    let (_, list) = owner.page("/scheduled").await;
    assert!(list.contains(&format!("id=\"scheduled-{without}\" data-state=\"failed\"")));
    assert!(list.contains("no fallback template"));
}

#[tokio::test]
async fn a_named_template_with_header_and_button_values_is_a_fallback_too() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    graph.add_templates(WABA_ID, TOKEN, vec![order_named()]);
    let app = app_with_graph_on_demand(&graph, 5, 120).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = closed_window(&app, &owner).await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.contains("value=\"order_named|en_US\""),
        "offered as a fallback"
    );
    assert!(
        page.contains(
            "3 values: Header {{order_id}}, {{customer_name}}, Copy code button: the code"
        )
    );

    // Values Meta would refuse: 422 with the reason, nothing stored.
    let response = with_fallback(
        &owner,
        &conversation,
        "Shipping news",
        (
            "order_named|en_US",
            Some("A-17\nSheena\nA-CODE-FAR-TOO-LONG"),
        ),
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(
        page.contains("Copy code button: the code: at most 15 characters."),
        "{page}"
    );
    assert_eq!(
        app.count("select count(*) from scheduled_messages").await,
        0
    );

    let response = with_fallback(
        &owner,
        &conversation,
        "Shipping news",
        ("order_named|en_US", Some("A-17\nSheena\nSAVE10")),
    )
    .await;
    assert_eq!(response.status(), 303);
    let id = scheduled_id(&app, "Shipping news").await;
    after_secs(&app, 90.0).await;
    assert_eq!(state_of(&app, &id).await.0, "sent");
    assert_jobs_done(&app).await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    let c = &sent[0].body["template"]["components"];
    assert_eq!(
        c[0]["parameters"][0],
        json!({"type": "text", "parameter_name": "order_id", "text": "A-17"})
    );
    assert_eq!(
        c[1]["parameters"][0],
        json!({"type": "text", "parameter_name": "customer_name", "text": "Sheena"})
    );
    assert_eq!(c[2]["parameters"][0]["coupon_code"], "SAVE10");
}
