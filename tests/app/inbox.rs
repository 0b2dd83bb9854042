//! The inbox with the sandbox channel: a customer writes in through the
//! simulator, members see, reply, note, assign and resolve, the reply's
//! ticks move forward, and every workspace keeps to its own.

use crate::support::*;

async fn message_status(app: &TestApp, body: &str) -> String {
    sqlx::query_scalar("select status from messages where body = $1")
        .bind(body)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap()
}

/// Runs the due jobs: the send moves the message on from `queued`.
async fn sent(app: &TestApp, body: &str) -> String {
    app.run_pending_jobs().await;
    let status = message_status(app, body).await;
    assert_ne!(status, "queued", "{body:?} was never sent");
    status
}

#[tokio::test]
async fn a_customer_message_arrives_and_the_reply_goes_out_with_ticks() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    let conversation = customer_writes(
        &team.agent,
        "Maria Souza",
        "+55 11 91234 5678",
        "Do you ship to Recife?",
    )
    .await;

    // The contact was created with the profile name and E.164 number.
    assert_eq!(
        app.count(
            "select count(*) from contacts where phone = '+5511912345678' and name = 'Maria Souza'"
        )
        .await,
        1
    );
    let (status, body) = team.admin.page("/inbox").await;
    assert_eq!(status, 200);
    assert!(body.contains("Maria Souza") && body.contains("Do you ship to Recife?"));
    assert!(body.contains("class=\"unread\""), "unread for the admin");

    let (status, body) = team.admin.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Do you ship to Recife?") && body.contains("+5511912345678"));
    let (_, body) = team.admin.page("/inbox").await;
    assert!(!body.contains("class=\"unread\""), "read once opened");

    let response = team
        .admin
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Yes, in 3 days.")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(sent(&app, "Yes, in 3 days.").await, "sent");
    let (_, body) = team.admin.page(&format!("/inbox/{conversation}")).await;
    assert!(body.contains("Yes, in 3 days.") && body.contains("status-sent"));

    // The customer's phone shows it (delivered), then they read it.
    let (_, chat) = team.agent.page("/sandbox?phone=%2B5511912345678").await;
    assert!(chat.contains("Yes, in 3 days."));
    assert_eq!(message_status(&app, "Yes, in 3 days.").await, "delivered");
    let response = team
        .agent
        .post_form("/sandbox/read", &[("phone", "+5511912345678")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(message_status(&app, "Yes, in 3 days.").await, "read");
    let (_, body) = team.admin.page(&format!("/inbox/{conversation}")).await;
    assert!(body.contains("status-read"));
    // Viewing again never moves it back.
    team.agent.page("/sandbox?phone=%2B5511912345678").await;
    assert_eq!(message_status(&app, "Yes, in 3 days.").await, "read");

    // A second message lands in the same conversation.
    let again = customer_writes(
        &team.agent,
        "Maria Souza",
        "+5511912345678",
        "Great, thanks",
    )
    .await;
    assert_eq!(again, conversation);
    assert_eq!(app.count("select count(*) from conversations").await, 1);
}

#[tokio::test]
async fn notes_status_and_assignment_are_worked_from_the_conversation() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    let conversation = customer_writes(&team.agent, "Ana", "+4930901820", "Hello").await;
    let path = format!("/inbox/{conversation}");

    let response = team
        .agent
        .post_form(&format!("{path}/notes"), &[("text", "VIP, be quick")])
        .await;
    assert_eq!(response.status(), 303);
    let (private, status): (bool, String) =
        sqlx::query_as("select private, status from messages where body = 'VIP, be quick'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert!(private);
    assert_eq!(status, "received", "a note is never queued to send");
    assert_eq!(
        app.count("select count(*) from jobs where queue = 'messages'")
            .await,
        0
    );
    let (_, chat) = team.agent.page("/sandbox?phone=%2B4930901820").await;
    assert!(
        !chat.contains("VIP, be quick"),
        "the customer never sees notes"
    );

    let response = team
        .agent
        .post_form(&format!("{path}/assign"), &[("assignee", "me")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, mine) = team.agent.page("/inbox?assignee=mine").await;
    assert!(mine.contains(&format!("/inbox/{conversation}")));
    let (_, unassigned) = team.agent.page("/inbox?assignee=unassigned").await;
    assert!(!unassigned.contains(&format!("/inbox/{conversation}")));

    let response = team
        .agent
        .post_form(
            &format!("{path}/status"),
            &[("status", "snoozed"), ("snooze_hours", "4")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, open) = team.agent.page("/inbox").await;
    assert!(
        !open.contains(&format!("/inbox/{conversation}")),
        "snoozed is not open"
    );
    let (_, snoozed) = team.agent.page("/inbox?status=snoozed").await;
    assert!(snoozed.contains(&format!("/inbox/{conversation}")));
    // The customer writing again wakes it.
    customer_writes(&team.agent, "Ana", "+4930901820", "Hello?").await;
    let (_, open) = team.agent.page("/inbox").await;
    assert!(open.contains(&format!("/inbox/{conversation}")));

    let response = team
        .agent
        .post_form(&format!("{path}/status"), &[("status", "resolved")])
        .await;
    assert_eq!(response.status(), 303);
    // After resolving, the next message starts a new conversation.
    let next = customer_writes(&team.agent, "Ana", "+4930901820", "One more thing").await;
    assert_ne!(next, conversation);
    let (_, page) = team.agent.page(&format!("/inbox/{next}")).await;
    assert!(
        page.contains(&format!("/inbox/{conversation}")),
        "previous conversations listed"
    );
    // The old one cannot be reopened beside the new one.
    let response = team
        .agent
        .post_form(&format!("{path}/status"), &[("status", "open")])
        .await;
    assert_eq!(response.status(), 409);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_keeps_the_text() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "", "+4930901820", "Hi").await;
    let path = format!("/inbox/{conversation}");
    let long = "y".repeat(4097);
    for (what, text, reason) in [
        ("messages", "   ", "The message is empty"),
        ("messages", long.as_str(), "too long"),
        ("notes", "", "The message is empty"),
    ] {
        let response = owner
            .post_form(&format!("{path}/{what}"), &[("text", text)])
            .await;
        assert_eq!(response.status(), 422, "{what}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains(reason) && body.contains(text.trim()),
            "{what}: {reason}"
        );
    }
    for fields in [
        vec![("status", "closed")],
        vec![("status", "snoozed"), ("snooze_hours", "0")],
        vec![("status", "snoozed"), ("snooze_hours", "soon")],
    ] {
        let response = owner.post_form(&format!("{path}/status"), &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
    }
    for assignee in ["nobody-at-all", "00000000-0000-0000-0000-000000000000"] {
        let response = owner
            .post_form(&format!("{path}/assign"), &[("assignee", assignee)])
            .await;
        assert_eq!(response.status(), 422, "{assignee}");
    }
    for bad in [
        "/inbox?status=closed",
        "/inbox?assignee=boss",
        "/inbox?before=zzz",
        "/inbox?label=x",
    ] {
        let (status, _) = owner.page(bad).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = owner.page("/inbox/not-an-id").await;
    assert_eq!(status, 404);
    // The simulator explains a bad number or an empty message and keeps the text.
    let response = owner
        .post_form("/sandbox/messages", &[("phone", "12"), ("text", "keep me")])
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("Phone:") && body.contains("keep me"));
    let response = owner
        .post_form(
            "/sandbox/messages",
            &[("phone", "+4930901820"), ("text", " ")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.count("select count(*) from messages").await, 1);
    assert_eq!(
        app.count("select count(*) from conversations where status = 'open'")
            .await,
        1
    );
}

#[tokio::test]
async fn another_workspace_never_sees_or_touches_a_conversation() {
    let app = spawn_app_without_worker().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation =
        customer_writes(&acme, "Secret Customer", "+4930901820", "my order 123").await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let path = format!("/inbox/{conversation}");

    let (status, body) = other.page(&path).await;
    assert_eq!(status, 404);
    assert!(!body.contains("my order 123"));
    let (_, list) = other.page("/inbox?status=all").await;
    assert!(!list.contains("Secret Customer") && !list.contains(&conversation));
    for (action, fields) in [
        ("messages", vec![("text", "injected")]),
        ("notes", vec![("text", "injected")]),
        ("status", vec![("status", "resolved")]),
        ("assign", vec![("assignee", "me")]),
    ] {
        let response = other.post_form(&format!("{path}/{action}"), &fields).await;
        assert_eq!(response.status(), 404, "{action}");
    }
    // The same number writing to the other workspace's sandbox is its own contact.
    let theirs = customer_writes(&other, "Someone", "+4930901820", "hi other").await;
    assert_ne!(theirs, conversation);
    let (_, chat) = other.page("/sandbox?phone=%2B4930901820").await;
    assert!(!chat.contains("my order 123"));
    assert_eq!(
        app.count("select count(*) from messages where body = 'injected'")
            .await,
        0
    );
    let (status, assignee): (String, Option<uuid::Uuid>) =
        sqlx::query_as("select status, assignee_id from conversations where id = $1::uuid")
            .bind(&conversation)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!((status.as_str(), assignee), ("open", None));
}

#[tokio::test]
async fn agents_see_only_theirs_and_unassigned_when_the_workspace_says_so() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    let for_admin = customer_writes(&team.owner, "Ana", "+4930901820", "one").await;
    let unassigned = customer_writes(&team.owner, "Bruno", "+4930901821", "two").await;
    let admin_id = app.user_id("admin@acme.test").await.to_string();
    let response = team
        .owner
        .post_form(
            &format!("/inbox/{for_admin}/assign"),
            &[("assignee", &admin_id)],
        )
        .await;
    assert_eq!(response.status(), 303);

    let (_, list) = team.agent.page("/inbox").await;
    assert!(
        list.contains(&for_admin) && list.contains(&unassigned),
        "all by default"
    );
    agents_see_only_theirs(&team.owner).await;
    let (_, settings) = team.admin.page("/settings").await;
    assert!(settings.contains("value=\"assigned\" selected"));
    let response = team
        .owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "UTC"),
                ("agents_see", "some"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let (_, list) = team.agent.page("/inbox").await;
    assert!(!list.contains(&for_admin) && list.contains(&unassigned));
    let (status, _) = team.agent.page(&format!("/inbox/{for_admin}")).await;
    assert_eq!(status, 404);
    let response = team
        .agent
        .post_form(
            &format!("/inbox/{for_admin}/messages"),
            &[("text", "sneaky")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let (_, list) = team.admin.page("/inbox").await;
    assert!(list.contains(&for_admin), "admins still see everything");
}

#[tokio::test]
async fn labels_and_priority_are_set_from_the_conversation() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    let response = team
        .owner
        .post_form("/labels", &[("name", "VIP"), ("color", "#dc2626")])
        .await;
    assert_eq!(response.status(), 303);
    let vip: uuid::Uuid = sqlx::query_scalar("select id from labels where name = 'VIP'")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    let conversation = customer_writes(&team.agent, "Ana", "+4930901820", "hello").await;
    let other_conversation = customer_writes(&team.agent, "Bruno", "+4930901821", "hi").await;
    let path = format!("/inbox/{conversation}");

    let response = team
        .agent
        .post_form(&format!("{path}/labels"), &[("labels", &vip.to_string())])
        .await;
    assert_eq!(response.status(), 303);
    let response = team
        .agent
        .post_form(&format!("{path}/priority"), &[("priority", "urgent")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, list) = team.admin.page(&format!("/inbox?label={vip}")).await;
    assert!(list.contains(&conversation) && !list.contains(&other_conversation));
    assert!(list.contains("priority-urgent"));
    let (_, page) = team.admin.page(&path).await;
    assert!(page.contains("value=\"urgent\" selected"));
    assert!(page.contains(&format!("value=\"{vip}\" checked")));

    // Bad input is refused with the reason and changes nothing.
    let response = team
        .agent
        .post_form(&format!("{path}/priority"), &[("priority", "critical")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Pick a priority"));
    let response = team
        .agent
        .post_form(&format!("{path}/labels"), &[("labels", "not-a-label")])
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        app.count("select count(*) from conversation_labels").await,
        1
    );

    // Another workspace can neither change it nor tag with its own labels.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let response = other
        .post_form("/labels", &[("name", "Theirs"), ("color", "#dc2626")])
        .await;
    assert_eq!(response.status(), 303);
    let theirs: uuid::Uuid = sqlx::query_scalar("select id from labels where name = 'Theirs'")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    for (action, field, value) in [
        ("priority", "priority", "low".to_owned()),
        ("labels", "labels", theirs.to_string()),
    ] {
        let response = other
            .post_form(&format!("{path}/{action}"), &[(field, &value)])
            .await;
        assert_eq!(response.status(), 404, "{action}");
    }
    let response = team
        .agent
        .post_form(
            &format!("{path}/labels"),
            &[("labels", &theirs.to_string())],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from conversation_labels").await,
        0,
        "another workspace's label is ignored (and VIP was unticked)"
    );
    assert_eq!(
        app.count("select count(*) from conversations where priority = 'urgent'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_contact_panel_shows_attributes_and_notes() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = owner
        .post_form(
            "/attributes",
            &[
                ("entity", "contact"),
                ("label", "Plan"),
                ("kind", "text"),
                ("options", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let conversation = customer_writes(&owner, "Ana", "+4930901820", "hello").await;
    let contact: uuid::Uuid =
        sqlx::query_scalar("update contacts set attributes = '{\"plan\": \"Gold\"}' returning id")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    let response = owner
        .post_form(
            &format!("/contacts/{contact}/notes"),
            &[("body", "Prefers mornings")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("<dt>Plan</dt><dd>Gold</dd>"), "{page}");
    assert!(page.contains("Prefers mornings"));
}

#[tokio::test]
async fn a_customer_image_is_stored_shown_and_served_only_to_its_workspace() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-not-really-but-sniffed".to_vec();
    let response = customer_sends_image(&owner, png.clone(), "the broken part").await;
    assert_eq!(response.status(), 303);
    let (_, list) = owner.page("/inbox").await;
    let at = list.find("data-conversation=\"").unwrap() + "data-conversation=\"".len();
    let conversation = &list[at..at + 36];
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("the broken part"));
    let src_at = page
        .find("<img class=\"media\" src=\"")
        .expect("the image is shown")
        + "<img class=\"media\" src=\"".len();
    let src = &page[src_at..src_at + page[src_at..].find('"').unwrap()];
    assert!(src.starts_with("/media/"));

    let response = owner.get(src).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);

    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let response = other.get(src).await;
    assert_eq!(response.status(), 404);
    let response = app.browser().get(src).await;
    assert_eq!(response.status(), 303, "signed out");
    let response = owner.get("/media/not-an-id").await;
    assert_eq!(response.status(), 404);

    // Only images, and not too large.
    let response = customer_sends_image(&owner, b"<svg onload=alert(1)>".to_vec(), "").await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("PNG, JPEG, GIF or WebP")
    );
    let mut big = png.clone();
    big.resize(6 * 1024 * 1024, 0);
    let response = customer_sends_image(&owner, big, "").await;
    assert_eq!(response.status(), 413);
    assert_eq!(app.count("select count(*) from media").await, 1);
    assert_eq!(
        app.count("select count(*) from messages where kind = 'image'")
            .await,
        1
    );
}

/// An htmx request for one part of the inbox: status, `Vary`, body.
async fn inbox_part(browser: &Browser, path: &str, target: &str) -> (u16, String, String) {
    let response = browser
        .client
        .get(browser.url(path))
        .header("HX-Request", "true")
        .header("HX-Target", target)
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    let vary = response
        .headers()
        .get("vary")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, vary, response.text().await.expect("body"))
}

#[tokio::test]
async fn picking_a_conversation_loads_only_its_panes_and_the_list_refreshes_alone() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let ana = customer_writes(&owner, "Ana", "+4930901820", "Hola from Ana").await;
    let bruno = customer_writes(&owner, "Bruno", "+5511912345678", "Oi from Bruno").await;

    // Picking Ana in the list: her messages and contact, not the list again.
    let (status, vary, panes) = inbox_part(&owner, &format!("/inbox/{ana}"), "panes").await;
    assert_eq!(status, 200);
    assert!(vary.contains("HX-Target"), "{vary}");
    assert!(panes.contains("id=\"panes\""));
    assert!(panes.contains(&format!("data-open=\"{ana}\"")));
    assert!(panes.contains("Hola from Ana"));
    assert!(panes.contains("+4930901820"), "the contact panel");
    assert!(!panes.contains("id=\"list-items\""), "no list");
    assert!(!panes.contains("Oi from Bruno"), "no list");
    assert!(!panes.contains("<html"), "no layout");
    // Opening it that way read it, as a full page would.
    let (_, _, list) = inbox_part(&owner, "/inbox", "list-items").await;
    assert!(list.contains("id=\"list-items\""));
    assert!(!list.contains("<html"), "no layout");
    assert!(!list.contains("id=\"panes\""), "no conversation");
    let unread_items = list.matches("class=\"unread").count();
    assert_eq!(unread_items, 1, "only Bruno's is unread: {list}");
    assert!(list.contains(&format!("data-conversation=\"{bruno}\"")));

    // The live refresh of the open conversation's messages gets the panes.
    let (status, _, messages) = inbox_part(&owner, &format!("/inbox/{bruno}"), "messages").await;
    assert_eq!(status, 200);
    assert!(messages.contains("id=\"messages\"") && messages.contains("Oi from Bruno"));
    assert!(!messages.contains("id=\"list-items\""));

    // Without htmx, or restoring history, the whole page.
    let (_, page) = owner.page(&format!("/inbox/{ana}")).await;
    assert!(
        page.contains("<html")
            && page.contains("id=\"list-items\"")
            && page.contains("id=\"panes\"")
    );
    let restore = owner
        .client
        .get(owner.url(&format!("/inbox/{ana}")))
        .header("HX-Request", "true")
        .header("HX-Target", "panes")
        .header("HX-History-Restore-Request", "true")
        .send()
        .await
        .expect("GET");
    assert!(restore.text().await.expect("body").contains("<html"));

    // Another workspace's member gets 404 for the part too, and bad ids 4xx.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let (status, _, body) = inbox_part(&other, &format!("/inbox/{ana}"), "panes").await;
    assert_eq!(status, 404);
    assert!(!body.contains("Hola from Ana"));
    let (status, _, _) = inbox_part(&owner, "/inbox/not-a-uuid", "panes").await;
    assert!((400..500).contains(&status), "{status}");
    let (status, _, _) = inbox_part(&owner, "/inbox?status=closed", "list-items").await;
    assert_eq!(status, 400);
}
