//! Companies over HTTP: create, edit, link contacts by typing a company,
//! list and search, delete (contacts kept), and each workspace to its own.

use crate::support::*;

async fn create_company(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form("/companies", fields).await;
    assert_eq!(response.status(), 303, "creating {fields:?}");
    let to = location(&response);
    to.strip_prefix("/companies/")
        .unwrap_or_else(|| panic!("redirect to {to}"))
        .to_owned()
}

#[tokio::test]
async fn a_company_is_created_edited_and_lists_its_contacts() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let id = create_company(
        &owner,
        &[
            ("name", "Lima Imports"),
            ("domain", "https://www.Lima-Imports.example/about"),
            ("address", "Rua A, 1\nSão Paulo"),
        ],
    )
    .await;
    let (status, body) = owner.page(&format!("/companies/{id}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Lima Imports"));
    assert!(
        body.contains("value=\"lima-imports.example\""),
        "domain normalized"
    );
    assert!(body.contains("São Paulo"));

    // Typing the company on a contact links the existing one, whatever the case.
    let ana = create_contact(&owner, &[("name", "Ana"), ("company", "lima imports")]).await;
    // And a company that does not exist yet is added.
    let bruno = create_contact(&owner, &[("name", "Bruno"), ("company", "Souza & Filhos")]).await;
    assert_eq!(app.count("select count(*) from companies").await, 2);
    let (_, body) = owner.page(&format!("/companies/{id}")).await;
    assert!(body.contains(&format!("/contacts/{ana}")), "{body}");
    assert!(!body.contains(&format!("/contacts/{bruno}")));
    assert!(body.contains("Contacts (1)"));
    let (_, body) = owner.page(&format!("/contacts/{ana}")).await;
    assert!(body.contains("value=\"Lima Imports\""));
    assert!(body.contains(&format!("/companies/{id}")));
    let (_, body) = owner.page("/contacts").await;
    assert!(
        body.contains("Souza &#38; Filhos") || body.contains("Souza &amp; Filhos"),
        "{body}"
    );

    // Clearing the company on the contact unlinks it; the company stays.
    let response = owner
        .post_form(
            &format!("/contacts/{ana}"),
            &[("name", "Ana"), ("company", "")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, body) = owner.page(&format!("/companies/{id}")).await;
    assert!(!body.contains(&format!("/contacts/{ana}")));

    let response = owner
        .post_form(
            &format!("/companies/{id}"),
            &[
                ("name", "Lima Importadora"),
                ("domain", ""),
                ("address", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, body) = owner.page(&format!("/companies/{id}")).await;
    assert!(body.contains("Lima Importadora"));
    assert!(!body.contains("lima-imports.example"));
}

#[tokio::test]
async fn bad_company_input_is_explained_and_saves_nothing() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let long = "x".repeat(201);
    for (fields, reason) in [
        (vec![("name", "  "), ("domain", "")], "enter the company"),
        (
            vec![("name", "Ok"), ("domain", "not a domain")],
            "not a domain name",
        ),
        (vec![("name", long.as_str())], "too long"),
    ] {
        let response = owner.post_form("/companies", &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{reason}: {body}");
    }
    let response = owner
        .post_form("/contacts", &[("name", "Ana"), ("company", long.as_str())])
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.count("select count(*) from companies").await, 0);
    assert_eq!(app.count("select count(*) from contacts").await, 0);

    let id = create_company(&owner, &[("name", "Kept")]).await;
    let response = owner
        .post_form(
            &format!("/companies/{id}"),
            &[("name", ""), ("domain", "x")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("value=\"x\""), "typed values are shown back");
    let (_, body) = owner.page(&format!("/companies/{id}")).await;
    assert!(body.contains("Kept"));
    for bad in ["/companies?sort=size", "/companies?after=nope"] {
        let (status, _) = owner.page(bad).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = owner.page("/companies/not-an-id").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn companies_are_searched_and_paged_by_keyset() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org_id = app.org_id("Acme").await;
    let mut conn = app.admin_conn().await;
    sqlx::query(
        "insert into companies (org_id, id, name, domain) \
         select $1, gen_random_uuid(), 'Firm ' || lpad(n::text, 3, '0'), 'firm' || n || '.example' \
         from generate_series(1, 60) n",
    )
    .bind(org_id)
    .execute(&mut conn)
    .await
    .unwrap();

    let (_, first) = owner.page("/companies").await;
    assert!(first.contains("Firm 001") && first.contains("Firm 050"));
    assert!(!first.contains("Firm 051"));
    let end = first.find("\" rel=\"next\"").expect("a next page");
    let start = first[..end].rfind("href=\"").unwrap() + 6;
    let next = first[start..end]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let (status, second) = owner.page(&next).await;
    assert_eq!(status, 200);
    assert!(second.contains("Firm 051") && second.contains("Firm 060"));
    assert!(!second.contains("Firm 050") && !second.contains("rel=\"next\""));

    let (_, body) = owner.page("/companies?q=firm42.exa").await;
    assert!(body.contains("Firm 042") && !body.contains("Firm 041"));
    let (_, body) = owner.page("/companies?q=FIRM%2005").await;
    assert!(body.contains("Firm 050") && body.contains("Firm 059") && !body.contains("Firm 060"));
    let (_, body) = owner.page("/companies?q=nobody").await;
    assert!(body.contains("No company matches"));
}

#[tokio::test]
async fn another_workspaces_companies_are_404_and_unchanged() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let id = create_company(&acme, &[("name", "Secret Holdings")]).await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;

    let (status, body) = other.page(&format!("/companies/{id}")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("Secret Holdings"));
    for (path, fields) in [
        (format!("/companies/{id}"), vec![("name", "Pwned")]),
        (format!("/companies/{id}/delete"), vec![]),
    ] {
        let response = other.post_form(&path, &fields).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let (_, body) = other.page("/companies?q=secret").await;
    assert!(!body.contains("Secret Holdings"));
    // Typing the same company name in the other workspace makes its own.
    create_contact(&other, &[("name", "Bob"), ("company", "Secret Holdings")]).await;
    assert_eq!(
        app.count("select count(*) from companies where name = 'Secret Holdings'")
            .await,
        2
    );
    let (_, body) = acme.page(&format!("/companies/{id}")).await;
    assert!(body.contains("Contacts (0)"), "{body}");
}

#[tokio::test]
async fn deleting_a_company_keeps_its_contacts_and_needs_an_admin() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let ana = create_contact(&team.agent, &[("name", "Ana"), ("company", "Lima")]).await;
    let id: String = sqlx::query_scalar("select id::text from companies")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    let (_, body) = team.agent.page(&format!("/companies/{id}")).await;
    assert!(!body.contains("Delete company"));
    let response = team
        .agent
        .post_form(&format!("/companies/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.count("select count(*) from companies").await, 1);

    let response = team
        .admin
        .post_form(&format!("/companies/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/companies");
    assert_eq!(app.count("select count(*) from companies").await, 0);
    let (status, body) = team.agent.page(&format!("/contacts/{ana}")).await;
    assert_eq!(status, 200, "the contact is kept");
    assert!(body.contains("value=\"\"") && !body.contains("Lima"));
}
