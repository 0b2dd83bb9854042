//! Campaigns through the real routes against a fake Graph server: the
//! segment as it was at the start, variables per contact, skips counted,
//! each recipient sent once whatever Graph answers, pause and resume,
//! Meta's quality errors pausing the campaign, STOP, the report and CSV,
//! text campaigns on the sandbox, bad input and other workspaces.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;
use wacrm::channels::cloud_api::signature;

use crate::support::fake_graph::{FakeGraph, SendFailure};
use crate::support::steps::campaigns::{create, sandbox, state_of};
use crate::support::*;

use crate::support::cloud::{APP_SECRET, NUMBER_ID, TOKEN, WABA_ID, order_named};
const WAIT: Duration = Duration::from_secs(30);

/// Acme with its Sales number connected and the `promo` template synced,
/// without a job worker (the test runs the queue: [`run_campaign`]):
/// (app, owner, channel id, org id).
async fn acme(graph: &FakeGraph, send_rate: i32) -> (TestApp, Browser, String, Uuid) {
    acme_app(graph, send_rate, false).await
}

/// [`acme`] with the real job worker, for the tests of pacing over real
/// time (pause, Meta's refusal seen before the rest go).
async fn acme_with_worker(graph: &FakeGraph, send_rate: i32) -> (TestApp, Browser, String, Uuid) {
    acme_app(graph, send_rate, true).await
}

async fn acme_app(
    graph: &FakeGraph,
    send_rate: i32,
    worker: bool,
) -> (TestApp, Browser, String, Uuid) {
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    graph.add_templates(
        WABA_ID,
        TOKEN,
        vec![json!({"name": "promo", "language": "pt_BR", "status": "APPROVED", "category": "MARKETING", "id": "1",
            "components": [{"type": "BODY", "text": "Oi {{1}}, {{2}} de desconto na {{3}}!"}]})],
    );
    let base = graph.base_url();
    let configure = move |config: &mut wacrm::infra::config::Config| {
        config.whatsapp_graph_url = base.parse().expect("url");
        config.whatsapp_send_rate = send_rate;
        config.whatsapp_timeout_secs = 5;
        config.whatsapp_send_confirm_secs = 60;
    };
    let app = if worker {
        spawn_app_with(configure).await
    } else {
        spawn_app_without_worker_with(configure).await
    };
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = connect_number(
        &owner,
        &CloudNumber {
            phone_number_id: NUMBER_ID,
            waba_id: WABA_ID,
            access_token: TOKEN,
            app_secret: APP_SECRET,
        },
    )
    .await;
    sync_templates(&owner, &channel).await;
    let org = app.org_id("Acme").await;
    (app, owner, channel, org)
}

/// A contact stored directly (set-up, not what is tested).
struct Someone<'a> {
    name: &'a str,
    phone: Option<&'a str>,
    labels: &'a [&'a str],
    attributes: Value,
    opted_out: bool,
    blocked: bool,
}

impl<'a> Someone<'a> {
    fn new(name: &'a str, phone: &'a str, labels: &'a [&'a str]) -> Someone<'a> {
        Someone {
            name,
            phone: Some(phone),
            labels,
            attributes: json!({}),
            opted_out: false,
            blocked: false,
        }
    }
}

