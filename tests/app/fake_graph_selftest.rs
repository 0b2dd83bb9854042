//! The fake Graph server on its own (no app): tokens, sends and their
//! scripted failures, the 24-hour window, media upload and download, and
//! template paging.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::fake_graph::{FakeGraph, SendFailure};

const NUMBER: &str = "106540352242922";
const TOKEN: &str = "EAAG-test-token";
const VERSION: &str = "v21.0";

fn client() -> reqwest::Client {
    wacrm::infra::tls::install_crypto_provider();
    reqwest::Client::new()
}

async fn graph_with_number() -> FakeGraph {
    let graph = FakeGraph::start().await;
    graph.add_number(NUMBER, TOKEN, "+1 555-078-3881", "Acme Support");
    graph
}

fn url(graph: &FakeGraph, path: &str) -> String {
    format!("{}/{VERSION}/{path}", graph.base_url())
}

/// Status and JSON body (Null when the body is not JSON).
async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn send(
    client: &reqwest::Client,
    graph: &FakeGraph,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .post(url(graph, &format!("{NUMBER}/messages")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    json_of(response).await
}

fn text_to(to: &str, body: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
           "type": "text", "text": {"preview_url": false, "body": body}})
}

fn assert_graph_error(status: u16, body: &Value, want_status: u16, want_code: i64) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert_eq!(body["error"]["type"], "OAuthException", "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["fbtrace_id"].is_string(), "{body}");
}

#[tokio::test]
async fn a_phone_number_is_looked_up_with_its_token_only() {
    let graph = graph_with_number().await;
    let client = client();
    let lookup = url(
        &graph,
        &format!("{NUMBER}?fields=display_phone_number,verified_name"),
    );

    let (status, body) =
        json_of(client.get(&lookup).bearer_auth(TOKEN).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"display_phone_number": "+1 555-078-3881", "verified_name": "Acme Support", "id": NUMBER})
    );

    let (status, body) = json_of(
        client
            .get(&lookup)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_graph_error(status, &body, 401, 190);
    assert_eq!(body["error"]["message"], "Invalid OAuth access token.");
    let (status, body) = json_of(client.get(&lookup).send().await.unwrap()).await;
    assert_graph_error(status, &body, 401, 190);

    let (status, body) = json_of(
        client
            .get(url(&graph, "999"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_graph_error(status, &body, 400, 100);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'999' does not exist")
    );

    // Any v<digits>.<digits> version works; anything else is not a Graph path.
    let other = format!("{}/v23.0/{NUMBER}", graph.base_url());
    let response = client.get(other).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let latest = format!("{}/latest/{NUMBER}", graph.base_url());
    let (status, body) = json_of(client.get(latest).bearer_auth(TOKEN).send().await.unwrap()).await;
    assert_graph_error(status, &body, 404, 100);

    let requests = graph.requests();
    assert_eq!(requests.len(), 6);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path_and_query,
        format!("/{VERSION}/{NUMBER}?fields=display_phone_number,verified_name")
    );
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer EAAG-test-token")
    );
    assert_eq!(requests[2].authorization, None);
}

#[tokio::test]
async fn a_text_send_returns_a_wamid_and_is_recorded() {
    let graph = graph_with_number().await;
    let client = client();

    let (status, body) = send(&client, &graph, TOKEN, text_to("16505551234", "Hello")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(
        body["contacts"],
        json!([{"input": "16505551234", "wa_id": "16505551234"}])
    );
    let wamid = body["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(wamid.starts_with("wamid."), "{wamid}");
    assert!(
        body["messages"][0].get("message_status").is_none(),
        "{body}"
    );

    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].phone_number_id, NUMBER);
    assert_eq!(sent[0].wamid, wamid);
    assert_eq!(sent[0].to, "16505551234");
    assert_eq!(sent[0].body["text"]["body"], "Hello");

    // Invalid sends are refused and not recorded as sent.
    for bad in [
        text_to("16505551234", ""),
        text_to("16505551234", &"x".repeat(4097)),
        text_to("+1 650 555", "Hi"),
        json!({"messaging_product": "whatsapp", "to": "1650", "type": "fax", "fax": {}}),
        json!({"messaging_product": "whatsapp", "to": "1650", "type": "image"}),
        json!({"to": "1650", "type": "text", "text": {"body": "Hi"}}),
    ] {
        let (status, body) = send(&client, &graph, TOKEN, bad.clone()).await;
        assert_graph_error(status, &body, 400, 100);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("(#100)"),
            "{bad}: {body}"
        );
    }
    let (status, body) = send(&client, &graph, "wrong", text_to("1650", "Hi")).await;
    assert_graph_error(status, &body, 401, 190);

    // Marking as read succeeds and is not a send.
    let read = json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"});
    let (status, body) = send(&client, &graph, TOKEN, read).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    assert_eq!(graph.sent().len(), 1);
    assert_eq!(graph.requests().len(), 9);
}

