//! Bulk actions on the conversations ticked in the inbox list: resolve,
//! snooze, mark read, assign, add a label. All or nothing: one conversation
//! the member may not see (another workspace's, or another agent's where
//! agents see only theirs) changes none of them.

use crate::support::*;

async fn status_of(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("select status from conversations where id = $1::uuid")
        .bind(id)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("status")
}

async fn assignee_of(app: &TestApp, id: &str) -> Option<uuid::Uuid> {
    sqlx::query_scalar("select assignee_id from conversations where id = $1::uuid")
        .bind(id)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("assignee")
}

async fn bulk(browser: &Browser, ids: &[&str], action: &str) -> reqwest::Response {
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", *id)).collect();
    fields.push(("action", action));
    fields.push(("back", "assignee=all&status=open"));
    browser.post_form("/inbox/bulk", &fields).await
}

#[tokio::test]
async fn ticked_conversations_are_resolved_assigned_and_labelled_together() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let maria = customer_writes(&team.owner, "Maria", "+4930901820", "hi").await;
    let jonas = customer_writes(&team.owner, "Jonas", "+4930901821", "hello").await;
    let petra = customer_writes(&team.owner, "Petra", "+4930901822", "hey").await;

    // The list offers a tick per row, tied to the bulk form.
    let (_, inbox) = team.owner.page("/inbox").await;
    assert!(inbox.contains(&format!("name=\"ids\" value=\"{maria}\" form=\"bulk\"")));
    assert!(inbox.contains("<form id=\"bulk\" method=\"post\" action=\"/inbox/bulk\""));
    assert!(inbox.contains("value=\"assign:me\""));

    let agent_id = app.user_id("agent@acme.test").await;
    let assigned = bulk(
        &team.owner,
        &[&maria, &jonas],
        &format!("assign:{agent_id}"),
    )
    .await;
    assert_eq!(assigned.status(), 303);
    assert_eq!(location(&assigned), "/inbox?assignee=all&status=open");
    assert_eq!(assignee_of(&app, &maria).await, Some(agent_id));
    assert_eq!(assignee_of(&app, &jonas).await, Some(agent_id));
    assert_eq!(assignee_of(&app, &petra).await, None, "not ticked");
    let (_, page) = team.owner.page("/inbox").await;
    assert!(
        page.contains("2 conversations assigned."),
        "the flash says so"
    );

    let vip = create_label(&team.owner, "VIP", "#dc2626").await;
    let urgent = create_label(&team.owner, "Urgent", "#2563eb").await;
    let one = team
        .owner
        .post_form(&format!("/inbox/{jonas}/labels"), &[("labels", &urgent)])
        .await;
    assert_eq!(one.status(), 303);
    let labelled = bulk(&team.owner, &[&maria, &jonas], &format!("label:{vip}")).await;
    assert_eq!(labelled.status(), 303);
    assert_eq!(
        app.count("select count(*) from conversation_labels").await,
        3,
        "VIP on both, Jonas keeps Urgent"
    );

    let resolved = bulk(&team.owner, &[&maria, &petra], "resolve").await;
    assert_eq!(resolved.status(), 303);
    assert_eq!(status_of(&app, &maria).await, "resolved");
    assert_eq!(status_of(&app, &petra).await, "resolved");
    assert_eq!(status_of(&app, &jonas).await, "open");

    // Snoozing leaves the resolved one as it was and says so.
    let snoozed = bulk(&team.owner, &[&maria, &jonas], "snooze:4").await;
    assert_eq!(snoozed.status(), 303);
    assert_eq!(status_of(&app, &jonas).await, "snoozed");
    assert_eq!(status_of(&app, &maria).await, "resolved");
    let (_, page) = team.owner.page("/inbox").await;
    assert!(
        page.contains(
            "1 conversation snoozed. 1 conversation already resolved, left as they were."
        ),
        "{page}"
    );
}

