use sqlx::{Connection, PgConnection};

use crate::support::*;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let browser = app.browser();
    let health = browser.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap_or_default(), "ok");
    assert_eq!(browser.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readiness_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.pool.close().await;
    assert_eq!(app.browser().get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn request_work_runs_as_a_role_that_cannot_bypass_rls() {
    let app = spawn_app().await;
    let (user, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(&app.state.pool)
    .await
    .expect("role query");
    assert_eq!(user, "wacrm_app");
    assert!(!superuser && !bypass);
}

#[tokio::test]
async fn queries_outside_the_tenant_context_see_no_tenant_rows() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    // The rows exist (the superuser sees them)...
    assert_eq!(app.count("select count(*) from memberships").await, 1);
    // ...but the application role, outside a tenant context, sees none.
    for table in ["organizations", "memberships", "invitations", "api_tokens"] {
        let seen: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(&app.state.pool)
                .await
                .expect("count");
        assert_eq!(seen, 0, "{table} leaked outside the tenant context");
    }
}

#[tokio::test]
async fn every_table_with_an_org_id_is_under_forced_row_level_security() {
    let app = spawn_app().await;
    let mut conn = app.admin_conn().await;
    let tables: Vec<(String, bool, bool, i64)> = sqlx::query_as(
        "select c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                (select count(*) from pg_policy p where p.polrelid = c.oid) \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'public' and c.relkind in ('r', 'p') \
           and (c.relname = 'organizations' or exists ( \
                select 1 from pg_attribute a where a.attrelid = c.oid \
                and a.attname = 'org_id' and not a.attisdropped)) \
         order by 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.len() >= 10, "{tables:?}");
    for (table, enabled, forced, policies) in &tables {
        assert!(
            *enabled && *forced,
            "{table}: RLS must be enabled and forced"
        );
        assert!(*policies > 0, "{table}: no policy");
    }
    // The application role outside a tenant context sees none of their rows.
    for (table, ..) in &tables {
        let seen: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(&app.state.pool)
                .await
                .unwrap_or(-1);
        assert!(seen <= 0, "{table} leaked outside the tenant context");
    }
}

/// A transaction of the application role in `org`'s context, as the
/// tenant extractor opens it.
async fn as_tenant(app: &TestApp, org: uuid::Uuid) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = app.state.pool.begin().await.expect("begin");
    sqlx::query("select set_config('app.org_id', $1, true)")
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .expect("set org");
    tx
}

#[tokio::test]
async fn rls_refuses_writing_into_another_tenant() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    app.sign_up("Bob", "bob@example.com", "Bob Shop").await;
    let ana_org = app.org_id("Ana Shop").await;
    let bob_org = app.org_id("Bob Shop").await;
    let bob = app.user_id("bob@example.com").await;
    let mut tx = as_tenant(&app, bob_org).await;
    let result =
        sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, 'owner')")
            .bind(ana_org)
            .bind(bob)
            .execute(&mut *tx)
            .await;
    let message = result
        .expect_err("cross-tenant insert must fail")
        .to_string();
    assert!(message.contains("row-level security"), "{message}");
    // And Bob's context cannot see Ana's workspace row.
    let mut tx = as_tenant(&app, bob_org).await;
    let seen: i64 = sqlx::query_scalar("select count(*) from organizations where id = $1")
        .bind(ana_org)
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(seen, 0);
}

#[tokio::test]
async fn security_headers_are_on_every_page() {
    let app = spawn_app().await;
    let response = app.browser().get("/login").await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert!(header("content-security-policy").contains("script-src 'self'"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(!header("referrer-policy").is_empty());
    assert!(!header("x-request-id").is_empty());
    // Plain HTTP: no HSTS.
    assert!(header("strict-transport-security").is_empty());
}

#[tokio::test]
async fn static_files_are_served_from_the_binary() {
    let app = spawn_app().await;
    let response = app.browser().get("/static/htmx.min.js").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap_or_default().contains("htmx"));
    assert_eq!(app.browser().get("/static/nope.js").await.status(), 404);
}

#[tokio::test]
async fn unknown_pages_are_a_friendly_404() {
    let app = spawn_app().await;
    let (status, body) = app.browser().page("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(body.contains("nothing here"));
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let app = spawn_app().await;
    wacrm::infra::db::migrate(&app.admin)
        .await
        .expect("second run is a no-op");
    let mut conn = PgConnection::connect_with(&app.admin)
        .await
        .expect("connect");
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert!(applied >= 1);
}

/// A finished test's database is dropped, so a run needs disk for the tests
/// running at once rather than for all of them (a CI machine with little
/// free disk ran out, and the server stopped mid-run).
#[tokio::test]
async fn a_finished_tests_database_is_dropped() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let name = app
        .admin
        .get_database()
        .expect("a database name")
        .to_owned();
    drop(app);
    let mut conn = sqlx::PgConnection::connect_with(&cluster().connect_options("postgres"))
        .await
        .expect("connect");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .expect("count");
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} is still there"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
