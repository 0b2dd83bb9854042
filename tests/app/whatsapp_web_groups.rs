//! A linked phone's group chats: left out by default; where the owner
//! shows them, each group is one conversation named as the phone says,
//! each message shows who in the group wrote it, replies and quotes go to
//! the group, and nothing automatic touches it (no rule, bot, campaign,
//! waiting rule or read receipt). The setting is the owner's, per phone.

use wacrm::channels::whatsapp_web::link::{SessionEvent, WebGroup, WebInbound};

use crate::support::cloud::create_rule;
use crate::support::fake_wa_web::FakeWeb;
use crate::support::steps::campaigns::{create, sandbox};
use crate::support::*;
use crate::whatsapp_web::{
    WAIT, app_with, new_channel, rule_on_every_message, scalar, show_groups, text,
};

const GROUP: &str = "120363021033254949";

/// A message in [`GROUP`] written by `member` (digits or `<lid>@lid`).
fn in_group(id: &str, body: &str, member: &str, name: &str) -> WebInbound {
    WebInbound {
        from: None,
        lid: None,
        push_name: Some(name.into()),
        group: Some(WebGroup {
            id: GROUP.into(),
            member: Some(member.into()),
        }),
        ..text(id, body)
    }
}

#[tokio::test]
async fn group_chats_are_left_out_until_shown_then_are_one_named_conversation_nothing_automatic_touches()
 {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    rule_on_every_message(&app, &owner).await;
    // And a rule for customers left waiting 10 minutes.
    create_rule(
        &app,
        &owner,
        &[
            ("name", "Still waiting"),
            ("trigger", "idle"),
            ("idle_minutes", "10"),
            ("send_text", "Sorry for the wait"),
        ],
    )
    .await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;

    // Off by default: a group's message is acknowledged and left out.
    let (_, device) = owner
        .page(&format!("/settings/linked-devices/{channel}"))
        .await;
    assert!(device.contains("Show group chats"), "{device}");
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![in_group(
            "3A00G0",
            "Before",
            "16505550101",
            "Ana",
        )])],
    )
    .await
    .expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 0);
    assert_eq!(app.count("select count(*) from contacts").await, 0);

    // Bad input to the setting: a 422 that says why, nothing changed.
    let bad = show_groups(&owner, &channel.to_string(), "maybe").await;
    assert_eq!(bad.status(), 422);
    let shows: bool = scalar(&app, "select shows_groups from channels").await;
    assert!(!shows);
    let on = show_groups(&owner, &channel.to_string(), "on").await;
    assert_eq!(on.status(), 303);

    // Two members write; one is known by LID alone. One conversation.
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![
            in_group("3A00G1", "Is the shop open today?", "16505550101", "Ana"),
            in_group("3A00G2", "And tomorrow?", "100000012345678@lid", "Bo"),
        ])],
    )
    .await
    .expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 2);
    assert_eq!(app.count("select count(*) from conversations").await, 1);
    let (name, group, phone): (String, String, Option<String>) =
        sqlx::query_as("select name, wa_group, phone from contacts")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("the group's contact");
    assert_eq!(
        (name.as_str(), group.as_str(), phone),
        ("WhatsApp group", GROUP, None),
        "the members are not contacts; the group is"
    );
    // The phone tells the group's name (and later a new one).
    fake.emit(
        channel,
        SessionEvent::GroupNamed {
            group: GROUP.into(),
            name: "Acme regulars".into(),
        },
    );
    until(WAIT, "the group named", || async {
        scalar::<String>(&app, "select name from contacts").await == "Acme regulars"
    })
    .await;

    // The conversation shows the group and who wrote what.
    let conversation: String = scalar(&app, "select id::text from conversations").await;
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Acme regulars") && page.contains(">Group<"),
        "{page}"
    );
    assert!(page.contains("Ana · +16505550101"), "{page}");
    assert!(
        page.contains(">Bo<"),
        "a hidden number shows the name alone"
    );
    assert!(
        !page.contains("100000012345678"),
        "a LID is not a number to show"
    );
    let (_, list) = owner.page("/inbox").await;
    assert!(list.contains("Acme regulars"), "{list}");

    // Members left "waiting" in a group are not waiting on the business.
    app.state.clock.advance(time::Duration::minutes(11));
    let env = app.state.env();
    assert_eq!(
        wacrm::features::automation::idle::sweep(&env)
            .await
            .expect("sweep"),
        0,
        "no waiting rule for a group"
    );

    // A reply goes to the group; a quote names the member who wrote it.
    let quoted: String = scalar(
        &app,
        "select id::text from messages where provider_message_id = '3A00G2'",
    )
    .await;
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes, 9 to 6."), ("reply_to", &quoted)],
        )
        .await;
    assert_eq!(response.status(), 303);
    until(WAIT, "the reply sent", || async { !fake.sent().is_empty() }).await;
    let sent = fake.sent();
    assert_eq!(sent[0].to, format!("{GROUP}@g.us"));
    let quote = sent[0].message.reply_to.clone().expect("quoted");
    assert_eq!(
        (quote.id.as_str(), quote.ours, quote.member.as_deref()),
        ("3A00G2", false, Some("100000012345678@lid"))
    );

    // Nothing automatic: no rule ran, no read receipt went to the group.
    app.run_pending_jobs().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.count("select count(*) from automation_runs").await,
        0,
        "no rule touches a group"
    );
    assert!(fake.read_receipts().is_empty(), "no receipts in groups");

    // A campaign to everyone does not count the group.
    let sandbox = sandbox(&app, org).await;
    let campaign = create(
        &owner,
        &[
            ("name", "Everyone"),
            ("channel_id", &sandbox),
            ("body", "Hi {{name}}"),
            ("rate_per_minute", "1"),
        ],
    )
    .await;
    let (_, page) = owner.page(&format!("/campaigns/{campaign}")).await;
    assert!(page.contains("0 contacts match now"), "{page}");

    // Left out again: new group messages are not kept; the old ones stay.
    let off = show_groups(&owner, &channel.to_string(), "off").await;
    assert_eq!(off.status(), 303);
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![in_group(
            "3A00G3",
            "After",
            "16505550101",
            "Ana",
        )])],
    )
    .await
    .expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 3);
    assert_eq!(
        app.count("select count(*) from messages where provider_message_id = '3A00G3'")
            .await,
        0
    );
}

