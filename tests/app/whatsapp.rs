//! WhatsApp Cloud API channels: connecting a number, Meta's handshake, and
//! signed webhook deliveries stored exactly once, against a fake Graph
//! server and deliveries signed as Meta signs them.

use serde_json::{Value, json};
use wacrm::channels::cloud_api::signature;

use crate::api::Api;
use crate::support::fake_graph::FakeGraph;
use crate::support::*;
// The Cloud API set-up lives in support::cloud; the other test modules
// import it from here too.
pub(crate) use crate::support::cloud::{
    APP_SECRET, CUSTOMER, NUMBER_ID, TOKEN, WABA_ID, app_with_graph, app_with_graph_on_demand,
    connect, deliver, envelope, post_raw, run_all_jobs, seconds_ago, text_at, text_from,
    with_number,
};
use crate::support::cloud::{acme_on_graph, create_rule, customer_writes_on_number};

pub(crate) async fn messages_on(
    app: &TestApp,
    channel: &str,
) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "select kind, body, provider_message_id from messages where channel_id = $1::uuid \
         order by created_at, id",
    )
    .bind(channel)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("messages")
}

async fn handshake(app: &TestApp, channel: &str, query: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}/webhooks/whatsapp/{channel}?{query}", app.base))
        .await
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn a_number_is_connected_with_its_secrets_sealed_and_the_handshake_needs_its_verify_token() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;

    // Bad input: every field named, the secrets never echoed back.
    let response = owner
        .post_form(
            "/settings/channels",
            &[
                ("name", ""),
                ("phone_number_id", "12ab"),
                ("waba_id", ""),
                ("access_token", "short secret"),
                ("app_secret", "tiny-app-secret"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    for field in [
        "Name:",
        "Phone number ID:",
        "WhatsApp Business Account ID:",
        "Access token:",
        "App secret:",
    ] {
        assert!(page.contains(field), "{field} is named");
    }
    assert!(!page.contains("short secret") && !page.contains("tiny-app-secret"));
    assert!(page.contains("value=\"12ab\""), "what was typed stays");

    let sales = connect(&owner, "Sales line", NUMBER_ID).await;
    assert!(sales.verify_token.len() >= 32);
    let (_, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert!(
        !page.contains(TOKEN) && !page.contains(APP_SECRET),
        "secrets never shown"
    );
    let (token_blob, secret_blob): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "select access_token_sealed, app_secret_sealed from channels where id = $1::uuid",
    )
    .bind(&sales.id)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("channel row");
    for (blob, plain) in [(&token_blob, TOKEN), (&secret_blob, APP_SECRET)] {
        assert!(
            !blob.windows(plain.len()).any(|w| w == plain.as_bytes()),
            "sealed at rest"
        );
    }

    // The same number twice is refused with the reason.
    let response = owner
        .post_form(
            "/settings/channels",
            &[
                ("name", "Again"),
                ("phone_number_id", NUMBER_ID),
                ("waba_id", WABA_ID),
                ("access_token", TOKEN),
                ("app_secret", APP_SECRET),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("already has a channel")
    );

    // Meta's handshake.
    let good = format!(
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={}",
        sales.verify_token
    );
    assert_eq!(
        handshake(&app, &sales.id, &good).await,
        (200, "1158201444".to_owned())
    );
    for bad in [
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock".to_owned(),
        format!(
            "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={}",
            sales.verify_token
        ),
        format!("hub.mode=subscribe&hub.verify_token={}", sales.verify_token),
        String::new(),
    ] {
        assert_eq!(handshake(&app, &sales.id, &bad).await.0, 403, "{bad}");
    }
    assert_eq!(
        handshake(&app, &uuid::Uuid::new_v4().to_string(), &good)
            .await
            .0,
        403
    );
    assert_eq!(handshake(&app, "not-a-channel", &good).await.0, 403);
}

#[tokio::test]
async fn a_signed_delivery_is_stored_once_however_often_meta_sends_it() {
    let (app, owner, sales) = with_number(spawn_app().await).await;
    let delivery = text_from(
        "16505551234",
        "Sheena Nelson",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFE",
        "Hi, I need help",
    );
    for _ in 0..3 {
        assert_eq!(deliver(&app, &sales.id, &delivery).await, 200);
    }
    let stored = messages_on(&app, &sales.id).await;
    assert_eq!(
        stored,
        vec![(
            "text".to_owned(),
            "Hi, I need help".to_owned(),
            Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFE".to_owned())
        )]
    );
    // The contact is found or created by the WhatsApp id, with the profile name.
    let (_, contacts) = owner.page("/contacts?q=%2B16505551234").await;
    assert!(contacts.contains("Sheena Nelson"), "contact created");
    let second = text_from("16505551234", "Sheena N.", "wamid.SECOND", "Are you there?");
    assert_eq!(deliver(&app, &sales.id, &second).await, 200);
    let contact_count = app
        .count("select count(*) from contacts where phone = '+16505551234'")
        .await;
    assert_eq!(contact_count, 1, "the same customer, not a new contact");
    // It is in the inbox, on this channel.
    let (_, inbox) = owner.page("/inbox").await;
    assert!(
        inbox.contains("Sheena Nelson") && inbox.contains("Are you there?"),
        "{inbox}"
    );
}

#[tokio::test]
async fn unsigned_forged_oversized_or_malformed_deliveries_are_refused_and_store_nothing() {
    let (app, _owner, sales) = with_number(spawn_app().await).await;
    let body = text_from("16505551234", "Sheena", "wamid.X", "Hello")
        .to_string()
        .into_bytes();

    assert_eq!(
        post_raw(&app, &sales.id, body.clone(), None).await.0,
        401,
        "missing"
    );
    let forged = signature::sign(b"not-the-app-secret-at-all", &body);
    assert_eq!(
        post_raw(&app, &sales.id, body.clone(), Some(forged))
            .await
            .0,
        401,
        "wrong key"
    );
    let signed = signature::sign(APP_SECRET.as_bytes(), &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        post_raw(&app, &sales.id, tampered, Some(signed.clone()))
            .await
            .0,
        401,
        "changed body"
    );
    assert_eq!(
        post_raw(
            &app,
            &sales.id,
            body.clone(),
            Some(signed.replace("sha256=", "sha1="))
        )
        .await
        .0,
        401
    );
    // Another channel id (unknown, malformed) finds nothing.
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        post_raw(&app, &unknown, body.clone(), Some(signed.clone()))
            .await
            .0,
        404
    );
    assert_eq!(
        post_raw(&app, "12", body.clone(), Some(signed.clone()))
            .await
            .0,
        404
    );
    // Over 3 MB.
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let big_signature = signature::sign(APP_SECRET.as_bytes(), &big);
    assert_eq!(
        post_raw(&app, &sales.id, big, Some(big_signature)).await.0,
        413
    );
    // Signed, but not a delivery.
    for junk in [&b"{not json"[..], b"[]", br#"{"object":"page","entry":[]}"#] {
        let signed = signature::sign(APP_SECRET.as_bytes(), junk);
        let (status, _) = post_raw(&app, &sales.id, junk.to_vec(), Some(signed)).await;
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(junk));
    }
    // A delivery whose only message is malformed: taken (Meta would send it
    // again for days) and the message skipped.
    let junk = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"text"}]}}]}]}"#;
    let signed = signature::sign(APP_SECRET.as_bytes(), junk);
    let (status, _) = post_raw(&app, &sales.id, junk.to_vec(), Some(signed)).await;
    assert_eq!(status, 200);
    assert!(
        messages_on(&app, &sales.id).await.is_empty(),
        "nothing stored"
    );
    assert_eq!(app.count("select count(*) from contacts").await, 0);
}

