//! A user deletes their own account: only after their password (and second
//! factor) again, never while they are the only owner of a team, with the
//! workspaces they are alone in; afterwards nothing of them signs in, their
//! work shows "Former member", nobody else's data moves, and the address
//! can sign up again.

use crate::support::*;

const DELETE: &str = "/profile/delete";

async fn users_with_email(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("select count(*) from users where lower(email) = lower($1)")
        .bind(email)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap()
}

/// The actions of a workspace's audit log, in order.
async fn audit_actions(app: &TestApp, org: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar("select action from audit_log where org_id = $1 order by seq")
        .bind(org)
        .fetch_all(&mut app.admin_conn().await)
        .await
        .unwrap()
}

async fn deletion_requested(app: &TestApp, org: uuid::Uuid) -> bool {
    sqlx::query_scalar::<_, Option<time::OffsetDateTime>>(
        "select deletion_requested_at from organizations where id = $1",
    )
    .bind(org)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap()
    .is_some()
}

#[tokio::test]
async fn the_page_says_what_goes_and_stays_and_a_wrong_password_or_no_token_deletes_nothing() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let acme = app.org_id("Acme").await;

    let (_, profile) = ana.page("/profile").await;
    assert!(profile.contains("href=\"/profile/delete\""));
    let (status, page) = ana.page(DELETE).await;
    assert_eq!(status, 200);
    for words in [
        "What goes at once",
        "What stays",
        "Former member",
        "API tokens you created are revoked",
        "data-deleted-with=\"Acme\"",
        "name=\"delete_workspaces\"",
    ] {
        assert!(page.contains(words), "{words} in {page}");
    }
    assert!(
        !page.contains("name=\"code\""),
        "no code asked without two-factor"
    );

    // A wrong password.
    let response = ana
        .post_form(
            DELETE,
            &[
                ("password", "not my password"),
                ("delete_workspaces", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("Your password is not right. Nothing was deleted."));
    // The workspace going with it, not confirmed.
    let response = ana.post_form(DELETE, &[("password", PASSWORD)]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Tick the box"));
    // No security token.
    let response = ana
        .post_form_raw(
            DELETE,
            &[("password", PASSWORD), ("delete_workspaces", "yes")],
        )
        .await;
    assert_eq!(response.status(), 403);

    assert_eq!(users_with_email(&app, "ana@acme.test").await, 1);
    assert!(!deletion_requested(&app, acme).await);
    assert_eq!(ana.page("/dashboard").await.0, 200, "still signed in");
    assert!(
        !audit_actions(&app, acme)
            .await
            .contains(&"member.account_deleted".to_owned())
    );
}

#[tokio::test]
async fn with_two_factor_on_the_code_is_needed_too() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let (_, recovery_codes) = enrol(&ana).await;
    let (_, page) = ana.page(DELETE).await;
    assert!(page.contains("name=\"code\""));

    for code in ["", "000000", "not-a-code"] {
        let response = ana
            .post_form(
                DELETE,
                &[
                    ("password", PASSWORD),
                    ("code", code),
                    ("delete_workspaces", "yes"),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "code {code:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("That code is not valid")
        );
    }
    assert_eq!(users_with_email(&app, "ana@acme.test").await, 1);

    let response = ana
        .post_form(
            DELETE,
            &[
                ("password", PASSWORD),
                ("code", &recovery_codes[0]),
                ("delete_workspaces", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account-deleted");
    assert_eq!(users_with_email(&app, "ana@acme.test").await, 0);
    // Their second factor went with them.
    assert_eq!(
        app.count("select count(*) from user_recovery_codes").await,
        0
    );
    assert_eq!(
        app.count("select count(*) from remembered_devices").await,
        0
    );
}

#[tokio::test]
async fn the_only_owner_of_a_team_transfers_ownership_first_then_leaves() {
    let app = spawn_app().await;
    let acme = team(&app).await;
    let acme_id = app.org_id("Acme").await;

    // Refused, with the reason and the way to the Team page.
    let (status, page) = acme.owner.page(DELETE).await;
    assert_eq!(status, 200);
    assert!(page.contains("You are the only owner of Acme, which has 2 other members"));
    assert!(page.contains("href=\"/team\""));
    assert!(
        !page.contains("action=\"/profile/delete\""),
        "no form to send"
    );
    let response = acme
        .owner
        .post_form(DELETE, &[("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), 409);
    let body = response.text().await.unwrap();
    assert!(body.contains("Make one of them the owner first"));
    assert_eq!(users_with_email(&app, "owner@acme.test").await, 1);
    assert_eq!(
        app.count("select count(*) from memberships").await,
        3,
        "nobody left"
    );

    // The Team page says what a transfer does to the old owner.
    let (_, team_page) = acme.owner.page("/team").await;
    assert!(team_page.contains("you become an admin"));
    // Another workspace's owner cannot use the transfer on Acme's member.
    let globex = app.sign_up("Gus", "gus@globex.test", "Globex").await;
    let admin_id = app.user_id("admin@acme.test").await.to_string();
    let response = globex
        .post_form("/team/transfer-ownership", &[("user_id", &admin_id)])
        .await;
    assert_eq!(response.status(), 404);
    // An admin cannot transfer it either.
    let agent_id = app.user_id("agent@acme.test").await.to_string();
    let response = acme
        .admin
        .post_form("/team/transfer-ownership", &[("user_id", &agent_id)])
        .await;
    assert_eq!(response.status(), 403);

    let response = acme
        .owner
        .post_form("/team/transfer-ownership", &[("user_id", &admin_id)])
        .await;
    assert_eq!(response.status(), 303);
    assert!(
        audit_actions(&app, acme_id)
            .await
            .contains(&"member.ownership_transferred".to_owned())
    );

    // Now an admin, Olga may leave; Acme carries on without her.
    let (_, page) = acme.owner.page(DELETE).await;
    assert!(page.contains("You leave Acme"));
    assert!(!page.contains("data-deleted-with"));
    let response = acme
        .owner
        .post_form(DELETE, &[("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(users_with_email(&app, "owner@acme.test").await, 0);
    assert!(!deletion_requested(&app, acme_id).await);
    assert_eq!(
        app.count("select count(*) from memberships where role = 'owner'")
            .await,
        2,
        "Adam owns Acme, Gus owns Globex"
    );
    assert_eq!(acme.admin.page("/team").await.0, 200);
    let actions = audit_actions(&app, acme_id).await;
    assert_eq!(
        actions.last().map(String::as_str),
        Some("member.account_deleted")
    );
    assert!(!actions.contains(&"workspace.deletion_requested".to_owned()));
}

#[tokio::test]
async fn the_only_member_deletes_their_account_and_their_workspaces_with_it() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let response = ana
        .post_form("/workspaces", &[("org_name", "Ana Side Project")])
        .await;
    assert_eq!(response.status(), 303);
    let acme = app.org_id("Acme").await;
    let side = app.org_id("Ana Side Project").await;
    let globex = app.sign_up("Gus", "gus@globex.test", "Globex").await;
    let globex_id = app.org_id("Globex").await;

    let (_, page) = ana.page(DELETE).await;
    assert!(page.contains("data-deleted-with=\"Acme\""));
    assert!(page.contains("data-deleted-with=\"Ana Side Project\""));
    let response = ana
        .post_form(
            DELETE,
            &[("password", PASSWORD), ("delete_workspaces", "yes")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, goodbye) = ana.page("/account-deleted").await;
    assert_eq!(status, 200);
    assert!(goodbye.contains("Your account was deleted"));

    // Both are being deleted as an owner deletes one: 30 days, then gone.
    for org in [acme, side] {
        assert!(deletion_requested(&app, org).await);
        let actions = audit_actions(&app, org).await;
        let tail: Vec<&str> = actions.iter().rev().take(2).map(String::as_str).collect();
        assert_eq!(
            tail,
            ["member.account_deleted", "workspace.deletion_requested"]
        );
    }
    assert_eq!(
        app.count("select count(*) from memberships").await,
        1,
        "only Gus's"
    );
    assert!(!deletion_requested(&app, globex_id).await);
    assert_eq!(globex.page("/dashboard").await.0, 200);
    let mail = app
        .mail_to("ana@acme.test", "Your wacrm account")
        .await
        .body_text();
    assert!(mail.contains("Acme") && mail.contains("erased for good on"));

    // The address is free: a new, empty account.
    let again = app
        .sign_up("Ana Again", "ana@acme.test", "Fresh Start")
        .await;
    let (_, workspaces) = again.page("/workspaces").await;
    assert!(workspaces.contains("Fresh Start"));
    assert!(
        !workspaces.contains("Ana Side Project") && !workspaces.contains("<strong>Acme</strong>")
    );
}

#[tokio::test]
async fn after_deletion_nothing_of_them_works_and_their_work_shows_former_member() {
    let app = spawn_app().await;
    let acme = team(&app).await;
    let acme_id = app.org_id("Acme").await;
    let globex = app.sign_up("Gus", "gus@globex.test", "Globex").await;
    let adam_id = app.user_id("admin@acme.test").await;

    // Adam's work in Acme: a reply, a private note, a note on a contact, an
    // API token, an invitation nobody accepted; and a second device.
    let chat = customer_writes(&acme.owner, "Maria", "+4930901820", "Hello there").await;
    for (path, text) in [
        ("messages", "Adam's reply"),
        ("notes", "Adam's private note"),
    ] {
        let response = acme
            .admin
            .post_form(&format!("/inbox/{chat}/{path}"), &[("text", text)])
            .await;
        assert_eq!(response.status(), 303, "{path}");
    }
    let response = acme
        .owner
        .post_form(
            &format!("/inbox/{chat}/messages"),
            &[("text", "Olga's reply")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let bruno = create_contact(&acme.owner, &[("name", "Bruno")]).await;
    for (who, text) in [
        (&acme.admin, "Adam's contact note"),
        (&acme.owner, "Olga's contact note"),
    ] {
        let response = who
            .post_form(&format!("/contacts/{bruno}/notes"), &[("body", text)])
            .await;
        assert_eq!(response.status(), 303);
    }
    let token = api_token(&acme.admin, "zapier").await;
    let response = acme
        .admin
        .post_form(
            "/team/invitations",
            &[("email", "pending@acme.test"), ("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let other_device = app.log_in("admin@acme.test", PASSWORD).await;
    let api = reqwest::Client::new();
    let contacts = format!("{}/api/v1/contacts", app.base);
    let response = api.get(&contacts).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200, "the token works before");
    // Globex's own.
    let globex_chat = customer_writes(&globex, "Gina", "+4930901821", "Globex hello").await;
    let response = globex
        .post_form(
            &format!("/inbox/{globex_chat}/notes"),
            &[("text", "Gus's note")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let before: (i64, i64) = sqlx::query_as(
        "select (select count(*) from messages where org_id = $1), \
                (select count(*) from messages where org_id <> $1)",
    )
    .bind(acme_id)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();

    let response = acme
        .admin
        .post_form(DELETE, &[("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), 303);

    // Nothing of them signs in or calls in.
    let response = app
        .browser()
        .post_form(
            "/login",
            &[("email", "admin@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 401);
    for browser in [&acme.admin, &other_device] {
        let response = browser.eventually("/dashboard", 303).await;
        assert_eq!(response.status(), 303);
        assert!(location(&response).starts_with("/login"));
    }
    let response = api.get(&contacts).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 401, "their API token is revoked");
    assert_eq!(
        app.count(
            "select count(*) from invitations where email = 'pending@acme.test' and revoked_at is null"
        )
        .await,
        0
    );
    let left: i64 = sqlx::query_scalar(
        "select (select count(*) from sessions where user_id = $1) \
              + (select count(*) from user_tokens where user_id = $1) \
              + (select count(*) from memberships where user_id = $1)",
    )
    .bind(adam_id)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(left, 0);

    // Their work stays, as a former member's; everyone else's as it was.
    let after: (i64, i64) = sqlx::query_as(
        "select (select count(*) from messages where org_id = $1), \
                (select count(*) from messages where org_id <> $1)",
    )
    .bind(acme_id)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(after, before);
    let (_, conversation) = acme.owner.page(&format!("/inbox/{chat}")).await;
    assert!(conversation.contains("Adam&#39;s reply") || conversation.contains("Adam's reply"));
    assert!(conversation.contains("Former member"), "{conversation}");
    assert!(conversation.contains("Private note by a former member"));
    assert!(conversation.contains("Olga Owner"));
    assert!(!conversation.contains("Adam Admin"));
    let (_, contact) = acme.owner.page(&format!("/contacts/{bruno}")).await;
    assert!(contact.contains("A former member"));
    assert!(contact.contains("Olga Owner") && !contact.contains("Adam Admin"));
    let (_, audit) = acme.owner.page("/settings/audit").await;
    assert!(audit.contains("Former member") && audit.contains("member.account_deleted"));
    let response = acme.owner.post_form("/settings/audit/verify", &[]).await;
    assert!(
        response.text().await.unwrap().contains("The chain holds"),
        "the log was only added to"
    );
    let (_, team_page) = acme.owner.page("/team").await;
    assert!(!team_page.contains("admin@acme.test"));
    assert!(!deletion_requested(&app, acme_id).await);
    let (_, globex_page) = globex.page(&format!("/inbox/{globex_chat}")).await;
    assert!(globex_page.contains("Gus's note") || globex_page.contains("Gus&#39;s note"));
    assert!(globex_page.contains("Private note by Gus"));

    // The address can sign up again, and is nobody's member.
    let again = app.sign_up("Adam", "admin@acme.test", "Adam Again").await;
    let (_, workspaces) = again.page("/workspaces").await;
    assert!(workspaces.contains("Adam Again") && !workspaces.contains("<strong>Acme</strong>"));
}

#[tokio::test]
async fn guessing_the_password_or_code_here_is_limited_as_at_sign_in() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    enrol(&ana).await;
    let (tries, refused) = tries_until_429(10, || {
        ana.post_form(
            DELETE,
            &[
                ("password", PASSWORD),
                ("code", "123456"),
                ("delete_workspaces", "yes"),
            ],
        )
    })
    .await;
    assert!(tries > 10, "refused after {tries}");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(users_with_email(&app, "ana@acme.test").await, 1);
}

#[tokio::test]
async fn a_workspace_that_still_pays_is_cancelled_first_reached_from_the_page() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let response = ana
        .post_form("/workspaces", &[("org_name", "Paid Side")])
        .await;
    assert_eq!(response.status(), 303);
    let paid = app.org_id("Paid Side").await;
    let acme = app.org_id("Acme").await;
    sqlx::query(
        "insert into billing_accounts (org_id, subscription_id, plan, status) \
         values ($1, 'sub_paid', 'pro', 'active')",
    )
    .bind(paid)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
    // Back in Acme, Paid Side is reached through a switch to its Billing.
    let response = ana
        .post_form(
            "/workspaces/switch",
            &[
                ("org_id", &acme.to_string()),
                ("next", "https://evil.test/"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/dashboard", "no open redirect");

    let (_, page) = ana.page(DELETE).await;
    assert!(page.contains("Paid Side still has a paid subscription"));
    assert!(page.contains(&format!("name=\"org_id\" value=\"{paid}\"")));
    assert!(page.contains("name=\"next\" value=\"/settings/billing\""));
    let response = ana
        .post_form(
            DELETE,
            &[("password", PASSWORD), ("delete_workspaces", "yes")],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(users_with_email(&app, "ana@acme.test").await, 1);
    assert!(!deletion_requested(&app, acme).await && !deletion_requested(&app, paid).await);

    let response = ana
        .post_form(
            "/workspaces/switch",
            &[("org_id", &paid.to_string()), ("next", "/settings/billing")],
        )
        .await;
    assert_eq!(location(&response), "/settings/billing");

    // Canceled (to the end of the period): nothing stops it any more.
    sqlx::query("update billing_accounts set cancel_at_period_end = true where org_id = $1")
        .bind(paid)
        .execute(&mut app.admin_conn().await)
        .await
        .unwrap();
    let response = ana
        .post_form(
            DELETE,
            &[("password", PASSWORD), ("delete_workspaces", "yes")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(deletion_requested(&app, acme).await && deletion_requested(&app, paid).await);
}
