//! Another workspace's ids answer 404 (never 403, never a leak).

use crate::support::*;

#[tokio::test]
async fn another_workspaces_ids_are_404_and_change_nothing() {
    let app = spawn_app().await;
    let acme = team(&app).await;
    let acme_agent = app.user_id("agent@acme.test").await.to_string();
    acme.owner
        .post_form(
            "/team/invitations",
            &[("email", "pending@acme.test"), ("role", "agent")],
        )
        .await;
    let acme_token_page = acme
        .owner
        .post_form("/settings/api-tokens", &[("name", "acme zap")])
        .await;
    assert_eq!(acme_token_page.status(), 200);
    let mut conn = app.admin_conn().await;
    let acme_invitation: uuid::Uuid =
        sqlx::query_scalar("select id from invitations where email = 'pending@acme.test'")
            .fetch_one(&mut conn)
            .await
            .expect("invitation");
    let acme_token: uuid::Uuid =
        sqlx::query_scalar("select id from api_tokens where name = 'acme zap'")
            .fetch_one(&mut conn)
            .await
            .expect("token");
    let acme_org = app.org_id("Acme").await.to_string();

    let globex = app.sign_up("Gus", "gus@globex.test", "Globex").await;
    invite_new_member(&app, &globex, "Gia", "gia@globex.test", "admin").await;
    for (path, fields) in [
        (
            format!("/team/members/{acme_agent}/role"),
            vec![("role", "admin")],
        ),
        (format!("/team/members/{acme_agent}/remove"), vec![]),
        (
            format!("/team/invitations/{acme_invitation}/revoke"),
            vec![],
        ),
        (format!("/settings/api-tokens/{acme_token}/revoke"), vec![]),
        (
            "/team/transfer-ownership".to_owned(),
            vec![("user_id", acme_agent.as_str())],
        ),
        (
            "/workspaces/switch".to_owned(),
            vec![("org_id", acme_org.as_str())],
        ),
    ] {
        let response = globex.post_form(&path, &fields).await;
        assert_eq!(response.status(), 404, "POST {path}");
        let body = response.text().await.unwrap_or_default();
        assert!(
            !body.contains("Acme") && !body.contains("agent@acme.test"),
            "leak on {path}"
        );
    }
    // Nothing changed in Acme.
    let role: String = sqlx::query_scalar(
        "select m.role from memberships m join users u on u.id = m.user_id where u.email = 'agent@acme.test'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("membership");
    assert_eq!(role, "agent");
    let open: bool = sqlx::query_scalar("select revoked_at is null from invitations where id = $1")
        .bind(acme_invitation)
        .fetch_one(&mut conn)
        .await
        .expect("invitation");
    assert!(open);
    let live: bool = sqlx::query_scalar("select revoked_at is null from api_tokens where id = $1")
        .bind(acme_token)
        .fetch_one(&mut conn)
        .await
        .expect("token");
    assert!(live);
    // And Globex's pages show nothing of Acme.
    let (_, team_page) = globex.page("/team").await;
    assert!(!team_page.contains("acme.test"));
    let (_, tokens_page) = globex.page("/settings/api-tokens").await;
    assert!(!tokens_page.contains("acme zap"));
    let _ = acme;
}
