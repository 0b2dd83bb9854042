use super::super::*;

/// Uploads a file (the CSRF token rides in the query, as the form sends it).
pub async fn upload(browser: &Browser, filename: &str, bytes: Vec<u8>) -> reqwest::Response {
    let token = browser.csrf_token().await;
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(filename.to_owned())
        .mime_str("text/csv")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    browser
        .client
        .post(browser.url(&format!("/contacts/import?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// Posts the mapping (one field per column) and the duplicates choice.
pub async fn start(
    browser: &Browser,
    path: &str,
    map: &[&str],
    on_duplicate: &str,
) -> reqwest::Response {
    let mut fields: Vec<(&str, &str)> = map.iter().map(|m| ("map", *m)).collect();
    fields.push(("on_duplicate", on_duplicate));
    browser.post_form(path, &fields).await
}

/// The import's page once its jobs have run.
pub async fn finished(app: &TestApp, browser: &Browser, path: &str) -> String {
    app.run_pending_jobs().await;
    let (status, body) = browser.page(path).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("data-status=\"done\""),
        "the import finished: {body}"
    );
    body
}

pub fn count_of(body: &str, what: &str) -> i64 {
    let marker = format!("data-count=\"{what}\">");
    let start = body.find(&marker).unwrap() + marker.len();
    body[start..start + body[start..].find('<').unwrap()]
        .parse()
        .unwrap()
}
