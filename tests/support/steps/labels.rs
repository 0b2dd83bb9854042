use super::super::*;

pub async fn create_label(browser: &Browser, name: &str, color: &str) -> String {
    let response = browser
        .post_form("/labels", &[("name", name), ("color", color)])
        .await;
    assert_eq!(response.status(), 303, "creating label {name}");
    let (_, body) = browser.page("/labels").await;
    let at = body.find(&format!(">{name}</span>")).expect("label listed");
    let href = body[..at].rfind("/contacts?label=").unwrap() + "/contacts?label=".len();
    body[href..href + 36].to_owned()
}
