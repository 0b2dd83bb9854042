//! CSV import and export of contacts: upload, map columns (custom
//! attributes included), duplicates updated or skipped, failed rows listed
//! and downloadable, resumable; exports apply the list's filters. Owners
//! and admins only, each workspace its own.

use crate::support::*;

const FILE: &str = "\u{feff}Full Name,WhatsApp,E-mail,Tags,Orders,Notes\n\
Maria Souza,+55 11 91234 5678,maria@example.com,VIP; Recife,3,first\n\
Ana New,030 901820,ana@example.com,VIP,,dup by phone\n\
Bad Phone,12,,,,nope\n\
Short Row,+4930901899\n\
,,,,,\n\
Bruno,+4930901877,,,many,bad number\n\
Maria Again,+5511912345678,,,4,repeated in the file\n";

#[tokio::test]
async fn a_file_is_mapped_imported_and_its_failed_rows_listed() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "UTC"),
                ("default_country", "DE"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(
            "/attributes",
            &[
                ("entity", "contact"),
                ("label", "Orders"),
                ("kind", "number"),
                ("options", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    create_contact(&owner, &[("name", "Ana Old"), ("phone", "+4930901820")]).await;

    let response = upload(&owner, "leads.csv", FILE.as_bytes().to_vec()).await;
    assert_eq!(response.status(), 303);
    let path = location(&response);
    let (status, mapping) = owner.page(&path).await;
    assert_eq!(status, 200);
    assert!(mapping.contains("7 rows"), "{mapping}");
    for guessed in ["name", "phone", "email", "labels", "attr.orders"] {
        assert!(
            mapping.contains(&format!("value=\"{guessed}\" selected")),
            "{guessed} guessed"
        );
    }
    let map = ["name", "phone", "email", "labels", "attr.orders", ""];
    let response = start(&owner, &path, &map, "update").await;
    assert_eq!(response.status(), 303);

    let done = finished(&app, &owner, &path).await;
    assert_eq!(count_of(&done, "created"), 1, "Maria");
    assert_eq!(count_of(&done, "updated"), 2, "Ana by phone, Maria again");
    assert_eq!(count_of(&done, "skipped"), 1, "the empty row");
    assert_eq!(count_of(&done, "failed"), 3);
    assert!(done.contains("Phone:"), "the bad phone's reason");
    assert!(done.contains("The row has 2 cells; the header has 6 columns."));
    assert!(done.contains("“many” is not a number"));

    let mut conn = app.admin_conn().await;
    let (name, email): (String, Option<String>) =
        sqlx::query_as("select name, email from contacts where phone = '+4930901820'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), email.as_deref()),
        ("Ana New", Some("ana@example.com"))
    );
    let (name, orders): (String, serde_json::Value) = sqlx::query_as(
        "select name, attributes -> 'orders' from contacts where phone = '+5511912345678'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        (name.as_str(), orders),
        ("Maria Again", serde_json::json!(4))
    );
    assert_eq!(
        app.count("select count(*) from labels where name in ('VIP', 'Recife')")
            .await,
        2
    );
    assert_eq!(app.count("select count(*) from contact_labels").await, 3);
    assert_eq!(app.count("select count(*) from contacts").await, 2);

    let response = owner.get(&format!("{path}/failed.csv")).await;
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("Full Name,WhatsApp,E-mail,Tags,Orders,Notes,row,error"));
    assert!(csv.contains("Bad Phone,12,,,,nope,4,"), "{csv}");
    assert_eq!(csv.lines().count(), 4);
}

#[tokio::test]
async fn duplicates_are_skipped_when_asked_and_a_started_import_resumes_where_it_stopped() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    create_contact(&owner, &[("name", "Kept"), ("email", "row1@example.com")]).await;
    let mut file = String::from("name,email\n");
    for i in 1..=2500 {
        file.push_str(&format!("Person {i},row{i}@example.com\n"));
    }
    let response = upload(&owner, "many.csv", file.clone().into_bytes()).await;
    let path = location(&response);
    // As if a first run had committed the first 1000 rows and then died:
    // the import continues after them.
    let after_row_1000 = file.find("Person 1001,").unwrap();
    sqlx::query("update contact_imports set next_byte = $1, done_rows = 1000")
        .bind(after_row_1000 as i64)
        .execute(&mut app.admin_conn().await)
        .await
        .unwrap();
    let response = start(&owner, &path, &["name", "email"], "skip").await;
    assert_eq!(response.status(), 303);
    let done = finished(&app, &owner, &path).await;
    assert_eq!(count_of(&done, "created"), 1500);
    assert!(done.contains("2500 of 2500 rows"));
    assert_eq!(app.count("select count(*) from contacts").await, 1501);
    assert_eq!(
        app.count("select count(*) from contacts where email = 'row1000@example.com'")
            .await,
        0,
        "rows before the position are not imported again"
    );
    // Starting it again does nothing.
    let response = start(&owner, &path, &["name", "email"], "skip").await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.count("select count(*) from contacts").await, 1501);

    // Skip mode keeps the stored contact.
    let response = upload(
        &owner,
        "again.csv",
        b"name,email\nRenamed,row1@example.com\n".to_vec(),
    )
    .await;
    let path = location(&response);
    start(&owner, &path, &["name", "email"], "skip").await;
    let done = finished(&app, &owner, &path).await;
    assert_eq!(count_of(&done, "skipped"), 1);
    assert_eq!(
        app.count("select count(*) from contacts where name = 'Kept'")
            .await,
        1
    );
}