#[tokio::test]
async fn every_message_type_is_stored_and_unknown_ones_are_kept_raw() {
    let (app, owner, sales) = with_number(spawn_app_without_worker().await).await;
    let from = |id: &str, kind: &str, content: Value| {
        let mut m =
            json!({"from": "5511912345678", "id": id, "timestamp": "1764200000", "type": kind});
        if kind == "contacts" {
            m["contacts"] = content;
        } else {
            m[kind] = content;
        }
        m
    };
    let messages = vec![
        from("w1", "text", json!({"body": "Olá"})),
        from(
            "w2",
            "image",
            json!({"id": "111", "mime_type": "image/jpeg", "sha256": "aa", "caption": "the box"}),
        ),
        from(
            "w3",
            "audio",
            json!({"id": "112", "mime_type": "audio/ogg; codecs=opus", "voice": true}),
        ),
        from(
            "w4",
            "video",
            json!({"id": "113", "mime_type": "video/mp4"}),
        ),
        from(
            "w5",
            "document",
            json!({"id": "114", "mime_type": "application/pdf", "filename": "invoice.pdf"}),
        ),
        from(
            "w6",
            "sticker",
            json!({"id": "115", "mime_type": "image/webp", "animated": false}),
        ),
        from(
            "w7",
            "location",
            json!({"latitude": -23.55, "longitude": -46.63, "name": "Loja"}),
        ),
        from(
            "w8",
            "contacts",
            json!([{"name": {"formatted_name": "Ana Lima"}, "phones": [{"phone": "+55 11 5555"}]}]),
        ),
        from(
            "w9",
            "reaction",
            json!({"message_id": "wamid.OURS", "emoji": "👍"}),
        ),
        from(
            "w10",
            "interactive",
            json!({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}),
        ),
        from(
            "w11",
            "button",
            json!({"payload": "p", "text": "Track order"}),
        ),
        from(
            "w12",
            "order",
            json!({"catalog_id": "1", "product_items": []}),
        ),
        from("w13", "unsupported", json!({})),
    ];
    let delivery = envelope(
        NUMBER_ID,
        json!({"contacts": [{"profile": {"name": "Bruno"}, "wa_id": "5511912345678"}], "messages": messages}),
    );
    assert_eq!(deliver(&app, &sales.id, &delivery).await, 200);
    // The cart's job leaves its note.
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from messages where private")
            .await,
        1,
        "the order job"
    );
    let stored: Vec<(String, String)> = messages_on(&app, &sales.id)
        .await
        .into_iter()
        .map(|(kind, body, _)| (kind, body))
        .collect();
    let expected = [
        ("text", "Olá"),
        ("image", "the box"),
        ("audio", ""),
        ("video", ""),
        ("document", ""),
        ("sticker", ""),
        ("location", "Loja · -23.55, -46.63"),
        ("contacts", "Ana Lima"),
        ("reaction", "👍"),
        ("interactive", "Yes"),
        ("interactive", "Track order"),
        // A cart without products is kept, with why no order is made of it.
        ("order", "Order (the order has no products)"),
        ("unknown", ""),
        (
            "note",
            "The customer's order could not be read (the order has no products): no order was made.",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, b)| ((*k).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(stored, expected);
    let (media, raw): (Value, Value) = sqlx::query_as(
        "select (select media from messages where provider_message_id = 'w5'), \
                (select raw from messages where provider_message_id = 'w12')",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("row");
    assert_eq!(media["provider_media_id"], "114");
    assert_eq!(media["filename"], "invoice.pdf");
    assert_eq!(
        raw["order"]["catalog_id"], "1",
        "unknown kept with its payload"
    );
    // The conversation shows the unknown ones as such, not as blanks.
    let conversation: String = sqlx::query_scalar(
        "select conversation_id::text from messages where provider_message_id = 'w12'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("conversation");
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        page.to_lowercase().contains("unsupported message"),
        "shown as unsupported"
    );
}

#[tokio::test]
async fn reports_for_unknown_messages_wait_and_a_disabled_number_refuses_until_enabled() {
    let (app, owner, sales) = with_number(spawn_app().await).await;
    let early = envelope(
        NUMBER_ID,
        json!({"statuses": [
            {"id": "wamid.NOT_YET", "status": "delivered", "timestamp": "1764200001", "recipient_id": "16505551234"},
            {"id": "wamid.NOT_YET", "status": "read", "timestamp": "1764200002", "recipient_id": "16505551234"},
            {"id": "wamid.NOT_YET", "status": "played", "timestamp": "1764200003", "recipient_id": "16505551234"}
        ]}),
    );
    for _ in 0..2 {
        assert_eq!(deliver(&app, &sales.id, &early).await, 200);
    }
    let kept = app
        .count("select count(*) from pending_statuses where provider_message_id = 'wamid.NOT_YET'")
        .await;
    assert_eq!(
        kept, 2,
        "delivered and read kept once each; played is not tracked"
    );

    // Disabled: refused (Meta retries), nothing stored; enabled: accepted.
    let response = owner
        .post_form(
            &format!("/settings/channels/{}/enabled", sales.id),
            &[("enabled", "false")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let hello = text_from("16505551234", "Sheena", "wamid.WHILE_OFF", "Hello?");
    assert_eq!(deliver(&app, &sales.id, &hello).await, 503);
    assert!(messages_on(&app, &sales.id).await.is_empty());
    let response = owner
        .post_form(
            &format!("/settings/channels/{}/enabled", sales.id),
            &[("enabled", "maybe")],
        )
        .await;
    assert_eq!(response.status(), 422);
    owner
        .post_form(
            &format!("/settings/channels/{}/enabled", sales.id),
            &[("enabled", "true")],
        )
        .await;
    assert_eq!(deliver(&app, &sales.id, &hello).await, 200);
    assert_eq!(messages_on(&app, &sales.id).await.len(), 1);
}

#[tokio::test]
async fn numbers_sharing_one_callback_are_routed_to_their_own_channel() {
    let (app, owner, sales) = with_number(spawn_app().await).await;
    let support = connect(&owner, "Support line", "106540352242999").await;
    // Meta sends both numbers' events to the callback pasted first.
    let for_support = envelope(
        "106540352242999",
        json!({
            "contacts": [{"profile": {"name": "Carla"}, "wa_id": "4915112345678"}],
            "messages": [{"from": "4915112345678", "id": "wamid.S1", "timestamp": "1764200000", "type": "text", "text": {"body": "Hilfe"}}]
        }),
    );
    let for_nobody = envelope(
        "999",
        json!({"messages": [{"from": "4915112345678", "id": "wamid.S2", "type": "text", "text": {"body": "?"}}]}),
    );
    assert_eq!(deliver(&app, &sales.id, &for_support).await, 200);
    assert_eq!(deliver(&app, &sales.id, &for_nobody).await, 200);
    assert!(messages_on(&app, &sales.id).await.is_empty());
    assert_eq!(messages_on(&app, &support.id).await.len(), 1);
}

#[tokio::test]
async fn check_connection_shows_the_number_or_graphs_error_in_words() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let base = graph.base_url();
    let app = spawn_app_with(|config| {
        config.whatsapp_graph_url = base.parse().expect("url");
    })
    .await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let sales = connect(&owner, "Sales line", NUMBER_ID).await;
    let response = owner
        .post_form(&format!("/settings/channels/{}/check", sales.id), &[])
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("body");
    assert!(
        page.contains("Connected: WhatsApp knows this number as Acme Sales (+1 555-078-3881)"),
        "{page}"
    );
    let asked = graph.requests();
    assert!(
        asked
            .iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    // Listed with its name from now on.
    let (_, list) = owner.page("/settings/channels").await;
    assert!(list.contains("Acme Sales"));

    // A number Graph does not know for that token: the error in words.
    let unknown = connect(&owner, "Old line", "777").await;
    let response = owner
        .post_form(&format!("/settings/channels/{}/check", unknown.id), &[])
        .await;
    let page = response.text().await.expect("body");
    assert!(page.contains("The connection does not work:"), "{page}");
    assert!(page.contains("Graph error 100"), "{page}");
}

#[tokio::test]
async fn another_workspace_never_sees_or_changes_a_number_or_its_messages() {
    let (app, owner, sales) = with_number(spawn_app().await).await;
    let delivery = text_from(
        "16505551234",
        "Sheena Nelson",
        "wamid.PRIVATE",
        "Secret order details",
    );
    assert_eq!(deliver(&app, &sales.id, &delivery).await, 200);

    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let (status, page) = other
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert_eq!(status, 404);
    assert!(!page.contains(&sales.verify_token));
    for (path, fields) in [
        (format!("/settings/channels/{}/check", sales.id), vec![]),
        (format!("/settings/channels/{}/templates", sales.id), vec![]),
        (
            format!("/settings/channels/{}/enabled", sales.id),
            vec![("enabled", "false")],
        ),
        (format!("/settings/channels/{}/delete", sales.id), vec![]),
    ] {
        let response = other.post_form(&path, &fields).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let (_, list) = other.page("/settings/channels").await;
    assert!(!list.contains(&sales.id));
    let (_, inbox) = other.page("/inbox?status=all").await;
    assert!(!inbox.contains("Secret order details") && !inbox.contains("Sheena"));
    // Untouched: still enabled, still there.
    let (_, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert!(page.contains("Disable this number"));
    assert_eq!(messages_on(&app, &sales.id).await.len(), 1);

    // The owner deletes it: the page said what goes with it.
    assert!(
        page.contains("1 conversation and 1 message"),
        "history said first"
    );
    let response = owner
        .post_form(&format!("/settings/channels/{}/delete", sales.id), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert!(messages_on(&app, &sales.id).await.is_empty());
    assert_eq!(
        deliver(&app, &sales.id, &delivery).await,
        404,
        "its callback is gone"
    );
}

// ---- Sending ----------------------------------------------------------------

/// Moves the message's mark "an attempt may have reached Graph" back by
/// `seconds`, as if that much time had passed since (the confirmation
/// window is measured from it).
async fn age_send_attempt(app: &TestApp, text: &str, seconds: i32) {
    sqlx::query(
        "update messages set send_attempted_at = send_attempted_at - make_interval(secs => $2) \
         where body = $1 and send_attempted_at is not null",
    )
    .bind(text)
    .bind(f64::from(seconds))
    .execute(&mut app.admin_conn().await)
    .await
    .expect("aged");
}

/// A customer writes in on the connected number; the conversation's id.
async fn customer_writes_in(app: &TestApp, channel: &str) -> String {
    customer_writes_on_number(app, channel, ("wamid.HELLO", "Hi, I need help"), 5).await
}

pub(crate) async fn reply(owner: &Browser, conversation: &str, text: &str) {
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", text)],
        )
        .await;
    assert_eq!(response.status(), 303, "reply {text}");
}

/// (status, error, provider id) of our message with this text.
async fn outbound(app: &TestApp, text: &str) -> (String, Option<String>, Option<String>) {
    sqlx::query_as("select status, error, provider_message_id from messages where body = $1 and direction = 'out'")
        .bind(text)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("outbound message")
}

/// Waits until the message is no longer queued (or `limit` passes).
pub(crate) async fn settled(
    app: &TestApp,
    text: &str,
    limit: std::time::Duration,
) -> (String, Option<String>, Option<String>) {
    let started = std::time::Instant::now();
    loop {
        let now = outbound(app, text).await;
        if now.0 != "queued" || started.elapsed() > limit {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn sends_to_graph(graph: &FakeGraph) -> usize {
    graph
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/messages"))
        .count()
}

fn status_report(wamid: &str, status: &str, callback: Option<&str>) -> Value {
    let mut report =
        json!({"id": wamid, "status": status, "timestamp": "1764200100", "recipient_id": CUSTOMER});
    if let Some(callback) = callback {
        report["biz_opaque_callback_data"] = json!(callback);
    }
    envelope(NUMBER_ID, json!({"statuses": [report]}))
}

#[tokio::test]
async fn a_reply_goes_out_once_and_reports_only_move_it_forward() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let (app, owner, sales) = with_number(app_with_graph(&graph, 5, 120).await).await;
    let conversation = customer_writes_in(&app, &sales.id).await;

    reply(&owner, &conversation, "On its way!").await;
    let (status, error, wamid) =
        settled(&app, "On its way!", std::time::Duration::from_secs(10)).await;
    assert_eq!((status.as_str(), error), ("sent", None));
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, CUSTOMER);
    assert_eq!(sent[0].body["text"]["body"], "On its way!");
    assert_eq!(sent[0].body["type"], "text");
    assert_eq!(wamid.as_deref(), Some(sent[0].wamid.as_str()));
    assert!(
        graph
            .requests()
            .iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "the channel's token"
    );

    // Out of order: read before delivered; delivered then changes nothing,
    // nor does a late failure; a replay neither.
    let wamid = sent[0].wamid.clone();
    for (report, expected) in [
        ("read", "read"),
        ("delivered", "read"),
        ("failed", "read"),
        ("read", "read"),
    ] {
        assert_eq!(
            deliver(&app, &sales.id, &status_report(&wamid, report, None)).await,
            200
        );
        assert_eq!(
            outbound(&app, "On its way!").await.0,
            expected,
            "after {report}"
        );
    }
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("On its way!"));
    assert_eq!(graph.sent().len(), 1, "sent once");
}

#[tokio::test]
async fn throttled_then_failing_graph_is_retried_and_the_message_sent_once() {
    let graph = FakeGraph::start().await;
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    graph.script_send_failures(
        NUMBER_ID,
        vec![
            crate::support::fake_graph::SendFailure::Graph {
                status: 429,
                code: 130429,
                message: "(#130429) Rate limit hit".into(),
            },
            crate::support::fake_graph::SendFailure::Http(500),
        ],
    );
    reply(&owner, &conversation, "Third time lucky").await;
    app.run_pending_jobs().await;
    assert_eq!(sends_to_graph(&graph), 1, "429");
    assert_eq!(outbound(&app, "Third time lucky").await.0, "queued");
    // Each retry once its backoff has passed.
    app.make_jobs_due().await;
    app.run_pending_jobs().await;
    assert_eq!(sends_to_graph(&graph), 2, "500");
    assert_eq!(outbound(&app, "Third time lucky").await.0, "queued");
    app.make_jobs_due().await;
    app.run_pending_jobs().await;
    let (status, _, wamid) = outbound(&app, "Third time lucky").await;
    assert_eq!(status, "sent");
    assert_eq!(run_all_jobs(&app, 5).await, 0, "nothing left to send");
    assert_eq!(sends_to_graph(&graph), 3, "429, 500, then 200");
    assert_eq!(graph.sent().len(), 1);
    assert_eq!(wamid.as_deref(), Some(graph.sent()[0].wamid.as_str()));
}

#[tokio::test]
async fn a_permanent_error_stops_retrying_and_is_shown_in_words() {
    let graph = FakeGraph::start().await;
    graph.close_window(CUSTOMER);
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    reply(&owner, &conversation, "Are you still there?").await;
    app.run_pending_jobs().await;
    let (status, error, _) = outbound(&app, "Are you still there?").await;
    assert_eq!(status, "failed");
    let error = error.expect("a reason");
    assert!(
        error.contains("more than 24 hours") && error.contains("131047"),
        "{error}"
    );
    // Every backoff brought forward: no retry is left to run.
    assert_eq!(run_all_jobs(&app, 5).await, 0, "no retry queued");
    assert_eq!(sends_to_graph(&graph), 1, "not retried");
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("more than 24 hours"), "the agent reads why");
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_recorded_from_metas_report_and_not_sent_again() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    // Graph takes the message but answers after our 1 s timeout.
    graph.script_send_failures(
        NUMBER_ID,
        vec![crate::support::fake_graph::SendFailure::Delay(
            std::time::Duration::from_secs(3),
        )],
    );
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 1, 3).await).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    reply(&owner, &conversation, "Lost answer").await;
    // Graph has it; we do not know (the send times out after 1 s).
    app.run_pending_jobs().await;
    assert_eq!(graph.sent().len(), 1, "Graph took it");
    assert_eq!(
        outbound(&app, "Lost answer").await.0,
        "queued",
        "outcome unknown"
    );
    // Meta's report names our message: that records the send.
    let message_id: String =
        sqlx::query_scalar("select id::text from messages where body = 'Lost answer'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("id");
    let wamid = graph.sent()[0].wamid.clone();
    assert_eq!(
        graph.sent()[0].body["biz_opaque_callback_data"],
        message_id.as_str()
    );
    assert_eq!(
        deliver(
            &app,
            &sales.id,
            &status_report(&wamid, "delivered", Some(&message_id))
        )
        .await,
        200
    );
    let (status, _, provider_id) = outbound(&app, "Lost answer").await;
    assert_eq!(
        (status.as_str(), provider_id.as_deref()),
        ("delivered", Some(wamid.as_str()))
    );
    // Past the confirmation window (3 s), nothing was sent again.
    age_send_attempt(&app, "Lost answer", 4).await;
    run_all_jobs(&app, 5).await;
    assert_eq!(sends_to_graph(&graph), 1, "not sent again");
    assert_eq!(graph.sent().len(), 1, "sent once");
    assert_eq!(outbound(&app, "Lost answer").await.0, "delivered");
}

#[tokio::test]
async fn a_send_that_never_reached_graph_is_sent_after_the_confirmation_window() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 5, 2).await).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    // A worker that stopped after marking the send but before calling Graph:
    // the state it leaves (queued, marked), with its job due again.
    owner
        .post_form(
            &format!("/settings/channels/{}/enabled", sales.id),
            &[("enabled", "false")],
        )
        .await;
    let mut conn = app.admin_conn().await;
    reply(&owner, &conversation, "Interrupted").await;
    app.run_pending_jobs().await;
    let (status, _, _) = outbound(&app, "Interrupted").await;
    assert_eq!(status, "failed", "a disabled number sends nothing");
    assert_eq!(graph.sent().len(), 0);
    sqlx::query("update messages set status = 'queued', error = null, send_attempted_at = now() where body = 'Interrupted'")
        .execute(&mut conn)
        .await
        .expect("crash state");
    owner
        .post_form(
            &format!("/settings/channels/{}/enabled", sales.id),
            &[("enabled", "true")],
        )
        .await;
    let org: uuid::Uuid =
        sqlx::query_scalar("select org_id from messages where body = 'Interrupted'")
            .fetch_one(&mut conn)
            .await
            .expect("org");
    let id: uuid::Uuid = sqlx::query_scalar("select id from messages where body = 'Interrupted'")
        .fetch_one(&mut conn)
        .await
        .expect("id");
    let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&app.state.pool, org)
        .await
        .expect("tx");
    wacrm::infra::jobs::enqueue(
        tx.conn(),
        &app.state.secrets,
        &wacrm::features::inbox::outbound::SendMessage {
            org_id: org,
            message_id: id,
        },
    )
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    // Not at once: it waits for a report that could show Graph has it.
    assert_eq!(app.run_pending_jobs().await, 1, "the job ran");
    assert_eq!(graph.sent().len(), 0, "waits first");
    assert_eq!(outbound(&app, "Interrupted").await.0, "queued");
    // The window has passed without a report.
    age_send_attempt(&app, "Interrupted", 3).await;
    app.make_jobs_due().await;
    app.run_pending_jobs().await;
    let (status, _, _) = outbound(&app, "Interrupted").await;
    assert_eq!(status, "sent");
    assert_eq!(graph.sent().len(), 1, "sent once, after the window");
}

