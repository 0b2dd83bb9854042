//! Labels: managed by owners and admins, ticked on contacts by anyone,
//! filtered by in the list, and private to their workspace.

use crate::support::*;

const RED: &str = "#dc2626";
const BLUE: &str = "#2563eb";

/// The label ids ticked on a contact's page.
async fn ticked(browser: &Browser, contact: &str) -> Vec<String> {
    let (_, body) = browser.page(&format!("/contacts/{contact}")).await;
    body.match_indices("name=\"labels\" value=\"")
        .filter_map(|(at, m)| {
            let rest = &body[at + m.len()..];
            rest[37..]
                .trim_start()
                .starts_with("checked")
                .then(|| rest[..36].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn labels_are_ticked_on_contacts_and_filter_the_list() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let vip = create_label(&team.admin, "VIP", RED).await;
    let lead = create_label(&team.admin, "Lead", BLUE).await;

    let ana = create_contact(
        &team.agent,
        &[("name", "Ana"), ("labels", &vip), ("labels", &lead)],
    )
    .await;
    let bruno = create_contact(&team.agent, &[("name", "Bruno"), ("labels", &lead)]).await;
    let carla = create_contact(&team.agent, &[("name", "Carla")]).await;
    let mut both = vec![vip.clone(), lead.clone()];
    both.sort();
    let mut ana_labels = ticked(&team.agent, &ana).await;
    ana_labels.sort();
    assert_eq!(ana_labels, both);

    let (_, body) = team.agent.page(&format!("/contacts?label={vip}")).await;
    assert!(body.contains(&format!("/contacts/{ana}")));
    assert!(
        !body.contains(&format!("/contacts/{bruno}"))
            && !body.contains(&format!("/contacts/{carla}"))
    );
    let (_, body) = team
        .agent
        .page(&format!("/contacts?label={lead}&q=bru"))
        .await;
    assert!(
        body.contains(&format!("/contacts/{bruno}")) && !body.contains(&format!("/contacts/{ana}"))
    );
    let (_, body) = team.agent.page("/contacts").await;
    assert!(
        body.contains(&format!("data-color=\"{RED}\">VIP</span>")),
        "badges in the list"
    );

    // Unticking takes the label off; the other stays.
    let response = team
        .agent
        .post_form(
            &format!("/contacts/{ana}"),
            &[("name", "Ana"), ("labels", &lead)],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(ticked(&team.agent, &ana).await, vec![lead.clone()]);

    // Renaming and deleting a label.
    let response = team
        .owner
        .post_form(
            &format!("/labels/{lead}"),
            &[("name", "Hot lead"), ("color", RED)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, body) = team.agent.page(&format!("/contacts/{bruno}")).await;
    assert!(body.contains(">Hot lead</span>"));
    let response = team
        .owner
        .post_form(&format!("/labels/{lead}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert!(ticked(&team.agent, &bruno).await.is_empty());
    assert_eq!(app.count("select count(*) from contact_labels").await, 0);
}

#[tokio::test]
async fn bad_or_duplicate_labels_are_refused_and_save_nothing() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let vip = create_label(&owner, "VIP", RED).await;
    for (fields, status, reason) in [
        (
            vec![("name", "vip"), ("color", BLUE)],
            409,
            "already has this name",
        ),
        (
            vec![("name", " "), ("color", BLUE)],
            422,
            "Enter a label name",
        ),
        (
            vec![("name", "Ok"), ("color", "#123456")],
            422,
            "pick one of the colours",
        ),
        (
            vec![("name", &"x".repeat(51)), ("color", BLUE)],
            422,
            "too long",
        ),
    ] {
        let response = owner.post_form("/labels", &fields).await;
        assert_eq!(response.status(), status, "{fields:?}");
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{reason}: {body}");
    }
    let other = create_label(&owner, "Other", BLUE).await;
    let response = owner
        .post_form(
            &format!("/labels/{other}"),
            &[("name", "VIP"), ("color", BLUE)],
        )
        .await;
    assert_eq!(response.status(), 409, "renaming onto a taken name");
    assert_eq!(app.count("select count(*) from labels").await, 2);

    // A contact form with a label value that is no id is explained.
    let response = owner
        .post_form("/contacts", &[("name", "Ana"), ("labels", "nonsense")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("pick labels from the list")
    );
    assert_eq!(app.count("select count(*) from contacts").await, 0);
    let (status, _) = owner.page("/contacts?label=nonsense").await;
    assert_eq!(status, 400);
    let _ = vip;
}

#[tokio::test]
async fn another_workspaces_labels_cannot_be_used_changed_or_seen() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let secret = create_label(&acme, "Secret deal", RED).await;
    let ana = create_contact(&acme, &[("name", "Ana"), ("labels", &secret)]).await;

    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    for (path, fields) in [
        (
            format!("/labels/{secret}"),
            vec![("name", "Pwned"), ("color", BLUE)],
        ),
        (format!("/labels/{secret}/delete"), vec![]),
    ] {
        let response = other.post_form(&path, &fields).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let (_, body) = other.page("/labels").await;
    assert!(!body.contains("Secret deal"));
    let (_, body) = other.page(&format!("/contacts?label={secret}")).await;
    assert!(!body.contains(&format!("/contacts/{ana}")) && !body.contains("Secret deal"));
    // Ticking another workspace's label id attaches nothing.
    let bob = create_contact(&other, &[("name", "Bob"), ("labels", &secret)]).await;
    assert!(ticked(&other, &bob).await.is_empty());
    assert_eq!(app.count("select count(*) from contact_labels").await, 1);
    let name: String = sqlx::query_scalar("select name from labels")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    assert_eq!(name, "Secret deal");
}
