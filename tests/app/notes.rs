//! Notes on contacts and companies: authored, newest first, kept on bad
//! input, deleted by their author or an owner/admin, and private to a workspace.

use crate::support::*;

async fn note_ids(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("select id::text from notes order by created_at, id")
        .fetch_all(&mut app.admin_conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn members_add_notes_that_show_author_and_newest_first() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let ana = create_contact(&team.agent, &[("name", "Ana"), ("company", "Lima")]).await;
    let path = format!("/contacts/{ana}/notes");
    let response = team
        .agent
        .post_form(
            &path,
            &[("body", "Wants the blue one <script>alert(1)</script>")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/contacts/{ana}#notes"));
    let response = team
        .admin
        .post_form(&path, &[("body", "Called back, all fine")])
        .await;
    assert_eq!(response.status(), 303);

    let (_, body) = team.owner.page(&format!("/contacts/{ana}")).await;
    let first = body.find("Called back, all fine").expect("admin's note");
    let second = body.find("Wants the blue one").expect("agent's note");
    assert!(first < second, "newest first");
    assert!(body.contains("Aga Agent") && body.contains("Adam Admin"));
    assert!(body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"));
    assert!(!body.contains("<script>alert(1)"));

    // Companies take notes the same way.
    let company: String = sqlx::query_scalar("select id::text from companies")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    let response = team
        .agent
        .post_form(
            &format!("/companies/{company}/notes"),
            &[("body", "Pays on the 5th")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, body) = team.agent.page(&format!("/companies/{company}")).await;
    assert!(body.contains("Pays on the 5th"));
    let (_, body) = team.agent.page(&format!("/contacts/{ana}")).await;
    assert!(
        !body.contains("Pays on the 5th"),
        "a company's note is not the contact's"
    );
}

#[tokio::test]
async fn an_empty_or_too_long_note_is_refused_and_shown_back() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let ana = create_contact(&owner, &[("name", "Ana")]).await;
    let path = format!("/contacts/{ana}/notes");
    let response = owner.post_form(&path, &[("body", "   \n ")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("The note is empty"));
    let long = format!("keep me {}", "x".repeat(10_000));
    let response = owner.post_form(&path, &[("body", long.as_str())]).await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("too long") && body.contains(&long),
        "the text is not lost"
    );
    assert!(note_ids(&app).await.is_empty());
    for bad in [
        "/contacts/nope/notes",
        "/companies/00000000-0000-0000-0000-000000000000/notes",
    ] {
        let response = owner.post_form(bad, &[("body", "hi")]).await;
        assert_eq!(response.status(), 404, "{bad}");
    }
}

#[tokio::test]
async fn authors_delete_their_notes_and_admins_anyones() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let ana = create_contact(&team.agent, &[("name", "Ana")]).await;
    let path = format!("/contacts/{ana}/notes");
    team.admin.post_form(&path, &[("body", "admin's")]).await;
    team.agent.post_form(&path, &[("body", "agent's")]).await;
    let ids = note_ids(&app).await;
    let (admins, agents) = (&ids[0], &ids[1]);

    let (_, body) = team.agent.page(&format!("/contacts/{ana}")).await;
    assert_eq!(body.matches("Delete note").count(), 1, "only their own");
    let response = team
        .agent
        .post_form(&format!("{path}/{admins}/delete"), &[])
        .await;
    assert_eq!(response.status(), 403);
    let response = team
        .agent
        .post_form(&format!("{path}/{agents}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(note_ids(&app).await, vec![admins.clone()]);

    team.agent
        .post_form(&path, &[("body", "agent's again")])
        .await;
    let agents = note_ids(&app).await[1].clone();
    let response = team
        .admin
        .post_form(&format!("{path}/{agents}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(note_ids(&app).await, vec![admins.clone()]);
    // A note id under the wrong contact is not found.
    let bruno = create_contact(&team.agent, &[("name", "Bruno")]).await;
    let response = team
        .admin
        .post_form(&format!("/contacts/{bruno}/notes/{admins}/delete"), &[])
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(note_ids(&app).await.len(), 1);
}

#[tokio::test]
async fn another_workspace_cannot_read_add_or_delete_notes() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let ana = create_contact(&acme, &[("name", "Ana")]).await;
    let path = format!("/contacts/{ana}/notes");
    acme.post_form(&path, &[("body", "secret terms")]).await;
    let note = note_ids(&app).await[0].clone();

    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let response = other.post_form(&path, &[("body", "injected")]).await;
    assert_eq!(response.status(), 404);
    let response = other.post_form(&format!("{path}/{note}/delete"), &[]).await;
    assert_eq!(response.status(), 404);
    let (status, body) = other.page(&format!("/contacts/{ana}")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("secret terms"));
    assert_eq!(note_ids(&app).await, vec![note]);
    assert_eq!(
        app.count("select count(*) from notes where body = 'injected'")
            .await,
        0
    );
}
