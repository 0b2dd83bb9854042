//! Malformed ids, empty and garbage forms: a 4xx with a reason on every
//! route, never a 500, and nothing changes.

use crate::support::*;

#[tokio::test]
async fn malformed_ids_and_tokens_are_404_pages() {
    let app = spawn_app().await;
    let acme = team(&app).await;
    for path in [
        "/team/members/not-a-uuid/role",
        "/team/members/not-a-uuid/remove",
        "/team/invitations/42/revoke",
        "/settings/api-tokens/%00/revoke",
        "/invitations/garbage",
    ] {
        let response = acme.owner.post_form(path, &[("role", "agent")]).await;
        assert_eq!(response.status(), 404, "POST {path}");
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains("<html"), "a page, not a bare error: {path}");
    }
    for fields in [vec![("org_id", "nonsense")], vec![]] {
        let response = acme.owner.post_form("/workspaces/switch", &fields).await;
        assert_eq!(response.status(), 404, "switch {fields:?}");
    }
    let (status, body) = acme.owner.page("/invitations/garbage").await;
    assert_eq!(status, 404);
    assert!(body.contains("<html"));
    assert_eq!(
        app.count("select count(*) from memberships").await,
        3,
        "nothing changed"
    );
}

#[tokio::test]
async fn empty_and_garbage_forms_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let acme = team(&app).await;
    let agent_id = app.user_id("agent@acme.test").await.to_string();
    let role_path = format!("/team/members/{agent_id}/role");
    let signed_in: [(&str, Vec<(&str, &str)>); 9] = [
        ("/profile", vec![]),
        ("/profile", vec![("name", "   ")]),
        ("/profile/password", vec![]),
        ("/settings", vec![]),
        (
            "/settings",
            vec![("name", "Acme"), ("time_zone", "Mars/Olympus")],
        ),
        ("/settings/api-tokens", vec![]),
        ("/team/invitations", vec![("email", "x"), ("role", "king")]),
        (role_path.as_str(), vec![("role", "emperor")]),
        ("/team/transfer-ownership", vec![("user_id", "")]),
    ];
    for (path, fields) in signed_in {
        let response = acme.owner.post_form(path, &fields).await;
        let status = response.status().as_u16();
        assert!(
            (400..500).contains(&status),
            "POST {path} {fields:?}: {status}"
        );
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains("<html"), "POST {path}: a page");
    }
    let anonymous = app.browser();
    for path in ["/signup", "/login", "/password/forgot", "/password/reset"] {
        let response = anonymous.post_form(path, &[]).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "POST {path}: {status}");
    }
    // Nothing was created or changed by any of it.
    assert_eq!(app.count("select count(*) from users").await, 3);
    assert_eq!(app.count("select count(*) from api_tokens").await, 0);
    assert_eq!(
        app.count("select count(*) from invitations where accepted_at is null")
            .await,
        0
    );
    let role: String = sqlx::query_scalar(
        "select role from memberships m join users u on u.id = m.user_id where u.email = 'agent@acme.test'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("role");
    assert_eq!(role, "agent");
}
