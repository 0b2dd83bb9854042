//! Orders: a WhatsApp catalogue cart (a signed Cloud API delivery) becomes
//! one order, matched to the catalogue by SKU and numbered without gaps
//! (also when many arrive at once); status changes tell the customer (a
//! text in the window, the order template outside it, a note when neither
//! can go); bad carts and input are refused; each workspace to its own.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::fake_graph::FakeGraph;
use crate::support::*;

const TOKEN: &str = "EAAGm0PX4ZCpsBAKtestaccesstoken0123456789";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const NUMBER_ID: &str = "106540352242922";
const WABA_ID: &str = "102290129340398";
const CUSTOMER: &str = "5511988887777";

fn order_update() -> Value {
    json!({"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "8",
        "components": [{"type": "BODY", "text": "Your order {{1}} is now {{2}}."}]})
}

/// Acme with a Cloud API number (templates synced) and a T-shirt in its
/// catalogue; the channel id.
async fn shop(graph: &FakeGraph) -> (TestApp, Browser, String) {
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    graph.add_templates(WABA_ID, TOKEN, vec![order_update()]);
    let base = graph.base_url();
    let app = spawn_app_without_worker_with(move |config| {
        config.whatsapp_graph_url = base.parse().expect("url");
    })
    .await;
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
    let response = owner
        .post_form(
            "/products",
            &[
                ("name", "T-shirt M"),
                ("sku", "TSHIRT-M"),
                ("price", "19.90"),
                ("currency", "BRL"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    (app, owner, channel)
}

fn cart(wamid: &str, seconds_ago: i64, items: Value) -> Value {
    let at = (OffsetDateTime::now_utc().unix_timestamp() - seconds_ago).to_string();
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER_ID},
            "contacts": [{"profile": {"name": "Bia Costa"}, "wa_id": CUSTOMER}],
            "messages": [{"from": CUSTOMER, "id": wamid, "timestamp": at, "type": "order",
                "order": {"catalog_id": "cat-1", "text": "Before noon please", "product_items": items}}]
        }}]}]
    })
}

fn two_items() -> Value {
    json!([
        {"product_retailer_id": "TSHIRT-M", "quantity": 2, "item_price": 19.9, "currency": "BRL"},
        {"product_retailer_id": "CAP", "quantity": "1", "item_price": "35.00", "currency": "BRL"}
    ])
}

async fn deliver(app: &TestApp, channel: &str, payload: &Value) {
    let body = payload.to_string().into_bytes();
    let signed = wacrm::channels::cloud_api::signature::sign(APP_SECRET.as_bytes(), &body);
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp/{channel}", app.base))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", signed)
        .body(body)
        .send()
        .await
        .expect("delivery");
    assert_eq!(response.status(), 200);
}

/// Runs the due jobs: the carts' orders are made.
async fn orders_done(app: &TestApp, expected: i64) {
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from jobs where queue = 'orders'")
            .await,
        0,
        "order jobs done"
    );
    assert_eq!(app.count("select count(*) from orders").await, expected);
}

async fn order_id(app: &TestApp, number: i64) -> String {
    sqlx::query_scalar("select id::text from orders where number = $1")
        .bind(number)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("order")
}

