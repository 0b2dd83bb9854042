//! Secrets at rest: a sealed value belongs to its row (copied into another
//! channel of the same workspace it does not open, and that channel's send
//! fails in words).

use std::time::Duration;

use serde_json::{Value, json};
use wacrm::whatsapp::signature;

use crate::support::fake_graph::FakeGraph;
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

async fn app_with(graph: &FakeGraph, secret_key: String) -> TestApp {
    let base = graph.base_url();
    spawn_app_with(move |config| {
        config.whatsapp_graph_url = base.parse().expect("url");
        config.whatsapp_timeout_secs = 5;
        config.secret_key = Some(secret_key.into());
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
        Some(wacrm::whatsapp::sender::UNREADABLE_TOKEN),
        "the agent reads why"
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("stored access token cannot be read"));
    assert!(
        !graph
            .requests()
            .iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN_A}"))),
        "the token of Sales never left for Support"
    );
    assert!(graph.sent().is_empty());

    // Sales itself is unaffected.
    let conversation =
        customer_writes_in(&app, &app.base, &sales, NUMBER_A, SECRET_A, "wamid.A1").await;
    let (status, error) = reply_settles(&app, &owner, &conversation, "Sales here").await;
    assert_eq!((status.as_str(), error), ("sent", None));
}