// ---- Media ------------------------------------------------------------------

pub(crate) fn media_message(wamid: &str, kind: &str, media_id: &str, mime: &str) -> Value {
    let mut message =
        json!({"from": CUSTOMER, "id": wamid, "timestamp": "1764200000", "type": kind});
    message[kind] = json!({"id": media_id, "mime_type": mime});
    envelope(
        NUMBER_ID,
        json!({"contacts": [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER}], "messages": [message]}),
    )
}

/// The message's media description once the fetch job is done with it:
/// runs the queue (on an app without a worker), retries included, until
/// every job has finished.
pub(crate) async fn fetched_media(app: &TestApp, wamid: &str) -> Value {
    run_all_jobs(app, 15).await;
    let media: Value =
        sqlx::query_scalar("select media from messages where provider_message_id = $1")
            .bind(wamid)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("media");
    assert!(
        media.get("url").is_some() || media.get("unavailable").is_some(),
        "never fetched: {media}"
    );
    media
}

#[tokio::test]
async fn media_is_fetched_in_the_background_stored_once_and_served_only_to_its_workspace() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let photo = b"\x89PNG\r\n\x1a\n not really a png, but bytes".to_vec();
    graph.add_media("2621233374848975", TOKEN, photo.clone(), "image/png");
    graph.add_media("2621233374848976", TOKEN, photo.clone(), "image/png");
    graph.add_media("777", TOKEN, b"%PDF-1.4".to_vec(), "application/pdf");
    graph.add_media("888", TOKEN, b"lost".to_vec(), "image/jpeg");
    graph.fail_media_download("888", 404);
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 5, 120).await).await;

    for (wamid, kind, id, mime) in [
        ("wamid.P1", "image", "2621233374848975", "image/png"),
        ("wamid.P2", "image", "2621233374848976", "image/png"),
        ("wamid.D", "document", "777", "application/pdf"),
        ("wamid.L", "image", "888", "image/jpeg"),
    ] {
        assert_eq!(
            deliver(&app, &sales.id, &media_message(wamid, kind, id, mime)).await,
            200
        );
    }
    let first = fetched_media(&app, "wamid.P1").await;
    let url = first["url"].as_str().expect("served from wacrm").to_owned();
    assert_eq!(first["mime_type"], "image/png");
    let response = owner.get(&url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), photo);
    // The same bytes twice are one file.
    let second = fetched_media(&app, "wamid.P2").await;
    assert_ne!(second["url"], first["url"]);
    let document = fetched_media(&app, "wamid.D").await;
    let rows = app
        .count("select count(*) from media where sha256 is not null")
        .await;
    let files = app
        .count("select count(distinct sha256) from media where sha256 is not null")
        .await;
    assert_eq!((rows, files), (3, 2), "the two photos are one file");
    let response = owner.get(document["url"].as_str().expect("url")).await;
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        disposition.starts_with("attachment"),
        "documents are downloaded: {disposition}"
    );
    // The token went along to both steps.
    let media_requests: Vec<_> = graph
        .requests()
        .into_iter()
        .filter(|r| {
            r.path_and_query.contains("2621233374848975")
                || r.path_and_query.contains("media-bytes")
        })
        .collect();
    assert!(media_requests.len() >= 2);
    assert!(
        media_requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );

    // A download that fails for good: shown as unavailable, the rest intact.
    let lost = fetched_media(&app, "wamid.L").await;
    assert!(lost.get("url").is_none());
    let conversation: String = sqlx::query_scalar(
        "select conversation_id::text from messages where provider_message_id = 'wamid.L'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("conversation");
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("[image: unavailable]"),
        "failed media says so"
    );
    assert!(page.contains(&url), "fetched media shown");

    // Another workspace: 404, not the file.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let response = other.get(&url).await;
    assert_eq!(response.status(), 404);
    assert_ne!(response.bytes().await.expect("bytes").to_vec(), photo);
}

