//! Merging duplicate contacts: notes and labels move, missing values are
//! filled, the duplicate is gone; owners/admins only; per workspace.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_duplicate_is_merged_with_its_notes_labels_and_values() {
    let app = spawn_app().await;
    let team = team(&app).await;
    team.admin
        .post_form("/labels", &[("name", "VIP"), ("color", "#dc2626")])
        .await;
    team.admin
        .post_form(
            "/attributes",
            &[("entity", "contact"), ("label", "Plan"), ("kind", "text")],
        )
        .await;
    let vip: String = sqlx::query_scalar("select id::text from labels")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    let keep = create_contact(
        &team.agent,
        &[("name", "Ana Lima"), ("phone", "+4930901820")],
    )
    .await;
    let gone = create_contact(
        &team.agent,
        &[
            ("name", "Ana L."),
            ("email", "ana@lima.example"),
            ("phone", "+4930901821"),
            ("company", "Lima"),
            ("labels", &vip),
            ("attr.plan", "Gold"),
        ],
    )
    .await;
    team.agent
        .post_form(
            &format!("/contacts/{gone}/notes"),
            &[("body", "met at the fair")],
        )
        .await;

    let (status, body) = team
        .admin
        .page(&format!("/contacts/{keep}/merge?q=ana"))
        .await;
    assert_eq!(status, 200);
    assert!(body.contains(&format!("name=\"other\" value=\"{gone}\"")));
    assert!(
        !body.contains(&format!("name=\"other\" value=\"{keep}\"")),
        "not itself"
    );

    let response = team
        .admin
        .post_form(&format!("/contacts/{keep}/merge"), &[("other", &gone)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/contacts/{keep}"));
    let (status, _) = team.agent.page(&format!("/contacts/{gone}")).await;
    assert_eq!(status, 404);
    let row: (String, Option<String>, Option<String>, bool, serde_json::Value) = sqlx::query_as(
        "select name, phone, email, company_id is not null, attributes from contacts where id = $1::uuid",
    )
    .bind(&keep)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "Ana Lima".to_owned(),
            Some("+4930901820".to_owned()),
            Some("ana@lima.example".to_owned()),
            true,
            json!({"plan": "Gold"})
        ),
        "its own values win; the duplicate's fill the gaps"
    );
    let (_, body) = team.agent.page(&format!("/contacts/{keep}")).await;
    assert!(body.contains("met at the fair"));
    assert!(body.contains(">VIP</span>"));
    assert_eq!(app.count("select count(*) from contacts").await, 1);
    // The duplicate's phone is free again.
    create_contact(&team.agent, &[("phone", "+4930901821")]).await;
}

#[tokio::test]
async fn merging_is_refused_to_agents_into_itself_and_across_workspaces() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let keep = create_contact(&team.agent, &[("name", "Ana")]).await;
    let gone = create_contact(&team.agent, &[("name", "Ana 2")]).await;

    let response = team
        .agent
        .post_form(&format!("/contacts/{keep}/merge"), &[("other", &gone)])
        .await;
    assert_eq!(response.status(), 403);
    let (status, _) = team.agent.page(&format!("/contacts/{keep}/merge")).await;
    assert_eq!(status, 403);
    let response = team
        .owner
        .post_form(&format!("/contacts/{keep}/merge"), &[("other", &keep)])
        .await;
    assert_eq!(response.status(), 400);
    for other in ["", "nonsense", "00000000-0000-0000-0000-000000000000"] {
        let response = team
            .owner
            .post_form(&format!("/contacts/{keep}/merge"), &[("other", other)])
            .await;
        assert_eq!(response.status(), 404, "{other:?}");
    }

    let stranger = app.sign_up("Otto", "otto@other.test", "Other").await;
    let theirs = create_contact(&stranger, &[("name", "Bob")]).await;
    // Neither direction works across workspaces.
    let response = team
        .owner
        .post_form(&format!("/contacts/{keep}/merge"), &[("other", &theirs)])
        .await;
    assert_eq!(response.status(), 404);
    let response = stranger
        .post_form(&format!("/contacts/{theirs}/merge"), &[("other", &keep)])
        .await;
    assert_eq!(response.status(), 404);
    let (status, _) = stranger.page(&format!("/contacts/{keep}/merge")).await;
    assert_eq!(status, 404);
    let (_, body) = stranger
        .page(&format!("/contacts/{theirs}/merge?q=ana"))
        .await;
    assert!(!body.contains(&keep));
    assert_eq!(app.count("select count(*) from contacts").await, 3);
}
