//! Automation rules without AI, through the sandbox channel: the welcome
//! and away messages shipped off and switched on; business hours in the
//! workspace's time zone across a day boundary; keywords with label,
//! priority, round-robin over available members and a mail; a contact
//! attribute condition; the waiting rule once per wait; no loops; one run
//! per message on replays; bad input and other workspaces.

use serde_json::json;

use crate::support::*;

/// The rules' ids by name.
async fn rule_id(app: &TestApp, org: uuid::Uuid, name: &str) -> String {
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from automation_rules where org_id = $1 and name = $2")
            .bind(org)
            .bind(name)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("rule");
    id.to_string()
}

async fn switch_on(owner: &Browser, id: &str) {
    let response = owner
        .post_form(&format!("/automations/{id}/enabled"), &[("enabled", "on")])
        .await;
    assert_eq!(response.status(), 303);
}

/// Automated messages of the workspace, oldest first.
async fn automated(app: &TestApp, org: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "select body from messages where org_id = $1 and automated order by created_at, id",
    )
    .bind(org)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("automated")
}

async fn run_count(app: &TestApp, org: uuid::Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from automation_runs where org_id = $1")
        .bind(org)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("runs")
}

/// Runs the jobs queued so far (none is left due).
async fn settled(app: &TestApp) {
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from jobs where queue in ('automation', 'messages')")
            .await,
        0,
        "jobs done"
    );
}

async fn add_rule(owner: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    owner.post_form("/automations", fields).await
}

#[tokio::test]
async fn welcome_and_away_messages_ship_off_and_follow_the_workspace_hours() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let (status, page) = owner.page("/automations").await;
    assert_eq!(status, 200);
    assert!(page.contains("Welcome message") && page.contains("Away message"));
    assert_eq!(page.matches(">Switch on</button>").count(), 2, "both off");
    customer_writes(&owner, "Ana", "+55 81 90000 0001", "hi").await;
    settled(&app).await;
    assert!(automated(&app, org).await.is_empty(), "off means off");

    switch_on(&owner, &rule_id(&app, org, "Welcome message").await).await;
    let conversation = customer_writes(&owner, "Maria Souza", "+55 81 90000 0002", "Oi!").await;
    customer_writes(&owner, "Maria Souza", "+55 81 90000 0002", "Tudo bem?").await;
    settled(&app).await;
    assert_eq!(
        automated(&app, org).await,
        vec!["Hi Maria! Thanks for writing to Acme. We will answer you here shortly."],
        "once per conversation"
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("Automations ran here (1)"));
    assert!(page.contains("Welcome message: replied"));
    assert!(page.contains("<span class=\"automated\">Automated</span>"));

    // Away: open only on Tuesdays 09:00-17:00 in Kiritimati (UTC+14).
    switch_on(&owner, &rule_id(&app, org, "Away message").await).await;
    sqlx::query(
        "update organizations set time_zone = 'Pacific/Kiritimati', business_hours = $1 where id = $2",
    )
    .bind(json!({"tue": {"open": "09:00", "close": "17:00"}}))
    .bind(org)
    .execute(&mut app.admin_conn().await)
    .await
    .expect("hours");
    // Monday 23:30 UTC is Tuesday 13:30 there: open, no away message.
    let now = app.state.clock.now();
    let days_to_monday = (7 - i64::from(now.weekday().number_days_from_monday())) % 7;
    let monday = (now.date() + time::Duration::days(days_to_monday))
        .with_hms(23, 30, 0)
        .expect("time")
        .assume_utc();
    let monday = if monday <= now {
        monday + time::Duration::weeks(1)
    } else {
        monday
    };
    app.state.clock.advance(monday - now);
    customer_writes(&owner, "Rui", "+55 81 90000 0003", "Hello?").await;
    settled(&app).await;
    let away =
        "Thanks for your message! We are closed right now and will answer as soon as we open.";
    assert!(
        !automated(&app, org).await.iter().any(|m| m == away),
        "open in Kiritimati"
    );
    // Tuesday 10:00 UTC is Wednesday 00:00 there: closed (though Tuesday in UTC).
    app.state.clock.advance(time::Duration::minutes(630));
    customer_writes(&owner, "Rui", "+55 81 90000 0003", "Anyone?").await;
    customer_writes(&owner, "Rui", "+55 81 90000 0003", "Hello??").await;
    settled(&app).await;
    assert_eq!(
        automated(&app, org)
            .await
            .iter()
            .filter(|m| *m == away)
            .count(),
        1,
        "not again within its 12 hours"
    );
}

