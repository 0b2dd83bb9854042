//! Cloud API templates in full (issue 28): named, header and button values
//! sent from the inbox with a preview; status webhooks; the periodic sync;
//! creating and deleting templates from wacrm.

use serde_json::{Value, json};

use crate::support::cloud::*;
use crate::support::fake_graph::FakeGraph;
use crate::support::*;

const WABA_ID: &str = "102290129340398";

fn rich_templates() -> Vec<Value> {
    vec![
        json!({"name": "order_named", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "id": "701", "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
            {"type": "BODY", "text": "Hi {{customer_name}}, your order ships today."},
            {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "25OFF"}]}
        ]}),
        json!({"name": "invoice_doc", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "id": "702",
        "components": [
            {"type": "HEADER", "format": "DOCUMENT"},
            {"type": "BODY", "text": "Your invoice {{1}} is attached."},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Pay", "url": "https://pay.example/i/{{1}}"},
                {"type": "QUICK_REPLY", "text": "Stop"}
            ]}
        ]}),
        json!({"name": "store_here", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
            "id": "703",
            "components": [{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Come by!"}]}),
        json!({"name": "flow_one", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
            "id": "704",
            "components": [{"type": "BODY", "text": "Go"},
                {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Start"}]}]}),
    ]
}

/// A synced number and a conversation whose window closed; (app, owner,
/// channel id, conversation id).
async fn closed_conversation(graph: &FakeGraph) -> (TestApp, Browser, String, String) {
    let (app, owner, sales) = acme_on_graph(graph).await;
    sync_templates(&owner, &sales.id).await;
    let conversation =
        customer_writes_on_number(&app, &sales.id, ("wamid.OLD", "Hello?"), 25 * 3600).await;
    (app, owner, sales.id, conversation)
}

#[tokio::test]
async fn named_header_and_button_templates_are_previewed_and_sent_from_the_inbox() {
    let graph = FakeGraph::start().await;
    graph.add_templates(WABA_ID, TOKEN, rich_templates());
    let (app, owner, _, conversation) = closed_conversation(&graph).await;

    // The synced list asked Graph for the format and ids.
    assert!(
        graph
            .requests()
            .iter()
            .any(|r| r.path_and_query.contains("message_templates")
                && r.path_and_query.contains("parameter_format"))
    );

    // The form asks for exactly the values each template takes, by name.
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    for label in [
        "Header {{order_id}}",
        "{{customer_name}}",
        "Copy code button: the code",
        "Header document (https link)",
        "Button “Pay”: end of the link",
        "Button “Stop”: reply payload (optional)",
        "Location latitude",
    ] {
        assert!(page.contains(label), "{label}");
    }
    assert!(
        !page.contains("flow_one"),
        "a flow button wacrm cannot fill"
    );

    // Preview: the header and body filled in, nothing sent.
    let named = |values: [&'static str; 3]| {
        vec![
            ("name", "order_named"),
            ("language", "en_US"),
            ("values", values[0]),
            ("values", values[1]),
            ("values", values[2]),
        ]
    };
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/template/preview"),
            &named(["A-17", "Sheena", "SAVE10"]),
        )
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("body");
    assert!(page.contains("data-preview-header>Order A-17<"), "{page}");
    assert!(page.contains("Hi Sheena, your order ships today."));
    assert!(page.contains("value=\"SAVE10\""), "values kept");
    assert!(graph.sent().is_empty());

    // Bad input: the form again with the reasons, nothing sent.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/template"),
            &named(["A-17", "Sheena", "A-CODE-FAR-TOO-LONG"]),
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(page.contains("Copy code button: the code: at most 15 characters."));
    assert!(page.contains("value=\"A-CODE-FAR-TOO-LONG\""));
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/template"),
            &[
                ("name", "invoice_doc"),
                ("language", "en_US"),
                ("values", "http://insecure.example/inv.pdf"),
                ("values", "INV-9"),
                ("values", "9/10"),
                ("values", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("an https:// link")
    );
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/template"),
            &[
                ("name", "store_here"),
                ("language", "en_US"),
                ("values", "north"),
                ("values", "-34.9"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Location latitude: a number")
    );
    app.run_pending_jobs().await;
    assert!(graph.sent().is_empty());

    // Sent: each value where Meta expects it.
    for fields in [
        named(["A-17", "Sheena", "SAVE10"]),
        vec![
            ("name", "invoice_doc"),
            ("language", "en_US"),
            ("values", "https://files.example/inv 9.pdf"),
            ("values", "INV-9"),
            ("values", "9/10 ok"),
            ("values", "STOP"),
        ],
        vec![
            ("name", "store_here"),
            ("language", "en_US"),
            ("values", "-8.05"),
            ("values", "-34.9"),
            ("values", "Recife store"),
            ("values", ""),
        ],
    ] {
        let response = owner
            .post_form(&format!("/inbox/{conversation}/template"), &fields)
            .await;
        assert_eq!(response.status(), 303, "{fields:?}");
    }
    app.run_pending_jobs().await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 3);
    let first = &sent[0].body["template"];
    assert_eq!(first["name"], "order_named");
    assert_eq!(
        first["components"][0]["parameters"][0]["parameter_name"],
        "order_id"
    );
    assert_eq!(
        first["components"][1]["parameters"][0]["parameter_name"],
        "customer_name"
    );
    assert_eq!(first["components"][1]["parameters"][0]["text"], "Sheena");
    assert_eq!(first["components"][2]["sub_type"], "copy_code");
    assert_eq!(
        first["components"][2]["parameters"][0]["coupon_code"],
        "SAVE10"
    );
    let second = &sent[1].body["template"]["components"];
    assert_eq!(
        second[0]["parameters"][0]["document"]["link"],
        "https://files.example/inv%209.pdf"
    );
    assert_eq!(second[2]["parameters"][0]["text"], "9%2F10%20ok");
    assert_eq!(second[3]["parameters"][0]["payload"], "STOP");
    let third = &sent[2].body["template"]["components"][0]["parameters"][0];
    assert_eq!(third["location"]["latitude"], -8.05);
    assert_eq!(third["location"]["name"], "Recife store");
    let shown: Vec<String> = sqlx::query_scalar(
        "select body from messages where direction = 'out' and kind = 'template' order by created_at",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("shown");
    assert_eq!(shown[0], "Order A-17\n\nHi Sheena, your order ships today.");

    // Another workspace gets 404 for this conversation, preview or send.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    for path in ["template", "template/preview"] {
        let response = other
            .post_form(
                &format!("/inbox/{conversation}/{path}"),
                &named(["A-17", "Sheena", "SAVE10"]),
            )
            .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    assert_eq!(graph.sent().len(), 3);
}

/// (status, reason) of the stored template.
async fn stored_status(app: &TestApp, name: &str) -> Option<(String, Option<String>)> {
    sqlx::query_as("select status, status_reason from whatsapp_templates where name = $1")
        .bind(name)
        .fetch_optional(&mut app.admin_conn().await)
        .await
        .expect("template")
}

#[tokio::test]
async fn template_status_webhooks_update_the_template_at_once() {
    let graph = FakeGraph::start().await;
    graph.add_templates(WABA_ID, TOKEN, rich_templates());
    let (app, owner, channel, conversation) = closed_conversation(&graph).await;

    // Paused, with its title kept for display; the inbox stops offering it.
    let paused = graph.template_status_webhook(
        WABA_ID,
        701,
        ("order_named", "en_US"),
        "PAUSED",
        json!({"reason": null, "other_info": {"title": "FIRST_PAUSE", "description": "Low quality"}}),
    );
    assert_eq!(deliver(&app, &channel, &paused).await, 200);
    assert_eq!(
        stored_status(&app, "order_named").await,
        Some(("PAUSED".into(), Some("FIRST_PAUSE: Low quality".into())))
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(
        !page.contains("order_named"),
        "a paused template is not offered"
    );
    let (_, page) = owner.page(&format!("/settings/channels/{channel}")).await;
    assert!(
        page.contains("FIRST_PAUSE: Low quality"),
        "the reason is shown"
    );

    // Matched by name and language when the id is not stored.
    sqlx::query("update whatsapp_templates set graph_id = null where name = 'store_here'")
        .execute(&mut app.admin_conn().await)
        .await
        .expect("forget id");
    let rejected = graph.template_status_webhook(
        WABA_ID,
        703,
        ("store_here", "en_US"),
        "REJECTED",
        json!({"reason": "INCORRECT_CATEGORY"}),
    );
    assert_eq!(deliver(&app, &channel, &rejected).await, 200);
    assert_eq!(
        stored_status(&app, "store_here").await,
        Some(("REJECTED".into(), Some("INCORRECT_CATEGORY".into())))
    );

    // An unknown template is ignored, and the messages of the same
    // delivery are still stored.
    let mut mixed =
        crate::whatsapp::text_from(CUSTOMER, "Sheena Nelson", "wamid.MIXED", "Still there?");
    let unknown = graph.template_status_webhook(
        WABA_ID,
        555,
        ("no_such_template", "en_US"),
        "APPROVED",
        json!({}),
    );
    let change = unknown["entry"][0]["changes"][0].clone();
    mixed["entry"][0]["changes"]
        .as_array_mut()
        .expect("changes")
        .push(change);
    assert_eq!(deliver(&app, &channel, &mixed).await, 200);
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from messages where provider_message_id = 'wamid.MIXED'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("count");
    assert_eq!(stored, 1);
    assert_eq!(stored_status(&app, "no_such_template").await, None);

    // Reinstated: sendable again; another workspace's templates untouched.
    let reinstated = graph.template_status_webhook(
        WABA_ID,
        701,
        ("order_named", "en_US"),
        "REINSTATED",
        json!({}),
    );
    assert_eq!(deliver(&app, &channel, &reinstated).await, 200);
    assert_eq!(
        stored_status(&app, "order_named").await.map(|s| s.0),
        Some("APPROVED".into())
    );
    // Deleted at Meta: removed here.
    let deleted = graph.template_status_webhook(
        WABA_ID,
        703,
        ("store_here", "en_US"),
        "DELETED",
        json!({"reason": null}),
    );
    assert_eq!(deliver(&app, &channel, &deleted).await, 200);
    assert_eq!(stored_status(&app, "store_here").await, None);
}

async fn template_count(app: &TestApp, channel: &str) -> i64 {
    sqlx::query_scalar("select count(*) from whatsapp_templates where channel_id::text = $1")
        .bind(channel)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_periodic_sync_reads_every_number_and_one_failure_does_not_stop_the_others() {
    let graph = FakeGraph::start().await;
    let mut templates = rich_templates();
    templates.extend((0..30).map(|i| {
        json!({"name": format!("promo_{i:02}"), "language": "en_US", "status": "APPROVED",
            "category": "MARKETING", "id": format!("9{i}"),
            "components": [{"type": "BODY", "text": "Sale!"}]})
    }));
    graph.add_templates(WABA_ID, TOKEN, templates.clone());
    graph.add_number("222333444", TOKEN, "+1 555-000-0002", "Acme Broken");
    let (app, owner, sales) = acme_on_graph(&graph).await;
    // A second number on a business account Graph refuses to list.
    let response = owner
        .post_form(
            "/settings/channels",
            &[
                ("name", "Broken line"),
                ("phone_number_id", "222333444"),
                ("waba_id", "555000"),
                ("access_token", TOKEN),
                ("app_secret", crate::whatsapp::APP_SECRET),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let broken = location(&response)
        .trim_start_matches("/settings/channels/")
        .to_owned();

    // Each number's first sync ran when it was connected; the broken one's
    // failed, so it is still due.
    crate::whatsapp::run_all_jobs(&app, 5).await;
    assert_eq!(template_count(&app, &broken).await, 0);
    let pages_read = || {
        graph
            .requests()
            .iter()
            .filter(|r| {
                r.path_and_query
                    .contains(&format!("{WABA_ID}/message_templates"))
            })
            .count()
    };
    let before = pages_read();

    let env = app.state.env();
    let sweep = || wacrm::channels::cloud_api::template_sync::sweep(&env);
    assert_eq!(
        sweep().await.expect("sweep"),
        1,
        "one job for the workspace"
    );
    assert_eq!(sweep().await.expect("sweep"), 0, "not due again yet");
    crate::whatsapp::run_all_jobs(&app, 5).await;
    assert_eq!(template_count(&app, &sales.id).await, 34, "every page read");
    assert_eq!(template_count(&app, &broken).await, 0);
    assert_eq!(pages_read() - before, 2, "followed paging.next");

    // Six hours on, Meta changed things: a status, a template gone.
    let mut changed: Vec<Value> = templates
        .into_iter()
        .filter(|t| t["name"] != "store_here")
        .collect();
    changed[0]["status"] = json!("PAUSED");
    graph.add_templates(WABA_ID, TOKEN, changed);
    sqlx::query("update channels set templates_synced_at = now() - interval '7 hours'")
        .execute(&mut app.admin_conn().await)
        .await
        .expect("age");
    assert_eq!(sweep().await.expect("sweep"), 1);
    crate::whatsapp::run_all_jobs(&app, 5).await;
    assert_eq!(template_count(&app, &sales.id).await, 33);
    assert_eq!(
        stored_status(&app, "order_named").await.map(|s| s.0),
        Some("PAUSED".into())
    );
}

#[tokio::test]
async fn owners_create_submit_and_delete_templates_and_see_their_review_status() {
    let graph = FakeGraph::start().await;
    graph.add_templates(WABA_ID, TOKEN, vec![]);
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let new = format!("/settings/channels/{}/templates/new", sales.id);
    let (status, page) = owner.page(&new).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"body_examples\""));

    // Meta's rules are checked here first: nothing reaches Graph.
    let response = owner
        .post_form(
            &new,
            &[
                ("name", "Order Ready!"),
                ("category", "UTILITY"),
                ("language", "en_US"),
                ("parameter_format", "POSITIONAL"),
                ("body", "Hi {{1}}, order {{2}} is ready."),
                ("body_examples", "Ana"),
                ("button_type", "COPY_CODE"),
                ("button_text", ""),
                ("button_value", "WAY-TOO-LONG-A-CODE"),
                ("button_example", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(page.contains("Name: lowercase letters"));
    assert!(page.contains("Body examples: one per variable"));
    assert!(page.contains("Button 1: an example code"));
    assert!(page.contains("value=\"Order Ready!\""), "the form is kept");
    assert!(graph.created_templates().is_empty());

    // Without the CSRF token: refused.
    let response = owner.post_form_raw(&new, &[("name", "x")]).await;
    assert_eq!(response.status(), 403);

    let good = [
        ("name", "order_ready"),
        ("category", "UTILITY"),
        ("language", "en_US"),
        ("parameter_format", "NAMED"),
        ("header_text", "Order {{order_id}}"),
        ("header_example", "A-17"),
        ("body", "Hi {{first_name}}, your order is ready."),
        ("body_examples", "Ana"),
        ("footer", "Acme"),
        ("button_type", "QUICK_REPLY"),
        ("button_text", "Thanks"),
        ("button_value", ""),
        ("button_example", ""),
        ("button_type", "URL"),
        ("button_text", "Track"),
        ("button_value", "https://shop.example/t/{{1}}"),
        ("button_example", "A-17"),
    ];
    let response = owner.post_form(&new, &good).await;
    assert_eq!(response.status(), 303);
    let created = graph.created_templates();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["parameter_format"], "named");
    assert_eq!(
        created[0]["components"][1]["example"]["body_text_named_params"][0]["example"],
        "Ana"
    );
    assert_eq!(
        created[0]["components"][3]["buttons"][1]["example"][0],
        "A-17"
    );
    let (_, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert!(page.contains("data-template=\"order_ready\""));
    assert!(page.contains("PENDING"));
    assert!(page.contains("submitted"));

    // The same name and language again: Meta's own words, escaped.
    let response = owner.post_form(&new, &good).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(
        page.contains("Content for order_ready &#60;en_US&#62; already exists"),
        "{page}"
    );
    assert_eq!(graph.created_templates().len(), 1);

    // Meta approves it: the list says so on the next load.
    let id: String =
        sqlx::query_scalar("select graph_id from whatsapp_templates where name = 'order_ready'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("graph id");
    let approved = graph.template_status_webhook(
        WABA_ID,
        id.parse().expect("integer id"),
        ("order_ready", "en_US"),
        "APPROVED",
        json!({}),
    );
    assert_eq!(deliver(&app, &sales.id, &approved).await, 200);
    let (_, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert!(page.contains("APPROVED"));

    // Another workspace: 404 for this number's pages and templates.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    assert_eq!(other.page(&new).await.0, 404);
    assert_eq!(other.post_form(&new, &good).await.status(), 404);
    let delete = format!("/settings/channels/{}/templates/delete", sales.id);
    let fields = [("name", "order_ready"), ("language", "en_US")];
    assert_eq!(other.post_form(&delete, &fields).await.status(), 404);
    assert!(graph.deleted_templates().is_empty());
    // An unknown template of this number: 404.
    assert_eq!(
        owner
            .post_form(&delete, &[("name", "nope"), ("language", "en_US")])
            .await
            .status(),
        404
    );

    // Deleted at Meta (by name and id), then here.
    let response = owner.post_form(&delete, &fields).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        graph.deleted_templates(),
        [("order_ready".to_owned(), Some(id))]
    );
    assert_eq!(stored_status(&app, "order_ready").await, None);
}

#[tokio::test]
async fn the_template_list_follows_review_status_and_polls_only_while_one_is_in_review() {
    let graph = FakeGraph::start().await;
    let mut templates = rich_templates();
    templates[0]["status"] = json!("PENDING");
    graph.add_templates(WABA_ID, TOKEN, templates);
    let (app, owner, sales) = acme_on_graph(&graph).await;
    let sync = format!("/settings/channels/{}/templates", sales.id);
    assert_eq!(owner.post_form(&sync, &[]).await.status(), 303);
    let list = format!("/settings/channels/{}/templates/list", sales.id);
    let polls = "hx-trigger=\"every 10s\"";

    // In review: the page and the list alone poll the list.
    let (status, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("hx-get=\"{list}\"")), "{page}");
    assert!(page.contains(polls));
    let (status, part) = owner.page(&list).await;
    assert_eq!(status, 200);
    assert!(part.contains("data-template=\"order_named\" data-status=\"PENDING\""));
    assert!(part.contains(polls));
    assert!(!part.contains("<html"), "the list alone, not a page");

    // Another workspace: 404, nothing shown.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let (status, part) = other.page(&list).await;
    assert_eq!(status, 404);
    assert!(!part.contains("order_named"));

    // Meta approves it: the next poll shows it and stops polling; so does
    // a plain reload.
    let approved = graph.template_status_webhook(
        WABA_ID,
        701,
        ("order_named", "en_US"),
        "APPROVED",
        json!({}),
    );
    assert_eq!(deliver(&app, &sales.id, &approved).await, 200);
    let (status, part) = owner.page(&list).await;
    assert_eq!(status, 200);
    assert!(part.contains("data-template=\"order_named\" data-status=\"APPROVED\""));
    assert!(!part.contains(polls), "{part}");
    assert!(!part.contains("hx-get"));
    let (_, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert!(page.contains("data-status=\"APPROVED\""));
    assert!(!page.contains(polls));
}

#[tokio::test]
async fn a_newly_connected_number_has_its_templates_without_waiting_for_the_sweep() {
    let graph = FakeGraph::start().await;
    graph.add_templates(WABA_ID, TOKEN, rich_templates());
    let (app, owner, sales) = acme_on_graph(&graph).await;
    assert_eq!(template_count(&app, &sales.id).await, 0, "read by a job");
    crate::whatsapp::run_all_jobs(&app, 5).await;
    assert_eq!(template_count(&app, &sales.id).await, 4);
    let (_, page) = owner
        .page(&format!("/settings/channels/{}", sales.id))
        .await;
    assert!(page.contains("data-template=\"order_named\" data-status=\"APPROVED\""));
    // Synced: the periodic sweep has nothing to queue.
    let env = app.state.env();
    let swept = wacrm::channels::cloud_api::template_sync::sweep(&env).await;
    assert_eq!(swept.expect("sweep"), 0);
}

/// Sends the template form as the page does when a header takes a file:
/// multipart, its CSRF token in the query string.
async fn send_with_header_file(
    owner: &Browser,
    conversation: &str,
    values: &[&str],
    (filename, mime, bytes): (&str, &str, Vec<u8>),
) -> (u16, String) {
    let token = owner.csrf_token().await;
    let mut form = reqwest::multipart::Form::new()
        .text("name", "promo_image")
        .text("language", "en_US");
    for value in values {
        form = form.text("values", value.to_string());
    }
    let file = reqwest::multipart::Part::bytes(bytes)
        .file_name(filename.to_owned())
        .mime_str(mime)
        .expect("mime");
    let response = owner
        .client
        .post(owner.url(&format!(
            "/inbox/{conversation}/template?csrf_token={token}"
        )))
        .multipart(form.part("header_file", file))
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn a_header_image_file_is_checked_uploaded_to_graph_and_sent_by_its_media_id() {
    let graph = FakeGraph::start().await;
    let mut templates = rich_templates();
    templates.push(
        json!({"name": "promo_image", "language": "en_US", "status": "APPROVED",
        "category": "MARKETING", "id": "705",
        "components": [{"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Sale on {{1}}!"}]}),
    );
    graph.add_templates(WABA_ID, TOKEN, templates);
    let (app, owner, _, conversation) = closed_conversation(&graph).await;

    // The forms offer a file for the image header, sent as multipart: in
    // the conversation, and on the template's own page.
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    let token = owner.csrf_token().await;
    assert!(page.contains(&format!(
        "/inbox/{conversation}/template?csrf_token={token}\" enctype=\"multipart/form-data\""
    )));
    assert!(page.contains("name=\"header_file\" type=\"file\" accept=\"image/jpeg,image/png\""));
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/template/preview"),
            &[("name", "promo_image"), ("language", "en_US")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("body");
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    assert!(page.contains("name=\"header_file\" type=\"file\" accept=\"image/jpeg,image/png\""));

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    // Refused with the reason, nothing uploaded: not a file WhatsApp
    // takes, not an image, larger than Meta's 5 MB for images, or other
    // values that do not fit.
    let refusals = [
        (
            ("x.png", "image/png", b"MZ\x90\0not an image".to_vec()),
            "Spring",
            "WhatsApp does not take this kind of file",
        ),
        (
            ("x.pdf", "application/pdf", b"%PDF-1.7\n%fake\n".to_vec()),
            "Spring",
            "this header takes a JPEG or PNG image",
        ),
        (
            ("big.png", "image/png", {
                let mut big = png.clone();
                big.resize(5 * 1024 * 1024 + 1, 0);
                big
            }),
            "Spring",
            "images of 5 MB at most",
        ),
        (("x.png", "image/png", png.clone()), "", "Sale"),
    ];
    for (file, body_value, reason) in refusals {
        let (status, page) =
            send_with_header_file(&owner, &conversation, &["", body_value], file).await;
        assert_eq!(status, 422, "{reason}");
        assert!(page.contains(reason), "{reason}: {page}");
    }
    assert!(graph.uploaded().is_empty());

    // A PNG: uploaded to the number at Graph, then sent by its media id.
    let (status, _) = send_with_header_file(
        &owner,
        &conversation,
        &["", "Spring"],
        ("spring.png", "image/png", png.clone()),
    )
    .await;
    assert_eq!(status, 303);
    let uploaded = graph.uploaded();
    assert_eq!(uploaded.len(), 1);
    assert_eq!(uploaded[0].phone_number_id, crate::whatsapp::NUMBER_ID);
    assert_eq!(uploaded[0].mime_type, "image/png");
    assert_eq!(uploaded[0].bytes, png);
    app.run_pending_jobs().await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    let header = &sent[0].body["template"]["components"][0];
    assert_eq!(header["type"], "header");
    assert_eq!(
        header["parameters"][0],
        json!({"type": "image", "image": {"id": uploaded[0].id}})
    );
}