/// Stores the contacts (and their labels, made as needed); label ids by
/// name.
async fn add_contacts(app: &TestApp, org: Uuid, people: &[Someone<'_>]) -> BTreeMap<String, Uuid> {
    let mut conn = app.admin_conn().await;
    let mut labels = BTreeMap::new();
    for person in people {
        let contact = Uuid::now_v7();
        sqlx::query(
            "insert into contacts (org_id, id, name, phone, attributes, opted_out, blocked) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(org)
        .bind(contact)
        .bind(person.name)
        .bind(person.phone)
        .bind(&person.attributes)
        .bind(person.opted_out)
        .bind(person.blocked)
        .execute(&mut conn)
        .await
        .expect("contact");
        for label in person.labels {
            let existing: Option<Uuid> =
                sqlx::query_scalar("select id from labels where org_id = $1 and name = $2")
                    .bind(org)
                    .bind(label)
                    .fetch_optional(&mut conn)
                    .await
                    .expect("label lookup");
            let id = match existing {
                Some(id) => id,
                None => {
                    let id = Uuid::now_v7();
                    sqlx::query(
                        "insert into labels (org_id, id, name, color) values ($1, $2, $3, '#336699')",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(label)
                    .execute(&mut conn)
                    .await
                    .expect("label");
                    labels.insert((*label).to_owned(), id);
                    id
                }
            };
            sqlx::query(
                "insert into contact_labels (org_id, contact_id, label_id) values ($1, $2, $3)",
            )
            .bind(org)
            .bind(contact)
            .bind(id)
            .execute(&mut conn)
            .await
            .expect("contact label");
        }
    }
    labels
}

/// `n` customers labelled "All", numbered from `prefix`000; label ids.
async fn customers(app: &TestApp, org: Uuid, n: usize, prefix: &str) -> BTreeMap<String, Uuid> {
    let numbers: Vec<String> = (0..n).map(|i| format!("{prefix}{i:03}")).collect();
    let names: Vec<String> = (0..n).map(|i| format!("Customer {i:02}")).collect();
    let people: Vec<Someone> = names
        .iter()
        .zip(&numbers)
        .map(|(n, p)| Someone::new(n, p, &["All"]))
        .collect();
    add_contacts(app, org, &people).await
}

/// The promo campaign to everyone labelled `label`, variables: first
/// name, the `discount` attribute (fallback 10%), and a fixed text.
fn promo_fields<'a>(channel: &'a str, label: &'a str, rate: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "Black Friday"),
        ("channel_id", channel),
        ("labels", label),
        ("template", "promo|pt_BR"),
        ("var_source", "first_name"),
        ("var_key", ""),
        ("var_text", ""),
        ("var_source", "attribute"),
        ("var_key", "discount"),
        ("var_text", "10%"),
        ("var_source", "text"),
        ("var_key", ""),
        ("var_text", "loja Acme"),
        ("rate_per_minute", rate),
    ]
}

/// Recipients' states by contact name.
async fn recipients(app: &TestApp, campaign: &str) -> BTreeMap<String, (String, Option<String>)> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select ct.name, r.state, r.reason from campaign_recipients r \
         join contacts ct on ct.org_id = r.org_id and ct.id = r.contact_id \
         where r.campaign_id = $1::uuid",
    )
    .bind(campaign)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("recipients");
    rows.into_iter().map(|(n, s, r)| (n, (s, r))).collect()
}

async fn count_in(app: &TestApp, campaign: &str, state: &str) -> i64 {
    sqlx::query_scalar(
        "select count(*) from campaign_recipients where campaign_id = $1::uuid and state = $2",
    )
    .bind(campaign)
    .bind(state)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("count")
}

/// Template sends the fake took, by recipient number.
fn template_sends(graph: &FakeGraph) -> Vec<(String, Vec<String>)> {
    graph
        .sent()
        .iter()
        .filter(|m| m.body["type"] == "template")
        .map(|m| {
            let values = m.body["template"]["components"][0]["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| p["text"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (m.to.clone(), values)
        })
        .collect()
}

fn envelope(value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({"display_phone_number": "15550783881", "phone_number_id": NUMBER_ID});
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]
    })
}

async fn deliver(app: &TestApp, channel: &str, payload: &Value) {
    let body = payload.to_string().into_bytes();
    let signed = signature::sign(APP_SECRET.as_bytes(), &body);
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp/{channel}", app.base))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", signed)
        .body(body)
        .send()
        .await
        .expect("POST delivery");
    assert_eq!(response.status(), 200);
}

fn now_secs() -> String {
    time::OffsetDateTime::now_utc().unix_timestamp().to_string()
}

async fn customer_says(app: &TestApp, channel: &str, wa_id: &str, wamid: &str, text: &str) {
    let payload = envelope(json!({
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": now_secs(), "type": "text", "text": {"body": text}}]
    }));
    deliver(app, channel, &payload).await;
}

async fn report(app: &TestApp, channel: &str, wamid: &str, to: &str, status: &str) {
    let payload = envelope(json!({"statuses": [
        {"id": wamid, "status": status, "timestamp": now_secs(), "recipient_id": to}
    ]}));
    deliver(app, channel, &payload).await;
}

pub(crate) async fn until_state(app: &TestApp, campaign: &str, wanted: &str) {
    until(WAIT, &format!("campaign {wanted}"), || async {
        state_of(app, campaign).await.0 == wanted
    })
    .await;
}

/// On an app without a worker: runs the campaign's jobs (its dispatch
/// steps and the sends they queue) until it no longer runs and no job is
/// left. Between rounds a pace tick passes: the campaign's clock (its
/// start) moves a second earlier and every waiting job (next step, retry
/// backoff) is made due, instead of waiting for them.
async fn run_campaign(app: &TestApp, campaign: &str) {
    for _ in 0..200 {
        let ran = app.run_pending_jobs().await;
        if ran == 0 && state_of(app, campaign).await.0 != "running" {
            return;
        }
        sqlx::query(
            "update campaigns set resumed_at = resumed_at - interval '1 second' \
             where id = $1::uuid",
        )
        .bind(campaign)
        .execute(&mut app.admin_conn().await)
        .await
        .expect("a tick");
        app.make_jobs_due().await;
    }
    panic!(
        "campaign still running: {:?}",
        state_of(app, campaign).await
    );
}

/// No campaign message is waiting for the send queue (the queue run).
async fn assert_all_out(app: &TestApp, campaign: &str) {
    assert_eq!(
        count_in(app, campaign, "pending").await + count_in(app, campaign, "queued").await,
        0,
        "every recipient handed over and sent"
    );
}