#[tokio::test]
async fn a_whatsapp_cart_becomes_one_order_matched_to_the_catalogue_and_the_customer_is_told() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel) = shop(&graph).await;
    let delivery = cart("wamid.CART1", 5, two_items());
    deliver(&app, &channel, &delivery).await;
    deliver(&app, &channel, &delivery).await;
    orders_done(&app, 1).await;
    // The job running again (a retry) makes no second order.
    let (org, message): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("select org_id, id from messages where provider_message_id = 'wamid.CART1'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    wacrm::features::orders::take(&app.state.env(), org, message)
        .await
        .unwrap();
    assert_eq!(app.count("select count(*) from orders").await, 1);
    assert_eq!(
        app.count("select max(last_number) from number_sequences")
            .await,
        1
    );

    let id = order_id(&app, 1).await;
    let (status, page) = owner.page(&format!("/orders/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Order #1") && page.contains("Bia Costa"));
    assert!(
        page.contains("<th class=\"number\" id=\"order-total\">BRL 74.80</th>"),
        "{page}"
    );
    assert!(page.contains("T-shirt M") && page.contains("CAP (not in the catalogue)"));
    assert!(page.contains("Before noon please"));
    let lines: Vec<(Option<uuid::Uuid>, String, rust_decimal::Decimal)> =
        sqlx::query_as("select product_id, sku, line_total from order_lines order by position")
            .fetch_all(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert!(
        lines[0].0.is_some() && lines[1].0.is_none(),
        "matched by SKU"
    );
    assert_eq!(lines[0].2, "39.80".parse().unwrap());

    // The conversation shows the cart and the order made of it.
    let conversation: String = sqlx::query_scalar(
        "select conversation_id::text from messages where provider_message_id = 'wamid.CART1'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    let (_, panes) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        panes.contains("Order, 2 items: 2 × TSHIRT-M, 1 × CAP"),
        "{panes}"
    );
    assert!(panes.contains("Order #1 made of the customer&#39;s cart: BRL 74.80."));
    let message: String = sqlx::query_scalar(
        "select id::text from messages where provider_message_id = 'wamid.CART1'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    let response = owner.get(&format!("/orders/from-message/{message}")).await;
    assert_eq!(location(&response), format!("/orders/{id}"));

    // An invoice of the order: a draft with its lines and total.
    let response = owner.post_form(&format!("/orders/{id}/invoice"), &[]).await;
    assert_eq!(response.status(), 303);
    let draft = location(&response);
    assert!(draft.starts_with("/documents/"), "{draft}");
    let (_, page) = owner.page(&draft).await;
    assert!(
        page.contains("id=\"doc-total\">BRL 74.80<") && page.contains("For order #1."),
        "{page}"
    );
    assert!(page.contains("Invoice Draft") && page.contains("CAP (not in the catalogue)"));

    // Confirmed inside the window: a text, sent once.
    let response = owner
        .post_form(&format!("/orders/{id}/status"), &[("status", "confirmed")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/orders/{id}")).await;
    assert!(
        page.contains("the customer was told")
            && page.contains("<dd id=\"order-status\">confirmed</dd>")
    );
    app.run_pending_jobs().await;
    assert!(
        graph.requests().iter().any(|r| {
            r.path_and_query.ends_with("/messages")
                && String::from_utf8_lossy(&r.body).contains("Your order #1 is confirmed")
        }),
        "the text sent"
    );
    let response = owner
        .post_form(&format!("/orders/{id}/status"), &[("status", "confirmed")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from messages where body like 'Your order #1%'")
            .await,
        1,
        "the same status tells nobody twice"
    );

    // The next cart is order #2; a cart that cannot be read makes none.
    deliver(&app, &channel, &cart("wamid.CART2", 3, json!([{"product_retailer_id": "CAP", "quantity": 3, "item_price": 35, "currency": "BRL"}]))).await;
    orders_done(&app, 2).await;
    deliver(&app, &channel, &cart("wamid.BAD", 2, json!([{"product_retailer_id": "CAP", "quantity": -1, "item_price": 35, "currency": "BRL"}]))).await;
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from messages where body like 'The customer''s order could not be read%'")
            .await,
        1,
        "the bad cart's note"
    );
    assert_eq!(app.count("select count(*) from orders").await, 2);
    let (_, list) = owner.page("/orders?status=new").await;
    assert!(list.contains("#2") && !list.contains(">#1<"));
    assert_eq!(owner.get("/orders?status=shipped").await.status(), 422);
    let response = owner
        .post_form(&format!("/orders/{id}/status"), &[("status", "lost")])
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn outside_the_window_the_order_template_goes_or_a_note_says_why_not() {
    let graph = FakeGraph::start().await;
    let (app, owner, channel) = shop(&graph).await;
    deliver(&app, &channel, &cart("wamid.OLD", 25 * 3600, two_items())).await;
    orders_done(&app, 1).await;
    let id = order_id(&app, 1).await;

    // No template set: the team is told the customer was not.
    let response = owner
        .post_form(&format!("/orders/{id}/status"), &[("status", "confirmed")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/orders/{id}")).await;
    assert!(
        page.contains("the customer was not told: the 24-hour window is closed"),
        "{page}"
    );
    assert_eq!(
        app.count("select count(*) from messages where direction = 'out' and not private")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from messages where private and body like 'Order #1 is now confirmed; the customer was not told%'").await,
        1
    );

    // A bad template setting is refused; a good one is used.
    let response = owner
        .post_form(
            "/settings/orders",
            &[("name", "order update"), ("language", "")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let response = owner
        .post_form(
            "/settings/orders",
            &[("name", "order_update"), ("language", "en_US")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(&format!("/orders/{id}/status"), &[("status", "fulfilled")])
        .await;
    assert_eq!(response.status(), 303);
    let (kind, body): (String, String) =
        sqlx::query_as("select kind, body from messages where direction = 'out' and not private")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!(
        (kind.as_str(), body.as_str()),
        ("template", "Your order #1 is now fulfilled.")
    );
    app.run_pending_jobs().await;
    assert!(
        graph.requests().iter().any(|r| {
            let body = String::from_utf8_lossy(&r.body);
            r.path_and_query.ends_with("/messages")
                && body.contains("order_update")
                && body.contains("fulfilled")
        }),
        "the template sent"
    );
}

#[tokio::test]
async fn order_numbers_have_no_gaps_when_many_carts_arrive_at_once() {
    let graph = FakeGraph::start().await;
    let (app, _owner, channel) = shop(&graph).await;
    // A number taken and given back (a rolled-back transaction) is reused.
    let mut conn = app.admin_conn().await;
    let org: uuid::Uuid = sqlx::query_scalar("select id from organizations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let mut tx = sqlx::Connection::begin(&mut conn).await.unwrap();
    sqlx::query("insert into number_sequences (org_id, kind, last_number) values ($1, 'order', 1)")
        .bind(org)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let deliveries = (0..12).map(|i| {
        let app = &app;
        let channel = channel.clone();
        async move {
            deliver(
                app,
                &channel,
                &cart(&format!("wamid.MANY{i}"), 5, two_items()),
            )
            .await
        }
    });
    futures_util::future::join_all(deliveries).await;
    orders_done(&app, 12).await;
    let numbers: Vec<i64> = sqlx::query_scalar("select number from orders order by number")
        .fetch_all(&mut app.admin_conn().await)
        .await
        .unwrap();
    assert_eq!(numbers, (1..=12).collect::<Vec<i64>>());
}

#[tokio::test]
async fn another_workspace_never_sees_or_changes_an_order() {
    let graph = FakeGraph::start().await;
    let (app, _owner, channel) = shop(&graph).await;
    deliver(&app, &channel, &cart("wamid.CART1", 5, two_items())).await;
    orders_done(&app, 1).await;
    let id = order_id(&app, 1).await;
    let message: String = sqlx::query_scalar(
        "select id::text from messages where provider_message_id = 'wamid.CART1'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    assert_eq!(globex.get(&format!("/orders/{id}")).await.status(), 404);
    assert_eq!(
        globex
            .get(&format!("/orders/from-message/{message}"))
            .await
            .status(),
        404
    );
    let response = globex
        .post_form(&format!("/orders/{id}/status"), &[("status", "cancelled")])
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        globex
            .post_form(&format!("/orders/{id}/invoice"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(app.count("select count(*) from sales_documents").await, 0);
    let (_, list) = globex.page("/orders").await;
    assert!(!list.contains("Bia Costa"));
    assert_eq!(
        app.count("select count(*) from orders where status = 'new'")
            .await,
        1
    );
}