#[tokio::test]
async fn hostile_files_from_the_cloud_api_are_kept_as_opaque_attachments() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let files = hostile_files();
    for (i, (_, claimed, bytes)) in files.iter().enumerate() {
        graph.add_media(&format!("66{i}"), TOKEN, bytes.clone(), claimed);
    }
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 5, 120).await).await;
    for (i, (_, claimed, _)) in files.iter().enumerate() {
        let kind = if claimed.starts_with("image/") {
            "image"
        } else {
            "document"
        };
        let message = media_message(&format!("wamid.H{i}"), kind, &format!("66{i}"), claimed);
        assert_eq!(deliver(&app, &sales.id, &message).await, 200);
    }
    for (i, (_, _, bytes)) in files.iter().enumerate() {
        let media = fetched_media(&app, &format!("wamid.H{i}")).await;
        let url = media["url"].as_str().expect("stored");
        assert!(
            !media["mime_type"]
                .as_str()
                .unwrap_or_default()
                .contains(','),
            "the stored type is one type: {media}"
        );
        assert_served_as_attachment(&owner, url, bytes).await;
    }
}

// ---- The 24-hour window and templates ---------------------------------------

#[tokio::test]
async fn outside_the_24_hour_window_only_approved_templates_are_offered_and_sent() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let mut templates: Vec<Value> = (0..30)
        .map(|i| json!({"name": format!("promo_{i:02}"), "language": "en_US", "status": "APPROVED", "category": "MARKETING", "id": format!("9{i}"),
            "components": [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Sale!"}]}))
        .collect();
    templates.push(json!({"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1",
        "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way."}]}));
    templates.push(json!({"name": "draft_one", "language": "en_US", "status": "PENDING", "category": "UTILITY", "id": "2",
        "components": [{"type": "BODY", "text": "Not yet"}]}));
    graph.add_templates(WABA_ID, TOKEN, templates);
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 5, 120).await).await;

    // Templates synced across Graph's pages.
    let response = owner
        .post_form(&format!("/settings/channels/{}/templates", sales.id), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert_eq!(
        page.matches("data-template=").count(),
        32,
        "all pages synced"
    );
    assert!(page.contains("32 templates synced"));
    let pages = graph
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("/message_templates"))
        .count();
    assert_eq!(pages, 2, "followed paging.next");

    // The customer last wrote 25 hours ago.
    let conversation =
        customer_writes_on_number(&app, &sales.id, ("wamid.OLD", "Hello?"), 25 * 3600).await;
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("data-window-closed"), "the composer knows");
    assert!(
        page.contains("order_update") && page.contains("value=\"Sheena\""),
        "approved, first name filled in"
    );
    assert!(!page.contains("draft_one"), "not approved");
    assert!(
        page.contains("promo_00") && page.contains("Header image (https link)"),
        "a header image is asked for"
    );

    // Free text is refused with the reason, and kept.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Still interested?")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(page.contains("more than 24 hours ago") && page.contains("Still interested?"));
    assert_eq!(graph.sent().len(), 0);

    // Bad template input.
    for fields in [
        vec![("name", "draft_one"), ("language", "en_US")],
        vec![
            ("name", "order_update"),
            ("language", "en_US"),
            ("values", "Sheena"),
        ],
        vec![
            ("name", "order_update"),
            ("language", "en_US"),
            ("values", "Sheena"),
            ("values", " "),
        ],
    ] {
        let response = owner
            .post_form(&format!("/inbox/{conversation}/template"), &fields)
            .await;
        assert_eq!(response.status(), 422, "{fields:?}");
    }
    // The template goes out, its variables filled.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/template"),
            &[
                ("name", "order_update"),
                ("language", "en_US"),
                ("values", "Sheena"),
                ("values", "A-17"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    let (status, _, _) = outbound(&app, "Hi Sheena, order A-17 is on its way.").await;
    assert_eq!(status, "sent");
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["type"], "template");
    assert_eq!(sent[0].body["template"]["name"], "order_update");
    assert_eq!(
        sent[0].body["template"]["components"][0]["parameters"][1]["text"],
        "A-17"
    );

    // The same through the JSON API: text refused, the template sent.
    let api = Api::new(&app, &owner).await;
    let path = format!("/conversations/{conversation}/messages");
    let (status, body) = api.post(&path, json!({"text": "Hello?"})).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("text:"),
        "{body}"
    );
    let short =
        json!({"template": {"name": "order_update", "language": "en_US", "variables": ["Sheena"]}});
    assert_eq!(api.post(&path, short).await.0, 422, "one variable short");
    let full = json!({"template": {"name": "order_update", "language": "en_US", "variables": ["Sheena", "B-2"]}});
    assert_eq!(api.post(&path, full).await.0, 202);
    app.run_pending_jobs().await;
    let (status, _, _) = outbound(&app, "Hi Sheena, order B-2 is on its way.").await;
    assert_eq!(status, "sent");

    // The customer answers: the window is open again, free text goes.
    let answer = text_from(CUSTOMER, "Sheena Nelson", "wamid.NEW", "Yes please");
    assert_eq!(deliver(&app, &sales.id, &answer).await, 200);
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(!page.contains("data-window-closed"));
    reply(&owner, &conversation, "Great, thanks!").await;
    app.run_pending_jobs().await;
    assert_eq!(outbound(&app, "Great, thanks!").await.0, "sent");

    // Another workspace cannot send on this conversation.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let response = other
        .post_form(
            &format!("/inbox/{conversation}/template"),
            &[
                ("name", "order_update"),
                ("language", "en_US"),
                ("values", "x"),
                ("values", "y"),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(graph.sent().len(), 3);
}

#[tokio::test]
async fn a_number_sends_no_faster_than_its_rate_across_instances() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let base = graph.base_url();
    let app = spawn_app_with(move |config| {
        config.whatsapp_graph_url = base.parse().expect("url");
        config.whatsapp_send_rate = 2;
    })
    .await;
    // A second instance works the same queue.
    let _second = app.second_instance().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let sales = connect(&owner, "Sales line", NUMBER_ID).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    let started = std::time::Instant::now();
    let texts: Vec<String> = (1..=6).map(|i| format!("Update {i}")).collect();
    for text in &texts {
        reply(&owner, &conversation, text).await;
    }
    for text in &texts {
        assert_eq!(
            settled(&app, text, std::time::Duration::from_secs(20))
                .await
                .0,
            "sent",
            "{text}"
        );
    }
    // Six at two a second take at least two more seconds after the first two.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let mut sent: Vec<String> = graph
        .sent()
        .iter()
        .map(|m| {
            m.body["text"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    sent.sort();
    assert_eq!(sent, texts, "each once");
}

#[tokio::test]
async fn numbers_are_connected_listed_and_deleted_through_the_api_and_only_in_their_workspace() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let api = Api::new(&app, &owner).await;
    let new = json!({"kind": "whatsapp_cloud", "name": "Sales line", "phone_number_id": NUMBER_ID,
        "waba_id": WABA_ID, "access_token": TOKEN, "app_secret": APP_SECRET});

    // Bad input names the field.
    for (field, value) in [
        ("kind", "sms"),
        ("phone_number_id", "12-34"),
        ("waba_id", ""),
        ("access_token", "short"),
        ("app_secret", ""),
        ("name", ""),
    ] {
        let mut input = new.clone();
        input[field] = json!(value);
        let (status, body) = api.post("/channels", input).await;
        assert_eq!(status, 422, "{field}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{field}:")),
            "{field}: {message}"
        );
    }

    let (status, created) = api.post("/channels", new.clone()).await;
    assert_eq!(status, 201);
    assert!(!created.to_string().contains(TOKEN) && !created.to_string().contains(APP_SECRET));
    let id = created["id"].as_str().expect("id").to_owned();
    let webhook = created["webhook_url"].as_str().expect("url");
    assert!(webhook.ends_with(&format!("/webhooks/whatsapp/{id}")));
    let verify_token = created["verify_token"].as_str().expect("verify token");
    let query = format!("hub.mode=subscribe&hub.challenge=42&hub.verify_token={verify_token}");
    assert_eq!(handshake(&app, &id, &query).await, (200, "42".to_owned()));
    assert_eq!(api.post("/channels", new).await.0, 409);

    let (_, listed) = api.get("/channels").await;
    let channels = listed.as_array().expect("array");
    let ours = channels
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("listed");
    assert_eq!(ours["kind"], "whatsapp_cloud");
    assert_eq!(ours["phone_number_id"], NUMBER_ID);
    assert_eq!(ours["enabled"], true);
    assert!(ours.get("access_token").is_none() && ours.get("verify_token").is_none());

    // Another workspace's token: 404 for this channel, none of it listed.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let theirs = Api::new(&app, &other).await;
    assert_eq!(theirs.get(&format!("/channels/{id}")).await.0, 404);
    assert_eq!(theirs.delete(&format!("/channels/{id}")).await.0, 404);
    assert!(!theirs.get("/channels").await.1.to_string().contains(&id));

    // The sandbox stays; the number goes with its callback.
    customer_writes(&owner, "Ana", "+4930901820", "Hi").await;
    let (_, listed) = api.get("/channels").await;
    let sandbox = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["kind"] == "sandbox")
        .expect("sandbox listed")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(api.delete(&format!("/channels/{sandbox}")).await.0, 422);
    assert_eq!(api.delete(&format!("/channels/{id}")).await.0, 204);
    assert_eq!(handshake(&app, &id, &query).await.0, 403);
    assert_eq!(api.get(&format!("/channels/{id}")).await.0, 404);
}