#[tokio::test]
async fn bad_uploads_and_mappings_are_refused_with_the_reason() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;

    let response = upload(&owner, "latin1.csv", b"name\nJos\xe9\n".to_vec()).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("not UTF-8"));
    let response = upload(&owner, "empty.csv", vec![]).await;
    assert_eq!(response.status(), 422);
    let response = upload(&owner, "huge.csv", vec![b'a'; 50 * 1024 * 1024]).await;
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("larger than 20 MB"));
    // Without the token the upload is refused.
    let part = reqwest::multipart::Part::bytes(b"name\nx\n".to_vec()).file_name("x.csv");
    let response = owner
        .client
        .post(owner.url("/contacts/import"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(app.count("select count(*) from contact_imports").await, 0);

    let response = upload(
        &owner,
        "ok.csv",
        b"name,phone,x\nAna,+4930901820,1\n".to_vec(),
    )
    .await;
    let path = location(&response);
    for (fields, reason) in [
        (
            vec![
                ("map", "phone"),
                ("map", "phone"),
                ("map", ""),
                ("on_duplicate", "skip"),
            ],
            "already fills",
        ),
        (
            vec![
                ("map", ""),
                ("map", ""),
                ("map", "company"),
                ("on_duplicate", "skip"),
            ],
            "Name, Phone or Email",
        ),
        (
            vec![("map", "name"), ("on_duplicate", "skip")],
            "every column",
        ),
        (
            vec![
                ("map", "name"),
                ("map", "phone"),
                ("map", "attr.nope"),
                ("on_duplicate", "skip"),
            ],
            "pick a field",
        ),
        (
            vec![
                ("map", "name"),
                ("map", "phone"),
                ("map", ""),
                ("on_duplicate", "merge"),
            ],
            "Duplicates:",
        ),
    ] {
        let response = owner.post_form(&path, &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        assert!(response.text().await.unwrap().contains(reason), "{reason}");
    }
    assert_eq!(
        app.count("select count(*) from contact_imports where status = 'mapping'")
            .await,
        1,
        "nothing started"
    );
    assert_eq!(
        app.count("select count(*) from jobs where queue = 'imports'")
            .await,
        0
    );
}

#[tokio::test]
async fn another_workspace_never_sees_or_runs_an_import() {
    let app = spawn_app_without_worker().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = upload(
        &acme,
        "acme.csv",
        b"name,phone\nSecret,+4930901820\n".to_vec(),
    )
    .await;
    let path = location(&response);
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let (status, body) = other.page(&path).await;
    assert_eq!(status, 404);
    assert!(!body.contains("acme.csv"));
    let response = start(&other, &path, &["name", "phone"], "skip").await;
    assert_eq!(response.status(), 404);
    let (status, _) = other.page(&format!("{path}/failed.csv")).await;
    assert_eq!(status, 404);
    let (_, list) = other.page("/contacts/import").await;
    assert!(!list.contains("acme.csv"));
    assert_eq!(
        app.count("select count(*) from contact_imports where status = 'mapping'")
            .await,
        1
    );
}

#[tokio::test]
async fn exports_apply_the_filters_defuse_formulas_and_stay_in_the_workspace() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    create_contact(
        &owner,
        &[("name", "=HYPERLINK(\"evil\")"), ("phone", "+4930901820")],
    )
    .await;
    create_contact(
        &owner,
        &[("name", "Ana Souza"), ("email", "ana@example.com")],
    )
    .await;
    // More than one export page (1000), without a request each.
    sqlx::query(
        "insert into contacts (org_id, id, name) \
         select $1, gen_random_uuid(), 'Bulk ' || i from generate_series(1, 1200) i",
    )
    .bind(app.org_id("Acme").await)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    create_contact(&other, &[("name", "Otto's customer")]).await;

    let response = owner.get("/contacts/export.csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,name,phone,email,company,labels")
    );
    assert_eq!(csv.lines().count(), 1 + 2 + 1200, "every page, once");
    assert!(csv.contains("'=HYPERLINK"), "formula defused");
    assert!(!csv.contains("Otto's customer"));

    let response = owner.get("/contacts/export.csv?q=souza").await;
    let csv = response.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.contains("ana@example.com"));
    let response = owner.get("/contacts/export.csv?label=nope").await;
    assert_eq!(response.status(), 400);

    let response = owner
        .post_form("/companies", &[("name", "Acme Supplies")])
        .await;
    assert_eq!(response.status(), 303);
    let response = other
        .post_form("/companies", &[("name", "Otto's Supplier")])
        .await;
    assert_eq!(response.status(), 303);
    let response = owner.get("/companies/export.csv").await;
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("id,name,domain"));
    assert!(csv.contains("Acme Supplies") && !csv.contains("Otto's Supplier"));
    let response = owner.get("/companies/export.csv?sort=sideways").await;
    assert_eq!(response.status(), 400);
}
