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

// ---- Referrals: the ad or product a customer came from ----------------------

/// The conversation a stored message is in.
async fn conversation_of(app: &TestApp, wamid: &str) -> String {
    sqlx::query_scalar("select conversation_id::text from messages where provider_message_id = $1")
        .bind(wamid)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("stored")
}

fn from_customer(wa_id: &str, message: Value) -> Value {
    envelope(
        NUMBER_ID,
        json!({"contacts": [{"profile": {"name": "Sheena"}, "wa_id": wa_id}], "messages": [message]}),
    )
}

#[tokio::test]
async fn the_ad_or_product_a_customer_came_from_is_kept_on_the_conversation_and_shown_safely() {
    let (app, owner, sales) = with_number(spawn_app_without_worker().await).await;
    let mut first = text("wamid.AD1", "Is this still available?");
    first["referral"] = json!({
        "source_url": "https://fb.me/2ZulEu42P?a=1&b=\"onmouseover=\"alert(1)",
        "source_id": "2406", "source_type": "ad",
        "headline": "<script>alert('ad')</script> Summer sale", "body": "50% off",
        "media_type": "image", "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ",
    });
    // Later messages name another ad and, for the first time, a product.
    let mut second = text("wamid.AD2", "And this one?");
    second["referral"] = json!({"source_url": "https://fb.me/other", "headline": "Winter sale", "source_type": "ad"});
    second["context"] = json!({"from": "15550783881", "id": "wamid.CATALOG",
        "referred_product": {"catalog_id": "1537", "product_retailer_id": "SKU-<b>42</b>"}});
    let mut third = text("wamid.AD3", "Or that?");
    third["context"] = json!({"from": "15550783881", "id": "wamid.CATALOG",
        "referred_product": {"catalog_id": "1537", "product_retailer_id": "SKU-99"}});
    assert_eq!(
        deliver(&app, &sales.id, &delivery_of(json!([first, second]))).await,
        200
    );
    assert_eq!(
        deliver(&app, &sales.id, &delivery_of(json!([third]))).await,
        200
    );

    let conversation = conversation_of(&app, "wamid.AD1").await;
    assert_eq!(conversation_of(&app, "wamid.AD3").await, conversation);
    let stored: Value =
        sqlx::query_scalar("select referral from conversations where id = $1::uuid")
            .bind(&conversation)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("referral");
    assert_eq!(
        stored["ad"]["source_id"], "2406",
        "the first ad is kept: {stored}"
    );
    assert_eq!(stored["ad"]["ctwa_clid"], "ARAkLkA8rmlFeiCktEJQ");
    assert_eq!(stored["product"]["product_retailer_id"], "SKU-<b>42</b>");

    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Came from ad: <a href=\"https://fb.me/2ZulEu42P?a=1&#38;b=&#34;onmouseover=&#34;alert(1)\" target=\"_blank\" rel=\"noopener noreferrer\">&#60;script&#62;alert(&#39;ad&#39;)&#60;/script&#62; Summer sale</a>"), "{}", between(&page, "Came from", "</p>"));
    assert!(page.contains("Asked about product SKU-&#60;b&#62;42&#60;/b&#62;"));
    assert!(!page.contains("<script>alert('ad')") && !page.contains("<b>42"));
    assert!(
        !page.contains("Winter sale") && !page.contains("SKU-99"),
        "the first ones stay"
    );

    // A URL that is not http(s) is never a link; a long headline is cut.
    let mut hostile = json!({"from": "5511912345678", "id": "wamid.JS", "timestamp": "1764200000",
        "type": "text", "text": {"body": "hi"}});
    hostile["referral"] =
        json!({"source_url": "javascript:alert(document.cookie)", "headline": "X".repeat(5000)});
    assert_eq!(
        deliver(&app, &sales.id, &from_customer("5511912345678", hostile)).await,
        200
    );
    let other_conversation = conversation_of(&app, "wamid.JS").await;
    let (status, page) = owner.page(&format!("/inbox/{other_conversation}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("Came from ad: {}</p>", "X".repeat(300))),
        "shown as text, cut at 300"
    );
    assert!(!page.contains("javascript:") && !page.contains(&"X".repeat(301)));
    // A conversation without a referral says nothing of one.
    let mut plain = text("wamid.PLAIN", "hello");
    plain["from"] = json!("5511912345679");
    assert_eq!(
        deliver(&app, &sales.id, &from_customer("5511912345679", plain)).await,
        200
    );
    let (_, page) = owner
        .page(&format!(
            "/inbox/{}",
            conversation_of(&app, "wamid.PLAIN").await
        ))
        .await;
    assert!(!page.contains("Came from ad") && !page.contains("Asked about product"));

    // Another workspace: the conversation is not found, the ad not shown.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let (status, page) = other.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 404);
    assert!(!page.contains("Summer sale") && !page.contains("SKU-"));
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let Some(from) = html.find(start) else {
        return "(not on the page)";
    };
    &html[from..from + html[from..].find(end).unwrap_or(html.len() - from)]
}