#[tokio::test]
async fn concurrent_deliveries_for_the_same_customers_all_succeed_once() {
    let (app, _owner, sales) = with_number(spawn_app().await).await;
    // Four deliveries, each from the same 30 customers, in different orders.
    let customers: Vec<String> = (0..30).map(|i| format!("4915100000{i:03}")).collect();
    let deliveries: Vec<Value> = (0..4)
        .map(|d| {
            let mut order = customers.clone();
            if d % 2 == 1 {
                order.reverse();
            }
            order.rotate_left(d * 7);
            let messages: Vec<Value> = order
                .iter()
                .map(|wa| json!({"from": wa, "id": format!("wamid.{d}.{wa}"), "timestamp": seconds_ago(5), "type": "text", "text": {"body": format!("hi {d}")}}))
                .collect();
            let contacts: Vec<Value> = order
                .iter()
                .map(|wa| json!({"profile": {"name": format!("Customer {wa}")}, "wa_id": wa}))
                .collect();
            envelope(NUMBER_ID, json!({"contacts": contacts, "messages": messages}))
        })
        .collect();
    let statuses = futures_join(&app, &sales.id, &deliveries).await;
    assert_eq!(statuses, vec![200; 4], "none refused (no deadlock)");
    assert_eq!(messages_on(&app, &sales.id).await.len(), 120);
    assert_eq!(app.count("select count(*) from contacts").await, 30);
    assert_eq!(app.count("select count(*) from conversations").await, 30);
}

