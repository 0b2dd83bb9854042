//! The search box: contacts and message text, marked, each message result
//! opening its conversation at that message; per workspace and per what a
//! member may see.

use crate::support::*;

/// The first `/inbox/...?at=...` link of a results page.
fn first_message_link(body: &str) -> String {
    let start = body.find("href=\"/inbox/").expect("a message result") + "href=\"".len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn contacts_and_messages_are_found_marked_and_opened_at_the_message() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(
        &owner,
        "Maria Souza",
        "+55 11 91234 5678",
        "Do you ship to Recife? <script>alert(1)</script>",
    )
    .await;
    for i in 0..55 {
        let response = owner
            .post_form(
                "/sandbox/messages",
                &[
                    ("name", "Maria Souza"),
                    ("phone", "+5511912345678"),
                    ("text", &format!("filler message {i}")),
                ],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    customer_writes(&owner, "João", "+55 81 99876 5432", "Obrigado pela entrega").await;

    // Partial name and phone digits find the contact, marked.
    let (status, body) = owner.page("/search?q=souz").await;
    assert_eq!(status, 200);
    assert!(body.contains("Maria <mark>Souz</mark>a"), "{body}");
    let (_, body) = owner.page("/search?q=91234").await;
    assert!(body.contains("<mark>91234</mark>"), "{body}");

    // A whole word (full text) and a part of one (trigram), any case.
    let (_, body) = owner.page("/search?q=RECIFE").await;
    assert!(body.contains("<mark>Recife</mark>"), "{body}");
    assert!(
        body.contains("script&#62;alert") && !body.contains("<script>alert"),
        "escaped"
    );
    let (_, body) = owner.page("/search?q=entreg").await;
    assert!(body.contains("pela <mark>entreg</mark>a"), "{body}");
    assert!(!body.contains("Recife"), "only what matches");

    // The result opens the conversation at that message, 55 messages back.
    let (_, body) = owner.page("/search?q=recife").await;
    let link = first_message_link(&body);
    assert!(
        link.starts_with(&format!("/inbox/{conversation}?at=")),
        "{link}"
    );
    let (status, page) = owner.page(&link).await;
    assert_eq!(status, 200);
    let message_id = link.split("at=").nth(1).unwrap().split('#').next().unwrap();
    assert!(page.contains(&format!("id=\"m-{message_id}\"")));
    assert!(page.contains("Latest messages"));
    assert!(
        !page.contains("filler message 53"),
        "newer ones are not on this page"
    );
    let (_, latest) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(latest.contains("filler message 53") && !latest.contains("Do you ship"));

    // Private notes are found too.
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/notes"),
            &[("text", "VIP customer, handle with care")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, body) = owner.page("/search?q=vip").await;
    assert!(body.contains("private note") && body.contains("<mark>VIP</mark>"));
}

#[tokio::test]
async fn bad_search_input_gets_a_reason() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Ana", "+4930901820", "hello").await;
    let (status, body) = owner.page(&format!("/search?q={}", "x".repeat(201))).await;
    assert_eq!(status, 400);
    assert!(body.contains("at most 200 characters"));
    let (status, body) = owner.page("/search?q=%25_%5C").await;
    assert_eq!(status, 200, "LIKE wildcards are text");
    assert!(body.contains("No message matches"));
    let (status, _) = owner.page("/search").await;
    assert_eq!(status, 200);
    let (status, body) = owner
        .page(&format!("/inbox/{conversation}?at=not-a-message"))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("message link is not valid"));
}

#[tokio::test]
async fn another_workspace_finds_nothing_and_cannot_open_the_message() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(
        &acme,
        "Secret Ana",
        "+4930901820",
        "password reset code 4711",
    )
    .await;
    let (_, body) = acme.page("/search?q=4711").await;
    let link = first_message_link(&body);
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let theirs = customer_writes(&other, "Bob", "+4930901821", "hi").await;

    let (status, body) = other.page("/search?q=4711").await;
    assert_eq!(status, 200);
    assert!(!body.contains("4711") || body.contains("No message matches"));
    assert!(!body.contains("Secret Ana") && !body.contains(&conversation));
    let (status, body) = other.page("/search?q=secret").await;
    assert!(status == 200 && !body.contains("Secret Ana"));
    let (status, body) = other.page(&link).await;
    assert_eq!(status, 404);
    assert!(!body.contains("4711"));
    // Their own conversation with the other workspace's message id.
    let message_id = link.split("at=").nth(1).unwrap().split('#').next().unwrap();
    let (status, _) = other
        .page(&format!("/inbox/{theirs}?at={message_id}"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn agents_limited_to_their_conversations_find_only_those() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let hidden = customer_writes(&team.owner, "Ana", "+4930901820", "invoice alpha").await;
    customer_writes(&team.owner, "Bruno", "+4930901821", "invoice beta").await;
    let admin_id = app.user_id("admin@acme.test").await.to_string();
    let response = team
        .owner
        .post_form(
            &format!("/inbox/{hidden}/assign"),
            &[("assignee", &admin_id)],
        )
        .await;
    assert_eq!(response.status(), 303);
    agents_see_only_theirs(&team.owner).await;
    let (_, body) = team.agent.page("/search?q=invoice").await;
    assert!(body.contains("beta") && !body.contains("alpha"), "{body}");
    let (_, body) = team.admin.page("/search?q=invoice").await;
    assert!(body.contains("beta") && body.contains("alpha"));
}

/// Under row-level security a query's conditions reach an index only if
/// their functions are leakproof: the search operators are marked so (the
/// scale benchmark shows the plans), or every search would filter the
/// whole workspace row by row.
#[tokio::test]
async fn search_operators_are_leakproof_so_row_level_security_keeps_the_indexes() {
    let app = spawn_app().await;
    let leakproof: Vec<bool> = sqlx::query_scalar(
        "select proleakproof from pg_proc where oid in \
         ('textlike(text, text)'::regprocedure, 'ts_match_vq(tsvector, tsquery)'::regprocedure, \
          'lower(text)'::regprocedure)",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(leakproof, vec![true, true, true]);
}
