//! Interactive messages on the Cloud API: an agent sends reply buttons or
//! a list from the conversation (inside the 24-hour window only, on Cloud
//! API numbers only), checked against Meta's limits; Graph gets Meta's
//! JSON; the customer's choice comes back as their message and sets off
//! automations by its title or its id.

use serde_json::{Value, json};

use crate::support::cloud::*;
use crate::support::fake_graph::FakeGraph;
use crate::support::*;

async fn started() -> (FakeGraph, TestApp, Browser, String) {
    let graph = FakeGraph::start().await;
    let (app, owner, sales) = acme_on_graph(&graph).await;
    (graph, app, owner, sales.id)
}

/// The customer writes (just now); the conversation's id.
async fn customer_wrote(app: &TestApp, channel: &str) -> String {
    customer_writes_on_number(app, channel, ("wamid.HELLO", "Which sizes?"), 5).await
}

async fn outbound_interactive(app: &TestApp) -> i64 {
    app.count("select count(*) from messages where kind = 'interactive' and direction = 'out'")
        .await
}

#[tokio::test]
async fn reply_buttons_and_a_list_go_out_with_metas_json_and_show_in_the_conversation() {
    let (graph, app, owner, channel) = started().await;
    let conversation = customer_wrote(&app, &channel).await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.contains(&format!("/inbox/{conversation}/interactive")),
        "offered from the composer"
    );
    let (status, form) = owner
        .page(&format!("/inbox/{conversation}/interactive"))
        .await;
    assert_eq!(status, 200);
    assert!(form.contains("name=\"button1\"") && form.contains("name=\"section1_rows\""));

    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/interactive"),
            &[
                ("kind", "buttons"),
                ("header", "Sizes"),
                ("body", "Which size would you like?"),
                ("footer", "Acme Shop"),
                ("button1", "Small"),
                ("button2", "Medium"),
                ("button3", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/interactive"),
            &[
                ("kind", "list"),
                ("body", "How should we ship it?"),
                ("list_button", "Shipping"),
                ("section1_title", "Fast"),
                ("section1_rows", "Express | Tomorrow\r\nCourier"),
                ("section2_title", "Cheap"),
                ("section2_rows", "Post | 3 to 5 days"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;

    let sent = graph.interactive_sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0],
        json!({
            "type": "button",
            "header": {"type": "text", "text": "Sizes"},
            "body": {"text": "Which size would you like?"},
            "footer": {"text": "Acme Shop"},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": "b1", "title": "Small"}},
                {"type": "reply", "reply": {"id": "b2", "title": "Medium"}},
            ]},
        })
    );
    assert_eq!(
        sent[1],
        json!({
            "type": "list",
            "body": {"text": "How should we ship it?"},
            "action": {"button": "Shipping", "sections": [
                {"title": "Fast", "rows": [
                    {"id": "r1", "title": "Express", "description": "Tomorrow"},
                    {"id": "r2", "title": "Courier"},
                ]},
                {"title": "Cheap", "rows": [
                    {"id": "r3", "title": "Post", "description": "3 to 5 days"},
                ]},
            ]},
        })
    );
    let whole = &graph.sent()[0].body;
    assert_eq!(
        (whole["type"].as_str(), whole["to"].as_str()),
        (Some("interactive"), Some(CUSTOMER))
    );
    let statuses: Vec<String> = sqlx::query_scalar(
        "select status from messages where kind = 'interactive' order by created_at",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("statuses");
    assert_eq!(statuses, ["sent", "sent"]);
    // The conversation shows the body and the choices.
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("Which size would you like?") && page.contains("[Medium] (b2)"));
    assert!(page.contains("• Express (Tomorrow) (r1)"), "{page}");
}

