//! An agent writes first: "New conversation" from a contact's page, from
//! the inbox or to a typed number, and `POST /api/v1/conversations`. A new
//! number becomes a contact; a known one keeps its contact; an unresolved
//! conversation is continued, never doubled; a Cloud API number whose
//! customer never wrote offers only templates.

use serde_json::json;

use crate::api::Api;
use crate::support::campaigns::sandbox;
use crate::support::cloud::acme_on_graph;
use crate::support::fake_graph::FakeGraph;
use crate::support::*;

async fn sandbox_of(app: &TestApp, org: &str) -> String {
    let org_id = app.org_id(org).await;
    sandbox(app, org_id).await
}

async fn start(browser: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    browser.post_form("/inbox/new", fields).await
}

fn conversation_in(response: &reqwest::Response) -> String {
    let path = location(response);
    assert!(path.starts_with("/inbox/"), "went to {path}");
    path.trim_start_matches("/inbox/").to_owned()
}

#[tokio::test]
async fn an_agent_writes_first_to_a_contact_and_the_conversation_is_theirs() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let channel = sandbox_of(&app, "Acme").await;
    let contact = create_contact(
        &team.owner,
        &[("name", "Maria Souza"), ("phone", "+5511912345678")],
    )
    .await;

    let (_, page) = team.agent.page(&format!("/contacts/{contact}")).await;
    assert!(
        page.contains(&format!("href=\"/inbox/new?contact={contact}\"")),
        "Write to them"
    );
    let (status, form) = team
        .agent
        .page(&format!("/inbox/new?contact={contact}"))
        .await;
    assert_eq!(status, 200);
    assert!(form.contains("Maria Souza"));
    assert!(form.contains(&format!("value=\"{channel}\"")));

    let response = start(&team.agent, &[("contact", &contact), ("channel", &channel)]).await;
    assert_eq!(response.status(), 303);
    let conversation = conversation_in(&response);
    let agent_id = app.user_id("agent@acme.test").await;
    let (assignee, status): (Option<uuid::Uuid>, String) =
        sqlx::query_as("select assignee_id, status from conversations where id = $1::uuid")
            .bind(&conversation)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!(assignee, Some(agent_id), "the starter's");
    assert_eq!(status, "open");

    let (_, opened) = team.agent.page(&format!("/inbox/{conversation}")).await;
    assert!(opened.contains("No messages yet"), "{opened}");
    assert!(opened.contains("id=\"composer\""), "the sandbox takes text");
    let sent = team
        .agent
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Olá Maria!")],
        )
        .await;
    assert_eq!(sent.status(), 303);
    assert_eq!(
        app.count("select count(*) from messages where direction = 'out'")
            .await,
        1
    );

    // Starting again continues it: one conversation, not two.
    let again = start(&team.owner, &[("contact", &contact), ("channel", &channel)]).await;
    assert_eq!(conversation_in(&again), conversation);
    assert_eq!(app.count("select count(*) from conversations").await, 1);
}

#[tokio::test]
async fn a_typed_number_becomes_a_contact_and_a_known_number_keeps_its_own() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = sandbox_of(&app, "Acme").await;

    let (_, inbox) = owner.page("/inbox").await;
    assert!(
        inbox.contains("href=\"/inbox/new\""),
        "New conversation in the inbox"
    );
    let response = start(
        &owner,
        &[
            ("phone", "+49 30 901820"),
            ("name", "Jonas Weber"),
            ("channel", &channel),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let first = conversation_in(&response);
    assert_eq!(
        app.count(
            "select count(*) from contacts where name = 'Jonas Weber' and phone = '+4930901820'"
        )
        .await,
        1
    );

    // The same number, typed differently and with another name: the contact
    // that has it, and the conversation already open.
    let again = start(
        &owner,
        &[
            ("phone", "+49 (30) 901-820"),
            ("name", "J. W."),
            ("channel", &channel),
        ],
    )
    .await;
    assert_eq!(conversation_in(&again), first);
    assert_eq!(app.count("select count(*) from contacts").await, 1);
    let (_, page) = owner.page(&format!("/inbox/{first}")).await;
    assert!(page.contains("That number is Jonas Weber&#39;s"), "{page}");
}

#[tokio::test]
async fn on_a_cloud_number_a_customer_who_never_wrote_gets_templates_only() {
    let graph = FakeGraph::start().await;
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let response = start(
        &owner,
        &[
            ("phone", "+5511912345678"),
            ("name", "Maria"),
            ("channel", &sales.id),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let conversation = conversation_in(&response);
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("data-window-closed"), "{page}");
    assert!(!page.contains("id=\"composer\""), "no free text");
    assert!(page.contains("Start with an approved template"));
    let refused = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "hi")],
        )
        .await;
    assert_eq!(
        refused.status(),
        422,
        "free text refused outside the window"
    );
    drop(app);
}

