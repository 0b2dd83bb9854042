//! After signing in, `next` sends a person only to a path of this site,
//! whatever tricks the link carries (the OWASP open-redirect list).

use crate::support::*;

/// Values that browsers would follow to another site, or that broke the
/// answer (a newline in `Location` was a 500).
const HOSTILE_NEXT: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "\t//evil.example",
    "https://evil.example",
    "http:evil.example",
    "//evil.example@wacrm",
    "javascript:alert(document.domain)",
    "/\u{3000}/evil.example",
    "/\u{ff0f}evil.example",
    "\u{0}//evil.example",
    "/\u{7f}/evil.example",
];

fn query_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn a_signed_in_login_link_goes_only_to_paths_of_this_site() {
    let app = spawn_app().await;
    let owner = app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    for next in HOSTILE_NEXT {
        let response = owner
            .get(&format!("/login?next={}", query_value(next)))
            .await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(location(&response), "/dashboard", "{next:?}");
    }
    let response = owner.get("/login?next=%2Fcontacts%3Fq%3Dana").await;
    assert_eq!(
        location(&response),
        "/contacts?q=ana",
        "a path of ours is kept"
    );
}

#[tokio::test]
async fn signing_in_with_a_hostile_next_lands_on_the_dashboard() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    // The login form carries `next` through; a few from each family (the
    // per-address limit allows ten sign-ins in the window).
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "//evil.example",
        "/\\evil.example",
    ] {
        let visitor = app.browser();
        let (status, page) = visitor
            .page(&format!("/login?next={}", query_value(next)))
            .await;
        assert_eq!(status, 200, "{next:?}");
        assert!(
            !page.contains("evil.example"),
            "the form does not carry a hostile next: {next:?}"
        );
        let response = visitor
            .post_form(
                "/login",
                &[
                    ("email", "ana@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(location(&response), "/dashboard", "{next:?}");
    }
    let visitor = app.browser();
    let response = visitor
        .post_form(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("next", "/contacts"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/contacts");
}
