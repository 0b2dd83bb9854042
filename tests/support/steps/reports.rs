use super::super::*;

/// An invoice for `contact` issued with one line of `amount`, due `due`
/// (empty: no due date); its id.
pub async fn issue_invoice(
    owner: &Browser,
    contact: &str,
    currency: &str,
    amount: &str,
    due: &str,
) -> String {
    let response = owner
        .post_form(
            "/documents",
            &[
                ("kind", "invoice"),
                ("contact", contact),
                ("currency", currency),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let id = location(&response)
        .strip_prefix("/documents/")
        .unwrap()
        .to_owned();
    let response = owner
        .post_form(
            &format!("/documents/{id}"),
            &[
                ("currency", currency),
                ("second_date", due),
                ("description", "Work"),
                ("quantity", "1"),
                ("unit_price", amount),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        owner
            .post_form(&format!("/documents/{id}/issue"), &[])
            .await
            .status(),
        303
    );
    id
}
