use super::super::*;

pub async fn define(browser: &Browser, entity: &str, label: &str, kind: &str, options: &str) {
    let response = browser
        .post_form(
            "/attributes",
            &[
                ("entity", entity),
                ("label", label),
                ("kind", kind),
                ("options", options),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "defining {label}");
}
