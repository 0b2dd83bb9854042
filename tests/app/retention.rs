//! Message retention: an owner keeps messages N days; the sweep deletes
//! older ones in batches with the files only they had, leaves younger ones,
//! other workspaces and workspaces without it alone; a deleted workspace
//! goes through the same batches.

use time::Duration;
use uuid::Uuid;

use crate::support::*;

/// Sets "Keep messages" as the settings form posts it.
async fn keep(owner: &Browser, keep: &str, days: &str) -> reqwest::Response {
    owner
        .post_form("/settings/retention", &[("keep", keep), ("days", days)])
        .await
}

async fn keep_days(owner: &Browser, days: &str) {
    let response = keep(owner, "days", days).await;
    assert_eq!(response.status(), 303, "keeping messages {days} days");
}

/// Makes the workspace's messages whose text starts with `prefix` `age`
/// old; each conversation's last message time follows.
async fn backdate(app: &TestApp, org: Uuid, prefix: &str, age: Duration) {
    let mut conn = app.admin_conn().await;
    sqlx::query(
        "update messages set created_at = now() - make_interval(secs => $3) \
         where org_id = $1 and starts_with(body, $2)",
    )
    .bind(org)
    .bind(prefix)
    .bind(age.as_seconds_f64())
    .execute(&mut conn)
    .await
    .expect("backdate messages");
    sqlx::query(
        "update conversations c set last_message_at = newest.at \
         from (select conversation_id, max(created_at) as at from messages \
               where org_id = $1 group by conversation_id) newest \
         where c.org_id = $1 and c.id = newest.conversation_id",
    )
    .bind(org)
    .execute(&mut conn)
    .await
    .expect("backdate conversations");
}

/// Runs the send queue: every message is handed over (so none is held by
/// a job when the sweep runs).
async fn all_sent(app: &TestApp) {
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from messages where status = 'queued'")
            .await,
        0,
        "messages sent"
    );
}

/// The workspace's message texts, oldest first.
async fn texts(app: &TestApp, org: Uuid) -> Vec<String> {
    sqlx::query_scalar("select body from messages where org_id = $1 order by created_at, body")
        .bind(org)
        .fetch_all(&mut app.admin_conn().await)
        .await
        .expect("texts")
}

/// Where the message with this text shows its file (`/media/{id}`).
async fn media_url(app: &TestApp, body: &str) -> String {
    sqlx::query_scalar("select media ->> 'url' from messages where body = $1")
        .bind(body)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("a message with a file")
}

async fn media_rows(app: &TestApp, org: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from media where org_id = $1")
        .bind(org)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("count")
}

/// The media store's path of a file with these bytes.
fn file_path(app: &TestApp, bytes: &[u8]) -> std::path::PathBuf {
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    app.state
        .config
        .data_dir
        .join("media")
        .join(&sha[0..2])
        .join(&sha[2..4])
        .join(&sha)
}

/// A member sends a file into the conversation from the composer.
async fn send_file(member: &Browser, conversation: &str, bytes: &[u8], caption: &str) {
    let response = member
        .attach(
            conversation,
            ("photo.png", "image/png", bytes),
            caption,
            None,
        )
        .await;
    assert_eq!(response.status(), 303, "sending {caption}");
}