/// No campaign message is still waiting for the send queue.
async fn until_all_out(app: &TestApp, campaign: &str) {
    until(WAIT, "every recipient handed over and sent", || async {
        count_in(app, campaign, "pending").await + count_in(app, campaign, "queued").await == 0
    })
    .await;
}

#[tokio::test]
async fn a_campaign_reaches_its_segment_once_with_each_contacts_values_and_counts_the_skips() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel, org) = acme(&graph, 80).await;
    let attribute = owner
        .post_form(
            "/attributes",
            &[
                ("entity", "contact"),
                ("label", "Discount"),
                ("kind", "text"),
            ],
        )
        .await;
    assert_eq!(attribute.status(), 303);
    let vip = &["VIP"][..];
    let labels = add_contacts(
        &app,
        org,
        &[
            Someone {
                attributes: json!({"discount": "30%"}),
                ..Someone::new("Ana Souza", "+5581998760001", vip)
            },
            Someone::new("Bruno Lima", "+5581998760002", vip),
            Someone {
                opted_out: true,
                ..Someone::new("Carla Dias", "+5581998760003", vip)
            },
            Someone {
                blocked: true,
                ..Someone::new("Davi Reis", "+5581998760004", vip)
            },
            Someone {
                phone: None,
                ..Someone::new("Elis Mota", "", vip)
            },
            // One WhatsApp account written with and without the ninth digit.
            Someone::new("Fabio Nunes", "+5581998760006", vip),
            Someone::new("Fabio N. (old)", "+558198760006", vip),
            // Not in the segment.
            Someone::new("Gil Costa", "+5581998760007", &["Lead"]),
        ],
    )
    .await;
    let vip_id = labels["VIP"].to_string();
    let campaign = create(&owner, &promo_fields(&channel, &vip_id, "")).await;

    // The draft's page: audience, preview with a real contact.
    let (status, page) = owner.page(&format!("/campaigns/{campaign}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("7 contacts match now; 3 of them would be skipped"),
        "{page}"
    );
    assert!(
        page.contains("Oi Ana, 30% de desconto na loja Acme!"),
        "preview with Ana"
    );
    let bruno: String =
        sqlx::query_scalar("select id::text from contacts where name = 'Bruno Lima'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("bruno");
    let (_, page) = owner
        .page(&format!("/campaigns/{campaign}?preview={bruno}"))
        .await;
    assert!(
        page.contains("Oi Bruno, 10% de desconto na loja Acme!"),
        "fallback"
    );

    // A test to the owner's own number, with Bruno's values.
    let test = owner
        .post_form(
            &format!("/campaigns/{campaign}/test"),
            &[("phone", "+1 650 555 0199"), ("preview", &bruno)],
        )
        .await;
    assert_eq!(test.status(), 303);
    app.run_pending_jobs().await;
    assert_eq!(template_sends(&graph).len(), 1, "the test");
    assert_eq!(
        template_sends(&graph)[0],
        (
            "16505550199".to_owned(),
            vec!["Bruno".into(), "10%".into(), "loja Acme".into()]
        )
    );

    let started = owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    assert_eq!(started.status(), 303);
    run_campaign(&app, &campaign).await;
    assert_eq!(state_of(&app, &campaign).await.0, "done");
    assert_all_out(&app, &campaign).await;

    // Joining the segment after the start changes nothing.
    add_contacts(
        &app,
        org,
        &[Someone::new("Hugo Late", "+5581998760008", &["VIP"])],
    )
    .await;

    let mut sends = template_sends(&graph);
    sends.remove(0);
    let by_number: BTreeMap<String, Vec<String>> = sends.iter().cloned().collect();
    assert_eq!(sends.len(), 3, "each once: {sends:?}");
    assert_eq!(
        by_number,
        BTreeMap::from([
            (
                "5581998760001".to_owned(),
                vec!["Ana".into(), "30%".into(), "loja Acme".into()]
            ),
            (
                "5581998760002".to_owned(),
                vec!["Bruno".into(), "10%".into(), "loja Acme".into()]
            ),
            (
                "5581998760006".to_owned(),
                vec!["Fabio".into(), "10%".into(), "loja Acme".into()]
            ),
        ])
    );
    let states = recipients(&app, &campaign).await;
    assert_eq!(states.len(), 7, "the segment at the start: {states:?}");
    assert_eq!(states["Ana Souza"].0, "sent");
    assert_eq!(
        states["Carla Dias"],
        ("skipped".into(), Some("Opted out".into()))
    );
    assert_eq!(
        states["Davi Reis"],
        ("skipped".into(), Some("Blocked".into()))
    );
    assert_eq!(
        states["Elis Mota"],
        ("skipped".into(), Some("No phone number".into()))
    );
    assert_eq!(
        states["Fabio N. (old)"],
        (
            "skipped".into(),
            Some("Same WhatsApp number as another recipient".into())
        )
    );
    assert!(!states.contains_key("Gil Costa") && !states.contains_key("Hugo Late"));

    // Reports move recipients on; a reply counts; STOP opts out and confirms.
    let wamid_of = |to: &str| {
        graph
            .sent()
            .iter()
            .find(|m| m.to == to && m.body["type"] == "template")
            .map(|m| m.wamid.clone())
            .expect("sent")
    };
    report(
        &app,
        &channel,
        &wamid_of("5581998760001"),
        "5581998760001",
        "delivered",
    )
    .await;
    report(
        &app,
        &channel,
        &wamid_of("5581998760001"),
        "5581998760001",
        "read",
    )
    .await;
    report(
        &app,
        &channel,
        &wamid_of("5581998760002"),
        "5581998760002",
        "delivered",
    )
    .await;
    customer_says(&app, &channel, "5581998760002", "wamid.BRUNO1", "Quero!").await;
    customer_says(&app, &channel, "5581998760006", "wamid.FABIO1", " stop! ").await;
    let states = recipients(&app, &campaign).await;
    assert_eq!(states["Ana Souza"].0, "read");
    assert_eq!(states["Bruno Lima"].0, "replied");
    assert_eq!(states["Fabio Nunes"].0, "replied");
    let fabio_out: bool =
        sqlx::query_scalar("select opted_out from contacts where phone = '+5581998760006'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("fabio");
    assert!(fabio_out, "STOP opted Fabio out");
    app.run_pending_jobs().await;
    let confirmation = graph
        .sent()
        .into_iter()
        .find(|m| m.to == "5581998760006" && m.body["type"] == "text")
        .expect("confirmation");
    assert!(
        confirmation.body["text"]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("no more messages"),
        "{:?}",
        confirmation.body
    );
    // A second STOP is not confirmed again; START opts back in.
    customer_says(&app, &channel, "5581998760006", "wamid.FABIO2", "STOP").await;
    // Gil, who got no campaign, says a sentence with "stop" in it.
    customer_says(
        &app,
        &channel,
        "5581998760007",
        "wamid.GIL1",
        "don't stop the offers",
    )
    .await;
    app.run_pending_jobs().await;
    let confirmations = graph
        .sent()
        .iter()
        .filter(|m| m.body["type"] == "text")
        .count();
    assert_eq!(
        confirmations, 1,
        "confirmed once; a sentence is not an opt-out"
    );
    customer_says(&app, &channel, "5581998760006", "wamid.FABIO3", "start").await;
    let fabio_out: bool =
        sqlx::query_scalar("select opted_out from contacts where phone = '+5581998760006'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("fabio");
    assert!(!fabio_out, "START opted Fabio back in");

    // Campaign conversations wait as pending, out of the open inbox, until
    // the customer answers.
    let status_of = |phone: &'static str| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>(
                "select v.status from conversations v join contacts c on c.id = v.contact_id \
                 where c.phone = $1",
            )
            .bind(phone)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("conversation")
        }
    };
    assert_eq!(status_of("+5581998760001").await, "pending");
    assert_eq!(status_of("+5581998760002").await, "open", "Bruno answered");
    let inbox = owner.page("/inbox").await.1;
    assert!(inbox.contains("Bruno Lima") && !inbox.contains("Ana Souza"));

    // The report and the CSV.
    let (status, page) = owner.page(&format!("/campaigns/{campaign}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-state="Replied">2<"#), "{page}");
    assert!(page.contains(r#"data-state="Read">1<"#));
    assert!(page.contains(r#"data-state="Skipped">4<"#));
    assert!(page.contains("Same WhatsApp number as another recipient"));
    assert!(
        page.contains("replied 66.7 %"),
        "rates of those handed over"
    );
    assert!(page.contains("<svg class=\"chart\""), "the chart");
    let (status, fragment) = owner.page(&format!("/campaigns/{campaign}/progress")).await;
    assert_eq!(status, 200);
    assert!(fragment.contains(r#"data-state="Replied">2<"#) && !fragment.contains("<html"));
    let csv = owner
        .get(&format!("/campaigns/{campaign}/recipients.csv"))
        .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8, "header and seven recipients: {csv}");
    assert!(lines[0].starts_with("position,name,phone,state,reason"));
    assert!(csv.contains("Ana Souza,+5581998760001,read,"));
    assert!(csv.contains("Carla Dias,+5581998760003,skipped,Opted out"));
}

#[tokio::test]
async fn graph_throttling_and_failures_lose_no_one_and_send_no_one_twice() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel, org) = acme(&graph, 80).await;
    let message_posts = |graph: &FakeGraph| {
        let path = format!("/{NUMBER_ID}/messages");
        graph
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path_and_query.ends_with(&path))
            .count()
    };
    let labels = customers(&app, org, 12, "+16505550").await;
    graph.script_send_failures(
        NUMBER_ID,
        vec![
            SendFailure::Graph {
                status: 429,
                code: 130429,
                message: "(#130429) Rate limit hit".into(),
            },
            SendFailure::Http(500),
            SendFailure::Graph {
                status: 429,
                code: 130429,
                message: "(#130429) Rate limit hit".into(),
            },
            SendFailure::Http(502),
        ],
    );
    let label = labels["All"].to_string();
    let campaign = create(&owner, &promo_fields(&channel, &label, "")).await;
    let started = owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    assert_eq!(started.status(), 303);
    run_campaign(&app, &campaign).await;
    assert_eq!(
        count_in(&app, &campaign, "sent").await,
        12,
        "every recipient sent"
    );
    assert_eq!(
        message_posts(&graph),
        12 + 4,
        "the four failures were retried"
    );
    let sent: Vec<String> = template_sends(&graph)
        .into_iter()
        .map(|(to, _)| to)
        .collect();
    let unique: BTreeSet<&String> = sent.iter().collect();
    assert_eq!(sent.len(), 12, "each once: {sent:?}");
    assert_eq!(unique.len(), 12);
    assert_eq!(state_of(&app, &campaign).await.0, "done");
}

#[tokio::test]
async fn pause_stops_the_campaign_and_resume_goes_on_where_it_stopped() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel, org) = acme_with_worker(&graph, 80).await;
    let labels = customers(&app, org, 8, "+16505551").await;
    let label = labels["All"].to_string();
    // Two a second.
    let campaign = create(&owner, &promo_fields(&channel, &label, "120")).await;
    owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    until(WAIT, "the first sends", || async {
        template_sends(&graph).len() >= 2
    })
    .await;
    let paused = owner
        .post_form(&format!("/campaigns/{campaign}/pause"), &[])
        .await;
    assert_eq!(paused.status(), 303);
    let (state, reason) = state_of(&app, &campaign).await;
    assert_eq!(state, "paused");
    assert!(reason.unwrap_or_default().starts_with("Paused by Olga"));
    // What was already queued still goes; then nothing.
    until_all_out_of_queue(&app, &campaign).await;
    let at_pause = template_sends(&graph).len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        template_sends(&graph).len(),
        at_pause,
        "paused means paused"
    );
    assert!(at_pause < 8, "paused before the end ({at_pause})");
    assert!(count_in(&app, &campaign, "pending").await > 0);
    // Pausing twice, or resuming a running campaign, is a clear 409.
    let again = owner
        .post_form(&format!("/campaigns/{campaign}/pause"), &[])
        .await;
    assert_eq!(again.status(), 409);

    let resumed = owner
        .post_form(&format!("/campaigns/{campaign}/resume"), &[])
        .await;
    assert_eq!(resumed.status(), 303);
    until_state(&app, &campaign, "done").await;
    until_all_out(&app, &campaign).await;
    let sent: Vec<String> = template_sends(&graph)
        .into_iter()
        .map(|(to, _)| to)
        .collect();
    let unique: BTreeSet<&String> = sent.iter().collect();
    assert_eq!((sent.len(), unique.len()), (8, 8), "each once: {sent:?}");
    let resume_again = owner
        .post_form(&format!("/campaigns/{campaign}/resume"), &[])
        .await;
    assert_eq!(resume_again.status(), 409);
}

async fn until_all_out_of_queue(app: &TestApp, campaign: &str) {
    until(WAIT, "queued messages to go out", || async {
        count_in(app, campaign, "queued").await == 0
    })
    .await;
}

#[tokio::test]
async fn a_quality_error_from_meta_pauses_the_campaign_with_the_reason() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel, org) = acme_with_worker(&graph, 80).await;
    let labels = customers(&app, org, 6, "+16505552").await;
    graph.script_send_failures(
        NUMBER_ID,
        vec![SendFailure::Graph {
            status: 400,
            code: 131048,
            message: "(#131048) Spam rate limit hit".into(),
        }],
    );
    let label = labels["All"].to_string();
    // One a second: the refusal is seen before the rest go.
    let campaign = create(&owner, &promo_fields(&channel, &label, "60")).await;
    owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    until_state(&app, &campaign, "paused").await;
    let (_, reason) = state_of(&app, &campaign).await;
    let reason = reason.expect("a reason");
    assert!(reason.contains("131048"), "{reason}");
    let (_, page) = owner.page(&format!("/campaigns/{campaign}")).await;
    assert!(
        page.contains("WhatsApp refused a message"),
        "shown on the page"
    );
    assert!(page.contains("Failures by reason"));
    assert!(
        count_in(&app, &campaign, "pending").await >= 3,
        "the rest wait"
    );
    // Resumed, it goes on (the earlier refusal does not pause it again).
    owner
        .post_form(&format!("/campaigns/{campaign}/resume"), &[])
        .await;
    until_state(&app, &campaign, "done").await;
    until_all_out(&app, &campaign).await;
    assert_eq!(count_in(&app, &campaign, "failed").await, 1);
    assert_eq!(count_in(&app, &campaign, "sent").await, 5);
}