#[tokio::test]
async fn bad_input_and_other_workspaces_are_refused_and_nothing_is_made() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = sandbox_of(&app, "Acme").await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let their_channel = sandbox_of(&app, "Other").await;
    let their_contact =
        create_contact(&other, &[("name", "Bruno"), ("phone", "+4930901899")]).await;
    let no_phone = create_contact(&owner, &[("name", "Ema"), ("email", "ema@example.com")]).await;
    let before = app.count("select count(*) from contacts").await;

    for (fields, reason) in [
        (
            vec![("phone", "12"), ("channel", channel.as_str())],
            "phone",
        ),
        (
            vec![("phone", "+5511912345678"), ("channel", "")],
            "Pick one of the workspace",
        ),
        (
            vec![
                ("phone", "+5511912345678"),
                ("channel", their_channel.as_str()),
            ],
            "Pick one of the workspace",
        ),
        (
            vec![
                ("contact", no_phone.as_str()),
                ("channel", channel.as_str()),
            ],
            "has no phone number",
        ),
    ] {
        let response = start(&owner, &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let body = response.text().await.unwrap();
        assert!(
            body.to_lowercase().contains(&reason.to_lowercase()),
            "{reason}: {body}"
        );
    }
    // Another workspace's contact does not exist here.
    let theirs = start(
        &owner,
        &[("contact", &their_contact), ("channel", &channel)],
    )
    .await;
    assert_eq!(theirs.status(), 404);
    let (status, _) = owner
        .page(&format!("/inbox/new?contact={their_contact}"))
        .await;
    assert_eq!(status, 404);
    let garbage = start(&owner, &[("contact", "not-an-id"), ("channel", &channel)]).await;
    assert_eq!(garbage.status(), 404);
    let forged = owner
        .post_form_raw(
            "/inbox/new",
            &[("phone", "+5511912345678"), ("channel", &channel)],
        )
        .await;
    assert_eq!(forged.status(), 403);

    assert_eq!(app.count("select count(*) from contacts").await, before);
    assert_eq!(app.count("select count(*) from conversations").await, 0);
}

#[tokio::test]
async fn the_api_starts_or_continues_a_conversation() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = sandbox_of(&app, "Acme").await;
    let api = Api::new(&app, &owner).await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let their_contact =
        create_contact(&other, &[("name", "Bruno"), ("phone", "+4930901899")]).await;

    let (status, opened) = api
        .post(
            "/conversations",
            json!({"channel_id": channel, "phone": "+5511912345678", "name": "Maria"}),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["status"], "open");
    assert_eq!(
        opened["assignee_id"],
        serde_json::Value::Null,
        "no member started it"
    );
    let (status, again) = api
        .post(
            "/conversations",
            json!({"channel_id": channel, "contact_id": opened["contact_id"]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], opened["id"]);

    let (status, _) = api
        .post(
            "/conversations",
            json!({"channel_id": channel, "contact_id": their_contact}),
        )
        .await;
    assert_eq!(status, 404);
    for body in [
        json!({"channel_id": channel}),
        json!({"channel_id": channel, "phone": "+5511912345678", "contact_id": opened["contact_id"]}),
        json!({"phone": "+5511912345678"}),
        json!({"channel_id": channel, "phone": "12"}),
    ] {
        let (status, error) = api.post("/conversations", body.clone()).await;
        assert_eq!(status, 422, "{body}: {error}");
    }
    assert_eq!(app.count("select count(*) from conversations").await, 1);
    let (_, doc) = api.get("/openapi.json").await;
    assert!(doc["paths"]["/api/v1/conversations"]["post"].is_object());
}