/// A customer sends an image through the simulator (kept in the row).
async fn customer_sends_image(browser: &Browser, bytes: &[u8], caption: &str) {
    let token = browser.csrf_token().await;
    let form = reqwest::multipart::Form::new()
        .text("name", "Ines")
        .text("phone", "+4930901820")
        .text("text", caption.to_owned())
        .part(
            "image",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("photo.png"),
        );
    let response = browser
        .client
        .post(browser.url(&format!("/sandbox/images?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .expect("image");
    assert_eq!(response.status(), 303, "customer image");
}

/// A file uploaded (as through the API) and never sent.
async fn unsent_upload(app: &TestApp, org: Uuid, bytes: &[u8]) -> Uuid {
    let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&app.state.pool, org)
        .await
        .expect("tx");
    let stored = wacrm::infra::db::media::store(
        &mut tx,
        &app.state.media,
        Some("image/png"),
        "up.png",
        wacrm::infra::media_store::Incoming::from_bytes(bytes.to_vec()),
    )
    .await
    .expect("store");
    tx.commit().await.expect("commit");
    stored.id
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

#[tokio::test]
async fn only_messages_older_than_the_retention_go_with_the_files_only_they_had() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let acme = app.org_id("Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "old hello").await;
    let own_photo = [PNG, b"only Acme has this"].concat();
    let shared_photo = [PNG, b"Globex has this too"].concat();
    send_file(&owner, &conversation, &own_photo, "old own photo").await;
    send_file(&owner, &conversation, &shared_photo, "old shared photo").await;
    let reused_photo = [PNG, b"sent twice"].concat();
    send_file(&owner, &conversation, &reused_photo, "old reused photo").await;
    customer_sends_image(&owner, &[PNG, b"inline"].concat(), "old inline image").await;
    customer_writes(&owner, "Maria", "+55 11 91234 5678", "young hello").await;
    // The same upload sent again later (as the API allows).
    sqlx::query(
        "insert into messages (org_id, id, conversation_id, channel_id, direction, kind, body, \
           media, sender_kind, status) \
         select org_id, gen_random_uuid(), conversation_id, channel_id, 'out', kind, \
           'young resend', media, 'member', 'sent' from messages where body = 'old reused photo'",
    )
    .execute(&mut app.admin_conn().await)
    .await
    .expect("resend");
    let reused_url = media_url(&app, "young resend").await;
    let old_upload = [PNG, b"uploaded long ago, never sent"].concat();
    let old_upload_id = unsent_upload(&app, acme, &old_upload).await;
    let new_upload = [PNG, b"uploaded today"].concat();
    unsent_upload(&app, acme, &new_upload).await;
    let own_url = media_url(&app, "old own photo").await;

    // Globex has the shared file and old messages, and keeps them a year.
    let globex_owner = app.sign_up("Gus", "gus@globex.test", "Globex").await;
    let globex = app.org_id("Globex").await;
    let theirs = customer_writes(&globex_owner, "Rui", "+55 11 91234 0000", "old oi").await;
    send_file(&globex_owner, &theirs, &shared_photo, "old their photo").await;
    keep_days(&globex_owner, "365").await;
    backdate(&app, globex, "old", Duration::days(100)).await;

    keep_days(&owner, "90").await;
    all_sent(&app).await;
    backdate(&app, acme, "old", Duration::days(90) + Duration::minutes(5)).await;
    backdate(&app, acme, "young", Duration::days(90) - Duration::hours(1)).await;
    sqlx::query("update media set created_at = now() - interval '91 days' where id = $1")
        .bind(old_upload_id)
        .execute(&mut app.admin_conn().await)
        .await
        .expect("backdate upload");
    assert_eq!(media_rows(&app, acme).await, 6);

    let swept = wacrm::features::retention::sweep(&app.state.env())
        .await
        .expect("sweep");
    assert_eq!((swept.workspaces, swept.failed), (2, 0));
    assert_eq!(swept.deleted.messages, 5);
    assert_eq!(
        swept.deleted.media, 4,
        "three sent files and the old upload"
    );
    assert_eq!(
        swept.deleted.files_removed, 2,
        "Acme's own photo and upload"
    );
    assert_eq!(
        swept.deleted.previews_cleared, 1,
        "Ines's only message went"
    );
    assert_eq!(texts(&app, acme).await, vec!["young hello", "young resend"]);
    assert_eq!(
        media_rows(&app, acme).await,
        2,
        "the resent file, today's upload"
    );
    assert!(!file_path(&app, &own_photo).exists(), "only Acme had it");
    assert!(!file_path(&app, &old_upload).exists());
    assert!(file_path(&app, &shared_photo).exists(), "Globex has it too");
    assert!(file_path(&app, &new_upload).exists());
    assert_eq!(owner.get(&own_url).await.status(), 404, "its file is gone");
    let resent = owner.get(&reused_url).await;
    assert_eq!(resent.status(), 200, "a younger message still shows it");
    assert_eq!(resent.bytes().await.expect("bytes").to_vec(), reused_photo);

    // The conversation stays, with what is left.
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("young hello") && !page.contains("old hello"));
    let (status, list) = owner.page("/inbox").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("young hello"),
        "the preview is the young message"
    );

    // Globex keeps everything for its year, and sees nothing of Acme.
    assert_eq!(texts(&app, globex).await, vec!["old oi", "old their photo"]);
    let their_url = media_url(&app, "old their photo").await;
    let served = globex_owner.get(&their_url).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.expect("bytes").to_vec(), shared_photo);
    assert_eq!(
        globex_owner
            .get(&format!("/inbox/{conversation}"))
            .await
            .status(),
        404
    );
    assert_eq!(owner.get(&their_url).await.status(), 404);

    // An hour and a bit later the young message is old too; the inbox
    // preview (a copy of its text) goes with it, the conversation stays.
    app.state.clock.advance(Duration::hours(2));
    let swept = wacrm::features::retention::sweep(&app.state.env())
        .await
        .expect("sweep");
    assert_eq!(swept.deleted.messages, 2);
    assert_eq!((swept.deleted.media, swept.deleted.files_removed), (1, 1));
    assert!(!file_path(&app, &reused_photo).exists());
    assert_eq!(swept.deleted.previews_cleared, 1);
    assert!(texts(&app, acme).await.is_empty());
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(!page.contains("young hello") && !page.contains("young resend"));
    let (_, list) = owner.page("/inbox").await;
    assert!(
        list.contains("Maria") && !list.contains("young hello"),
        "{list}"
    );
    assert_eq!(texts(&app, globex).await.len(), 2);
}