/// Sends the deliveries at the same time; their statuses in order.
async fn futures_join(app: &TestApp, channel: &str, deliveries: &[Value]) -> Vec<u16> {
    let mut tasks = Vec::new();
    for delivery in deliveries {
        let base = app.base.clone();
        let channel = channel.to_owned();
        let body = delivery.to_string().into_bytes();
        tasks.push(tokio::spawn(async move {
            let signed = signature::sign(APP_SECRET.as_bytes(), &body);
            reqwest::Client::new()
                .post(format!("{base}/webhooks/whatsapp/{channel}"))
                .header("X-Hub-Signature-256", signed)
                .body(body)
                .send()
                .await
                .expect("POST")
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    statuses
}

#[tokio::test]
async fn a_delivery_of_many_messages_is_stored_as_a_set_with_each_conversation_summed_up() {
    let (app, _owner, sales) = with_number(spawn_app().await).await;
    // Known beforehand: a blocked customer, and one whose conversation is resolved.
    let setup = envelope(
        NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": "Blocked Bob"}, "wa_id": "16505550101"},
                         {"profile": {"name": "Resolved Rita"}, "wa_id": "16505550102"}],
            "messages": [
                {"from": "16505550101", "id": "wamid.setup.1", "timestamp": seconds_ago(600), "type": "text", "text": {"body": "first"}},
                {"from": "16505550102", "id": "wamid.setup.2", "timestamp": seconds_ago(600), "type": "text", "text": {"body": "old question"}}
            ]
        }),
    );
    assert_eq!(deliver(&app, &sales.id, &setup).await, 200);
    let mut admin = app.admin_conn().await;
    sqlx::query("update contacts set blocked = true where phone = '+16505550101'")
        .execute(&mut admin)
        .await
        .expect("block");
    sqlx::query(
        "update conversations set status = 'resolved' where contact_id = \
         (select id from contacts where phone = '+16505550102')",
    )
    .execute(&mut admin)
    .await
    .expect("resolve");

    // Out of time order, an id twice, a blocked sender, a known id again.
    let delivery = envelope(
        NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": "New Nina"}, "wa_id": "16505550103"}],
            "messages": [
                {"from": "16505550103", "id": "wamid.n.2", "timestamp": seconds_ago(10), "type": "text", "text": {"body": "second from Nina"}},
                {"from": "16505550101", "id": "wamid.b.1", "timestamp": seconds_ago(30), "type": "text", "text": {"body": "dropped"}},
                {"from": "16505550103", "id": "wamid.n.1", "timestamp": seconds_ago(20), "type": "text", "text": {"body": "first from Nina"}},
                {"from": "16505550102", "id": "wamid.r.1", "timestamp": seconds_ago(15), "type": "text", "text": {"body": "back again"}},
                {"from": "16505550103", "id": "wamid.n.2", "timestamp": seconds_ago(10), "type": "text", "text": {"body": "second from Nina"}},
                {"from": "16505550102", "id": "wamid.setup.2", "timestamp": seconds_ago(600), "type": "text", "text": {"body": "old question"}}
            ]
        }),
    );
    for _ in 0..2 {
        assert_eq!(deliver(&app, &sales.id, &delivery).await, 200);
    }
    let bodies: Vec<String> = messages_on(&app, &sales.id)
        .await
        .into_iter()
        .map(|(_, body, _)| body)
        .collect();
    assert_eq!(
        bodies,
        [
            "first",
            "old question",
            "first from Nina",
            "back again",
            "second from Nina"
        ],
        "stored once each, in time order, the blocked customer's dropped"
    );
    let conversations: Vec<(String, String, i64, String)> = sqlx::query_as(
        "select k.name, c.status, c.inbound_count::bigint, c.last_message_preview \
         from conversations c join contacts k on k.id = c.contact_id order by k.name, c.created_at",
    )
    .fetch_all(&mut admin)
    .await
    .expect("conversations");
    assert_eq!(
        conversations,
        [
            ("Blocked Bob".into(), "open".into(), 1, "first".into()),
            (
                "New Nina".into(),
                "open".into(),
                2,
                "second from Nina".into()
            ),
            (
                "Resolved Rita".into(),
                "resolved".into(),
                1,
                "old question".into()
            ),
            (
                "Resolved Rita".into(),
                "open".into(),
                1,
                "back again".into()
            ),
        ],
        "a resolved conversation stays closed and a new one opens; counts and previews per conversation"
    );
    // The new conversation began with its first message, not its arrival.
    let opened_with_first: bool = sqlx::query_scalar(
        "select bool_and(c.last_inbound_at = m.created_at) from conversations c \
         join messages m on m.conversation_id = c.id and m.body = 'second from Nina'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("times");
    assert!(
        opened_with_first,
        "last inbound time is the latest message's"
    );
}

#[tokio::test]
async fn the_same_large_delivery_sent_concurrently_is_stored_once() {
    let (app, _owner, sales) = with_number(spawn_app().await).await;
    let messages: Vec<Value> = (0..100)
        .map(|i| json!({"from": format!("3161200{:04}", i % 37), "id": format!("wamid.big.{i}"), "timestamp": seconds_ago(100 - i), "type": "text", "text": {"body": format!("message {i}")}}))
        .collect();
    let contacts: Vec<Value> = (0..37)
        .map(|i| json!({"profile": {"name": format!("Customer {i}")}, "wa_id": format!("3161200{i:04}")}))
        .collect();
    let delivery = envelope(
        NUMBER_ID,
        json!({"contacts": contacts, "messages": messages}),
    );
    let statuses = futures_join(&app, &sales.id, &vec![delivery; 4]).await;
    assert_eq!(statuses, vec![200; 4], "none refused");
    assert_eq!(messages_on(&app, &sales.id).await.len(), 100);
    assert_eq!(app.count("select count(*) from conversations").await, 37);
    assert_eq!(
        app.count("select sum(inbound_count)::bigint from conversations")
            .await,
        100,
        "each message counted once"
    );
}

/// A tiny valid PNG's first bytes (all wacrm checks is the signature).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

/// Our message id of a provider id.
async fn message_id(app: &TestApp, wamid: &str) -> String {
    sqlx::query_scalar("select id::text from messages where provider_message_id = $1")
        .bind(wamid)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("message")
}

/// Runs the queued sends (on an app without a worker); what Graph has
/// taken, which must be `n` messages.
async fn graph_sent(
    app: &TestApp,
    graph: &FakeGraph,
    n: usize,
) -> Vec<crate::support::fake_graph::SentMessage> {
    app.run_pending_jobs().await;
    let sent = graph.sent();
    assert_eq!(sent.len(), n, "Graph took {n}: {sent:?}");
    sent
}

