//! Slow or stalled clients cannot take the service down: no database
//! connection waits on a client (bodies are read before the tenant
//! transaction opens, downloads are written ahead of the client), bodies
//! must arrive in time, and a pool that is truly full answers 503 with
//! `Retry-After` at once instead of hanging.

use std::time::{Duration, Instant};

use crate::support::*;

/// Twice the pool (tests run with four request connections, plus one).
const ATTACKERS: usize = 10;

/// A body that sends one byte every half second, forever.
fn trickle() -> reqwest::Body {
    let stream = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Some((Ok::<_, std::io::Error>(vec![b'a']), ()))
    });
    reqwest::Body::wrap_stream(stream)
}

/// Every page the victim loads answers 200 within a second.
async fn victim_is_served(victim: &Browser) {
    for _ in 0..3 {
        for path in ["/dashboard", "/contacts", "/inbox"] {
            let started = Instant::now();
            let response = tokio::time::timeout(Duration::from_secs(5), victim.get(path))
                .await
                .unwrap_or_else(|_| panic!("{path} hung"));
            assert_eq!(response.status(), 200, "{path}");
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{path} took {:?}",
                started.elapsed()
            );
        }
    }
}

#[tokio::test]
async fn slow_bodies_from_one_member_do_not_starve_another_workspace() {
    let app = spawn_app().await;
    let attacker = app.sign_up("Mallory", "mallory@evil.test", "Evil").await;
    let victim = app.sign_up("Vera", "vera@shop.test", "Shop").await;
    let token = attacker.csrf_token().await;
    let mut slow = Vec::new();
    for _ in 0..ATTACKERS {
        let request = attacker
            .client
            .post(attacker.url("/contacts"))
            .header("x-csrf-token", &token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(trickle());
        slow.push(tokio::spawn(request.send()));
    }
    // Long enough for every slow request to be inside the server.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    victim_is_served(&victim).await;
    for request in &slow {
        assert!(!request.is_finished(), "still trickling");
    }
    for request in slow {
        request.abort();
    }
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused_with_408() {
    let app = spawn_app_with(|config| config.body_timeout_secs = 1).await;
    let member = app.sign_up("Mallory", "mallory@evil.test", "Evil").await;
    let token = member.csrf_token().await;
    let started = Instant::now();
    let response = member
        .client
        .post(member.url("/contacts"))
        .header("x-csrf-token", &token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(trickle())
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 408);
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(app.count("select count(*) from contacts").await, 0);
}

#[tokio::test]
async fn stalled_export_downloads_hold_no_connection() {
    let app = spawn_app().await;
    let attacker = app.sign_up("Mallory", "mallory@evil.test", "Evil").await;
    let victim = app.sign_up("Vera", "vera@shop.test", "Shop").await;
    let org = app.org_id("Evil").await;
    // Far more than the server and the sockets buffer (~12 MB of CSV in
    // rows of 2 kB), in a few pages.
    sqlx::query(
        "insert into contacts (org_id, id, name) \
         select $1, gen_random_uuid(), 'Customer ' || n || ' ' || repeat('x', 2000) \
         from generate_series(1, 6000) n",
    )
    .bind(org)
    .execute(&mut app.admin_conn().await)
    .await
    .expect("contacts");
    let attacker = std::sync::Arc::new(attacker);
    let mut downloads = Vec::new();
    for _ in 0..ATTACKERS {
        let attacker = attacker.clone();
        // The answer's head is read, its body never.
        downloads.push(tokio::spawn(async move {
            attacker.get("/contacts/export.csv").await
        }));
    }
    let mut stalled = Vec::new();
    for download in downloads {
        let response = download.await.expect("download");
        assert!(
            [200, 503].contains(&response.status().as_u16()),
            "{}",
            response.status()
        );
        if response.status() == 200 {
            stalled.push(response);
        }
    }
    assert!(stalled.len() >= 5, "at least a pool's worth started");
    // The exports have had time to finish writing, or to get stuck.
    tokio::time::sleep(Duration::from_secs(3)).await;
    victim_is_served(&victim).await;
    // A download read to the end is whole.
    let mut whole = stalled.pop().expect("one");
    let mut lines = 0;
    while let Some(chunk) = whole.chunk().await.expect("chunk") {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    assert_eq!(lines, 6_001, "the header and every contact");
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after_at_once() {
    let app = spawn_app().await;
    let member = app.sign_up("Vera", "vera@shop.test", "Shop").await;
    assert_eq!(member.get("/dashboard").await.status(), 200);
    let mut held = Vec::new();
    while let Ok(Ok(conn)) =
        tokio::time::timeout(Duration::from_millis(500), app.state.pool.acquire()).await
    {
        held.push(conn);
    }
    let started = Instant::now();
    let response = member.get("/contacts").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    assert!(
        started.elapsed() < wacrm::infra::db::ACQUIRE_TIMEOUT + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    drop(held);
    assert_eq!(member.get("/contacts").await.status(), 200);
}

#[tokio::test]
async fn every_connection_ends_transactions_left_idle() {
    let app = spawn_app().await;
    let mut conn = app.state.pool.acquire().await.expect("conn");
    let timeout: String = sqlx::query_scalar("show idle_in_transaction_session_timeout")
        .fetch_one(&mut *conn)
        .await
        .expect("setting");
    assert_eq!(timeout, "1min");
}

#[tokio::test]
async fn a_handler_that_takes_too_long_is_cut_off_with_503() {
    use crate::support::fake_openai::{FakeOpenAi, Next};
    let ai = FakeOpenAi::start().await;
    let app = spawn_app_with(|config| {
        ai.configure(config);
        config.ai_model = Some("test-model-mini".into());
        config.ai_timeout_secs = 10;
        config.request_timeout_secs = 1;
    })
    .await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hello").await;
    let response = owner.post_form("/settings/ai", &[("enabled", "on")]).await;
    assert_eq!(response.status(), 303);
    // The provider answers after five seconds; the handler may take one.
    ai.then(Next::Slow(Duration::from_secs(5), "too late".into()));
    let started = Instant::now();
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/ai/draft"),
            &[("action", "shorter"), ("text", "My careful draft")],
        )
        .await;
    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(owner.get("/dashboard").await.status(), 200);
}
