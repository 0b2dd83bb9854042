//! Contacts over HTTP: create, normalize, refuse duplicates, search, page
//! by keyset, and keep every workspace to its own.

use crate::support::*;

async fn set_country(owner: &Browser, country: &str) {
    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "Europe/Berlin"),
                ("default_country", country),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "setting the country to {country}");
}

#[tokio::test]
async fn a_contact_is_created_with_its_phone_in_e164_and_shown() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;

    // Without a workspace country a national number is refused with why.
    let response = owner
        .post_form("/contacts", &[("name", "Ana"), ("phone", "030 901820")])
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("country"), "{body}");
    assert!(body.contains("value=\"Ana\""), "typed values kept: {body}");
    assert_eq!(app.count("select count(*) from contacts").await, 0);

    set_country(&owner, "de").await;
    let id = create_contact(
        &owner,
        &[
            ("name", "Ana Lima"),
            ("phone", "030 901820"),
            ("email", "Ana@Example.COM"),
            ("opted_out", "on"),
        ],
    )
    .await;
    let (status, body) = owner.page(&format!("/contacts/{id}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Ana Lima"));
    assert!(body.contains("+4930901820"), "{body}");
    let mut conn = app.admin_conn().await;
    let (phone, opted_out, blocked): (String, bool, bool) =
        sqlx::query_as("select phone, opted_out, blocked from contacts")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(phone, "+4930901820");
    assert!(opted_out && !blocked);

    // Editing: unchecking a box clears it; a foreign number keeps its code.
    let response = owner
        .post_form(
            &format!("/contacts/{id}"),
            &[
                ("name", "Ana L."),
                ("phone", "+1 415 555 2671"),
                ("blocked", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (name, phone, email, opted_out, blocked): (String, String, Option<String>, bool, bool) =
        sqlx::query_as("select name, phone, email, opted_out, blocked from contacts")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((name.as_str(), phone.as_str()), ("Ana L.", "+14155552671"));
    assert_eq!(email, None);
    assert!(!opted_out && blocked);
}

#[tokio::test]
async fn bad_input_is_explained_and_saves_nothing() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    for (fields, needle) in [
        (
            vec![("name", ""), ("phone", ""), ("email", "")],
            "at least a name",
        ),
        (
            vec![("name", "X"), ("phone", "+49 1")],
            "not a valid phone number",
        ),
        (
            vec![("name", "X"), ("phone", "call me")],
            "not a valid phone number",
        ),
        (vec![("name", "X"), ("email", "not-an-email")], "Email"),
    ] {
        let response = owner.post_form("/contacts", &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let body = response.text().await.unwrap();
        assert!(body.contains(needle), "{fields:?}: {body}");
    }
    let long_name = "n".repeat(201);
    let response = owner
        .post_form("/contacts", &[("name", long_name.as_str())])
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.count("select count(*) from contacts").await, 0);

    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "UTC"),
                ("default_country", "Germany"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("not a country code")
    );
}

