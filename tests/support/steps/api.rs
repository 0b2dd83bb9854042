use super::super::*;

/// A workspace API token created in settings by `owner`.
pub async fn api_token(owner: &Browser, name: &str) -> String {
    let response = owner
        .post_form("/settings/api-tokens", &[("name", name)])
        .await;
    assert_eq!(response.status(), 200, "creating API token {name}");
    let body = response.text().await.expect("body");
    let start = body.find("data-api-token>").expect("token element") + "data-api-token>".len();
    body[start..start + body[start..].find('<').expect("end")].to_owned()
}
