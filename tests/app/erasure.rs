//! Erasing a contact on their request: no row of any table and no file
//! keeps anything of them, other contacts and workspaces are untouched,
//! and the audit log keeps the counts only.

use crate::support::*;

const ZELDA_PHONE: &str = "+4930901899";
const UNIQUE_PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-zelda-only";
const SHARED_PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-zelda-and-maria";

/// Strings only Zelda's data holds (in Acme).
const MARKERS: &[&str] = &[
    "%Zelda Erasable%",
    "%zelda@erase.test%",
    "%zelda secret%",
    "%zelda private note%",
    "%zelda-attr%",
    "%zelda photo caption%",
    "%zelda scheduled%",
    "%4930901899%",
    "%901899%",
];

/// Rows of Acme (or of no workspace) holding one of `patterns`, per table.
async fn rows_holding(
    app: &TestApp,
    acme: uuid::Uuid,
    patterns: &[String],
    skip: &[&str],
) -> Vec<(String, i64)> {
    let mut conn = app.admin_conn().await;
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "select t.table_name::text, exists (select 1 from information_schema.columns c \
           where c.table_schema = 'public' and c.table_name = t.table_name and c.column_name = 'org_id') \
         from information_schema.tables t \
         where t.table_schema = 'public' and t.table_type = 'BASE TABLE' and t.table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.len() > 40, "every table is checked");
    let mut found = vec![];
    for (table, has_org) in tables {
        if skip.contains(&table.as_str()) {
            continue;
        }
        let scope = if has_org { "org_id = $2 and" } else { "" };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} t where {scope} row_to_json(t)::text ilike any($1)"
        )))
        .bind(patterns)
        .bind(acme)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if n > 0 {
            found.push((table, n));
        }
    }
    found
}

