use uuid::Uuid;

use super::super::*;

/// Creates a campaign through its form; its id.
pub async fn create(owner: &Browser, fields: &[(&str, &str)]) -> String {
    let response = owner.post_form("/campaigns", fields).await;
    assert_eq!(response.status(), 303, "campaign created");
    location(&response)
        .trim_start_matches("/campaigns/")
        .to_owned()
}

pub async fn state_of(app: &TestApp, campaign: &str) -> (String, Option<String>) {
    sqlx::query_as("select state, state_reason from campaigns where id = $1::uuid")
        .bind(campaign)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("campaign")
}

/// On an app without a worker: runs the campaign's jobs, each wait (its
/// rate, its next step) passed at once, until it is `wanted`.
pub async fn run_until_state(app: &TestApp, campaign: &str, wanted: &str) {
    for _ in 0..50 {
        app.make_jobs_due().await;
        app.run_pending_jobs().await;
        if state_of(app, campaign).await.0 == wanted {
            return;
        }
    }
    panic!(
        "campaign never {wanted}: {:?}",
        state_of(app, campaign).await
    );
}

/// The workspace's sandbox channel (made on first use, as the simulator
/// does).
pub async fn sandbox(app: &TestApp, org: Uuid) -> String {
    sqlx::query_scalar(
        "insert into channels (org_id, id, kind, name) values ($1, $2, 'sandbox', 'Sandbox') \
         returning id::text",
    )
    .bind(org)
    .bind(Uuid::now_v7())
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("sandbox")
}
