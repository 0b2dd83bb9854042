use crate::support::*;

#[tokio::test]
async fn owner_invites_an_admin_and_an_agent_who_join_with_their_roles() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let (_, body) = team.agent.page("/dashboard").await;
    assert!(body.contains("Acme") && body.contains("(agent)"), "{body}");
    let (_, body) = team.admin.page("/dashboard").await;
    assert!(body.contains("(admin)"));
    let (status, body) = team.owner.page("/team").await;
    assert_eq!(status, 200);
    for email in ["owner@acme.test", "admin@acme.test", "agent@acme.test"] {
        assert!(
            body.contains(&format!("data-member=\"{email}\"")),
            "{email} missing"
        );
    }
    // Accounts created from an invitation are verified (the link reached them).
    let mut conn = app.admin_conn().await;
    let verified: bool = sqlx::query_scalar(
        "select email_verified_at is not null from users where email = 'agent@acme.test'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("agent");
    assert!(verified);
}

#[tokio::test]
async fn invitation_links_work_once_and_revoked_ones_not_at_all() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    owner
        .post_form(
            "/team/invitations",
            &[("email", "a@acme.test"), ("role", "agent")],
        )
        .await;
    let path = invitation_path(&app, "a@acme.test").await;
    let first = app.browser();
    first.page(&path).await;
    assert_eq!(
        first
            .post_form(&path, &[("name", "A"), ("password", PASSWORD)])
            .await
            .status(),
        303
    );
    let second = app.browser();
    let (status, body) = second.page(&path).await;
    assert_eq!(status, 404);
    assert!(body.contains("not valid"));

    owner
        .post_form(
            "/team/invitations",
            &[("email", "b@acme.test"), ("role", "agent")],
        )
        .await;
    let path_b = invitation_path(&app, "b@acme.test").await;
    let mut conn = app.admin_conn().await;
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from invitations where email = 'b@acme.test'")
            .fetch_one(&mut conn)
            .await
            .expect("invitation");
    assert_eq!(
        owner
            .post_form(&format!("/team/invitations/{id}/revoke"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(app.browser().page(&path_b).await.0, 404);
    // A forged token is the same 404.
    assert_eq!(app.browser().page("/invitations/inv_garbage").await.0, 404);
}

#[tokio::test]
async fn existing_user_joins_a_second_workspace_and_switches_between_them() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let bob = app.sign_up("Bob", "bob@example.com", "Bob Shop").await;
    owner
        .post_form(
            "/team/invitations",
            &[("email", "BOB@example.com"), ("role", "admin")],
        )
        .await;
    let path = invitation_path(&app, "BOB@example.com").await;
    let (status, body) = bob.page(&path).await;
    assert_eq!(status, 200);
    assert!(body.contains("Join Acme as Bob"), "{body}");
    let response = bob.post_form(&path, &[]).await;
    assert_eq!(response.status(), 303);
    let (_, body) = bob.page("/dashboard").await;
    assert!(body.contains("Acme") && body.contains("(admin)"));
    let (_, body) = bob.page("/workspaces").await;
    assert!(body.contains("Acme") && body.contains("Bob Shop"));
    let bob_shop = app.org_id("Bob Shop").await.to_string();
    assert_eq!(
        bob.post_form("/workspaces/switch", &[("org_id", &bob_shop)])
            .await
            .status(),
        303
    );
    let (_, body) = bob.page("/dashboard").await;
    assert!(
        body.contains("<span class=\"org-name\">Bob Shop</span>") && body.contains("(owner)"),
        "{body}"
    );
}

#[tokio::test]
async fn an_invitation_for_someone_else_is_refused_to_a_signed_in_user() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let mallory = app.sign_up("Mallory", "mallory@example.com", "M").await;
    owner
        .post_form(
            "/team/invitations",
            &[("email", "alice@example.com"), ("role", "admin")],
        )
        .await;
    let path = invitation_path(&app, "alice@example.com").await;
    let response = mallory.post_form(&path, &[]).await;
    assert_eq!(response.status(), 403);
    let acme_members = "select count(*) from memberships m join organizations o on o.id = m.org_id where o.name = 'Acme'";
    assert_eq!(app.count(acme_members).await, 1);
}