#[tokio::test]
async fn replies_quote_reactions_point_and_files_are_uploaded_then_sent() {
    let graph = FakeGraph::start().await;
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    let hello = message_id(&app, "wamid.HELLO").await;

    // The composer offers to quote it; the reply carries WhatsApp's context.
    let (status, page) = owner
        .page(&format!("/inbox/{conversation}?reply_to={hello}"))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Replying to") && page.contains(&format!("value=\"{hello}\"")));
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Sure, what is it?"), ("reply_to", &hello)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let sent = graph_sent(&app, &graph, 1).await;
    assert_eq!(sent[0].body["context"]["message_id"], "wamid.HELLO");
    assert_eq!(sent[0].body["text"]["body"], "Sure, what is it?");

    // A reaction names the message, with no context of its own.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/reactions"),
            &[("message_id", &hello), ("emoji", "👍")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let sent = graph_sent(&app, &graph, 2).await;
    assert_eq!(sent[1].body["type"], "reaction");
    assert_eq!(
        sent[1].body["reaction"],
        json!({"message_id": "wamid.HELLO", "emoji": "👍"})
    );
    assert!(sent[1].body.get("context").is_none());

    // A file: uploaded to the number, then sent by its media id.
    let response = owner
        .attach(
            &conversation,
            ("photo.png", "image/png", PNG),
            "Here is the part",
            Some(&hello),
        )
        .await;
    assert_eq!(response.status(), 303);
    let sent = graph_sent(&app, &graph, 3).await;
    let uploaded = graph.uploaded();
    assert_eq!(uploaded.len(), 1);
    assert_eq!(
        (uploaded[0].mime_type.as_str(), uploaded[0].bytes.as_slice()),
        ("image/png", PNG)
    );
    assert_eq!(sent[2].body["type"], "image");
    assert_eq!(sent[2].body["image"]["id"], uploaded[0].id.as_str());
    assert_eq!(sent[2].body["image"]["caption"], "Here is the part");
    assert_eq!(sent[2].body["context"]["message_id"], "wamid.HELLO");

    // The conversation shows the quote, the reaction and the image.
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("<blockquote class=\"quote\">Hi, I need help</blockquote>"));
    assert!(page.contains("Reacted 👍 to “Hi, I need help”"), "{page}");
    assert!(page.contains("<img class=\"media\" src=\"/media/"));

    // A customer quoting our reply is linked to it.
    let ours = graph.sent()[0].wamid.clone();
    let mut quoting = text_from(CUSTOMER, "Sheena Nelson", "wamid.QUOTE", "The blue one");
    quoting["entry"][0]["changes"][0]["value"]["messages"][0]["context"] =
        json!({"from": "15550783881", "id": ours});
    assert_eq!(deliver(&app, &sales.id, &quoting).await, 200);
    let linked: Option<String> = sqlx::query_scalar(
        "select q.body from messages m join messages q on q.id = m.reply_to_id \
         where m.provider_message_id = 'wamid.QUOTE'",
    )
    .fetch_optional(&mut app.admin_conn().await)
    .await
    .expect("quote");
    assert_eq!(linked.as_deref(), Some("Sure, what is it?"));
}

#[tokio::test]
async fn a_big_file_may_take_longer_to_upload_than_an_api_call_may_take() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    // API calls time out after 1 s; this upload takes 3 s.
    graph.delay_uploads(std::time::Duration::from_secs(3));
    let (app, owner, sales) = with_number(app_with_graph(&graph, 1, 120).await).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    let mut big = PNG.to_vec();
    big.resize(4 * 1024 * 1024, 0);
    let response = owner
        .attach(
            &conversation,
            ("plan.png", "image/png", &big),
            "The floor plan",
            None,
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, error, _) =
        settled(&app, "The floor plan", std::time::Duration::from_secs(20)).await;
    assert_eq!((status.as_str(), error), ("sent", None));
    assert_eq!(
        graph.uploaded().len(),
        1,
        "uploaded once, not cut off and retried"
    );
    assert_eq!(graph.uploaded()[0].bytes.len(), big.len());
}

#[tokio::test]
async fn bad_files_reactions_and_quotes_are_refused_and_nothing_is_sent() {
    let graph = FakeGraph::start().await;
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    let hello = message_id(&app, "wamid.HELLO").await;

    let exe = owner
        .attach(
            &conversation,
            ("setup.exe", "application/x-msdownload", b"MZ\x90\0\x03"),
            "",
            None,
        )
        .await;
    assert_eq!(exe.status(), 422);
    assert!(
        exe.text()
            .await
            .expect("body")
            .contains("does not take this kind of file")
    );
    let audio_caption = owner
        .attach(
            &conversation,
            ("note.ogg", "audio/ogg", b"OggS\0\x02\0\0"),
            "listen",
            None,
        )
        .await;
    assert_eq!(audio_caption.status(), 422);
    let not_emoji = owner
        .post_form(
            &format!("/inbox/{conversation}/reactions"),
            &[("message_id", &hello), ("emoji", "lol")],
        )
        .await;
    assert_eq!(not_emoji.status(), 422);
    let bad_id = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "hi"), ("reply_to", "not-an-id")],
        )
        .await;
    assert_eq!(bad_id.status(), 400);
    // A note cannot be quoted (it never reached WhatsApp).
    let note = owner
        .post_form(&format!("/inbox/{conversation}/notes"), &[("text", "VIP")])
        .await;
    assert_eq!(note.status(), 303);
    let note_id: String =
        sqlx::query_scalar("select id::text from messages where body = 'VIP' and private")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("note");
    let quoting_note = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "hi"), ("reply_to", &note_id)],
        )
        .await;
    assert_eq!(quoting_note.status(), 404);

    // Another workspace can neither quote, react to nor attach to it.
    let other = app.sign_up("Mallory", "mallory@evil.test", "Evil").await;
    let theirs = connect(&other, "Their line", "999000111").await;
    let mut hi = text_from("4915112345678", "Eve", "wamid.EVE", "hello");
    hi["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999000111");
    assert_eq!(deliver(&app, &theirs.id, &hi).await, 200);
    let their_conversation: String = sqlx::query_scalar(
        "select conversation_id::text from messages where provider_message_id = 'wamid.EVE'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("their conversation");
    let cross_quote = other
        .post_form(
            &format!("/inbox/{their_conversation}/messages"),
            &[("text", "hi"), ("reply_to", &hello)],
        )
        .await;
    assert_eq!(
        cross_quote.status(),
        404,
        "our message is not theirs to quote"
    );
    let cross_react = other
        .post_form(
            &format!("/inbox/{conversation}/reactions"),
            &[("message_id", &hello), ("emoji", "👍")],
        )
        .await;
    assert_eq!(cross_react.status(), 404);
    let cross_attach = other
        .attach(&conversation, ("photo.png", "image/png", PNG), "", None)
        .await;
    assert_eq!(cross_attach.status(), 404);
    // Whatever was queued has run, retries included.
    run_all_jobs(&app, 5).await;
    assert!(graph.sent().is_empty(), "nothing was sent");
    assert!(graph.uploaded().is_empty(), "nothing was uploaded");
}