// ---- Button and list replies ------------------------------------------------

#[tokio::test]
async fn button_and_list_replies_are_the_customers_words_for_the_inbox_and_automations() {
    let (app, owner, sales) = with_number(spawn_app_without_worker().await).await;
    let org = app.org_id("Acme").await;
    let rule = owner
        .post_form(
            "/automations",
            &[
                ("name", "Sales leads"),
                ("trigger", "keywords"),
                ("keywords", "talk to sales"),
                ("set_priority", "urgent"),
            ],
        )
        .await;
    assert_eq!(rule.status(), 303);
    let rule_id: uuid::Uuid = sqlx::query_scalar(
        "select id from automation_rules where org_id = $1 and name = 'Sales leads'",
    )
    .bind(org)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("rule");
    let on = owner
        .post_form(
            &format!("/automations/{rule_id}/enabled"),
            &[("enabled", "on")],
        )
        .await;
    assert_eq!(on.status(), 303);

    let reply = |wamid: &str, kind: &str, content: Value| {
        let mut m = json!({"from": CUSTOMER, "id": wamid, "timestamp": "1764200000", "type": kind,
            "context": {"from": "15550783881", "id": "wamid.OURMENU"}});
        m[kind] = content;
        m
    };
    let delivery = delivery_of(json!([
        reply(
            "wamid.BTN",
            "interactive",
            json!({"type": "button_reply", "button_reply": {"id": "sales-42", "title": "Talk to sales"}})
        ),
        reply(
            "wamid.LIST",
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "ship_express", "title": "Express", "description": "Next day"}})
        ),
        reply(
            "wamid.TPL",
            "button",
            json!({"payload": "SEND_CATALOG", "text": "Send the catalog"})
        ),
    ]));
    assert_eq!(deliver(&app, &sales.id, &delivery).await, 200);
    let stored: Vec<(String, String)> = messages_on(&app, &sales.id)
        .await
        .into_iter()
        .map(|(kind, body, _)| (kind, body))
        .collect();
    let expected: Vec<(String, String)> = [
        ("interactive", "Talk to sales"),
        ("interactive", "Express"),
        ("interactive", "Send the catalog"),
    ]
    .iter()
    .map(|(k, b)| ((*k).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(stored, expected);
    let (button, list, template, direction): (Value, Value, Value, String) = sqlx::query_as(
        "select (select raw from messages where provider_message_id = 'wamid.BTN'), \
                (select raw from messages where provider_message_id = 'wamid.LIST'), \
                (select raw from messages where provider_message_id = 'wamid.TPL'), \
                (select direction from messages where provider_message_id = 'wamid.BTN')",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("raw");
    assert_eq!(direction, "in", "the customer's message");
    assert_eq!(button["interactive"]["button_reply"]["id"], "sales-42");
    assert_eq!(list["interactive"]["list_reply"]["id"], "ship_express");
    assert_eq!(template["button"]["payload"], "SEND_CATALOG");

    // The rule matching on words saw the button's title.
    app.run_pending_jobs().await;
    let conversation = conversation_of(&app, "wamid.BTN").await;
    let priority: String =
        sqlx::query_scalar("select priority from conversations where id = $1::uuid")
            .bind(&conversation)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("priority");
    assert_eq!(priority, "urgent");
    // The conversation shows what was chosen.
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    for chosen in ["Talk to sales", "Express", "Send the catalog"] {
        assert!(
            page.contains(&format!("<p class=\"body\">{chosen}</p>")),
            "{chosen}"
        );
    }
}

#[tokio::test]
async fn opening_a_conversation_marks_the_newest_customer_message_read_on_graph() {
    use crate::support::fake_graph::FakeGraph;
    use crate::whatsapp::{TOKEN, app_with_graph_on_demand};
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let (app, owner, sales) = with_number(app_with_graph_on_demand(&graph, 5, 120).await).await;
    let mut later = text("wamid.READ2", "Anyone there?");
    later["timestamp"] = json!("1764200060");
    let delivery = delivery_of(json!([text("wamid.READ1", "Hello"), later]));
    assert_eq!(deliver(&app, &sales.id, &delivery).await, 200);
    let conversation = conversation_of(&app, "wamid.READ1").await;
    let reads = |graph: &FakeGraph| -> Vec<Value> {
        graph
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/messages"))
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter(|b| b["status"] == "read")
            .collect()
    };
    let (status, _) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    app.run_pending_jobs().await;
    let sent = reads(&graph);
    assert_eq!(sent.len(), 1, "one call marks the chat");
    assert_eq!(sent[0]["message_id"], "wamid.READ2", "the newest message");
    assert_eq!(sent[0]["messaging_product"], "whatsapp");
    owner.page(&format!("/inbox/{conversation}")).await;
    app.run_pending_jobs().await;
    assert_eq!(reads(&graph).len(), 1, "nothing new, nothing sent");
}

// ---- Business-scoped user ids: customers whose number is hidden -------------

#[tokio::test]
async fn a_customer_known_by_their_business_scoped_id_alone_is_one_contact_once_their_number_shows()
{
    let (app, owner, sales) = with_number(spawn_app_without_worker().await).await;
    let bsuid = "US.13491208655302741918";
    let hidden = envelope(
        NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": "Ana"}, "user_id": bsuid}],
            "messages": [{"from_user_id": bsuid, "id": "wamid.BS1", "timestamp": "1764200000",
                          "type": "text", "text": {"body": "Hi, my number is hidden"}}]
        }),
    );
    assert_eq!(deliver(&app, &sales.id, &hidden).await, 200);
    let contact: (String, String, Option<String>, Option<String>) =
        sqlx::query_as("select id::text, name, phone, wa_user_id from contacts")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("a contact");
    assert_eq!(
        (&contact.1, &contact.2, contact.3.as_deref()),
        (&"Ana".to_owned(), &None, Some(bsuid))
    );
    let conversation = conversation_of(&app, "wamid.BS1").await;
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Hi, my number is hidden"));

    // Delivered again: still once.
    assert_eq!(deliver(&app, &sales.id, &hidden).await, 200);
    assert_eq!(app.count("select count(*) from messages").await, 1);

    // Later their number comes with it: the same contact and conversation.
    let shown = envelope(
        NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": CUSTOMER, "user_id": bsuid}],
            "messages": [{"from": CUSTOMER, "from_user_id": bsuid, "id": "wamid.BS2",
                          "timestamp": "1764200100", "type": "text", "text": {"body": "Now with my number"}}]
        }),
    );
    assert_eq!(deliver(&app, &sales.id, &shown).await, 200);
    assert_eq!(app.count("select count(*) from contacts").await, 1);
    assert_eq!(app.count("select count(*) from conversations").await, 1);
    let merged: (Option<String>, Option<String>) =
        sqlx::query_as("select phone, wa_user_id from contacts")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("the contact");
    assert_eq!(
        merged,
        (Some(format!("+{CUSTOMER}")), Some(bsuid.to_owned()))
    );
    assert_eq!(conversation_of(&app, "wamid.BS2").await, conversation);

    // A sender with neither a number nor a well-formed id is skipped.
    let nobody = envelope(
        NUMBER_ID,
        json!({"messages": [{"from_user_id": "US.<script>", "id": "wamid.BS3",
                             "timestamp": "1764200200", "type": "text", "text": {"body": "?"}}]}),
    );
    assert_eq!(deliver(&app, &sales.id, &nobody).await, 200);
    assert_eq!(app.count("select count(*) from messages").await, 2);

    // Another workspace sees nothing of them.
    let other = app.sign_up("Bob", "bob@other.test", "Other").await;
    let contact_id = contact.0;
    assert_eq!(other.page(&format!("/contacts/{contact_id}")).await.0, 404);
    assert_eq!(other.page(&format!("/inbox/{conversation}")).await.0, 404);
}