#[tokio::test]
async fn bad_invitations_are_refused_with_reasons() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    for (email, role, reason) in [
        ("not-an-email", "agent", "not a valid email"),
        ("x@acme.test", "owner", "admin or agent"),
        ("x@acme.test", "", "admin or agent"),
        ("owner@acme.test", "agent", "already a member"),
    ] {
        let response = owner
            .post_form("/team/invitations", &[("email", email), ("role", role)])
            .await;
        assert_eq!(response.status(), 422, "{email} {role}");
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains(reason), "expected {reason:?}");
    }
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_or_removed() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let owner_id = app.user_id("owner@acme.test").await.to_string();
    let demote = team
        .owner
        .post_form(
            &format!("/team/members/{owner_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(demote.status(), 409);
    assert!(
        demote
            .text()
            .await
            .unwrap_or_default()
            .contains("last owner")
    );
    let remove = team
        .owner
        .post_form(&format!("/team/members/{owner_id}/remove"), &[])
        .await;
    assert_eq!(remove.status(), 409);
    // An admin may not touch the owner at all.
    let by_admin = team
        .admin
        .post_form(&format!("/team/members/{owner_id}/remove"), &[])
        .await;
    assert_eq!(by_admin.status(), 403);
    let promote = team
        .admin
        .post_form(
            &format!(
                "/team/members/{}/role",
                app.user_id("agent@acme.test").await
            ),
            &[("role", "owner")],
        )
        .await;
    assert_eq!(promote.status(), 403);
}

#[tokio::test]
async fn admin_changes_an_agent_role_and_removes_them() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let agent_id = app.user_id("agent@acme.test").await.to_string();
    let response = team
        .admin
        .post_form(
            &format!("/team/members/{agent_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 303);
    // The role applies at once, without signing in again.
    assert_eq!(team.agent.page("/team").await.0, 200);
    let response = team
        .admin
        .post_form(&format!("/team/members/{agent_id}/remove"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let response = team.agent.get("/dashboard").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/workspaces");
}

#[tokio::test]
async fn ownership_is_transferred_to_another_member() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let admin_id = app.user_id("admin@acme.test").await.to_string();
    let response = team
        .owner
        .post_form("/team/transfer-ownership", &[("user_id", &admin_id)])
        .await;
    assert_eq!(response.status(), 303);
    let (_, body) = team.admin.page("/dashboard").await;
    assert!(body.contains("(owner)"));
    let (_, body) = team.owner.page("/dashboard").await;
    assert!(body.contains("(admin)"));
}

#[tokio::test]
async fn only_a_verified_address_invites_and_the_mail_carries_no_words_of_the_inviter() {
    let app = spawn_app().await;
    // A spammer's name and workspace name, and an address never verified.
    let spammer = app
        .sign_up_unverified(
            "WIN A PRIZE http://evil.example/claim",
            "spam@evil.test",
            "Prize.example/claim <b>now</b>",
        )
        .await;
    let response = spammer
        .post_form(
            "/team/invitations",
            &[("email", "victim@example.com"), ("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Verify your email address")
    );
    assert_eq!(app.count("select count(*) from invitations").await, 0);

    sqlx::query("update users set email_verified_at = now() where email = 'spam@evil.test'")
        .execute(&mut app.admin_conn().await)
        .await
        .unwrap();
    let response = spammer
        .post_form(
            "/team/invitations",
            &[("email", "victim@example.com"), ("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let mail = app.mail_to("victim@example.com", "/invitations/").await;
    let text = format!(
        "{}\n{}",
        mail.header("Subject").unwrap_or_default(),
        mail.body_text()
    );
    for typed in [
        "WIN A PRIZE",
        "evil.example",
        "Prize.example",
        "<b>",
        "http://evil",
    ] {
        assert!(!text.contains(typed), "{typed:?} reached the mail: {text}");
    }
    assert!(
        text.contains("Prize\u{2024}example"),
        "the name, inert: {text}"
    );
}

#[tokio::test]
async fn invitations_are_rate_limited_per_inviter() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let owner = &owner;
    let mut n = 0;
    let (tries, refused) = tries_until_429(20, || {
        n += 1;
        let email = format!("person{n}@example.com");
        async move {
            owner
                .post_form("/team/invitations", &[("email", &email), ("role", "agent")])
                .await
        }
    })
    .await;
    assert!(tries > 20, "twenty an hour are allowed, {tries}");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn invitations_are_rate_limited_per_workspace_across_inviters() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let admin2 = invite_new_member(&app, &team.owner, "Ada Admin", "ada@acme.test", "admin").await;
    // The owner has sent three; the day allows fifty in all, each member
    // twenty an hour: the owner 17 more, the admin 20, the second admin 10.
    for (inviter, who, count) in [
        (&team.owner, "o", 17),
        (&team.admin, "a", 20),
        (&admin2, "b", 10),
    ] {
        for n in 0..count {
            let email = format!("{who}{n}@example.com");
            let response = inviter
                .post_form("/team/invitations", &[("email", &email), ("role", "agent")])
                .await;
            assert_eq!(response.status(), 303, "{email}");
        }
    }
    let response = admin2
        .post_form(
            "/team/invitations",
            &[("email", "one-too-many@example.com"), ("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), 429, "the workspace's fifty for the day");
}
