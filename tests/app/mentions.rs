//! @mentions in private notes: the composer suggests members after `@`, a
//! note naming a member records the mention, and their mentions page shows
//! it; only members of the same workspace can be mentioned.

use crate::support::*;

async fn note(browser: &Browser, conversation: &str, text: &str) {
    let response = browser
        .post_form(&format!("/inbox/{conversation}/notes"), &[("text", text)])
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn a_mentioned_member_finds_the_note_on_their_mentions_page() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let conversation = customer_writes(&team.owner, "Maria", "+4930901820", "hi").await;

    let (status, body) = team
        .owner
        .page(&format!(
            "/inbox/{conversation}/suggestions?text=ask%20%40ag"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("data-insert=\"@Aga Agent \""), "{body}");
    assert!(!body.contains("Adam Admin"));

    note(
        &team.owner,
        &conversation,
        "@aga agent please call her back",
    )
    .await;
    let (_, mentions) = team.agent.page("/mentions").await;
    assert!(mentions.contains("please call her back"), "{mentions}");
    assert!(mentions.contains("Olga Owner on Maria"));
    let link_start = mentions.find("href=\"/inbox/").unwrap() + "href=\"".len();
    let link = &mentions[link_start..link_start + mentions[link_start..].find('"').unwrap()];
    let (status, page) = team.agent.page(link).await;
    assert_eq!(status, 200);
    assert!(page.contains("please call her back"));

    let (_, theirs) = team.admin.page("/mentions").await;
    assert!(!theirs.contains("please call her back"), "not mentioned");
    assert!(theirs.contains("Nobody has mentioned you"));
    // An email-like text is not a mention.
    note(&team.owner, &conversation, "write to adam@admin.test").await;
    assert_eq!(app.count("select count(*) from note_mentions").await, 1);
}

#[tokio::test]
async fn members_of_another_workspace_cannot_be_mentioned() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&acme, "Ana", "+4930901820", "hi").await;
    let other = app.sign_up("Otto Other", "otto@other.test", "Other").await;

    let (_, body) = acme
        .page(&format!("/inbox/{conversation}/suggestions?text=%40ot"))
        .await;
    assert!(!body.contains("Otto"), "{body}");
    note(&acme, &conversation, "@Otto Other secret plans").await;
    assert_eq!(app.count("select count(*) from note_mentions").await, 0);
    let (_, mentions) = other.page("/mentions").await;
    assert!(!mentions.contains("secret plans"));
    let (status, _) = other
        .page(&format!("/inbox/{conversation}/suggestions?text=%40"))
        .await;
    assert_eq!(status, 404);
}
