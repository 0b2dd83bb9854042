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