#[tokio::test]
async fn a_reply_to_a_customer_whose_number_is_hidden_goes_to_their_business_scoped_id() {
    use crate::support::fake_graph::FakeGraph;
    use crate::whatsapp::{TOKEN, app_with_graph, reply, settled};

    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER_ID, TOKEN, "+1 555-078-3881", "Acme Sales");
    let (app, owner, sales) = with_number(app_with_graph(&graph, 5, 120).await).await;
    let bsuid = "BR.8812345098765";
    let hidden = envelope(
        NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": "Ana"}, "user_id": bsuid}],
            // Written just now: the 24-hour window is open.
            "messages": [{"from_user_id": bsuid, "id": "wamid.BSR",
                          "timestamp": time::OffsetDateTime::now_utc().unix_timestamp().to_string(),
                          "type": "text", "text": {"body": "Hello"}}]
        }),
    );
    assert_eq!(deliver(&app, &sales.id, &hidden).await, 200);
    let conversation = conversation_of(&app, "wamid.BSR").await;
    reply(&owner, &conversation, "Hi Ana!").await;
    let (status, error, _) = settled(&app, "Hi Ana!", std::time::Duration::from_secs(10)).await;
    assert_eq!((status.as_str(), error), ("sent", None));
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["recipient"], bsuid);
    assert!(sent[0].body.get("to").is_none(), "{}", sent[0].body);
}