#[tokio::test]
async fn a_text_campaign_on_the_sandbox_fills_its_variables_and_can_be_canceled() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let sandbox = sandbox(&app, org).await;
    let labels = add_contacts(
        &app,
        org,
        &[
            Someone::new("Ana Souza", "+5581998760101", &["Team"]),
            Someone::new("Bo", "+5581998760102", &["Team"]),
        ],
    )
    .await;
    let label = labels["Team"].to_string();
    // A variable that campaigns do not have is refused, the text kept.
    let refused = owner
        .post_form(
            "/campaigns",
            &[
                ("name", "Hello"),
                ("channel_id", &sandbox),
                ("labels", &label),
                ("body", "Hi {{agent_name}}"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.expect("page");
    assert!(page.contains("is not a campaign variable") && page.contains("Hi {{agent_name}}"));

    let campaign = create(
        &owner,
        &[
            ("name", "Hello"),
            ("channel_id", &sandbox),
            ("labels", &label),
            ("body", "Hi {{first_name}}, news from {{workspace}}"),
            ("rate_per_minute", "60"),
        ],
    )
    .await;
    owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    run_campaign(&app, &campaign).await;
    assert_eq!(state_of(&app, &campaign).await.0, "done");
    assert_all_out(&app, &campaign).await;
    let texts: Vec<String> = sqlx::query_scalar(
        "select body from messages where org_id = $1 and direction = 'out' order by body",
    )
    .bind(org)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("texts");
    assert_eq!(texts, ["Hi Ana, news from Acme", "Hi Bo, news from Acme"]);

    // A scheduled campaign canceled before its time sends nothing.
    let later = create(
        &owner,
        &[
            ("name", "Later"),
            ("channel_id", &sandbox),
            ("labels", &label),
            ("body", "Later, {{name}}"),
        ],
    )
    .await;
    let scheduled = owner
        .post_form(
            &format!("/campaigns/{later}/schedule"),
            &[("send_at", "2099-01-01T09:00")],
        )
        .await;
    assert_eq!(scheduled.status(), 422, "more than a year ahead");
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .expect("format");
    let scheduled = owner
        .post_form(
            &format!("/campaigns/{later}/schedule"),
            &[("send_at", &tomorrow)],
        )
        .await;
    assert_eq!(scheduled.status(), 303);
    assert_eq!(state_of(&app, &later).await.0, "scheduled");
    let canceled = owner
        .post_form(&format!("/campaigns/{later}/cancel"), &[])
        .await;
    assert_eq!(canceled.status(), 303);
    assert_eq!(state_of(&app, &later).await.0, "canceled");
    let listed = owner.page("/campaigns").await.1;
    assert!(listed.contains("Hello") && listed.contains("Later") && listed.contains("canceled"));
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_nothing_starts() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel, org) = acme(&graph, 80).await;
    add_contacts(
        &app,
        org,
        &[Someone::new("Ana", "+5581998760201", &["VIP"])],
    )
    .await;
    let refused = owner
        .post_form(
            "/campaigns",
            &[
                ("name", ""),
                ("channel_id", &channel),
                ("labels", "not-a-label"),
                ("template", "nope|en_US"),
                ("rate_per_minute", "999999"),
                ("wrote_within_days", "-1"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.expect("page");
    for expected in [
        "Name: 1 to 100 characters.",
        "Labels: pick labels from the list.",
        "Template: not an approved template",
        "Rate: messages per minute, from 1 to 4800",
        "Wrote within: a number of days",
    ] {
        assert!(page.contains(expected), "{expected}");
    }
    // Variables left unmapped.
    let unmapped = owner
        .post_form(
            "/campaigns",
            &[
                ("name", "Promo"),
                ("channel_id", &channel),
                ("template", "promo|pt_BR"),
            ],
        )
        .await;
    assert_eq!(unmapped.status(), 422);
    assert!(
        unmapped
            .text()
            .await
            .expect("page")
            .contains("Variable {{1}}: pick where its value comes from.")
    );
    assert_eq!(app.count("select count(*) from campaigns").await, 0);

    // A segment without anyone to send to does not start.
    let nobody = create(
        &owner,
        &[
            ("name", "Nobody"),
            ("channel_id", &channel),
            ("template", "promo|pt_BR"),
            ("var_source", "text"),
            ("var_key", ""),
            ("var_text", "x"),
            ("var_source", "text"),
            ("var_key", ""),
            ("var_text", "y"),
            ("var_source", "text"),
            ("var_key", ""),
            ("var_text", "z"),
            ("wrote_within_days", "3"),
        ],
    )
    .await;
    let start = owner
        .post_form(&format!("/campaigns/{nobody}/start"), &[])
        .await;
    assert_eq!(start.status(), 422);
    let past = owner
        .post_form(
            &format!("/campaigns/{nobody}/schedule"),
            &[("send_at", "2020-01-01T10:00")],
        )
        .await;
    assert_eq!(past.status(), 422);
    let garbage = owner
        .post_form(
            &format!("/campaigns/{nobody}/schedule"),
            &[("send_at", "soon")],
        )
        .await;
    assert_eq!(garbage.status(), 422);
    assert_eq!(state_of(&app, &nobody).await.0, "draft");
    let resume = owner
        .post_form(&format!("/campaigns/{nobody}/resume"), &[])
        .await;
    assert_eq!(resume.status(), 409);
    let missing = owner.page(&format!("/campaigns/{}", Uuid::now_v7())).await;
    assert_eq!(missing.0, 404);
    assert_eq!(owner.page("/campaigns/garbage").await.0, 404);

    // Opt-out words: bad ones refused, good ones saved.
    let bad = owner
        .post_form(
            "/campaigns/opt-out",
            &[
                ("opt_out_words", "STOP"),
                ("opt_out_reply", ""),
                ("opt_in_words", "stop"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.expect("page");
    assert!(bad.contains("cannot both opt out and opt in") && bad.contains("Confirmation"));
    let saved = owner
        .post_form(
            "/campaigns/opt-out",
            &[
                ("opt_out_words", "stop, Sair"),
                ("opt_out_reply", "Ok, sem mais mensagens."),
                ("opt_in_words", "voltar"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let words: Vec<String> =
        sqlx::query_scalar("select unnest(opt_out_words) from organizations where id = $1")
            .bind(org)
            .fetch_all(&mut app.admin_conn().await)
            .await
            .expect("words");
    assert_eq!(words, ["STOP", "SAIR"]);
}

#[tokio::test]
async fn another_workspace_never_sees_or_controls_a_campaign() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let sandbox = sandbox(&app, org).await;
    add_contacts(&app, org, &[Someone::new("Ana", "+5581998760301", &[])]).await;
    let campaign = create(
        &owner,
        &[
            ("name", "Acme secret sale"),
            ("channel_id", &sandbox),
            ("body", "Hi {{name}}"),
            ("rate_per_minute", "1"),
        ],
    )
    .await;
    let other = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    assert!(
        !other
            .page("/campaigns")
            .await
            .1
            .contains("Acme secret sale")
    );
    for path in ["", "/progress", "/events", "/recipients.csv"] {
        let response = other.get(&format!("/campaigns/{campaign}{path}")).await;
        assert_eq!(response.status(), 404, "GET {path}");
    }
    for action in [
        "",
        "/start",
        "/test",
        "/schedule",
        "/pause",
        "/resume",
        "/cancel",
        "/delete",
        "/unschedule",
    ] {
        let response = other
            .post_form(&format!("/campaigns/{campaign}{action}"), &[("name", "x")])
            .await;
        assert_eq!(response.status(), 404, "POST {action}");
    }
    assert_eq!(state_of(&app, &campaign).await.0, "draft");
    assert_eq!(
        app.count("select count(*) from campaign_recipients").await,
        0
    );
    // Globex cannot use Acme's channel for its own campaign either.
    let borrowed = other
        .post_form(
            "/campaigns",
            &[("name", "x"), ("channel_id", &sandbox), ("body", "hi")],
        )
        .await;
    assert_eq!(borrowed.status(), 422);
}

// The real job worker at real time: the start is checked against the
// system's time (not a clock a test can move), so it is waited for.
#[tokio::test]
async fn a_scheduled_campaign_starts_at_its_time_and_the_page_follows_it_live() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let sandbox = sandbox(&app, org).await;
    add_contacts(&app, org, &[Someone::new("Ana", "+5581998760401", &[])]).await;
    let campaign = create(
        &owner,
        &[
            ("name", "Soon"),
            ("channel_id", &sandbox),
            ("body", "Hi {{name}}"),
        ],
    )
    .await;
    // The workspace is on São Paulo time: three seconds from now there.
    sqlx::query("update organizations set time_zone = 'America/Sao_Paulo' where id = $1")
        .bind(org)
        .execute(&mut app.admin_conn().await)
        .await
        .expect("time zone");
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let local = at.to_offset(time::macros::offset!(-3));
    let typed = local
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .expect("format");
    let scheduled = owner
        .post_form(
            &format!("/campaigns/{campaign}/schedule"),
            &[("send_at", &typed)],
        )
        .await;
    assert_eq!(scheduled.status(), 303);
    let stored: time::OffsetDateTime =
        sqlx::query_scalar("select scheduled_at from campaigns where id = $1::uuid")
            .bind(&campaign)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("scheduled_at");
    assert_eq!(
        stored.unix_timestamp(),
        at.unix_timestamp(),
        "read in the workspace's zone"
    );
    assert_eq!(state_of(&app, &campaign).await.0, "scheduled");

    // The page's event stream tells it to refresh.
    let events = owner.get(&format!("/campaigns/{campaign}/events")).await;
    assert_eq!(events.status(), 200);
    assert_eq!(
        events.headers()["content-type"]
            .to_str()
            .unwrap_or_default(),
        "text/event-stream"
    );
    let mut events = events;
    let chunk = tokio::time::timeout(Duration::from_secs(5), events.chunk())
        .await
        .expect("an event within the refresh interval")
        .expect("stream")
        .expect("a chunk");
    assert!(String::from_utf8_lossy(&chunk).contains("event: progress"));
    let (_, page) = owner.page(&format!("/campaigns/{campaign}")).await;
    assert!(page.contains(&format!("sse-connect=\"/campaigns/{campaign}/events\"")));

    until_state(&app, &campaign, "done").await;
    until_all_out(&app, &campaign).await;
    let started: time::OffsetDateTime =
        sqlx::query_scalar("select started_at from campaigns where id = $1::uuid")
            .bind(&campaign)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("started_at");
    assert!(started >= stored, "not before its time");
    assert_eq!(count_in(&app, &campaign, "sent").await, 1);
}

#[tokio::test]
async fn the_plan_limits_campaign_recipients_a_month() {
    let stripe = crate::support::fake_stripe::FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let sandbox = sandbox(&app, org).await;
    add_contacts(&app, org, &[Someone::new("Ana", "+5581998760501", &[])]).await;
    let campaign = create(
        &owner,
        &[
            ("name", "Free plan"),
            ("channel_id", &sandbox),
            ("body", "Hi {{name}}"),
        ],
    )
    .await;
    let refused = owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    assert_eq!(refused.status(), 402);
    let page = refused.text().await.expect("page");
    assert!(
        page.contains("Free plan allows 0 campaign recipients a month"),
        "{page}"
    );
    assert_eq!(state_of(&app, &campaign).await.0, "draft");
    let (_, billing) = owner.page("/settings/billing").await;
    assert!(billing.contains("Campaign recipients this month"));
}

#[tokio::test]
async fn a_campaign_sends_a_named_template_with_header_and_button_values_to_each_recipient() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel, org) = acme(&graph, 80).await;
    graph.add_templates(WABA_ID, TOKEN, vec![order_named()]);
    sync_templates(&owner, &channel).await;
    let labels = add_contacts(
        &app,
        org,
        &[
            Someone::new("Ana Souza", "+5581998760301", &["VIP"]),
            Someone::new("Bo Li", "+5581998760302", &["VIP"]),
        ],
    )
    .await;
    let label = labels["VIP"].to_string();

    // The form lists the values it fills, in order.
    let (_, page) = owner.page("/campaigns/new").await;
    assert!(
        page.contains("order_named (en_US, 3 value(s): 1. Header {{order_id}}, 2. {{customer_name}}, 3. Copy code button: the code)"),
        "{page}"
    );

    let fields = |code: &'static str| {
        vec![
            ("name", "Shipping"),
            ("channel_id", channel.as_str()),
            ("labels", label.as_str()),
            ("template", "order_named|en_US"),
            ("var_source", "text"),
            ("var_key", ""),
            ("var_text", "A-17"),
            ("var_source", "first_name"),
            ("var_key", ""),
            ("var_text", ""),
            ("var_source", "text"),
            ("var_key", ""),
            ("var_text", code),
        ]
    };
    // A value Meta would refuse: the form again with the reason.
    let refused = owner
        .post_form("/campaigns", &fields("A-CODE-FAR-TOO-LONG"))
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.expect("page");
    assert!(
        page.contains("Copy code button: the code: at most 15 characters."),
        "{page}"
    );
    assert_eq!(app.count("select count(*) from campaigns").await, 0);

    let campaign = create(&owner, &fields("SAVE10")).await;
    let started = owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    assert_eq!(started.status(), 303);
    run_campaign(&app, &campaign).await;
    assert_all_out(&app, &campaign).await;
    let mut sent: Vec<(String, Value)> = graph
        .sent()
        .iter()
        .filter(|m| m.body["type"] == "template")
        .map(|m| (m.to.clone(), m.body["template"].clone()))
        .collect();
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(sent.len(), 2);
    for ((to, template), (number, first_name)) in sent
        .iter()
        .zip([("5581998760301", "Ana"), ("5581998760302", "Bo")])
    {
        assert_eq!(to, number);
        assert_eq!(template["name"], "order_named");
        let c = &template["components"];
        assert_eq!(c[0]["type"], "header");
        assert_eq!(
            c[0]["parameters"][0],
            json!({"type": "text", "parameter_name": "order_id", "text": "A-17"})
        );
        assert_eq!(
            c[1]["parameters"][0],
            json!({"type": "text", "parameter_name": "customer_name", "text": first_name})
        );
        assert_eq!(c[2]["sub_type"], "copy_code");
        assert_eq!(c[2]["parameters"][0]["coupon_code"], "SAVE10");
    }
}
