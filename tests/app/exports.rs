//! Data exports: the whole workspace's archive holds every kind of row and
//! every media file with a manifest that checks out (with `tar` and
//! `sha256sum` too); one contact's archive holds only theirs; owners only;
//! expired links are gone; another workspace gets 404.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::steps::exports::{download, export_ids, unpack, wait_done};
use crate::support::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-export-test";

fn rows(files: &HashMap<String, Vec<u8>>, table: &str) -> Vec<Value> {
    let text = std::str::from_utf8(&files[&format!("{table}.jsonl")]).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Ids of a table's rows in the database, for one workspace.
async fn ids_in_db(app: &TestApp, table: &str, org: uuid::Uuid) -> HashSet<String> {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
        "select id::text from {table} where org_id = $1"
    )))
    .bind(org)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

fn ids_in(rows: &[Value]) -> HashSet<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_workspace_export_holds_every_kind_of_row_and_file_and_checks_out() {
    let app = spawn_app_without_worker().await;
    let acme = team(&app).await;
    let owner = &acme.owner;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    customer_writes(&globex, "Globex Customer", "+4930999999", "globex secret").await;

    // One of every kind.
    let vip = create_label(owner, "VIP", "#dc2626").await;
    define(owner, "contact", "Plan", "text", "").await;
    let ana = create_contact(
        owner,
        &[
            ("name", "Ana Lima"),
            ("company", "Lima Imports"),
            ("labels", &vip),
            ("attr.plan", "Gold"),
        ],
    )
    .await;
    let response = owner
        .post_form(
            &format!("/contacts/{ana}/notes"),
            &[("body", "Prefers mornings")],
        )
        .await;
    assert_eq!(response.status(), 303);
    customer_writes(
        owner,
        "Maria",
        "+4930901820",
        "Hello, \"quoted\", with, commas",
    )
    .await;
    assert_eq!(
        customer_sends_image(owner, PNG.to_vec(), "the broken part")
            .await
            .status(),
        303
    );

    // Admins and agents may not export.
    assert_eq!(acme.admin.get("/settings/exports").await.status(), 403);
    assert_eq!(
        acme.admin
            .post_form("/settings/exports", &[])
            .await
            .status(),
        403
    );

    let response = owner.post_form("/settings/exports", &[]).await;
    assert_eq!(response.status(), 303);
    // One at a time.
    let second = owner.post_form("/settings/exports", &[]).await;
    let ids = export_ids(owner).await;
    assert_eq!(ids.len(), 1);
    assert!(second.status() == 409 || second.status() == 303);
    let id = ids[0].clone();
    wait_done(&app, &id).await;
    let (status, row) = owner.page(&format!("/settings/exports/{id}")).await;
    assert_eq!(status, 200);
    assert!(row.contains("Ready") && row.contains("/download"), "{row}");

    let bytes = download(owner, &id).await;
    let stored_hash: String =
        sqlx::query_scalar("select sha256 from data_exports where id = $1::uuid")
            .bind(&id)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!(
        stored_hash,
        hex::encode(Sha256::digest(&bytes)),
        "the hash shown is the file's"
    );
    let files = unpack(&bytes);

    // The manifest lists every file with its size and hash.
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["format"], "wacrm-export-1");
    assert_eq!(manifest["workspace"], "Acme");
    let listed = manifest["files"].as_array().unwrap();
    for file in listed {
        let path = file["path"].as_str().unwrap();
        let content = &files[path];
        assert_eq!(file["size"], content.len(), "{path}");
        assert_eq!(
            file["sha256"],
            hex::encode(Sha256::digest(content)),
            "{path}"
        );
    }
    assert_eq!(
        listed.len() + 3,
        files.len(),
        "every file but the manifest, sums and readme is listed"
    );

    // Every kind of row, all of Acme's and none of Globex's.
    let org = app.org_id("Acme").await;
    for table in [
        "contacts",
        "companies",
        "labels",
        "attribute_definitions",
        "conversations",
        "messages",
        "notes",
        "media",
    ] {
        let exported = rows(&files, table);
        assert!(!exported.is_empty(), "{table} is exported");
        assert_eq!(
            ids_in(&exported),
            ids_in_db(&app, table, org).await,
            "{table}"
        );
        assert!(files.contains_key(&format!("{table}.csv")), "{table}.csv");
        assert!(exported.iter().all(|r| r.get("org_id").is_none()));
    }
    assert_eq!(rows(&files, "contact_labels").len(), 1);
    let contacts = rows(&files, "contacts");
    let ana_row = contacts.iter().find(|c| c["id"] == ana.as_str()).unwrap();
    assert_eq!(ana_row["attributes"]["plan"], "Gold");
    let messages = rows(&files, "messages");
    assert!(
        messages
            .iter()
            .any(|m| m["body"] == "Hello, \"quoted\", with, commas")
    );
    let everything = files
        .values()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<String>();
    assert!(
        !everything.contains("globex secret"),
        "nothing of another workspace"
    );
    let csv = String::from_utf8(files["messages.csv"].clone()).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let bodies: Vec<String> = reader
        .deserialize::<HashMap<String, String>>()
        .map(|r| r.unwrap()["body"].clone())
        .collect();
    assert!(bodies.contains(&"Hello, \"quoted\", with, commas".to_owned()));

    // The image, byte for byte, named by its media id.
    let media = rows(&files, "media");
    let media_id = media[0]["id"].as_str().unwrap();
    let image = files
        .iter()
        .find(|(path, _)| path.starts_with(&format!("media/{media_id}")))
        .expect("the image file");
    assert_eq!(image.1.as_slice(), PNG);

    // Standard tools open and check it.
    let dir = std::env::temp_dir().join(format!("wacrm-export-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("export.tar.gz"), &bytes).unwrap();
    let untar = std::process::Command::new("tar")
        .args(["-xzf", "export.tar.gz"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(untar.success());
    let folder = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let check = std::process::Command::new("sha256sum")
        .args(["--quiet", "-c", "SHA256SUMS"])
        .current_dir(&folder)
        .status()
        .unwrap();
    assert!(check.success(), "sha256sum -c SHA256SUMS");
    std::fs::remove_dir_all(&dir).unwrap();

    // Audited: asked for and downloaded.
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where org_id = $1 and action like 'data.%' order by seq",
    )
    .bind(org)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(actions, ["data.export_requested", "data.export_downloaded"]);

    // Another workspace: 404 on every route of it.
    for path in [
        format!("/settings/exports/{id}"),
        format!("/settings/exports/{id}/download"),
    ] {
        assert_eq!(globex.get(&path).await.status(), 404, "{path}");
    }
    assert_eq!(
        globex
            .post_form(&format!("/contacts/{ana}/export"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        owner
            .get("/settings/exports/not-an-id/download")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_contact_export_holds_only_that_contact_and_links_expire() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let maria_chat =
        customer_writes(&owner, "Maria", "+4930901820", "Maria asks about her order").await;
    customer_sends_image(&owner, PNG.to_vec(), "Maria's photo").await;
    customer_writes(&owner, "Bruno", "+4930901821", "Bruno's question").await;
    customer_sends_image_as(
        &owner,
        "Bruno",
        "+4930901821",
        PNG.to_vec(),
        "Bruno's photo",
    )
    .await;
    let maria: String =
        sqlx::query_scalar("select contact_id::text from conversations where id = $1::uuid")
            .bind(&maria_chat)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();

    let response = owner
        .post_form(&format!("/contacts/{maria}/export"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/settings/exports");
    let id = export_ids(&owner).await[0].clone();
    wait_done(&app, &id).await;
    let files = unpack(&download(&owner, &id).await);
    let contacts = rows(&files, "contacts");
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["id"], maria.as_str());
    let bodies: Vec<String> = rows(&files, "messages")
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(bodies.contains(&"Maria asks about her order".to_owned()));
    assert!(!bodies.iter().any(|b| b.contains("Bruno")), "{bodies:?}");
    assert_eq!(rows(&files, "media").len(), 1, "her photo");
    // Its file too (the media listing has its own query for one contact),
    // and no one else's.
    let media_id = rows(&files, "media")[0]["id"].as_str().unwrap().to_owned();
    let media_files: Vec<&String> = files.keys().filter(|p| p.starts_with("media/")).collect();
    assert_eq!(media_files.len(), 1, "{media_files:?}");
    assert!(media_files[0].starts_with(&format!("media/{media_id}")));
    assert!(
        !files.contains_key("companies.jsonl"),
        "workspace-wide tables are left out"
    );

    // Seven days on, the link is gone and so is the file.
    sqlx::query(
        "update data_exports set expires_at = now() - interval '1 second' where id = $1::uuid",
    )
    .bind(&id)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
    let response = owner.get(&format!("/settings/exports/{id}/download")).await;
    assert_eq!(response.status(), 410);
    assert!(response.text().await.unwrap().contains("expired"));
    let org = app.org_id("Acme").await;
    wacrm::features::export::expire(&app.state.env(), org, uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    let archive = wacrm::features::export::archive_path(
        &app.state.config,
        org,
        uuid::Uuid::parse_str(&id).unwrap(),
    );
    assert!(!archive.exists(), "the file is deleted");
    let (_, row) = owner.page(&format!("/settings/exports/{id}")).await;
    assert!(row.contains("Expired"));
    // The expiry job is queued for the 7th day.
    assert_eq!(
        app.count("select count(*) from jobs where queue = 'exports' and run_at > now() + interval '6 days'").await,
        1
    );
}

/// What one workspace writes through the real routes: a customer's chat
/// (it makes the sandbox channel), a knowledge-base article, a canned
/// reply, an automation rule and a campaign, each carrying `mark`.
async fn write_the_workspace_setup(
    app: &TestApp,
    owner: &Browser,
    org: uuid::Uuid,
    mark: &str,
    phone: &str,
) {
    customer_writes(
        owner,
        &format!("{mark} customer"),
        phone,
        &format!("Hi {mark}"),
    )
    .await;
    let title = format!("{mark} shipping");
    let body = format!("{mark} ships to Recife in two days.");
    let article = owner
        .post_form("/knowledge", &[("title", &title), ("body", &body)])
        .await;
    assert_eq!(article.status(), 303, "article");
    let shortcode = format!("{}-hello", mark.to_lowercase());
    let reply = format!("Hello from {mark}!");
    let canned = owner
        .post_form("/canned", &[("shortcode", &shortcode), ("body", &reply)])
        .await;
    assert_eq!(canned.status(), 303, "canned reply");
    let rule = format!("{mark} pricing");
    let automation = owner
        .post_form(
            "/automations",
            &[
                ("name", &rule),
                ("trigger", "keywords"),
                ("keywords", "price"),
                ("set_priority", "high"),
            ],
        )
        .await;
    assert_eq!(automation.status(), 303, "automation rule");
    let sandbox: uuid::Uuid =
        sqlx::query_scalar("select id from channels where org_id = $1 and kind = 'sandbox'")
            .bind(org)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    let name = format!("{mark} promo");
    let text = format!("Hi {{{{name}}}}, news from {mark}");
    let campaign = owner
        .post_form(
            "/campaigns",
            &[
                ("name", &name),
                ("channel_id", &sandbox.to_string()),
                ("body", &text),
            ],
        )
        .await;
    assert_eq!(campaign.status(), 303, "campaign");
}

#[tokio::test]
async fn a_workspace_export_holds_its_knowledge_rules_replies_and_campaigns_and_no_one_elses() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let acme = app.org_id("Acme").await;
    let other = app.org_id("Globex").await;
    write_the_workspace_setup(&app, &owner, acme, "Acme", "+4930901820").await;
    write_the_workspace_setup(&app, &globex, other, "Globex", "+4930999999").await;

    assert_eq!(
        owner.post_form("/settings/exports", &[]).await.status(),
        303
    );
    let id = export_ids(&owner).await[0].clone();
    wait_done(&app, &id).await;
    let files = unpack(&download(&owner, &id).await);

    // Every table the code exports is in the archive, twice.
    for table in wacrm::features::export::tables::TABLES {
        for ext in ["jsonl", "csv"] {
            let file = format!("{}.{ext}", table.name);
            assert!(files.contains_key(&file), "{file}");
        }
    }
    for (table, field, value) in [
        ("kb_articles", "title", "Acme shipping"),
        ("canned_replies", "body", "Hello from Acme!"),
        ("automation_rules", "name", "Acme pricing"),
        ("campaigns", "name", "Acme promo"),
    ] {
        let exported = rows(&files, table);
        assert!(
            exported.iter().any(|r| r[field] == value),
            "{table}: {exported:?}"
        );
        assert_eq!(
            ids_in(&exported),
            ids_in_db(&app, table, acme).await,
            "{table}: all of Acme's rows"
        );
        assert!(exported.iter().all(|r| r.get("org_id").is_none()));
        let csv = String::from_utf8(files[&format!("{table}.csv")].clone()).unwrap();
        assert!(csv.contains(value), "{table}.csv");
    }
    let rule = &rows(&files, "automation_rules")
        .into_iter()
        .find(|r| r["name"] == "Acme pricing")
        .unwrap();
    assert_eq!(rule["keywords"], serde_json::json!(["price"]));
    assert_eq!(rule["actions"]["set_priority"], "high");

    // The workspace's own row and its team, with names.
    let workspace = rows(&files, "organizations");
    assert_eq!(workspace.len(), 1);
    assert_eq!(workspace[0]["id"], acme.to_string());
    assert_eq!(workspace[0]["name"], "Acme");
    let team = rows(&files, "memberships");
    assert_eq!(team.len(), 1);
    assert_eq!(team[0]["email"], "owner@acme.test");
    assert_eq!(team[0]["name"], "Olga");
    assert_eq!(team[0]["role"], "owner");

    // No secret in clear: the webhook's verify token and sealed keys stay.
    let channels = String::from_utf8(files["channels.csv"].clone()).unwrap();
    let header = channels.lines().next().unwrap();
    assert!(header.contains("phone_number_id"), "{header}");
    for secret in ["verify_token", "access_token_sealed", "app_secret_sealed"] {
        assert!(!header.contains(secret), "{header}");
    }
    // What is left out, and why, is in the manifest.
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert!(
        manifest["left_out"]["api_tokens"]
            .as_str()
            .unwrap()
            .starts_with("secrets")
    );
    assert!(!files.contains_key("api_tokens.jsonl"));

    // Nothing of Globex's, in any file.
    for (path, content) in &files {
        let text = String::from_utf8_lossy(content);
        assert!(!text.contains("Globex"), "{path} holds Globex's data");
        assert!(!text.contains("globex"), "{path} holds Globex's data");
        assert!(!text.contains(&other.to_string()), "{path} names Globex");
    }
}