/// Maria's messages, Acme's media rows, Globex's messages.
async fn others(
    conn: &mut sqlx::PgConnection,
    maria_chat: &str,
    acme: uuid::Uuid,
    globex_chat: &str,
) -> (i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from messages where conversation_id = $1::uuid), \
                (select count(*) from media where org_id = $2), \
                (select count(*) from messages where conversation_id = $3::uuid)",
    )
    .bind(maria_chat)
    .bind(acme)
    .bind(globex_chat)
    .fetch_one(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn erasing_a_contact_leaves_nothing_of_them_and_touches_no_one_else() {
    let app = spawn_app_without_worker().await;
    let acme = team(&app).await;
    let owner = &acme.owner;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let acme_id = app.org_id("Acme").await;

    // Zelda, with something of every kind.
    let zelda_chat =
        customer_writes(owner, "Zelda Erasable", ZELDA_PHONE, "zelda secret message").await;
    customer_sends_image_as(
        owner,
        "Zelda Erasable",
        ZELDA_PHONE,
        UNIQUE_PNG.to_vec(),
        "zelda photo caption",
    )
    .await;
    customer_sends_image_as(
        owner,
        "Zelda Erasable",
        ZELDA_PHONE,
        SHARED_PNG.to_vec(),
        "zelda shared",
    )
    .await;
    let maria_chat = customer_writes(owner, "Maria", "+4930901820", "maria stays").await;
    customer_sends_image_as(
        owner,
        "Maria",
        "+4930901820",
        SHARED_PNG.to_vec(),
        "maria shared",
    )
    .await;
    let bruno = create_contact(owner, &[("name", "Bruno"), ("email", "bruno@keep.test")]).await;
    let globex_chat =
        customer_writes(&globex, "Globex Zelda", ZELDA_PHONE, "globex keeps this").await;
    let mut conn = app.admin_conn().await;
    let zelda: uuid::Uuid =
        sqlx::query_scalar("select contact_id from conversations where id = $1::uuid")
            .bind(&zelda_chat)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    // Media kept as files in the store, as WhatsApp's is.
    let inline: Vec<(uuid::Uuid, Vec<u8>)> =
        sqlx::query_as("select id, bytes from media where org_id = $1 and bytes is not null")
            .bind(acme_id)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(inline.len(), 3);
    for (id, bytes) in inline {
        let sha = app.state.media.put(&bytes).await.unwrap();
        sqlx::query("update media set bytes = null, sha256 = $2, size = $3 where id = $1")
            .bind(id)
            .bind(&sha)
            .bind(bytes.len() as i64)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let file_of = |bytes: &[u8]| {
        app.state
            .media
            .file_path(&wacrm::infra::media_store::digest(bytes))
            .unwrap()
    };
    assert!(file_of(UNIQUE_PNG).exists() && file_of(SHARED_PNG).exists());

    let vip = create_label(owner, "VIP", "#dc2626").await;
    define(owner, "contact", "Plan", "text", "").await;
    let response = owner
        .post_form(
            &format!("/contacts/{zelda}"),
            &[
                ("name", "Zelda Erasable"),
                ("phone", ZELDA_PHONE),
                ("email", "zelda@erase.test"),
                ("labels", &vip),
                ("attr.plan", "zelda-attr-value"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(
            &format!("/contacts/{zelda}/notes"),
            &[("body", "zelda private note")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let channel: uuid::Uuid =
        sqlx::query_scalar("select channel_id from conversations where id = $1::uuid")
            .bind(&zelda_chat)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let campaign = uuid::Uuid::new_v4();
    for sql in [
        "insert into campaigns (org_id, id, name, channel_id, rate_per_minute) values ($1, $2, 'Spring', $3, 10)",
        "insert into campaign_recipients (org_id, campaign_id, contact_id, position, phone) values ($1, $2, $4, 1, '+4930901899')",
        "insert into scheduled_messages (org_id, id, conversation_id, body, send_at) values ($1, gen_random_uuid(), $5::uuid, 'zelda scheduled hello', now() + interval '1 day')",
        "insert into contact_imports (org_id, id, filename, csv, columns, total_rows, status) values ($1, $2, 'old.csv', ''::bytea, '{name,phone}', 2, 'done')",
        "insert into contact_import_failures (org_id, import_id, row_number, reason, raw) values ($1, $2, 2, 'bad', '[\"Zelda Erasable\", \"030 901899\"]'), ($1, $2, 3, 'bad', '[\"Carl\", \"030 555111\"]')",
        "insert into contact_imports (org_id, id, filename, csv, columns, total_rows) values ($1, gen_random_uuid(), 'new.csv', convert_to(E'name,phone\\nZelda Erasable,030 901899\\n', 'UTF8'), '{name,phone}', 1)",
        "insert into whatsapp_web_state (org_id, channel_id, space, key, value) values ($1, $3, 'session', '4930901899.0:1', '\\x01'), ($1, $3, 'identity', '4930901899@s.whatsapp.net', '\\x02'), ($1, $3, 'session', '4930901820.0:1', '\\x03')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(acme_id)
            .bind(campaign)
            .bind(channel)
            .bind(zelda)
            .bind(&zelda_chat)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // Her subject access export, before she asks to be forgotten.
    assert_eq!(
        owner
            .post_form(&format!("/contacts/{zelda}/export"), &[])
            .await
            .status(),
        303
    );
    let export: uuid::Uuid =
        sqlx::query_scalar("select id from data_exports where contact_id = $1")
            .bind(zelda)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    app.run_pending_jobs().await;
    let state: String = sqlx::query_scalar("select state from data_exports where id = $1")
        .bind(export)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    assert_eq!(state, "done", "her export");
    let archive = wacrm::features::export::archive_path(&app.state.config, acme_id, export);
    assert!(archive.exists());
    let markers: Vec<String> = MARKERS.iter().map(|m| (*m).to_owned()).collect();
    let before = rows_holding(&app, acme_id, &markers, &[]).await;
    assert!(
        before.len() >= 8,
        "the set-up reaches many tables: {before:?}"
    );
    let others_before = others(&mut conn, &maria_chat, acme_id, &globex_chat).await;

    // Not from another workspace, not by an admin, not without confirming.
    let path = format!("/contacts/{zelda}/erase");
    assert_eq!(
        globex
            .post_form(&path, &[("confirm", "ERASE")])
            .await
            .status(),
        404
    );
    assert_eq!(
        acme.admin
            .post_form(&path, &[("confirm", "ERASE")])
            .await
            .status(),
        403
    );
    let response = owner.post_form(&path, &[("confirm", "erase it")]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Type ERASE to confirm")
    );
    assert_eq!(
        rows_holding(&app, acme_id, &markers, &[]).await,
        before,
        "nothing erased yet"
    );

    let response = owner.post_form(&path, &[("confirm", "ERASE")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/contacts");
    assert_eq!(owner.get(&format!("/contacts/{zelda}")).await.status(), 404);
    assert_eq!(
        owner.get(&format!("/inbox/{zelda_chat}")).await.status(),
        404
    );
    assert_eq!(
        owner
            .post_form(&path, &[("confirm", "ERASE")])
            .await
            .status(),
        404,
        "once"
    );

    // No row of any table holds anything of hers; only the audit log keeps
    // her id, next to the counts.
    assert_eq!(rows_holding(&app, acme_id, &markers, &[]).await, vec![]);
    let her_id = vec![format!("%{zelda}%"), format!("%{zelda_chat}%")];
    assert_eq!(
        rows_holding(&app, acme_id, &her_id, &["audit_log"]).await,
        vec![]
    );
    assert!(!file_of(UNIQUE_PNG).exists(), "her file is deleted");
    assert!(file_of(SHARED_PNG).exists(), "a file Maria also sent stays");
    assert!(!archive.exists(), "her export is deleted");
    assert_eq!(
        app.count("select count(*) from contact_imports where filename = 'new.csv'")
            .await,
        0,
        "the uploaded file that held her (bytes: not seen by the text scan)"
    );

    // Everyone else is untouched.
    let others_after = others(&mut conn, &maria_chat, acme_id, &globex_chat).await;
    assert_eq!(
        others_after,
        (others_before.0, others_before.1 - 2, others_before.2)
    );
    assert_eq!(owner.get(&format!("/contacts/{bruno}")).await.status(), 200);
    assert_eq!(
        app.count("select count(*) from whatsapp_web_state where key = '4930901820.0:1'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from contact_import_failures where raw::text like '%Carl%'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from labels where name = 'VIP'")
            .await,
        1
    );

    let (target, details): (String, serde_json::Value) = sqlx::query_as(
        "select target, details from audit_log where action = 'data.contact_erased'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(target, zelda.to_string());
    assert_eq!(
        details,
        serde_json::json!({
            "conversations": "1", "messages": "3", "notes": "1", "media": "2",
            "campaign_recipients": "1", "scheduled_messages": "1", "exports": "1",
            "import_rows": "1", "import_files": "1", "linked_phone_keys": "2"
        })
    );
}

#[tokio::test]
async fn a_running_import_that_holds_them_holds_the_erasure_back() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let zelda = create_contact(&owner, &[("name", "Zelda"), ("email", "zelda@erase.test")]).await;
    let acme = app.org_id("Acme").await;
    sqlx::query(
        "insert into contact_imports (org_id, id, filename, csv, columns, total_rows, status) \
         values ($1, gen_random_uuid(), 'big.csv', convert_to(E'name,email\\nZelda,ZELDA@erase.test\\n', 'UTF8'), '{name,email}', 1, 'running')",
    )
    .bind(acme)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
    let response = owner
        .post_form(&format!("/contacts/{zelda}/erase"), &[("confirm", "ERASE")])
        .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.unwrap().contains("import"));
    assert_eq!(
        owner.get(&format!("/contacts/{zelda}")).await.status(),
        200,
        "nothing erased"
    );
}
