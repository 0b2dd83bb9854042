//! Group chats on a phone run by WAHA: left out unless the phone shows
//! them; then each `@g.us` chat is one conversation, named by WAHA's
//! groups API once (and by its `group.v2.*` events), each message shows
//! who wrote it, replies and quotes go to the group, and the group gets no
//! read receipt.

use serde_json::json;

use crate::support::fake_waha::FakeWaha;
use crate::waha::{API_KEY, app_for_waha_on_demand, linked, scalar};
use crate::whatsapp_web::show_groups;

const GROUP: &str = "120363021033254949";
const ANA: &str = "16505550101";

fn member_says(id: &str, body: &str) -> serde_json::Value {
    json!({"id": format!("false_{GROUP}@g.us_{id}_{ANA}@c.us"), "from": format!("{GROUP}@g.us"),
           "participant": format!("{ANA}@c.us"), "fromMe": false, "body": body, "hasMedia": false,
           "timestamp": 1_764_000_000, "_data": {"notifyName": "Ana"}})
}

#[tokio::test]
async fn a_wahas_group_chat_is_one_named_conversation_answered_in_the_group() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = linked(&app, &owner, &waha).await;
    // wacrm asks WAHA for the groups' events too.
    let events = waha.session("default").expect("session").events;
    assert!(events.iter().any(|e| e == "group.v2.update"), "{events:?}");

    // Off (the default): left out.
    assert_eq!(
        waha.deliver("default", "message.any", member_says("GGGG0", "Before"))
            .await,
        200
    );
    assert_eq!(app.count("select count(*) from messages").await, 0);

    let on = show_groups(&owner, &channel, "on").await;
    assert_eq!(on.status(), 303);
    waha.name_group(GROUP, "Acme regulars");
    assert_eq!(
        waha.deliver(
            "default",
            "message.any",
            member_says("GGGG1", "Open today?")
        )
        .await,
        200
    );
    let name: String = scalar(&app, "select name from contacts").await;
    assert_eq!(name, "Acme regulars", "named from WAHA's groups API");
    assert_eq!(
        waha.deliver("default", "message.any", member_says("GGGG2", "Hello?"))
            .await,
        200
    );
    assert_eq!(
        waha.group_lookups(),
        vec![format!("/api/default/groups/{GROUP}%40g.us")],
        "asked once, while unnamed"
    );
    // Renamed: WAHA's event says so.
    let renamed = json!({"group": {"id": format!("{GROUP}@g.us"), "subject": "Acme VIPs"},
                         "timestamp": 1_764_000_100});
    assert_eq!(
        waha.deliver("default", "group.v2.update", renamed).await,
        200
    );
    let name: String = scalar(&app, "select name from contacts").await;
    assert_eq!(name, "Acme VIPs");
    // Our own message typed on the phone into the group.
    let typed = json!({"id": format!("true_{GROUP}@g.us_3EB0TYPED"), "from": "16505550199@c.us",
                       "to": format!("{GROUP}@g.us"), "fromMe": true, "source": "app",
                       "body": "Yes, 9 to 6", "hasMedia": false, "timestamp": 1_764_000_200});
    assert_eq!(waha.deliver("default", "message.any", typed).await, 200);
    assert_eq!(app.count("select count(*) from messages").await, 3);
    assert_eq!(app.count("select count(*) from conversations").await, 1);
    let member: String = scalar(
        &app,
        "select group_member from messages where provider_message_id = 'GGGG1'",
    )
    .await;
    assert_eq!(member, ANA);

    let conversation: String = scalar(&app, "select id::text from conversations").await;
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Ana · +16505550101"), "{page}");
    assert!(page.contains("Sent from the phone"), "{page}");
    // A reply quoting Ana goes to the group and names her message fully.
    let quoted: String = scalar(
        &app,
        "select id::text from messages where provider_message_id = 'GGGG1'",
    )
    .await;
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "See you!"), ("reply_to", &quoted)],
        )
        .await;
    assert_eq!(response.status(), 303);
    app.run_pending_jobs().await;
    let sent = waha.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body["chatId"], format!("{GROUP}@g.us"));
    assert_eq!(
        sent[0].body["reply_to"],
        format!("false_{GROUP}@g.us_GGGG1_{ANA}@c.us")
    );
    assert!(waha.seen().is_empty(), "no read receipt to a group");
}

#[tokio::test]
async fn a_group_message_that_does_not_say_who_wrote_it_or_names_no_group_is_left_out() {
    let waha = FakeWaha::start(API_KEY).await;
    let app = app_for_waha_on_demand().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let channel = linked(&app, &owner, &waha).await;
    let on = show_groups(&owner, &channel, "on").await;
    assert_eq!(on.status(), 303);
    let mut nobody = member_says("GGGG3", "who?");
    nobody["participant"] = serde_json::Value::Null;
    let mut bad_group = member_says("GGGG4", "x");
    bad_group["from"] = json!("12x@g.us");
    let mut bad_member = member_says("GGGG5", "y");
    bad_member["participant"] = json!("<script>@c.us");
    for payload in [nobody, bad_group, bad_member] {
        assert_eq!(waha.deliver("default", "message.any", payload).await, 200);
    }
    assert_eq!(app.count("select count(*) from messages").await, 0);
    assert_eq!(app.count("select count(*) from contacts").await, 0);
    // No name known to WAHA: the placeholder stays, the message is kept.
    assert_eq!(
        waha.deliver("default", "message.any", member_says("GGGG6", "hi"))
            .await,
        200
    );
    let name: String = scalar(&app, "select name from contacts").await;
    assert_eq!(name, "WhatsApp group");
    assert_eq!(app.count("select count(*) from messages").await, 1);
}