#[tokio::test]
async fn scripted_failures_come_in_order_then_sends_succeed() {
    let graph = graph_with_number().await;
    let client = client();
    graph.script_send_failures(
        NUMBER,
        vec![
            SendFailure::Graph {
                status: 429,
                code: 130429,
                message: "(#130429) Rate limit hit".to_owned(),
            },
            SendFailure::Http(500),
        ],
    );

    let (status, body) = send(&client, &graph, TOKEN, text_to("1650", "one")).await;
    assert_graph_error(status, &body, 429, 130429);
    assert_eq!(body["error"]["message"], "(#130429) Rate limit hit");
    assert_eq!(body["error"]["error_data"]["messaging_product"], "whatsapp");
    assert!(body["error"]["error_data"]["details"].is_string(), "{body}");

    let response = client
        .post(url(&graph, &format!("{NUMBER}/messages")))
        .bearer_auth(TOKEN)
        .json(&text_to("1650", "two"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.text().await.unwrap(), "Internal Server Error");

    let (status, body) = send(&client, &graph, TOKEN, text_to("1650", "three")).await;
    assert_eq!(status, 200, "{body}");
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["text"]["body"], "three");

    // A delayed answer: the client gives up, the message still went out.
    graph.script_send_failures(NUMBER, vec![SendFailure::Delay(Duration::from_millis(300))]);
    let error = client
        .post(url(&graph, &format!("{NUMBER}/messages")))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_millis(50))
        .json(&text_to("1650", "slow"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(graph.sent().len(), 2);
}

#[tokio::test]
async fn a_closed_window_refuses_free_text_but_takes_templates() {
    let graph = graph_with_number().await;
    let client = client();
    graph.close_window("16505551234");

    let (status, body) = send(&client, &graph, TOKEN, text_to("16505551234", "Hi")).await;
    assert_graph_error(status, &body, 400, 131047);
    assert_eq!(body["error"]["message"], "(#131047) Re-engagement message");
    assert_eq!(
        body["error"]["error_data"]["details"],
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
    );

    let template = json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "template",
        "template": {"name": "order_update_v1", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Alex"}]}]}});
    let (status, body) = send(&client, &graph, TOKEN, template).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"][0]["message_status"], "accepted");
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["type"], "template");

    // Others are not affected.
    let (status, _) = send(&client, &graph, TOKEN, text_to("16505550000", "Hi")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn media_downloads_in_two_steps_with_the_bearer_token() {
    let graph = graph_with_number().await;
    let client = client();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    graph.add_media("2621233374848975", TOKEN, bytes.clone(), "image/jpeg");

    let (status, meta) = json_of(
        client
            .get(url(
                &graph,
                "2621233374848975?phone_number_id=106540352242922",
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["messaging_product"], "whatsapp");
    assert_eq!(meta["mime_type"], "image/jpeg");
    assert_eq!(meta["file_size"], "5000");
    assert_eq!(meta["id"], "2621233374848975");
    let media_url = meta["url"].as_str().unwrap().to_owned();
    assert_eq!(
        media_url,
        format!("{}/media-bytes/2621233374848975", graph.base_url())
    );

    let response = client
        .get(&media_url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let got = response.bytes().await.unwrap();
    assert_eq!(&got[..], &bytes[..]);
    assert_eq!(meta["sha256"], hex::encode(Sha256::digest(&got)));

    let response = client.get(&media_url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = client
        .get(&media_url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, body) = json_of(
        client
            .get(url(&graph, "2621233374848975"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_graph_error(status, &body, 401, 190);

    graph.fail_media_download("2621233374848975", 500);
    let response = client
        .get(&media_url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let response = client
        .get(&media_url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // An upload comes back as a media id that downloads the same bytes.
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", "application/pdf")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 test".to_vec())
                .file_name("a.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let (status, body) = json_of(
        client
            .post(url(&graph, &format!("{NUMBER}/media")))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    let uploaded = graph.uploaded();
    assert_eq!(uploaded.len(), 1);
    assert_eq!(uploaded[0].id, id);
    assert_eq!(uploaded[0].phone_number_id, NUMBER);
    assert_eq!(uploaded[0].mime_type, "application/pdf");
    assert_eq!(uploaded[0].bytes, b"%PDF-1.4 test");
    let (_, meta) = json_of(
        client
            .get(url(&graph, &id))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let got = client
        .get(meta["url"].as_str().unwrap())
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], b"%PDF-1.4 test");
}

#[tokio::test]
async fn templates_come_in_pages() {
    let graph = FakeGraph::start().await;
    let client = client();
    let templates: Vec<Value> = (0..30)
        .map(|i| {
            json!({"name": format!("template_{i:02}"), "language": "en_US", "status": "APPROVED",
                   "category": "UTILITY", "id": format!("{}", 5000 + i),
                   "components": [{"type": "BODY", "text": "Hello {{1}}"}]})
        })
        .collect();
    graph.add_templates("102290129340398", "waba-token", templates);

    let first = url(&graph, "102290129340398/message_templates");
    let (status, body) = json_of(client.get(&first).send().await.unwrap()).await;
    assert_graph_error(status, &body, 401, 190);

    let (status, page1) = json_of(
        client
            .get(&first)
            .bearer_auth("waba-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{page1}");
    let data1 = page1["data"].as_array().unwrap();
    assert_eq!(data1.len(), 25);
    assert!(page1["paging"]["cursors"]["before"].is_string());
    assert!(page1["paging"]["cursors"]["after"].is_string());
    let next = page1["paging"]["next"].as_str().unwrap();
    assert!(next.starts_with(&graph.base_url()), "{next}");

    let (status, page2) = json_of(
        client
            .get(next)
            .bearer_auth("waba-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{page2}");
    let data2 = page2["data"].as_array().unwrap();
    assert_eq!(data2.len(), 5);
    assert!(page2["paging"].get("next").is_none(), "{page2}");

    let names: Vec<&str> = data1
        .iter()
        .chain(data2)
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (0..30).map(|i| format!("template_{i:02}")).collect();
    assert_eq!(names, want);

    // An explicit limit, and the same cursor read by hand.
    let after = page1["paging"]["cursors"]["after"].as_str().unwrap();
    let by_hand = url(
        &graph,
        &format!("102290129340398/message_templates?limit=2&after={after}"),
    );
    let (status, page) = json_of(
        client
            .get(by_hand)
            .bearer_auth("waba-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"][0]["name"], "template_25");
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert!(page["paging"]["next"].is_string());
}
