//! Cloud API set-up the tests share: Acme's number at the fake Graph, the
//! app talking to it, deliveries signed as Meta signs them, a customer
//! writing in, an automation rule switched on, and a template with named,
//! header and button values.

use serde_json::{Value, json};
use wacrm::channels::cloud_api::signature;

use crate::support::fake_graph::FakeGraph;
use crate::support::*;

pub const TOKEN: &str = "EAAGm0PX4ZCpsBAKtestaccesstoken0123456789";
pub const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
pub const NUMBER_ID: &str = "106540352242922";
pub const WABA_ID: &str = "102290129340398";

/// A connected number: its channel id and verify token.
pub struct Connected {
    pub id: String,
    pub verify_token: String,
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).map(|i| i + start.len()).expect(start);
    &html[from..from + html[from..].find(end).expect(end)]
}

pub async fn connect(owner: &Browser, name: &str, number_id: &str) -> Connected {
    let response = owner
        .post_form(
            "/settings/channels",
            &[
                ("name", name),
                ("phone_number_id", number_id),
                ("waba_id", WABA_ID),
                ("access_token", TOKEN),
                ("app_secret", APP_SECRET),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "connecting {name}");
    let path = location(&response);
    let id = path.trim_start_matches("/settings/channels/").to_owned();
    let (status, page) = owner.page(&path).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("/webhooks/whatsapp/{id}")),
        "callback URL shown"
    );
    Connected {
        verify_token: between(&page, "data-verify-token>", "<").to_owned(),
        id,
    }
}

/// Acme's owner with the Sales line connected, on `app`.
pub async fn with_number(app: TestApp) -> (TestApp, Browser, Connected) {
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let sales = connect(&owner, "Sales line", NUMBER_ID).await;
    (app, owner, sales)
}

pub fn envelope(number_id: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({"display_phone_number": "15550783881", "phone_number_id": number_id});
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]
    })
}

/// Unix seconds, as Meta stamps messages.
pub fn seconds_ago(seconds: i64) -> String {
    (time::OffsetDateTime::now_utc().unix_timestamp() - seconds).to_string()
}

pub fn text_from(wa_id: &str, name: &str, wamid: &str, text: &str) -> Value {
    text_at(wa_id, name, wamid, text, &seconds_ago(5))
}

pub fn text_at(wa_id: &str, name: &str, wamid: &str, text: &str, timestamp: &str) -> Value {
    envelope(
        NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": timestamp, "type": "text", "text": {"body": text}}]
        }),
    )
}

/// POSTs raw bytes with the given signature header (if any).
pub async fn post_raw(
    app: &TestApp,
    channel: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp/{channel}", app.base))
        .header("content-type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A delivery signed as Meta signs it.
pub async fn deliver(app: &TestApp, channel: &str, payload: &Value) -> u16 {
    let body = payload.to_string().into_bytes();
    let signed = signature::sign(APP_SECRET.as_bytes(), &body);
    post_raw(app, channel, body, Some(signed)).await.0
}

/// An app whose Graph API is `graph`, with short waits so tests stay quick.
pub async fn app_with_graph(graph: &FakeGraph, timeout_secs: u64, confirm_secs: u64) -> TestApp {
    spawn_app_with(graph_config(graph, timeout_secs, confirm_secs)).await
}

/// The same app without a job worker: the test runs the queued sends
/// itself ([`TestApp::run_pending_jobs`], [`TestApp::make_jobs_due`])
/// instead of waiting for the worker, so "nothing more happens" is proven
/// by running the queue rather than by sleeping.
pub async fn app_with_graph_on_demand(
    graph: &FakeGraph,
    timeout_secs: u64,
    confirm_secs: u64,
) -> TestApp {
    spawn_app_without_worker_with(graph_config(graph, timeout_secs, confirm_secs)).await
}

pub fn graph_config(
    graph: &FakeGraph,
    timeout_secs: u64,
    confirm_secs: u64,
) -> impl FnOnce(&mut wacrm::infra::config::Config) {
    let base = graph.base_url();
    move |config| {
        config.whatsapp_graph_url = base.parse().expect("url");
        config.whatsapp_timeout_secs = timeout_secs;
        config.whatsapp_send_confirm_secs = confirm_secs;
    }
}

/// Runs the queue with every retry and backoff brought forward, until no
/// job is left to run (at most `rounds` times); how many jobs ran.
pub async fn run_all_jobs(app: &TestApp, rounds: usize) -> usize {
    let mut ran = 0;
    for _ in 0..rounds {
        app.make_jobs_due().await;
        let now = app.run_pending_jobs().await;
        if now == 0 {
            break;
        }
        ran += now;
    }
    ran
}

pub const CUSTOMER: &str = "16505551234";

/// The conversation the message `wamid` is in.
pub async fn conversation_of(app: &TestApp, wamid: &str) -> String {
    sqlx::query_scalar("select conversation_id::text from messages where provider_message_id = $1")
        .bind(wamid)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("conversation")
}

/// [`CUSTOMER`] (Sheena Nelson) writes `text` on the number `seconds` ago
/// (more than 24 hours: the window is closed); the conversation's id.
pub async fn customer_writes_on_number(
    app: &TestApp,
    channel: &str,
    (wamid, text): (&str, &str),
    seconds: i64,
) -> String {
    let message = text_at(
        CUSTOMER,
        "Sheena Nelson",
        wamid,
        text,
        &seconds_ago(seconds),
    );
    assert_eq!(deliver(app, channel, &message).await, 200);
    conversation_of(app, wamid).await
}

/// Acme's Sales number known to `graph`, and the app (without a worker:
/// the test runs the queue) with Olga, its owner, and the number
/// connected.
pub async fn acme_on_graph(graph: &FakeGraph) -> (TestApp, Browser, Connected) {
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    with_number(app_with_graph_on_demand(graph, 5, 120).await).await
}

/// Creates the automation rule `fields` (their `name` among them) and
/// switches it on; its id.
pub async fn create_rule(app: &TestApp, owner: &Browser, fields: &[(&str, &str)]) -> uuid::Uuid {
    let name = fields
        .iter()
        .find(|(k, _)| *k == "name")
        .map(|(_, v)| *v)
        .expect("a rule's name");
    let response = owner.post_form("/automations", fields).await;
    assert_eq!(response.status(), 303, "creating rule {name}");
    let id: uuid::Uuid = sqlx::query_scalar("select id from automation_rules where name = $1")
        .bind(name)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("rule");
    let on = owner
        .post_form(&format!("/automations/{id}/enabled"), &[("enabled", "on")])
        .await;
    assert_eq!(on.status(), 303, "switching rule {name} on");
    id
}

/// An approved named template with a header value, a body value and a
/// copy-code button (Graph's listing).
pub fn order_named() -> Value {
    json!({"name": "order_named", "language": "en_US", "status": "APPROVED",
    "category": "UTILITY", "id": "701", "parameter_format": "NAMED",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
        {"type": "BODY", "text": "Hi {{customer_name}}, your order ships today."},
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "25OFF"}]}
    ]})
}
