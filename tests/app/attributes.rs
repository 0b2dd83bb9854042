//! Custom attributes: owners and admins define them; contact and company
//! forms check values by type; the contact list filters by them.

use serde_json::json;

use crate::support::*;

async fn attributes_of(app: &TestApp, table: &str, id: &str) -> serde_json::Value {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select attributes from {table} where id = $1::uuid"
    )))
    .bind(id)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn typed_attribute_values_are_saved_shown_and_filtered_by() {
    let app = spawn_app().await;
    let team = team(&app).await;
    define(&team.admin, "contact", "Plan", "select", "Gold\nSilver\n").await;
    define(&team.admin, "contact", "Customer since", "date", "").await;
    define(&team.admin, "contact", "Seats", "number", "").await;
    define(&team.admin, "contact", "VIP", "checkbox", "").await;

    let ana = create_contact(
        &team.agent,
        &[
            ("name", "Ana"),
            ("attr.plan", "Gold"),
            ("attr.customer_since", "2024-05-01"),
            ("attr.seats", "12"),
            ("attr.vip", "on"),
        ],
    )
    .await;
    let bruno = create_contact(&team.agent, &[("name", "Bruno"), ("attr.plan", "Silver")]).await;
    assert_eq!(
        attributes_of(&app, "contacts", &ana).await,
        json!({"plan": "Gold", "customer_since": "2024-05-01", "seats": 12, "vip": true})
    );
    assert_eq!(
        attributes_of(&app, "contacts", &bruno).await,
        json!({"plan": "Silver", "vip": false})
    );
    let (_, body) = team.agent.page(&format!("/contacts/{ana}")).await;
    assert!(body.contains("name=\"attr.seats\" value=\"12\""), "{body}");
    assert!(body.contains("name=\"attr.vip\" checked"));
    assert!(body.contains("value=\"Gold\" selected"));

    for (query, with_ana, with_bruno) in [
        ("attr=plan&value=Gold", true, false),
        ("attr=plan&value=Silver", false, true),
        ("attr=vip&value=on", true, false),
        ("attr=seats&value=12", true, false),
        ("attr=customer_since&value=2024-05-01", true, false),
    ] {
        let (status, body) = team.agent.page(&format!("/contacts?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(
            body.contains(&format!("/contacts/{ana}\"")),
            with_ana,
            "{query}"
        );
        assert_eq!(
            body.contains(&format!("/contacts/{bruno}\"")),
            with_bruno,
            "{query}"
        );
    }
    for bad in [
        "attr=shoe_size&value=42",
        "attr=seats&value=many",
        "attr=plan&value=Bronze",
    ] {
        let (status, _) = team.agent.page(&format!("/contacts?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
    }

    // Editing clears what is emptied and unticked.
    let response = team
        .agent
        .post_form(
            &format!("/contacts/{ana}"),
            &[("name", "Ana"), ("attr.plan", "Silver")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        attributes_of(&app, "contacts", &ana).await,
        json!({"plan": "Silver", "vip": false})
    );

    // Companies have their own.
    define(&team.owner, "company", "Industry", "text", "").await;
    let response = team
        .agent
        .post_form(
            "/companies",
            &[("name", "Lima"), ("attr.industry", "Retail")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let company = location(&response)
        .trim_start_matches("/companies/")
        .to_owned();
    assert_eq!(
        attributes_of(&app, "companies", &company).await,
        json!({"industry": "Retail"})
    );
    let (_, body) = team.agent.page(&format!("/companies/{company}")).await;
    assert!(body.contains("value=\"Retail\""));
}

#[tokio::test]
async fn bad_values_are_all_explained_and_nothing_is_saved() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    define(&owner, "contact", "Plan", "select", "Gold").await;
    define(&owner, "contact", "Seats", "number", "").await;
    define(&owner, "contact", "Customer since", "date", "").await;
    let response = owner
        .post_form(
            "/contacts",
            &[
                ("name", "Ana"),
                ("attr.plan", "Bronze"),
                ("attr.seats", "abc"),
                ("attr.customer_since", "2024-13-01"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    for reason in [
        "Plan: pick one",
        "“abc” is not a number",
        "“2024-13-01” is not a date",
    ] {
        assert!(body.contains(reason), "{reason}: {body}");
    }
    assert!(body.contains("value=\"abc\""), "typed values shown back");
    assert_eq!(app.count("select count(*) from contacts").await, 0);

    // Bad definitions.
    for (fields, status, reason) in [
        (
            vec![("entity", "contact"), ("label", "plan"), ("kind", "text")],
            409,
            "already has this name",
        ),
        (
            vec![
                ("entity", "contact"),
                ("label", "Tier"),
                ("kind", "select"),
                ("options", " \n "),
            ],
            422,
            "at least one",
        ),
        (
            vec![("entity", "contact"), ("label", "Tier"), ("kind", "colour")],
            422,
            "pick one of the types",
        ),
        (
            vec![("entity", "invoice"), ("label", "Tier"), ("kind", "text")],
            422,
            "contacts or companies",
        ),
        (
            vec![("entity", "contact"), ("label", " "), ("kind", "text")],
            422,
            "Enter a name",
        ),
    ] {
        let response = owner.post_form("/attributes", &fields).await;
        assert_eq!(response.status(), status, "{fields:?}");
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{reason}: {body}");
    }
    assert_eq!(
        app.count("select count(*) from attribute_definitions")
            .await,
        3
    );
    // The same name on companies is a different attribute.
    define(&owner, "company", "Plan", "text", "").await;
}

#[tokio::test]
async fn deleting_a_definition_removes_its_values_and_stays_in_its_workspace() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    define(&acme, "contact", "Plan", "select", "Gold").await;
    define(&acme, "contact", "Seats", "number", "").await;
    let ana = create_contact(
        &acme,
        &[("name", "Ana"), ("attr.plan", "Gold"), ("attr.seats", "3")],
    )
    .await;
    let plan: String =
        sqlx::query_scalar("select id::text from attribute_definitions where key = 'plan'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();

    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    let response = other
        .post_form(&format!("/attributes/{plan}/delete"), &[])
        .await;
    assert_eq!(response.status(), 404);
    let (_, body) = other.page("/attributes").await;
    assert!(!body.contains("Gold"));
    // Fields of attributes the workspace does not define are ignored.
    let bob = create_contact(&other, &[("name", "Bob"), ("attr.plan", "Gold")]).await;
    assert_eq!(attributes_of(&app, "contacts", &bob).await, json!({}));
    assert_eq!(
        attributes_of(&app, "contacts", &ana).await,
        json!({"plan": "Gold", "seats": 3})
    );

    let response = acme
        .post_form(&format!("/attributes/{plan}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        attributes_of(&app, "contacts", &ana).await,
        json!({"seats": 3})
    );
    let (status, _) = acme.page("/contacts?attr=plan&value=Gold").await;
    assert_eq!(status, 400, "a deleted attribute is no filter");
}
