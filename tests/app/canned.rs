//! Canned replies: owners and admins keep the library; in a conversation
//! `/shortcode` suggests them with the variables filled, and a reply that
//! is only `/shortcode` goes out as the text. Per workspace.

use crate::support::*;

const GREETING: &str = "Hi {{first_name}}, {{ agent_name }} from {{workspace}} here.";

async fn add_greeting(browser: &Browser) {
    let response = browser
        .post_form("/canned", &[("shortcode", "/Greeting"), ("body", GREETING)])
        .await;
    assert_eq!(response.status(), 303);
}

async fn canned_id(app: &TestApp, shortcode: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from canned_replies where shortcode = $1")
        .bind(shortcode)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    id.to_string()
}

async fn suggest(browser: &Browser, conversation: &str, text: &str) -> (u16, String) {
    let text: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    browser
        .page(&format!("/inbox/{conversation}/suggestions?text={text}"))
        .await
}

#[tokio::test]
async fn typing_a_shortcode_suggests_the_filled_in_text_and_sends_it() {
    let app = spawn_app().await;
    let team = team(&app).await;
    add_greeting(&team.admin).await;
    let (_, library) = team.admin.page("/canned").await;
    assert!(library.contains("value=\"greeting\""));
    let conversation = customer_writes(&team.owner, "Maria Souza", "+4930901820", "hi").await;

    let (status, body) = suggest(&team.agent, &conversation, "Sure! /gr").await;
    assert_eq!(status, 200);
    assert!(body.contains("/greeting"), "{body}");
    assert!(
        body.contains("data-insert=\"Hi Maria, Aga Agent from Acme here.\""),
        "{body}"
    );
    let (_, body) = suggest(&team.agent, &conversation, "/").await;
    assert!(body.contains("/greeting"), "a bare / lists them all");
    let (_, body) = suggest(&team.agent, &conversation, "/x").await;
    assert!(!body.contains("greeting"));
    let (_, body) = suggest(&team.agent, &conversation, "no shortcode").await;
    assert!(!body.contains("class=\"suggestions\""));

    // The composer asks for them.
    let (_, page) = team.agent.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains(&format!("hx-get=\"/inbox/{conversation}/suggestions\"")));

    // Sent as a whole, the shortcode becomes the text; an unknown one stays.
    for text in ["/greeting", "/unknown"] {
        let response = team
            .agent
            .post_form(
                &format!("/inbox/{conversation}/messages"),
                &[("text", text)],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    assert_eq!(
        app.count(
            "select count(*) from messages where body in \
             ('Hi Maria, Aga Agent from Acme here.', '/unknown')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn the_library_is_edited_by_owners_and_admins_with_reasons_for_bad_input() {
    let app = spawn_app().await;
    let team = team(&app).await;
    add_greeting(&team.owner).await;
    let response = team
        .admin
        .post_form(
            "/canned",
            &[("shortcode", "two words"), ("body", "Hi {{firstname}}")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("Shortcode: use 1 to 40 letters"));
    assert!(body.contains("{{firstname}} is not a variable"));
    assert!(body.contains("value=\"two words\""), "typed values kept");
    let response = team
        .admin
        .post_form("/canned", &[("shortcode", "greeting"), ("body", "again")])
        .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.unwrap().contains("already uses it"));

    let id = canned_id(&app, "greeting").await;
    let response = team
        .admin
        .post_form(
            &format!("/canned/{id}"),
            &[("shortcode", "hello"), ("body", "Hello {{name}}!")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from canned_replies where shortcode = 'hello' and body = 'Hello {{name}}!'")
            .await,
        1
    );
    let (status, _) = team.agent.page("/canned").await;
    assert_eq!(status, 403);
    let response = team
        .admin
        .post_form(&format!("/canned/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.count("select count(*) from canned_replies").await, 0);
}

#[tokio::test]
async fn another_workspace_never_sees_or_changes_the_library() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    add_greeting(&acme).await;
    let conversation = customer_writes(&acme, "Ana", "+4930901820", "hi").await;
    let id = canned_id(&app, "greeting").await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let theirs = customer_writes(&other, "Bob", "+4930901821", "hi").await;

    let (_, body) = other
        .page(&format!("/inbox/{theirs}/suggestions?text=%2F"))
        .await;
    assert!(!body.contains("greeting"));
    let (status, _) = other
        .page(&format!("/inbox/{conversation}/suggestions?text=%2F"))
        .await;
    assert_eq!(status, 404);
    let (_, library) = other.page("/canned").await;
    assert!(!library.contains("value=\"greeting\""));
    let response = other
        .post_form(
            &format!("/canned/{id}"),
            &[("shortcode", "mine"), ("body", "taken over")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = other.post_form(&format!("/canned/{id}/delete"), &[]).await;
    assert_eq!(response.status(), 404);
    // Their "/greeting" is just text.
    let response = other
        .post_form(
            &format!("/inbox/{theirs}/messages"),
            &[("text", "/greeting")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from messages where body = '/greeting'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from canned_replies where shortcode = 'greeting'")
            .await,
        1
    );
}