#[tokio::test]
async fn a_duplicate_phone_or_email_is_refused_with_a_link_to_the_existing_contact() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let ana = create_contact(&owner, &[("name", "Ana"), ("phone", "+49 30 901820")]).await;
    let bea = create_contact(&owner, &[("name", "Bea"), ("email", "bea@example.com")]).await;

    let response = owner
        .post_form(
            "/contacts",
            &[("name", "Ana again"), ("phone", "+4930901820")],
        )
        .await;
    assert_eq!(response.status(), 409);
    let body = response.text().await.unwrap();
    assert!(body.contains("phone number"), "{body}");
    assert!(
        body.contains(&format!("href=\"/contacts/{ana}\"")),
        "{body}"
    );
    assert!(body.contains("value=\"Ana again\""));

    // Email is compared without case.
    let response = owner
        .post_form("/contacts", &[("name", "B"), ("email", "BEA@example.com")])
        .await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(&format!("/contacts/{bea}"))
    );

    // Editing Bea to take Ana's number is refused the same way.
    let response = owner
        .post_form(
            &format!("/contacts/{bea}"),
            &[
                ("name", "Bea"),
                ("phone", "+49 30 901820"),
                ("email", "bea@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(&format!("/contacts/{ana}"))
    );
    // Saving a contact with its own values is not a duplicate of itself.
    let response = owner
        .post_form(
            &format!("/contacts/{bea}"),
            &[("name", "Bea B"), ("email", "bea@example.com")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.count("select count(*) from contacts").await, 2);

    // Another workspace may have the same number.
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    create_contact(&other, &[("name", "Ana"), ("phone", "+49 30 901820")]).await;
    assert_eq!(app.count("select count(*) from contacts").await, 3);
}

/// Ids of the contacts linked from a list page, in order.
fn listed_ids(body: &str) -> Vec<String> {
    body.match_indices("<a href=\"/contacts/")
        .filter_map(|(at, m)| {
            let rest = &body[at + m.len()..];
            let id = &rest[..rest.find('"')?];
            (id.len() == 36).then(|| id.to_owned())
        })
        .collect()
}

fn next_link(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(body[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

#[tokio::test]
async fn the_list_pages_by_keyset_in_every_sort_order_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org_id = app.org_id("Acme").await;
    // 120 contacts, with equal names so the id breaks ties across pages.
    let mut conn = app.admin_conn().await;
    sqlx::query(
        "insert into contacts (org_id, id, name, created_at) \
         select $1, gen_random_uuid(), 'Person ' || (n % 40), now() - n * interval '1 minute' \
         from generate_series(1, 120) n",
    )
    .bind(org_id)
    .execute(&mut conn)
    .await
    .unwrap();

    for (sort, order_by) in [
        ("name_asc", "lower(name), id"),
        ("name_desc", "lower(name) desc, id desc"),
        ("newest_first", "created_at desc, id desc"),
        ("oldest_first", "created_at, id"),
    ] {
        let expected: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select id::text from contacts order by {order_by}"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut seen = vec![];
        let mut path = format!("/contacts?sort={sort}");
        let mut pages = 0;
        loop {
            let (status, body) = owner.page(&path).await;
            assert_eq!(status, 200, "{path}");
            seen.extend(listed_ids(&body));
            pages += 1;
            assert!(pages <= 3, "{sort}: page {pages} at {path}\n{body}");
            match next_link(&body) {
                Some(next) => path = next,
                None => break,
            }
        }
        assert_eq!(pages, 3, "{sort}: 50 + 50 + 20");
        assert_eq!(seen, expected, "{sort}");
    }

    // A cursor from one sort order is not valid in another; garbage neither.
    let (_, body) = owner.page("/contacts?sort=newest_first").await;
    let next = next_link(&body).unwrap();
    let cursor = next.split("after=").nth(1).unwrap();
    let (status, body) = owner
        .page(&format!("/contacts?sort=name_asc&after={cursor}"))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("page link is not valid"));
    for bad in [
        "/contacts?after=%%%",
        "/contacts?after=eyJ4IjoxfQ",
        "/contacts?sort=shoe_size",
    ] {
        let (status, _) = owner.page(bad).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn search_finds_partial_names_phones_and_emails() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    set_country(&owner, "DE").await;
    let ana = create_contact(&owner, &[("name", "Ana Lima"), ("phone", "+49 30 901820")]).await;
    let bruno = create_contact(
        &owner,
        &[("name", "Bruno Souza"), ("email", "bruno@souza.example")],
    )
    .await;
    let carla = create_contact(&owner, &[("name", "Carla 100% Sá_nchez")]).await;

    for (q, expected) in [
        ("lim", vec![&ana]),
        ("ANA", vec![&ana]),
        ("901 820", vec![&ana]),
        ("030 901820", vec![&ana]),
        ("+4930", vec![&ana]),
        ("souza.exam", vec![&bruno]),
        ("100%", vec![&carla]),
        ("á_n", vec![&carla]),
        ("%", vec![&carla]),
        ("nobody", vec![]),
    ] {
        let (status, body) = owner.page(&format!("/contacts?q={}", urlencode(q))).await;
        assert_eq!(status, 200);
        let found = listed_ids(&body);
        assert_eq!(found.iter().collect::<Vec<_>>(), expected, "search {q:?}");
        if expected.is_empty() {
            assert!(body.contains("No contact matches"), "{body}");
        }
    }
}

fn urlencode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test]
async fn another_workspaces_contacts_are_404_and_unchanged() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let id = create_contact(
        &acme,
        &[("name", "Ana Secret"), ("email", "ana@acme.example")],
    )
    .await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;

    let (status, body) = other.page(&format!("/contacts/{id}")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("Ana Secret"));
    let response = other
        .post_form(&format!("/contacts/{id}"), &[("name", "Pwned")])
        .await;
    assert_eq!(response.status(), 404);
    let response = other
        .post_form(&format!("/contacts/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 404);
    let (_, body) = other.page("/contacts?q=secret").await;
    assert!(!body.contains("Ana Secret"));
    // Same email in the other workspace is no duplicate, and no hint leaks.
    create_contact(
        &other,
        &[("name", "Own Ana"), ("email", "ana@acme.example")],
    )
    .await;

    let mut conn = app.admin_conn().await;
    let name: String = sqlx::query_scalar("select name from contacts where id = $1::uuid")
        .bind(&id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(name, "Ana Secret");
}

#[tokio::test]
async fn agents_edit_contacts_but_only_owners_and_admins_delete_them() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let id = create_contact(&team.agent, &[("name", "Ana")]).await;
    let (_, body) = team.agent.page(&format!("/contacts/{id}")).await;
    assert!(!body.contains("Delete contact"));
    let response = team
        .agent
        .post_form(&format!("/contacts/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.count("select count(*) from contacts").await, 1);

    let (_, body) = team.admin.page(&format!("/contacts/{id}")).await;
    assert!(body.contains("Delete contact"));
    let response = team
        .admin
        .post_form(&format!("/contacts/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/contacts");
    assert_eq!(app.count("select count(*) from contacts").await, 0);
    let (status, _) = team.admin.page(&format!("/contacts/{id}")).await;
    assert_eq!(status, 404);
}