#[tokio::test]
async fn keywords_label_prioritize_assign_in_turn_and_mail() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    let org = app.org_id("Acme").await;
    let owner = &team.owner;
    let label = owner
        .post_form("/labels", &[("name", "Sales"), ("color", "#16a34a")])
        .await;
    assert_eq!(label.status(), 303);
    let label_id: uuid::Uuid = sqlx::query_scalar("select id from labels where name = 'Sales'")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("label");
    let owner_id = app.user_id("owner@acme.test").await.to_string();
    let label_id = label_id.to_string();
    let response = add_rule(
        owner,
        &[
            ("name", "Pricing questions"),
            ("trigger", "keywords"),
            ("keywords", "price, quanto custa"),
            ("add_label", &label_id),
            ("set_priority", "high"),
            ("assign", "round_robin"),
            ("notify", &owner_id),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    switch_on(owner, &rule_id(&app, org, "Pricing questions").await).await;

    // The agent is away: round-robin skips them.
    let away = team
        .agent
        .post_form("/availability", &[("available", "no")])
        .await;
    assert_eq!(away.status(), 303);
    assert!(
        team.agent
            .page("/inbox")
            .await
            .1
            .contains("class=\"presence off\"")
    );

    let mut assignees = vec![];
    for (i, text) in ["What's the PRICE?", "Oi, quanto custa?", "price please"]
        .iter()
        .enumerate()
    {
        let phone = format!("+55 81 90000 010{i}");
        let conversation = customer_writes(owner, "Buyer", &phone, text).await;
        settled(&app).await;
        let (assignee, priority): (Option<uuid::Uuid>, String) =
            sqlx::query_as("select assignee_id, priority from conversations where id = $1::uuid")
                .bind(&conversation)
                .fetch_one(&mut app.admin_conn().await)
                .await
                .expect("conversation");
        assert_eq!(priority, "high");
        let labelled: i64 = sqlx::query_scalar(
            "select count(*) from conversation_labels where conversation_id = $1::uuid",
        )
        .bind(&conversation)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("labels");
        assert_eq!(labelled, 1);
        assignees.push(assignee.expect("assigned"));
    }
    let admin = app.user_id("admin@acme.test").await;
    let owner_uuid = app.user_id("owner@acme.test").await;
    let agent = app.user_id("agent@acme.test").await;
    assert!(!assignees.contains(&agent), "the away agent is skipped");
    assert_ne!(assignees[0], assignees[1], "in turn");
    assert_eq!(assignees[0], assignees[2]);
    assert!(assignees.contains(&admin) && assignees.contains(&owner_uuid));
    app.mail_to("owner@acme.test", "Pricing questions").await;

    // No keyword, no run.
    let before = run_count(&app, org).await;
    customer_writes(owner, "Other", "+55 81 90000 0200", "priceless art").await;
    settled(&app).await;
    assert_eq!(run_count(&app, org).await, before);

    // The label deleted since: the rest of the rule still runs.
    let deleted = owner
        .post_form(&format!("/labels/{label_id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), 303);
    customer_writes(owner, "Late", "+55 81 90000 0201", "price?").await;
    settled(&app).await;
    assert_eq!(run_count(&app, org).await, before + 1, "the run");
    let done: String = sqlx::query_scalar(
        "select done from automation_runs where org_id = $1 order by created_at desc limit 1",
    )
    .bind(org)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("done");
    assert!(
        done.starts_with("not labelled: the label was deleted, priority high, assigned in turn"),
        "{done}"
    );
}

#[tokio::test]
async fn conditions_on_contact_attributes_and_a_waiting_rule_once_per_wait() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let attribute = owner
        .post_form(
            "/attributes",
            &[("entity", "contact"), ("label", "Tier"), ("kind", "text")],
        )
        .await;
    assert_eq!(attribute.status(), 303);
    let key: String =
        sqlx::query_scalar("select key from attribute_definitions where label = 'Tier'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("key");
    let owner_id = app.user_id("owner@acme.test").await.to_string();
    let response = add_rule(
        &owner,
        &[
            ("name", "Gold customers wait less"),
            ("trigger", "message_received"),
            ("attribute_key", &key),
            ("attribute_value", "gold"),
            ("set_status", "pending"),
            ("assign", &owner_id),
            ("send_text", "Hello {{first_name}}, a gold agent is on it."),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    switch_on(
        &owner,
        &rule_id(&app, org, "Gold customers wait less").await,
    )
    .await;
    let gold = customer_writes(&owner, "Gil", "+55 81 90000 0301", "hi").await;
    settled(&app).await;
    assert!(automated(&app, org).await.is_empty(), "no tier yet");
    sqlx::query(
        "update contacts set attributes = jsonb_build_object($1::text, 'Gold') \
         where phone = '+5581900000301'",
    )
    .bind(&key)
    .execute(&mut app.admin_conn().await)
    .await
    .expect("tier");
    customer_writes(&owner, "Gil", "+55 81 90000 0301", "me again").await;
    settled(&app).await;
    assert_eq!(
        automated(&app, org).await,
        vec!["Hello Gil, a gold agent is on it."],
        "one reply: the rule's own message sets nothing off"
    );
    let (status, assignee): (String, Option<uuid::Uuid>) =
        sqlx::query_as("select status, assignee_id from conversations where id = $1::uuid")
            .bind(&gold)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("status");
    assert_eq!(status, "pending");
    assert_eq!(assignee.map(|a| a.to_string()), Some(owner_id.clone()));

    // The same message again (a replayed job): nothing more.
    let message: uuid::Uuid = sqlx::query_scalar("select id from messages where body = 'me again'")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("message");
    let runs = run_count(&app, org).await;
    wacrm::features::automation::on_message(&app.state.env(), org, message)
        .await
        .expect("again");
    assert_eq!(run_count(&app, org).await, runs);

    // Waiting 10 minutes without an answer: once per wait.
    let response = add_rule(
        &owner,
        &[
            ("name", "Still waiting"),
            ("trigger", "idle"),
            ("idle_minutes", "10"),
            ("send_text", "Sorry for the wait, we are on it."),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    switch_on(&owner, &rule_id(&app, org, "Still waiting").await).await;
    let waiting = customer_writes(&owner, "Wen", "+55 81 90000 0302", "hello?").await;
    settled(&app).await;
    let env = app.state.env();
    let sweep = || wacrm::features::automation::idle::sweep(&env);
    assert_eq!(sweep().await.expect("sweep"), 0, "not yet");
    app.state.clock.advance(time::Duration::minutes(11));
    assert_eq!(sweep().await.expect("sweep"), 1);
    assert_eq!(
        sweep().await.expect("sweep"),
        0,
        "answered: no longer waiting"
    );
    customer_writes(&owner, "Wen", "+55 81 90000 0302", "still there?").await;
    settled(&app).await;
    app.state.clock.advance(time::Duration::minutes(11));
    assert_eq!(sweep().await.expect("sweep"), 1, "a new wait");
    let sorry: i64 = sqlx::query_scalar(
        "select count(*) from messages where conversation_id = $1::uuid and automated \
           and body = 'Sorry for the wait, we are on it.'",
    )
    .bind(&waiting)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("count");
    assert_eq!(sorry, 2);
}

#[tokio::test]
async fn bad_rules_are_refused_and_other_workspaces_cannot_touch_them() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let other = app.sign_up("Bob", "bob@globex.test", "Globex").await;
    let globex_label = other
        .post_form("/labels", &[("name", "Theirs"), ("color", "#16a34a")])
        .await;
    assert_eq!(globex_label.status(), 303);
    let theirs: uuid::Uuid = sqlx::query_scalar("select id from labels where name = 'Theirs'")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("label");
    let theirs = theirs.to_string();
    for (fields, says) in [
        (
            vec![("name", "x"), ("trigger", "sometimes"), ("send_text", "hi")],
            "When: pick what sets the rule off.",
        ),
        (
            vec![("name", "x"), ("trigger", "keywords"), ("send_text", "hi")],
            "Words: list at least one",
        ),
        (
            vec![("name", "x"), ("trigger", "message_received")],
            "Then: choose at least one thing the rule does.",
        ),
        (
            vec![("name", "x"), ("trigger", "idle"), ("send_text", "hi")],
            "Waiting for: how many minutes",
        ),
        (
            vec![
                ("name", "x"),
                ("trigger", "message_received"),
                ("add_label", theirs.as_str()),
            ],
            "Add label: pick one from the list.",
        ),
    ] {
        let response = add_rule(&owner, &fields).await;
        assert_eq!(response.status(), 422, "{says}");
        let body = response.text().await.expect("body");
        assert!(body.contains(says), "{says}: {body}");
    }
    let ours = rule_id(&app, org, "Welcome message").await;
    for path in [
        format!("/automations/{ours}"),
        format!("/automations/{ours}/enabled"),
        format!("/automations/{ours}/delete"),
    ] {
        let response = other
            .post_form(
                &path,
                &[
                    ("name", "x"),
                    ("trigger", "message_received"),
                    ("send_text", "hi"),
                    ("enabled", "on"),
                ],
            )
            .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let (_, page) = other.page("/automations").await;
    assert!(!page.contains(&ours));
    let bad = owner
        .post_form("/availability", &[("available", "maybe")])
        .await;
    assert_eq!(bad.status(), 422);
}
