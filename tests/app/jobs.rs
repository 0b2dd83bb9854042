//! The Postgres job queue: mails go out after commit, sealed at rest,
//! retried when delivery fails, each job claimed by one worker at a time.
//! The first and last tests run the real background worker; the others
//! run due jobs on demand, on the same path.

use std::collections::HashSet;
use std::time::Duration;

use wacrm::infra::jobs::{self, SendEmail};

use crate::support::*;

#[tokio::test]
async fn queued_mail_payloads_are_sealed_and_deleted_after_delivery() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let mail = app.mail_to("ana@example.com", "/verify-email?token=").await;
    let link = mail.link_containing("/verify-email?token=").expect("link");
    // Delivered jobs are removed.
    for _ in 0..50 {
        if app.count("select count(*) from jobs").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count("select count(*) from jobs").await, 0);
    // A queued one holds no readable link.
    let job = SendEmail {
        to: "x@example.com".into(),
        subject: "s".into(),
        body: link.clone(),
    };
    let mut tx = app.state.pool.begin().await.expect("begin");
    jobs::enqueue(&mut tx, &app.state.secrets, &job)
        .await
        .expect("enqueue");
    // Not committed yet: the worker cannot see it.
    assert_eq!(app.count("select count(*) from jobs").await, 0);
    let payload: Vec<u8> = sqlx::query_scalar("select payload from jobs")
        .fetch_one(&mut *tx)
        .await
        .expect("payload");
    let token = link.split("token=").nth(1).expect("token");
    assert!(!payload.windows(token.len()).any(|w| w == token.as_bytes()));
    tx.rollback().await.expect("rollback");
}

#[tokio::test]
async fn failed_delivery_keeps_the_job_for_a_later_retry() {
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let app = spawn_app_without_worker_with(|config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{dead_port}").into());
    })
    .await;
    let started = std::time::Instant::now();
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "sign-up does not wait for SMTP"
    );
    // Tried once; not again at once: it waits for its backoff.
    assert_eq!(app.run_pending_jobs().await, 1);
    assert_eq!(app.run_pending_jobs().await, 0);
    let mut conn = app.admin_conn().await;
    let row: Option<(i32, Option<String>, bool)> = sqlx::query_as(
        "select attempts, last_error, run_at > now() from jobs where last_error is not null",
    )
    .fetch_optional(&mut conn)
    .await
    .expect("job");
    let (attempts, error, later) = row.expect("the failed job is kept");
    assert_eq!(attempts, 1);
    assert!(error.unwrap_or_default().to_lowercase().contains("smtp"));
    assert!(later, "retried later, with backoff");
}

#[tokio::test]
async fn a_job_of_a_kind_this_build_does_not_know_is_kept_and_never_retried() {
    let app = spawn_app_without_worker().await;
    let mut conn = app.admin_conn().await;
    let id: i64 = sqlx::query_scalar("select nextval('jobs_id_seq')")
        .fetch_one(&mut conn)
        .await
        .expect("id");
    let sealed = app
        .state
        .secrets
        .seal(
            uuid::Uuid::nil(),
            jobs::SEAL_PURPOSE,
            id,
            br#"{"kind": "send_fax", "to": "+4930901820"}"#,
        )
        .expect("seal");
    sqlx::query("insert into jobs (id, queue, payload, max_attempts) values ($1, 'fax', $2, 8)")
        .bind(id)
        .bind(sealed)
        .execute(&mut conn)
        .await
        .expect("insert");
    assert_eq!(app.run_pending_jobs().await, 1, "claimed once");
    app.make_jobs_due().await;
    assert_eq!(app.run_pending_jobs().await, 0, "never again");
    let (attempts, error): (i32, String) =
        sqlx::query_as("select attempts, last_error from jobs where id = $1")
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .expect("kept");
    assert_eq!(attempts, 8);
    assert!(error.contains("unknown job kind"), "{error}");
}

#[tokio::test]
async fn concurrent_workers_claim_each_job_once() {
    let app = spawn_app().await;
    // Stop this app's worker from competing: claim directly.
    let mut tx = app.state.pool.begin().await.expect("begin");
    for i in 0..30 {
        let job = SendEmail {
            to: format!("u{i}@example.com"),
            subject: "s".into(),
            body: "b".into(),
        };
        jobs::enqueue(&mut tx, &app.state.secrets, &job)
            .await
            .expect("enqueue");
    }
    // Hold them back from the background worker until the claimers start.
    sqlx::query("update jobs set run_at = now() + interval '1 hour'")
        .execute(&mut *tx)
        .await
        .expect("delay");
    tx.commit().await.expect("commit");
    sqlx::query("update jobs set run_at = now()")
        .execute(&app.state.pool)
        .await
        .expect("release");
    let mut claimers = vec![];
    for _ in 0..4 {
        let pool = app.state.pool.clone();
        let secrets = app.state.secrets.clone();
        claimers.push(tokio::spawn(async move {
            let mut seen = vec![];
            let mut conn = pool.acquire().await.expect("conn");
            while let Some(claimed) = jobs::claim(&mut conn, &secrets, 300).await.expect("claim") {
                seen.push(claimed.id);
            }
            seen
        }));
    }
    let mut all = vec![];
    for c in claimers {
        all.extend(c.await.expect("claimer"));
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a job was claimed twice");
    // The app's own worker may have taken some; none is left unclaimed.
    let unclaimed = app
        .count("select count(*) from jobs where attempts = 0")
        .await;
    assert_eq!(unclaimed, 0);
}