#[tokio::test]
async fn more_old_messages_than_one_batch_all_go_across_batches() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let acme = app.org_id("Acme").await;
    customer_writes(&owner, "Maria", "+55 11 91234 5678", "today").await;
    let many = 2 * wacrm::features::retention::BATCH + 7;
    sqlx::query(
        "insert into messages (org_id, id, conversation_id, channel_id, direction, kind, body, \
           sender_kind, status, created_at) \
         select org_id, gen_random_uuid(), conversation_id, channel_id, 'in', 'text', \
           'old ' || n, 'contact', 'received', now() - interval '200 days' + n * interval '1 second' \
         from messages, generate_series(1, $1) n where body = 'today'",
    )
    .bind(i32::try_from(many).expect("small"))
    .execute(&mut app.admin_conn().await)
    .await
    .expect("old messages");
    keep_days(&owner, "30").await;

    let swept = wacrm::features::retention::sweep(&app.state.env())
        .await
        .expect("sweep");
    assert_eq!(swept.deleted.messages, u64::try_from(many).expect("small"));
    assert_eq!(swept.deleted.batches, 3, "500, 500 and 7");
    assert_eq!(texts(&app, acme).await, vec!["today"]);
    let again = wacrm::features::retention::sweep(&app.state.env())
        .await
        .expect("sweep");
    assert_eq!(again.deleted.messages, 0, "nothing more");
}

#[tokio::test]
async fn with_retention_off_nothing_is_deleted_and_each_change_is_audited() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let acme = app.org_id("Acme").await;
    customer_writes(&owner, "Maria", "+55 11 91234 5678", "old hello").await;
    let never = app.sign_up("Nina", "nina@never.test", "Never").await;
    let never_org = app.org_id("Never").await;
    customer_writes(&never, "Rui", "+55 11 91234 0000", "old oi").await;

    keep_days(&owner, "30").await;
    keep_days(&owner, "30").await;
    let (_, page) = owner.page("/settings").await;
    assert!(
        page.contains("name=\"days\" value=\"30\""),
        "shown as saved"
    );
    let response = keep(&owner, "forever", "30").await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page("/settings").await;
    assert!(page.contains("Messages are kept forever."));
    backdate(&app, acme, "old", Duration::days(1000)).await;
    backdate(&app, never_org, "old", Duration::days(1000)).await;

    let swept = wacrm::features::retention::sweep(&app.state.env())
        .await
        .expect("sweep");
    assert_eq!(swept, wacrm::features::retention::Swept::default());
    assert_eq!(texts(&app, acme).await, vec!["old hello"]);
    assert_eq!(texts(&app, never_org).await, vec!["old oi"]);

    // Each change once, with who and the value ("off" for forever).
    let entries: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "select actor_email, details ->> 'retention_days' from audit_log \
         where org_id = $1 and action = 'settings.retention_changed' order by seq",
    )
    .bind(acme)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("entries");
    let owner_email = Some("owner@acme.test".to_owned());
    assert_eq!(
        entries,
        vec![
            (owner_email.clone(), Some("30".to_owned())),
            (owner_email, Some("off".to_owned())),
        ]
    );
    let (_, log) = owner.page("/settings/audit").await;
    assert!(log.contains("settings.retention_changed"));
}