#[tokio::test]
async fn the_api_uploads_a_file_then_sends_it_reacts_and_quotes() {
    let graph = FakeGraph::start().await;
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    let hello = message_id(&app, "wamid.HELLO").await;
    let api = Api::new(&app, &owner).await;

    let part = reqwest::multipart::Part::bytes(b"%PDF-1.7\n%fake\n".to_vec())
        .file_name("quote.pdf")
        .mime_str("application/pdf")
        .expect("mime");
    let (status, stored) = api
        .post_multipart("/media", reqwest::multipart::Form::new().part("file", part))
        .await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["kind"], "document");
    let (status, body) = api
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"media": {"id": stored["id"], "caption": "Your quote"}, "reply_to": hello}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["kind"], "document");
    assert_eq!(body["reply_to_id"], hello.as_str());
    let sent = graph_sent(&app, &graph, 1).await;
    assert_eq!(sent[0].body["document"]["filename"], "quote.pdf");
    assert_eq!(sent[0].body["document"]["caption"], "Your quote");
    assert_eq!(graph.uploaded()[0].bytes, b"%PDF-1.7\n%fake\n");

    let (status, body) = api
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"reaction": {"message_id": hello, "emoji": "🙏"}}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let sent = graph_sent(&app, &graph, 2).await;
    assert_eq!(sent[1].body["reaction"]["emoji"], "🙏");

    // Bad input names the field; nothing more is sent.
    for (request, field) in [
        (
            json!({"text": "hi", "reaction": {"message_id": hello, "emoji": "👍"}}),
            "text",
        ),
        (
            json!({"reaction": {"message_id": hello, "emoji": "ok"}}),
            "reaction",
        ),
        (json!({"media": {"id": uuid::Uuid::now_v7()}}), "media"),
        (
            json!({"text": "hi", "reply_to": uuid::Uuid::now_v7()}),
            "reply_to",
        ),
    ] {
        let (status, body) = api
            .post(&format!("/conversations/{conversation}/messages"), request)
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{body}"
        );
    }
    let exe = reqwest::multipart::Part::bytes(b"MZ\x90\0".to_vec())
        .file_name("a.exe")
        .mime_str("application/octet-stream")
        .expect("mime");
    let (status, _) = api
        .post_multipart("/media", reqwest::multipart::Form::new().part("file", exe))
        .await;
    assert_eq!(status, 422);
    let (status, body) = api
        .send(
            reqwest::Client::new()
                .post(format!("{}/api/v1/media", app.base))
                .json(&json!({"file": "not an upload"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // The stored file is the workspace's: served to its members only, and
    // another workspace can send it neither in our conversation nor in theirs.
    let file_url = format!("/media/{}", stored["id"].as_str().unwrap_or_default());
    assert_eq!(owner.get(&file_url).await.status(), 200);
    let other = app.sign_up("Mallory", "mallory@evil.test", "Evil").await;
    assert_eq!(other.get(&file_url).await.status(), 404);
    let theirs = Api::new(&app, &other).await;
    let (status, _) = theirs
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"media": {"id": stored["id"]}}),
        )
        .await;
    assert_eq!(status, 404);
    let their_number = connect(&other, "Their line", "999000111").await;
    let mut hi = text_from("4915112345678", "Eve", "wamid.EVE", "hello");
    hi["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999000111");
    assert_eq!(deliver(&app, &their_number.id, &hi).await, 200);
    let their_conversation: String = sqlx::query_scalar(
        "select conversation_id::text from messages where provider_message_id = 'wamid.EVE'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("their conversation");
    let (status, body) = theirs
        .post(
            &format!("/conversations/{their_conversation}/messages"),
            json!({"media": {"id": stored["id"]}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("media"),
        "{body}"
    );
    // Whatever was queued has run, retries included.
    run_all_jobs(&app, 5).await;
    assert_eq!(graph.sent().len(), 2);
}

#[tokio::test]
async fn replies_leave_in_the_order_they_were_written_even_when_the_first_is_retried() {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    // The first send fails (500) and is retried after its backoff.
    graph.script_send_failures(
        NUMBER_ID,
        vec![crate::support::fake_graph::SendFailure::Http(500)],
    );
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 5, 120).await).await;
    let conversation = customer_writes_in(&app, &sales.id).await;
    reply(&owner, &conversation, "First").await;
    reply(&owner, &conversation, "Second").await;
    reply(&owner, &conversation, "Third").await;
    // The first try fails; the others wait for it rather than overtake it.
    app.run_pending_jobs().await;
    assert_eq!(sends_to_graph(&graph), 1, "only the first was tried");
    assert!(graph.sent().is_empty());
    run_all_jobs(&app, 10).await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 3, "{sent:?}");
    let bodies: Vec<&str> = sent
        .iter()
        .map(|s| s.body["text"]["body"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(bodies, ["First", "Second", "Third"]);
    assert!(
        graph.requests().len() > 3,
        "the first send was tried, refused and sent again"
    );
}

/// On a Cloud API number, a message that arrives after the 24-hour window
/// closed (a late delivery): a rule sends its template instead of its text,
/// and the bot stays out; a fresh message gets the rule's text and the
/// bot's answer.
#[tokio::test]
async fn rules_fall_back_to_their_template_and_the_bot_keeps_to_the_24_hour_window() {
    use crate::support::fake_openai::{FakeOpenAi, Next};
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    graph.add_templates(
        WABA_ID,
        TOKEN,
        vec![json!({"name": "we_are_back", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "7",
            "components": [{"type": "BODY", "text": "Hi {{1}}, we saw your message and will answer here."}]})],
    );
    let ai = FakeOpenAi::start().await;
    // No worker: the test runs the rule's, the bot's and the send jobs.
    let app = spawn_app_without_worker_with(|config| {
        config.whatsapp_graph_url = graph.base_url().parse().expect("url");
        ai.configure(config);
    })
    .await;
    let (app, owner, sales) = with_number(app).await;
    let org = app.org_id("Acme").await;
    let synced = owner
        .post_form(&format!("/settings/channels/{}/templates", sales.id), &[])
        .await;
    assert_eq!(synced.status(), 303);
    assert_eq!(
        owner
            .post_form("/settings/ai", &[("enabled", "on")])
            .await
            .status(),
        303
    );
    let bot = owner
        .post_form(
            &format!("/settings/bot/{}", sales.id),
            &[
                ("mode", "always"),
                ("max_turns", "3"),
                ("handover_message", "A person will answer."),
            ],
        )
        .await;
    assert_eq!(bot.status(), 303);
    let article = owner
        .post_form(
            "/knowledge",
            &[
                ("title", "Shipping"),
                ("body", "We ship to Recife in 3 days."),
            ],
        )
        .await;
    assert_eq!(article.status(), 303);
    create_rule(
        &app,
        &owner,
        &[
            ("name", "Acknowledge"),
            ("trigger", "message_received"),
            ("send_text", "Thanks {{first_name}}!"),
            ("template_name", "we_are_back"),
            ("template_language", "en_US"),
            ("template_values", "{{first_name}}"),
        ],
    )
    .await;

    // Written 25 hours ago, delivered now: the window is closed.
    let late = text_at(
        CUSTOMER,
        "Sheena Nelson",
        "wamid.LATE",
        "Do you ship to Recife?",
        &seconds_ago(25 * 3600),
    );
    assert_eq!(deliver(&app, &sales.id, &late).await, 200);
    run_all_jobs(&app, 10).await;
    let (status, _, _) =
        outbound(&app, "Hi Sheena, we saw your message and will answer here.").await;
    assert_eq!(status, "sent", "the template went out");
    assert_eq!(
        app.count("select count(*) from bot_runs").await,
        1,
        "the bot's run"
    );
    let run: (String, String) = sqlx::query_as("select outcome, reason from bot_runs")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("run");
    assert_eq!(
        run,
        (
            "skipped".into(),
            "WhatsApp's 24-hour window is closed".into()
        )
    );
    assert!(ai.received().is_empty(), "the model was not asked");
    let template_sent = graph
        .sent()
        .iter()
        .any(|s| s.body["type"] == "template" && s.body["template"]["name"] == "we_are_back");
    assert!(template_sent);

    // Written now: the rule's text and the bot's answer.
    ai.then(Next::Answer("Yes, in 3 days.".into()));
    let fresh = text_from(
        CUSTOMER,
        "Sheena Nelson",
        "wamid.FRESH",
        "Do you ship to Recife?",
    );
    assert_eq!(deliver(&app, &sales.id, &fresh).await, 200);
    run_all_jobs(&app, 10).await;
    let (status, _, _) = outbound(&app, "Thanks Sheena!").await;
    assert_eq!(status, "sent");
    let (status, _, _) = outbound(&app, "🤖 Yes, in 3 days.").await;
    assert_eq!(status, "sent");
    let automated: i64 = sqlx::query_scalar(
        "select count(*) from messages where org_id = $1 and automated and direction = 'out'",
    )
    .bind(org)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("count");
    assert_eq!(automated, 3, "template, text, bot answer");
}
