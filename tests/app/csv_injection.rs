//! No CSV wacrm offers holds a cell a spreadsheet would run as a formula:
//! values typed into contacts, companies, labels, attributes, pipelines and
//! an uploaded file come back in every download (contacts and companies
//! exports, an import's failed rows, the reports, a campaign's recipients,
//! the workspace and contact archives) with a leading `'`.

use std::collections::HashMap;

use crate::support::steps::{campaigns, exports};
use crate::support::*;

const HYPERLINK: &str = "=HYPERLINK(\"http://evil\")";
const HOSTILE: [&str; 4] = [HYPERLINK, "+1+1", "@SUM(1)", "-2+3"];

/// A sign, digits and at most one `.digits`: read as a number, runs nothing.
fn plain_number(cell: &str) -> bool {
    let unsigned = cell.trim_start_matches(['+', '-']);
    let mut parts = unsigned.splitn(2, '.');
    let digits =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let whole = parts.next();
    cell.len() - unsigned.len() <= 1
        && digits(whole)
        && parts.next().is_none_or(|fraction| digits(Some(fraction)))
}

fn cells(text: &str) -> Vec<String> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// No cell of `text` starts like a formula; each of `expected` is there,
/// defused (so the hostile value did reach this file).
fn assert_defused(what: &str, text: &str, expected: &[&str]) {
    let cells = cells(text);
    for cell in &cells {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']) || plain_number(cell),
            "{what}: {cell:?} would run as a formula in\n{text}"
        );
    }
    for value in expected {
        let defused = format!("'{value}");
        assert!(
            cells.contains(&defused),
            "{what}: {defused:?} missing from\n{text}"
        );
    }
}

async fn download(browser: &Browser, path: &str) -> String {
    let response = browser.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
        "{path}"
    );
    response.text().await.unwrap()
}

/// The archive's CSV files, by name.
fn csv_files(archive: &[u8]) -> HashMap<String, String> {
    exports::unpack(archive)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".csv"))
        .map(|(name, bytes)| (name, String::from_utf8(bytes).unwrap()))
        .collect()
}

#[tokio::test]
async fn every_csv_download_defuses_formulas_typed_into_the_crm() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;

    // Hostile values, typed through the forms.
    define(&owner, "contact", "Plan", "text", "").await;
    let label = create_label(&owner, "+1+1", "#dc2626").await;
    let contact = create_contact(
        &owner,
        &[
            ("name", HYPERLINK),
            ("phone", "+4930901820"),
            ("company", "@SUM(1)"),
            ("labels", &label),
            ("attr.plan", "-2+3"),
        ],
    )
    .await;
    let response = owner
        .post_form(
            "/companies",
            &[("name", "-2+3"), ("domain", ""), ("address", "+1+1")],
        )
        .await;
    assert_eq!(response.status(), 303);

    // Contacts and companies.
    let csv = download(&owner, "/contacts/export.csv").await;
    assert_defused("contacts export", &csv, &HOSTILE);
    assert!(csv.contains(",+4930901820,"), "a phone stays readable");
    let csv = download(&owner, "/companies/export.csv").await;
    assert_defused("companies export", &csv, &["@SUM(1)", "-2+3", "+1+1"]);

    // An import's failed rows, as the file had them.
    let file = format!(
        "name,phone,notes\n\"{}\",+1+1,@SUM(1)\n-2+3,12,\"=1+1\"\n",
        HYPERLINK.replace('"', "\"\"")
    );
    let response = upload(&owner, "hostile.csv", file.into_bytes()).await;
    assert_eq!(response.status(), 303);
    let path = location(&response);
    let response = start(&owner, &path, &["name", "phone", ""], "update").await;
    assert_eq!(response.status(), 303);
    finished(&app, &owner, &path).await;
    let csv = download(&owner, &format!("{path}/failed.csv")).await;
    assert_eq!(csv.lines().count(), 3, "both rows failed: {csv}");
    assert_defused("import failed rows", &csv, &HOSTILE);

    // Reports: a pipeline and stage named like formulas, an invoice to the
    // hostile contact.
    let (status, _) = owner.page("/reports").await;
    assert_eq!(status, 200);
    let pipeline: String = sqlx::query_scalar("select id::text from pipelines where org_id = $1")
        .bind(org)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    let response = owner
        .post_form(
            &format!("/settings/pipelines/{pipeline}"),
            &[("name", HYPERLINK)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let lead: String = sqlx::query_scalar(
        "select id::text from pipeline_stages where org_id = $1 and name = 'Lead'",
    )
    .bind(org)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    let response = owner
        .post_form(
            &format!("/settings/stages/{lead}"),
            &[("name", "@SUM(1)"), ("outcome", "open")],
        )
        .await;
    assert_eq!(response.status(), 303);
    issue_invoice(&owner, &contact, "EUR", "10", "").await;
    let csv = download(&owner, "/reports/pipeline.csv").await;
    assert_defused("pipeline report", &csv, &[HYPERLINK, "@SUM(1)"]);
    let csv = download(&owner, "/reports/invoices.csv").await;
    assert_defused("invoices report", &csv, &[HYPERLINK]);
    for path in ["/reports/won.csv", "/reports/orders.csv"] {
        let csv = download(&owner, path).await;
        assert_defused(path, &csv, &[]);
    }

    // A campaign to the hostile contact: its recipients.
    let sandbox = campaigns::sandbox(&app, org).await;
    let campaign = campaigns::create(
        &owner,
        &[
            ("name", "Promo"),
            ("channel_id", &sandbox),
            ("labels", &label),
            ("body", "Hi {{name}}"),
            ("rate_per_minute", "60"),
        ],
    )
    .await;
    let response = owner
        .post_form(&format!("/campaigns/{campaign}/start"), &[])
        .await;
    assert_eq!(response.status(), 303);
    campaigns::run_until_state(&app, &campaign, "done").await;
    let csv = download(&owner, &format!("/campaigns/{campaign}/recipients.csv")).await;
    assert_defused("campaign recipients", &csv, &[HYPERLINK]);

    // The workspace's archive and the contact's: every table's CSV.
    let response = owner.post_form("/settings/exports", &[]).await;
    assert_eq!(response.status(), 303);
    let workspace = exports::export_ids(&owner).await[0].clone();
    exports::wait_done(&app, &workspace).await;
    let files = csv_files(&exports::download(&owner, &workspace).await);
    assert!(files.contains_key("contacts.csv"), "{:?}", files.keys());
    for (name, csv) in &files {
        assert_defused(name, csv, &[]);
    }
    let all: String = files.values().map(String::as_str).collect();
    assert_defused("workspace archive", &all, &HOSTILE);

    let response = owner
        .post_form(&format!("/contacts/{contact}/export"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let one = exports::export_ids(&owner).await[0].clone();
    assert_ne!(one, workspace);
    exports::wait_done(&app, &one).await;
    let files = csv_files(&exports::download(&owner, &one).await);
    assert!(!files.is_empty());
    for (name, csv) in &files {
        assert_defused(name, csv, &[]);
    }
    let all: String = files.values().map(String::as_str).collect();
    assert_defused("contact archive", &all, &[HYPERLINK]);
}