#[tokio::test]
async fn mark_read_clears_the_unread_badges_of_this_member_only() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let maria = customer_writes(&team.owner, "Maria", "+4930901820", "hi").await;
    let jonas = customer_writes(&team.owner, "Jonas", "+4930901821", "hello").await;

    let (_, before) = team.admin.page("/inbox").await;
    assert_eq!(before.matches("<li class=\"unread").count(), 2);
    let read = bulk(&team.admin, &[&maria, &jonas], "read").await;
    assert_eq!(read.status(), 303);
    let (_, after) = team.admin.page("/inbox").await;
    assert_eq!(after.matches("<li class=\"unread").count(), 0, "{after}");
    let (_, agents) = team.agent.page("/inbox").await;
    assert_eq!(
        agents.matches("<li class=\"unread").count(),
        2,
        "still unread for the agent"
    );
    assert_eq!(
        app.count("select count(*) from messages where direction = 'out'")
            .await,
        0,
        "and nothing went to the customers"
    );
}

#[tokio::test]
async fn one_conversation_out_of_reach_changes_none_of_them() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let ours = customer_writes(&team.owner, "Maria", "+4930901820", "hi").await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let theirs = customer_writes(&other, "Bruno", "+4930901899", "hallo").await;

    // Another workspace's conversation, alone or among ours: 404.
    let alone = bulk(&team.owner, &[&theirs], "resolve").await;
    assert_eq!(alone.status(), 404);
    let mixed = bulk(&team.owner, &[&ours, &theirs], "resolve").await;
    assert_eq!(mixed.status(), 404);
    assert_eq!(status_of(&app, &ours).await, "open", "ours untouched");
    assert_eq!(status_of(&app, &theirs).await, "open", "theirs untouched");

    // Where agents see only theirs and the unassigned, another's is out of reach.
    agents_see_only_theirs(&team.owner).await;
    let to_admin = team
        .owner
        .post_form(
            &format!("/inbox/{ours}/assign"),
            &[(
                "assignee",
                &app.user_id("admin@acme.test").await.to_string(),
            )],
        )
        .await;
    assert_eq!(to_admin.status(), 303);
    let refused = bulk(&team.agent, &[&ours], "assign:me").await;
    assert_eq!(refused.status(), 404);
    assert_eq!(
        assignee_of(&app, &ours).await,
        Some(app.user_id("admin@acme.test").await)
    );
}

#[tokio::test]
async fn bad_bulk_requests_are_refused_with_the_reason_and_change_nothing() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let maria = customer_writes(&team.owner, "Maria", "+4930901820", "hi").await;
    let outsider = app.sign_up("Otto", "otto@other.test", "Other").await;
    let outsider_id = app.user_id("otto@other.test").await;
    drop(outsider);

    let none = bulk(&team.owner, &[], "resolve").await;
    assert_eq!(none.status(), 422);
    assert!(
        none.text()
            .await
            .unwrap()
            .contains("Tick at least one conversation")
    );

    for action in [
        "",
        "delete",
        "snooze:0",
        "snooze:99999",
        "label:not-an-id",
        "assign:x",
    ] {
        let response = bulk(&team.owner, &[&maria], action).await;
        assert_eq!(response.status(), 422, "{action}");
    }
    let unknown_label = bulk(
        &team.owner,
        &[&maria],
        &format!("label:{}", uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!(unknown_label.status(), 422);
    let not_a_member = bulk(&team.owner, &[&maria], &format!("assign:{outsider_id}")).await;
    assert_eq!(not_a_member.status(), 422);
    assert!(
        not_a_member
            .text()
            .await
            .unwrap()
            .contains("Pick a member of this workspace")
    );

    let garbage = bulk(&team.owner, &["not-a-uuid"], "resolve").await;
    assert_eq!(garbage.status(), 404);
    let too_many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let response = bulk(&team.owner, &too_many, "resolve").await;
    assert_eq!(response.status(), 422);

    let forged = team
        .owner
        .post_form_raw("/inbox/bulk", &[("ids", &maria), ("action", "resolve")])
        .await;
    assert_eq!(forged.status(), 403, "no CSRF token");

    assert_eq!(status_of(&app, &maria).await, "open");
    assert_eq!(assignee_of(&app, &maria).await, None);
    assert_eq!(
        app.count("select count(*) from conversation_labels").await,
        0
    );
}