#[tokio::test]
async fn another_workspace_cannot_switch_a_phones_groups_and_a_malformed_group_is_left_out() {
    let fake = FakeWeb::new();
    let app = app_with(&fake, 30).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let channel = new_channel(&app, org, None).await;
    fake.until_open(channel, WAIT).await;
    let other = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let response = show_groups(&other, &channel.to_string(), "on").await;
    assert_eq!(response.status(), 404);
    let shows: bool = scalar(&app, "select shows_groups from channels").await;
    assert!(!shows, "unchanged");
    // Without the CSRF token: refused.
    let forged = owner
        .post_form_raw(
            &format!("/settings/linked-devices/{channel}/groups"),
            &[("groups", "on")],
        )
        .await;
    assert_eq!(forged.status(), 403);

    let on = show_groups(&owner, &channel.to_string(), "on").await;
    assert_eq!(on.status(), 303);
    // A hostile address (not a group id; a member that is no number) is
    // dropped; the rest of the delivery is kept.
    let mut bad_group = in_group("3A00B1", "x", "16505550101", "Ana");
    bad_group.group = Some(WebGroup {
        id: "1203'; drop table contacts;--".into(),
        member: Some("16505550101".into()),
    });
    let bad_member = in_group("3A00B2", "y", "<script>@lid", "Ana");
    let long_name = in_group("3A00B3", "z", "16505550101", &"N".repeat(5000));
    fake.deliver(
        channel,
        vec![SessionEvent::Messages(vec![
            bad_group, bad_member, long_name,
        ])],
    )
    .await
    .expect("committed");
    assert_eq!(app.count("select count(*) from messages").await, 1);
    let name_length: i32 = scalar(&app, "select length(group_member_name) from messages").await;
    assert_eq!(name_length, 200, "a long profile name is cut, not refused");
}