#[tokio::test]
async fn tapping_stop_promotions_on_a_marketing_template_opts_the_customer_out() {
    let (app, _owner, sales) = with_number(spawn_app_without_worker().await).await;
    let tapped = json!({"from": CUSTOMER, "id": "wamid.STOPPROMO", "timestamp": "1764200000",
        "type": "button", "button": {"payload": "Stop promotions", "text": "Stop promotions"},
        "context": {"from": "15550783881", "id": "wamid.MARKETING1"}});
    assert_eq!(
        deliver(&app, &sales.id, &from_customer(CUSTOMER, tapped)).await,
        200
    );
    let opted_out: bool = sqlx::query_scalar("select opted_out from contacts")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("the contact");
    assert!(opted_out, "the button's words opt out like STOP");

    // A button whose words are not an opt-out word changes nothing.
    let other = json!({"from": "16505550000", "id": "wamid.YES", "timestamp": "1764200000",
        "type": "button", "button": {"payload": "yes", "text": "Yes, send it"}});
    assert_eq!(
        deliver(&app, &sales.id, &from_customer("16505550000", other)).await,
        200
    );
    let opted_out: bool =
        sqlx::query_scalar("select opted_out from contacts where phone = '+16505550000'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("the contact");
    assert!(!opted_out);
}
