use super::super::*;

/// Sends as a customer through the simulator; returns the conversation id.
pub async fn customer_writes(browser: &Browser, name: &str, phone: &str, text: &str) -> String {
    let response = browser
        .post_form(
            "/sandbox/messages",
            &[("name", name), ("phone", phone), ("text", text)],
        )
        .await;
    assert_eq!(response.status(), 303, "simulating {text}");
    let (_, body) = browser.page(&location(&response)).await;
    let at = body
        .find("href=\"/inbox/")
        .expect("the chat links to the inbox")
        + "href=\"/inbox/".len();
    body[at..at + 36].to_owned()
}

/// Posts the simulator's image form (the CSRF token rides in the query).
pub async fn customer_sends_image(
    browser: &Browser,
    bytes: Vec<u8>,
    caption: &str,
) -> reqwest::Response {
    customer_sends_image_as(browser, "Maria", "+4930901820", bytes, caption).await
}

/// As [`customer_sends_image`], from another customer.
pub async fn customer_sends_image_as(
    browser: &Browser,
    name: &str,
    phone: &str,
    bytes: Vec<u8>,
    caption: &str,
) -> reqwest::Response {
    let token = browser.csrf_token().await;
    let form = reqwest::multipart::Form::new()
        .text("name", name.to_owned())
        .text("phone", phone.to_owned())
        .text("text", caption.to_owned())
        .part(
            "image",
            reqwest::multipart::Part::bytes(bytes).file_name("photo.png"),
        );
    browser
        .client
        .post(browser.url(&format!("/sandbox/images?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}
