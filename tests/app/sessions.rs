//! The Postgres session store and session lifetimes.

use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};
use wacrm::infra::session_store::PgSessionStore;

use crate::support::*;

fn record(expiry: OffsetDateTime) -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert(
        "uid".to_owned(),
        serde_json::json!(uuid::Uuid::new_v4().to_string()),
    );
    data.insert("n".to_owned(), serde_json::json!(1));
    Record {
        id: Id::default(),
        data,
        expiry_date: expiry,
    }
}

#[tokio::test]
async fn store_round_trips_updates_and_deletes_records() {
    let app = spawn_app().await;
    let store = PgSessionStore::new(app.state.pool.clone(), app.state.session_cache.clone());
    let mut rec = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
    store.create(&mut rec).await.expect("create");
    let loaded = store.load(&rec.id).await.expect("load").expect("present");
    assert_eq!(loaded.data, rec.data);
    rec.data.insert("n".to_owned(), serde_json::json!(2));
    store.save(&rec).await.expect("save");
    let loaded = store.load(&rec.id).await.expect("load").expect("present");
    assert_eq!(loaded.data["n"], 2);
    store.delete(&rec.id).await.expect("delete");
    assert!(store.load(&rec.id).await.expect("load").is_none());
}

#[tokio::test]
async fn colliding_ids_get_a_fresh_id_instead_of_overwriting() {
    let app = spawn_app().await;
    let store = PgSessionStore::new(app.state.pool.clone(), app.state.session_cache.clone());
    let mut first = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
    store.create(&mut first).await.expect("create");
    let mut second = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
    second.id = first.id;
    store.create(&mut second).await.expect("create");
    assert_ne!(second.id, first.id);
    let kept = store.load(&first.id).await.expect("load").expect("present");
    assert_eq!(
        kept.data, first.data,
        "the first session was not overwritten"
    );
}

#[tokio::test]
async fn expired_records_do_not_load_and_are_swept() {
    let app = spawn_app().await;
    let store = PgSessionStore::new(app.state.pool.clone(), app.state.session_cache.clone());
    let mut expired = record(OffsetDateTime::now_utc() - time::Duration::minutes(1));
    store.create(&mut expired).await.expect("create");
    let mut live = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
    store.create(&mut live).await.expect("create");
    assert!(store.load(&expired.id).await.expect("load").is_none());
    store.delete_expired().await.expect("sweep");
    assert_eq!(app.count("select count(*) from sessions").await, 1);
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_a_sign_in() {
    let app = spawn_app().await;
    let idle = app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let mut conn = app.admin_conn().await;
    sqlx::query("update sessions set expires_at = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .expect("expire");
    let response = idle.eventually("/dashboard", 303).await;
    assert_eq!(response.status(), 303, "idle session is gone");
    assert_eq!(location(&response), "/login");

    let old = app.log_in("ana@example.com", PASSWORD).await;
    assert_eq!(old.page("/dashboard").await.0, 200);
    // Signed in 13 hours ago: past the absolute limit even though active.
    let thirteen_hours_ago = OffsetDateTime::now_utc().unix_timestamp() - 13 * 3600;
    sqlx::query("update sessions set data = jsonb_set(data, '{signed_in_at}', to_jsonb($1::bigint)) where user_id is not null")
        .bind(thirteen_hours_ago)
        .execute(&mut conn)
        .await
        .expect("age");
    let response = old.eventually("/dashboard", 303).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
}

#[tokio::test]
async fn a_sign_out_on_one_instance_ends_the_session_on_every_instance() {
    let app = spawn_app().await;
    let other = app.second_instance().await;
    let ana = app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    // Someone kept a copy of the cookie (the browser forgets it at logout).
    let mut conn = app.admin_conn().await;
    let session_id: String =
        sqlx::query_scalar("select id from sessions where user_id is not null")
            .fetch_one(&mut conn)
            .await
            .expect("the signed-in session");
    let stolen = format!("wacrm_session={session_id}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let dashboard_elsewhere = || async {
        client
            .get(format!("{}/dashboard", other.base))
            .header("cookie", &stolen)
            .send()
            .await
            .expect("GET")
            .status()
            .as_u16()
    };
    // Twice: the second answer can come from the other instance's cache.
    assert_eq!(dashboard_elsewhere().await, 200);
    assert_eq!(dashboard_elsewhere().await, 200);

    assert_eq!(ana.post_form("/logout", &[]).await.status(), 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut status = dashboard_elsewhere().await;
    while status == 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        status = dashboard_elsewhere().await;
    }
    assert_eq!(status, 303, "the other instance still honoured the session");
}

#[tokio::test]
async fn a_user_sees_where_they_are_signed_in_and_signs_the_others_out() {
    let app = spawn_app().await;
    let here = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let laptop = app.log_in("owner@acme.test", PASSWORD).await;
    let phone = app.log_in("owner@acme.test", PASSWORD).await;
    // Someone else's sessions are not in the list.
    app.sign_up("Gina", "owner@globex.test", "Globex").await;

    let (status, page) = laptop.page("/profile/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<tr><td>").count(), 3, "{page}");
    assert_eq!(page.matches("This session").count(), 1);
    assert!(page.contains("127.0.0.1"), "where it signed in from");

    let response = laptop
        .post_form("/profile/sessions/sign-out-others", &[])
        .await;
    assert_eq!(response.status(), 303);
    for other in [&here, &phone] {
        let response = other.get("/dashboard").await;
        assert_eq!(response.status(), 303, "signed out");
        assert!(location(&response).starts_with("/login"));
    }
    let (status, page) = laptop.page("/profile/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<tr><td>").count(), 1, "only this one");
    assert!(page.contains("Signed out of 2 other session(s)."));
    let logged: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select action, details from audit_log where action like 'sign_in%' order by seq",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("audit");
    assert_eq!(
        logged,
        [
            ("sign_in".to_owned(), serde_json::json!({})),
            ("sign_in".to_owned(), serde_json::json!({})),
            (
                "sign_in.others_signed_out".to_owned(),
                serde_json::json!({"sessions": "2"})
            ),
        ]
    );
}

#[tokio::test]
async fn anonymous_page_views_store_no_session_and_their_forms_still_work() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let before = app.count("select count(*) from sessions").await;
    for _ in 0..1000 {
        // A new client each time: no cookies, as a crawler or a flood.
        let response = reqwest::Client::new()
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        app.count("select count(*) from sessions").await,
        before,
        "1,000 anonymous views of the login page stored nothing"
    );
    // A visitor's form carries the token of their own visitor cookie.
    let visitor = app.browser();
    let response = visitor
        .post_form(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/dashboard");
    // Another visitor's token does not fit this visitor's cookie.
    let (_, page) = app.browser().page("/login").await;
    let stolen = hidden_value(&page, "csrf_token").expect("token");
    let other = app.browser();
    other.page("/login").await;
    let response = other
        .post_form_raw(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &stolen),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
}
