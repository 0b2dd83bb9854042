use super::super::*;

/// Create a contact through the form; returns its id (from the redirect).
pub async fn create_contact(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form("/contacts", fields).await;
    assert_eq!(response.status(), 303, "creating {fields:?}");
    let to = location(&response);
    to.strip_prefix("/contacts/")
        .unwrap_or_else(|| panic!("redirect to {to}"))
        .to_owned()
}
