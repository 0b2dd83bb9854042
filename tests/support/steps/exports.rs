use std::collections::HashMap;
use std::io::Read;

use super::super::*;

/// The export ids listed on the page, newest first.
pub async fn export_ids(owner: &Browser) -> Vec<String> {
    let (status, page) = owner.page("/settings/exports").await;
    assert_eq!(status, 200);
    page.match_indices("id=\"export-")
        .map(|(at, _)| page[at + 11..at + 47].to_owned())
        .collect()
}

/// Runs the export's job: it is built.
pub async fn wait_done(app: &TestApp, id: &str) {
    let id = uuid::Uuid::parse_str(id).unwrap();
    app.run_pending_jobs().await;
    let state: String = sqlx::query_scalar("select state from data_exports where id = $1")
        .bind(id)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    assert_eq!(state, "done", "the export");
}

/// The files of a downloaded archive, by path.
pub fn unpack(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut files = HashMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        let (_, inside) = path.split_once('/').expect("one top folder");
        files.insert(inside.to_owned(), content);
    }
    files
}

pub async fn download(owner: &Browser, id: &str) -> Vec<u8> {
    let response = owner.get(&format!("/settings/exports/{id}/download")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/gzip");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"wacrm-")
    );
    response.bytes().await.unwrap().to_vec()
}