#[tokio::test]
async fn bad_retention_input_is_refused_with_the_reason_and_what_was_typed() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let cases = [
        ("days", "29", "at least 30 days"),
        ("days", "0", "at least 30 days"),
        ("days", "-90", "at least 30 days"),
        ("days", "3651", "at most 3650 days"),
        ("days", "99999999999999999999999", "not a whole number"),
        ("days", "ninety", "not a whole number"),
        ("days", "90.5", "not a whole number"),
        ("days", "", "enter a number of days"),
        ("sometimes", "90", "choose forever or a number of days"),
        ("", "", "choose forever or a number of days"),
    ];
    for (choice, days, reason) in cases {
        let response = keep(&owner, choice, days).await;
        assert_eq!(response.status(), 422, "{choice} {days}");
        let page = response.text().await.expect("page");
        assert!(page.contains(reason), "{days}: {reason}");
        assert!(
            page.contains(&format!("name=\"days\" value=\"{days}\"")),
            "{days} kept"
        );
        assert!(
            page.contains("name=\"name\" value=\"Acme\""),
            "the rest shown"
        );
    }
    let response = owner
        .post_form("/settings/retention", &[("days", "90")])
        .await;
    assert_eq!(response.status(), 422, "no choice made");
    assert_eq!(
        app.count("select count(*) from organizations where retention_days is not null")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from audit_log where action = 'settings.retention_changed'")
            .await,
        0
    );
}

#[tokio::test]
async fn only_owners_set_retention() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    for member in [&team.admin, &team.agent] {
        let response = keep(member, "days", "30").await;
        assert_eq!(response.status(), 403);
    }
    let (status, page) = team.admin.page("/settings").await;
    assert_eq!(status, 200);
    assert!(!page.contains("/settings/retention"), "no form for admins");
    let (_, page) = team.owner.page("/settings").await;
    assert!(page.contains("action=\"/settings/retention\""));
    assert_eq!(
        app.count("select count(*) from organizations where retention_days is not null")
            .await,
        0
    );
    // The database refuses what the form would.
    let refused = sqlx::query("update organizations set retention_days = 7")
        .execute(&mut app.admin_conn().await)
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_deleted_workspace_goes_through_the_same_batches_with_its_files() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let acme = app.org_id("Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "hello").await;
    let photo = [PNG, b"Acme's photo"].concat();
    send_file(&owner, &conversation, &photo, "a photo").await;
    all_sent(&app).await;
    let many = wacrm::features::retention::BATCH + 1;
    sqlx::query(
        "insert into messages (org_id, id, conversation_id, channel_id, direction, kind, body, \
           sender_kind, status) \
         select org_id, gen_random_uuid(), conversation_id, channel_id, 'in', 'text', \
           'more ' || n, 'contact', 'received' \
         from messages, generate_series(1, $1) n where body = 'hello'",
    )
    .bind(i32::try_from(many).expect("small"))
    .execute(&mut app.admin_conn().await)
    .await
    .expect("more messages");
    let globex_owner = app.sign_up("Gus", "gus@globex.test", "Globex").await;
    let globex = app.org_id("Globex").await;
    customer_writes(&globex_owner, "Rui", "+55 11 91234 0000", "oi").await;

    // A workspace not being deleted keeps every message.
    let going =
        wacrm::features::retention::Doomed::Workspace(wacrm::features::retention::Going::Deleted);
    let deleted = wacrm::features::retention::delete_messages(&app.state.env(), acme, going)
        .await
        .expect("delete");
    assert_eq!(deleted.messages, 0);

    // An export it made goes with it.
    assert_eq!(
        owner.post_form("/settings/exports", &[]).await.status(),
        303
    );
    let export: uuid::Uuid = sqlx::query_scalar("select id from data_exports")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("export");
    let archive = wacrm::features::export::archive_path(&app.state.config, acme, export);
    app.run_pending_jobs().await;
    assert!(archive.exists(), "the export");

    let response = owner
        .post_form("/settings/delete-workspace", &[("confirm_name", "Acme")])
        .await;
    assert_eq!(response.status(), 303);
    app.state.clock.advance(Duration::days(31));
    let swept = wacrm::features::billing::lapsed_workspaces::sweep(&app.state.env())
        .await
        .expect("sweep");
    assert_eq!(swept.purged, vec![acme]);
    assert_eq!(swept.files_removed, 1);
    assert!(!file_path(&app, &photo).exists());
    assert_eq!(texts(&app, acme).await.len(), 0);
    assert_eq!(
        app.count("select count(*) from organizations where name = 'Acme'")
            .await,
        0
    );
    assert_eq!(texts(&app, globex).await, vec!["oi"]);
    assert!(
        !archive.parent().expect("its folder").exists(),
        "the workspace's exports are deleted"
    );
}