#[tokio::test]
async fn input_over_metas_limits_comes_back_with_the_reason_and_nothing_is_queued() {
    let (graph, app, owner, channel) = started().await;
    let conversation = customer_wrote(&app, &channel).await;
    let path = format!("/inbox/{conversation}/interactive");
    let long_title = "x".repeat(21);
    let eleven_rows: String = (1..=11)
        .map(|i| format!("Row {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let long_row = "y".repeat(25);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("kind", "buttons"), ("body", "Pick"), ("button1", "")],
            "Buttons: 1 to 3",
        ),
        (
            vec![
                ("kind", "buttons"),
                ("body", "Pick"),
                ("button1", &long_title),
            ],
            "Button: 20 characters",
        ),
        (
            vec![
                ("kind", "buttons"),
                ("body", "Pick"),
                ("button1", "Yes"),
                ("button2", "yes"),
            ],
            "its own title",
        ),
        (
            vec![("kind", "buttons"), ("body", ""), ("button1", "Yes")],
            "Body: the message needs a text",
        ),
        (
            vec![
                ("kind", "list"),
                ("body", "Pick"),
                ("list_button", "Open"),
                ("section1_rows", &eleven_rows),
            ],
            "Rows: 10 rows at most",
        ),
        (
            vec![
                ("kind", "list"),
                ("body", "Pick"),
                ("list_button", "Open"),
                ("section1_rows", &long_row),
            ],
            "Row title: 24 characters",
        ),
        (
            vec![("kind", "list"), ("body", "Pick"), ("section1_rows", "A")],
            "List button",
        ),
    ];
    for (fields, reason) in cases {
        let response = owner.post_form(&path, &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let page = response.text().await.expect("page");
        assert!(page.contains(reason), "{reason}: {page}");
        // What was typed is kept.
        assert!(
            page.contains("value=\"Pick\"") || page.contains(">Pick<") || fields[1].1.is_empty()
        );
    }
    assert_eq!(outbound_interactive(&app).await, 0);
    app.run_pending_jobs().await;
    assert!(graph.interactive_sent().is_empty());
}

#[tokio::test]
async fn outside_the_window_or_on_another_channel_nothing_interactive_is_offered_or_sent() {
    let (graph, app, owner, channel) = started().await;
    let conversation =
        customer_writes_on_number(&app, &channel, ("wamid.OLD", "Hello?"), 25 * 3600).await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(!page.contains("/interactive"), "not offered");
    let buttons = [("kind", "buttons"), ("body", "Pick"), ("button1", "Yes")];
    let response = owner
        .post_form(&format!("/inbox/{conversation}/interactive"), &buttons)
        .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.expect("page").contains("24 hours"));
    let (status, _) = owner
        .page(&format!("/inbox/{conversation}/interactive"))
        .await;
    assert_eq!(status, 409);

    // A conversation on another kind of channel (the sandbox).
    let sandbox = customer_writes(&owner, "Ana", "+55 81 90000 0001", "hi").await;
    let (_, page) = owner.page(&format!("/inbox/{sandbox}")).await;
    assert!(!page.contains("/interactive"), "not offered");
    let response = owner
        .post_form(&format!("/inbox/{sandbox}/interactive"), &buttons)
        .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.expect("page").contains("Cloud API"));

    assert_eq!(outbound_interactive(&app).await, 0);
    app.run_pending_jobs().await;
    assert!(graph.interactive_sent().is_empty());
}

#[tokio::test]
async fn another_workspaces_conversation_is_not_found() {
    let (graph, app, _owner, channel) = started().await;
    let conversation = customer_wrote(&app, &channel).await;
    let stranger = app.sign_up("Eve", "eve@other.test", "Other").await;
    let (status, _) = stranger
        .page(&format!("/inbox/{conversation}/interactive"))
        .await;
    assert_eq!(status, 404);
    let response = stranger
        .post_form(
            &format!("/inbox/{conversation}/interactive"),
            &[("kind", "buttons"), ("body", "Pick"), ("button1", "Yes")],
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(outbound_interactive(&app).await, 0);
    app.run_pending_jobs().await;
    assert!(graph.interactive_sent().is_empty());
}

/// The customer's answer to an interactive message, as Meta delivers it.
fn choice(wamid: &str, reply: Value) -> Value {
    envelope(
        NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
            "messages": [{"from": CUSTOMER, "id": wamid, "timestamp": seconds_ago(1),
                          "type": "interactive", "interactive": reply,
                          "context": {"from": "15550783881", "id": "wamid.OURS"}}]
        }),
    )
}

#[tokio::test]
async fn a_customers_choice_sets_off_automations_by_its_title_or_its_id() {
    let (_graph, app, owner, channel) = started().await;
    customer_wrote(&app, &channel).await;
    app.run_pending_jobs().await;
    for (name, keywords, priority) in [("By title", "medium", "high"), ("By id", "id:r3", "urgent")]
    {
        let fields = [
            ("name", name),
            ("trigger", "keywords"),
            ("keywords", keywords),
            ("set_priority", priority),
        ];
        create_rule(&app, &owner, &fields).await;
    }
    let priority = || async {
        sqlx::query_scalar::<_, String>("select priority from conversations")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("priority")
    };

    // A button: its title is the customer's words.
    let button = choice(
        "wamid.CHOICE1",
        json!({"type": "button_reply", "button_reply": {"id": "b2", "title": "Medium"}}),
    );
    assert_eq!(deliver(&app, &channel, &button).await, 200);
    app.run_pending_jobs().await;
    assert_eq!(priority().await, "high", "the title matched");

    // A list row, matched by its id (its title is no keyword).
    let row = choice(
        "wamid.CHOICE2",
        json!({"type": "list_reply", "list_reply": {"id": "r3", "title": "Post", "description": "3 to 5 days"}}),
    );
    assert_eq!(deliver(&app, &channel, &row).await, 200);
    app.run_pending_jobs().await;
    assert_eq!(priority().await, "urgent", "the id matched");
    let runs: Vec<String> =
        sqlx::query_scalar("select rule_name from automation_runs order by created_at")
            .fetch_all(&mut app.admin_conn().await)
            .await
            .expect("runs");
    assert_eq!(runs, ["By title", "By id"]);
}
