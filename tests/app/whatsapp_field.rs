//! The Cloud API as Meta's documentation has it in the field
//! (`/work/shared/design/protocols-field.md` section 1): one malformed
//! message does not cost a delivery, media tokens go only to Meta's hosts,
//! click-to-WhatsApp ad and product referrals on the conversation, and
//! button and list replies as the customer's words.

use serde_json::{Value, json};

use crate::support::*;
use crate::whatsapp::{CUSTOMER, NUMBER_ID, deliver, envelope, messages_on, with_number};

/// A customer's text message as Meta sends it (one element of `messages`).
fn text(wamid: &str, body: &str) -> Value {
    json!({"from": CUSTOMER, "id": wamid, "timestamp": "1764200000", "type": "text", "text": {"body": body}})
}

fn delivery_of(messages: Value) -> Value {
    envelope(
        NUMBER_ID,
        json!({"contacts": [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER}], "messages": messages}),
    )
}

#[tokio::test]
async fn one_malformed_message_does_not_cost_the_others_in_its_delivery() {
    let (app, _owner, sales) = with_number(spawn_app_without_worker().await).await;
    let mut no_text = text("wamid.BROKEN", "");
    no_text.as_object_mut().expect("object").remove("text");
    let mut bad_time = text("wamid.BADTIME", "never mind");
    bad_time["timestamp"] = json!({});
    let delivery = delivery_of(json!([
        text("wamid.FIRST", "Hello"),
        no_text,
        text("wamid.LAST", "Are you there?")
    ]));
    assert_eq!(deliver(&app, &sales.id, &delivery).await, 200);
    let stored: Vec<(String, Option<String>)> = messages_on(&app, &sales.id)
        .await
        .into_iter()
        .map(|(_, body, id)| (body, id))
        .collect();
    assert_eq!(
        stored,
        [
            ("Hello".to_owned(), Some("wamid.FIRST".to_owned())),
            ("Are you there?".to_owned(), Some("wamid.LAST".to_owned())),
        ]
    );

    // The same with a malformed timestamp in the middle, and a malformed
    // delivery report beside a good one for the stored message.
    let mut value = json!({
        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER}],
        "messages": [text("wamid.A", "One"), bad_time, text("wamid.B", "Two")],
        "statuses": [{"status": "read"}, {"id": "wamid.X", "status": "read", "timestamp": []}]
    });
    value["statuses"]
        .as_array_mut()
        .expect("list")
        .push(json!({"id": "wamid.Y", "status": "delivered", "timestamp": "1764200001"}));
    assert_eq!(
        deliver(&app, &sales.id, &envelope(NUMBER_ID, value)).await,
        200
    );
    let bodies: Vec<String> = messages_on(&app, &sales.id)
        .await
        .into_iter()
        .map(|(_, body, _)| body)
        .collect();
    assert_eq!(bodies, ["Hello", "Are you there?", "One", "Two"]);
    assert_eq!(
        app.count("select count(*) from messages where provider_message_id = 'wamid.BADTIME'")
            .await,
        0
    );

    // Not JSON at all is still refused (400), and stores nothing.
    let junk = b"{\"object\": \"whatsapp_business_account\", \"entry\": [".to_vec();
    let signed =
        wacrm::channels::cloud_api::signature::sign(crate::whatsapp::APP_SECRET.as_bytes(), &junk);
    let (status, _) = crate::whatsapp::post_raw(&app, &sales.id, junk, Some(signed)).await;
    assert_eq!(status, 400);
    assert_eq!(messages_on(&app, &sales.id).await.len(), 4);
}

// ---- Media: a name on every request, the token only to Meta -----------------

#[tokio::test]
async fn media_requests_name_wacrm_and_the_token_never_leaves_metas_servers() {
    use crate::support::fake_graph::FakeGraph;
    use crate::whatsapp::{TOKEN, app_with_graph_on_demand, fetched_media, media_message};

    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    graph.add_media("501", TOKEN, b"\x89PNG fine".to_vec(), "image/png");
    // Another server (a third party's): Graph's answer for 502 points there.
    let elsewhere = FakeGraph::start().await;
    elsewhere.add_media("502", TOKEN, b"\x89PNG stolen".to_vec(), "image/png");
    graph.add_media("502", TOKEN, b"\x89PNG stolen".to_vec(), "image/png");
    graph.serve_media_url("502", &format!("{}/media-bytes/502", elsewhere.base_url()));
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 5, 120).await).await;

    for (wamid, id) in [("wamid.OK", "501"), ("wamid.AWAY", "502")] {
        let message = media_message(wamid, "image", id, "image/png");
        assert_eq!(deliver(&app, &sales.id, &message).await, 200);
    }
    let fine = fetched_media(&app, "wamid.OK").await;
    assert!(fine["url"].is_string(), "fetched from Meta: {fine}");
    let away = fetched_media(&app, "wamid.AWAY").await;
    assert!(away.get("url").is_none(), "{away}");
    assert!(away.get("unavailable").is_some(), "{away}");

    // Every request to Graph and its media host said who is asking.
    let requests = graph.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path_and_query.contains("media-bytes/501"))
    );
    let expected = format!("wacrm/{}", env!("CARGO_PKG_VERSION"));
    for request in &requests {
        assert_eq!(
            request.user_agent.as_deref(),
            Some(expected.as_str()),
            "{} {}",
            request.method,
            request.path_and_query
        );
    }
    // The other server was never asked, so never saw the token.
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere
            .requests()
            .iter()
            .map(|r| &r.authorization)
            .collect::<Vec<_>>()
    );

    // The message is kept, its image shown as unavailable.
    let conversation: String = sqlx::query_scalar(
        "select conversation_id::text from messages where provider_message_id = 'wamid.AWAY'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("kept");
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("[image: unavailable]"),
        "shown as unavailable"
    );
}
