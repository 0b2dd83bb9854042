//! The audit log: what members do is recorded with who, when and from
//! where; owners read and filter it; nobody changes it through wacrm, and
//! an entry changed or removed in the database breaks the chain at that
//! entry.

use crate::support::*;

/// (seq, action, actor email, ip, target) of an entry.
type Row = (i64, String, Option<String>, Option<String>, String);

/// The workspace's entries, in order.
async fn entries(app: &TestApp, org: uuid::Uuid) -> Vec<Row> {
    sqlx::query_as(
        "select seq, action, actor_email, ip, target from audit_log where org_id = $1 order by seq",
    )
    .bind(org)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("entries")
}

fn actions(list: &[Row]) -> Vec<&str> {
    list.iter().map(|e| e.1.as_str()).collect()
}

async fn verify(owner: &Browser) -> String {
    let response = owner.post_form("/settings/audit/verify", &[]).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("page");
    let start = page.find("id=\"verify-result\"").expect("a result");
    page[start..start + page[start..].find("</p>").expect("end")].to_owned()
}

#[tokio::test]
async fn what_members_do_is_recorded_with_who_and_where_and_owners_read_it() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let org = app.org_id("Acme").await;
    // Sign-ins, one failed.
    app.log_in("admin@acme.test", PASSWORD).await;
    let failed = app
        .browser()
        .post_form(
            "/login",
            &[
                ("email", "admin@acme.test"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(failed.status(), 401);
    // A role change, an API token made and revoked, settings.
    let admin_id = app.user_id("admin@acme.test").await;
    let changed = team
        .owner
        .post_form(
            &format!("/team/members/{admin_id}/role"),
            &[("role", "agent")],
        )
        .await;
    assert_eq!(changed.status(), 303);
    let token = team
        .owner
        .post_form("/settings/api-tokens", &[("name", "Zapier")])
        .await;
    assert_eq!(token.status(), 200);
    let token_id: uuid::Uuid =
        sqlx::query_scalar("select id from api_tokens where name = 'Zapier'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("token");
    let revoked = team
        .owner
        .post_form(&format!("/settings/api-tokens/{token_id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    agents_see_only_theirs(&team.owner).await;

    let list = entries(&app, org).await;
    let seen = actions(&list);
    for expected in [
        "member.invited",
        "member.joined",
        "sign_in",
        "sign_in_failed",
        "member.role_changed",
        "api_token.created",
        "api_token.revoked",
        "settings.workspace_changed",
    ] {
        assert!(seen.contains(&expected), "{expected} in {seen:?}");
    }
    let numbers: Vec<i64> = list.iter().map(|e| e.0).collect();
    assert_eq!(
        numbers,
        (1..=list.len() as i64).collect::<Vec<_>>(),
        "no gaps"
    );
    let failed = list
        .iter()
        .find(|e| e.1 == "sign_in_failed")
        .expect("the failure");
    assert_eq!(failed.2.as_deref(), Some("admin@acme.test"));
    assert_eq!(failed.3.as_deref(), Some("127.0.0.1"), "from where");
    let role = list
        .iter()
        .find(|e| e.1 == "member.role_changed")
        .expect("the role change");
    assert_eq!(
        (role.2.as_deref(), role.4.as_str()),
        (Some("owner@acme.test"), "admin@acme.test")
    );

    // The owner reads and filters it.
    let (status, page) = team.owner.page("/settings/audit").await;
    assert_eq!(status, 200);
    assert!(page.contains("member.role_changed") && page.contains("from: admin · to: agent"));
    let (_, page) = team.owner.page("/settings/audit?action=api_token.").await;
    assert!(page.contains("api_token.revoked") && !page.contains("member.role_changed"));
    let (_, page) = team
        .owner
        .page("/settings/audit?member=admin%40acme.test")
        .await;
    assert!(page.contains("sign_in_failed") && !page.contains("api_token.created"));
    let (status, page) = team.owner.page("/settings/audit?from=yesterday").await;
    assert_eq!(status, 422);
    assert!(page.contains("From: a date such as"));
    // Only owners.
    assert_eq!(team.admin.get("/settings/audit").await.status(), 403);
    assert_eq!(team.agent.get("/settings/audit").await.status(), 403);
    // Another workspace's log holds none of it.
    let other = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let (_, page) = other.page("/settings/audit").await;
    assert!(!page.contains("admin@acme.test") && !page.contains("data-action=\"api_token"));
}

#[tokio::test]
async fn the_chain_verifies_and_an_entry_changed_or_removed_in_the_database_breaks_it() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    for name in ["One", "Two", "Three", "Four"] {
        let made = owner
            .post_form("/settings/api-tokens", &[("name", name)])
            .await;
        assert_eq!(made.status(), 200);
    }
    assert_eq!(entries(&app, org).await.len(), 4);
    assert!(
        verify(&owner)
            .await
            .contains("The chain holds: all 4 entries"),
        "an untouched chain holds"
    );

    // The application's role may only add and read.
    let mut conn = app.admin_conn().await;
    sqlx::query("set role wacrm_app")
        .execute(&mut conn)
        .await
        .expect("role");
    for statement in ["update audit_log set target = 'x'", "delete from audit_log"] {
        let refused = sqlx::query(statement).execute(&mut conn).await;
        assert!(
            refused
                .expect_err(statement)
                .to_string()
                .contains("permission denied"),
            "{statement}"
        );
    }
    drop(conn);

    // Changed in the database (by someone who can): found at that entry.
    let mut conn = app.admin_conn().await;
    let original: String =
        sqlx::query_scalar("select target from audit_log where org_id = $1 and seq = 2")
            .bind(org)
            .fetch_one(&mut conn)
            .await
            .expect("entry 2");
    sqlx::query("update audit_log set target = 'Nothing to see' where org_id = $1 and seq = 2")
        .bind(org)
        .execute(&mut conn)
        .await
        .expect("tamper");
    let result = verify(&owner).await;
    assert!(
        result.contains("broken at entry 2: its content does not match its hash"),
        "{result}"
    );
    sqlx::query("update audit_log set target = $2 where org_id = $1 and seq = 2")
        .bind(org)
        .bind(&original)
        .execute(&mut conn)
        .await
        .expect("put back");
    assert!(verify(&owner).await.contains("The chain holds"));

    // Removed: the gap is found where it is.
    sqlx::query("delete from audit_log where org_id = $1 and seq = 3")
        .bind(org)
        .execute(&mut conn)
        .await
        .expect("remove");
    let result = verify(&owner).await;
    assert!(result.contains("broken at entry 3"), "{result}");
    assert!(result.contains("The 2 entries before it hold"), "{result}");
}
