//! Deals: the default pipeline, creating a deal (from a conversation too),
//! the board's stage totals, moving between stages (lost needs a reason),
//! bad input, and each workspace to its own.

use crate::contacts::create_contact;
use crate::inbox::customer_writes;
use crate::support::*;

/// The board's stage ids, in order, by name.
async fn stages(browser: &Browser) -> Vec<(String, String)> {
    let (status, page) = browser.page("/deals").await;
    assert_eq!(status, 200);
    page.match_indices("data-stage=\"")
        .map(|(at, m)| {
            let id = page[at + m.len()..at + m.len() + 36].to_owned();
            let h2 = page[at..].find("<h2>").unwrap() + at + 4;
            let name = page[h2..h2 + page[h2..].find("</h2>").unwrap()].to_owned();
            (name, id)
        })
        .collect()
}

async fn create_deal(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form("/deals", fields).await;
    assert_eq!(response.status(), 303, "creating {fields:?}");
    location(&response)
        .strip_prefix("/deals/")
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn deals_move_through_the_pipeline_with_totals_per_stage() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let stages = stages(&owner).await;
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Lead", "Qualified", "Proposal", "Won", "Lost"]);
    let stage = |name: &str| stages.iter().find(|(n, _)| n == name).unwrap().1.clone();

    let ana = create_contact(&owner, &[("name", "Ana")]).await;
    let big = create_deal(
        &owner,
        &[
            ("title", "Ana's big order"),
            ("value", "1234,5"),
            ("currency", "brl"),
            ("contact", &ana),
            ("stage", &stage("Lead")),
        ],
    )
    .await;
    create_deal(
        &owner,
        &[
            ("title", "Small one"),
            ("value", "0.10"),
            ("currency", "BRL"),
        ],
    )
    .await;
    create_deal(
        &owner,
        &[
            ("title", "Dollar deal"),
            ("value", "99.99"),
            ("currency", "USD"),
        ],
    )
    .await;
    let (status, page) = owner.page(&format!("/deals/{big}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("BRL 1,234.50") && page.contains("Ana"),
        "{page}"
    );
    let (_, board) = owner.page("/deals").await;
    assert!(
        board.contains("3 deals · BRL 1,234.60 · USD 99.99"),
        "exact sums per currency: {board}"
    );

    // From a conversation: the deal is with its contact.
    let chat = customer_writes(&owner, "Maria", "+4930901820", "I want 20 boxes").await;
    let (status, form) = owner.page(&format!("/deals/new?conversation={chat}")).await;
    assert_eq!(status, 200);
    assert!(form.contains("New deal with Maria"));
    let from_chat = create_deal(
        &owner,
        &[
            ("title", "20 boxes"),
            ("value", "500"),
            ("currency", "EUR"),
            ("conversation", &chat),
        ],
    )
    .await;
    let (_, page) = owner.page(&format!("/deals/{from_chat}")).await;
    assert!(page.contains(&format!("/inbox/{chat}")) && page.contains("Maria"));

    // Won; lost needs a reason.
    let response = owner
        .post_form(&format!("/deals/{big}/stage"), &[("stage", &stage("Won"))])
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/deals/{big}")).await;
    assert!(page.contains("<dd id=\"deal-stage\">Won</dd>"));
    let response = owner
        .post_form(
            &format!("/deals/{from_chat}/stage"),
            &[("stage", &stage("Lost"))],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("say why"));
    let response = owner
        .post_form(
            &format!("/deals/{from_chat}/stage"),
            &[("stage", &stage("Lost")), ("lost_reason", "Price")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let closed: Vec<(String, Option<String>, bool)> = sqlx::query_as(
        "select title, lost_reason, closed_at is not null from deals where closed_at is not null order by title",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(
        closed,
        [
            ("20 boxes".to_owned(), Some("Price".to_owned()), true),
            ("Ana's big order".to_owned(), None, true)
        ]
    );
    // Back to an open stage reopens it.
    let response = owner
        .post_form(
            &format!("/deals/{big}/stage"),
            &[("stage", &stage("Proposal"))],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from deals where closed_at is not null")
            .await,
        1
    );
}

#[tokio::test]
async fn bad_deals_are_refused_with_every_reason() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let stages = stages(&owner).await;
    let lost = stages.iter().find(|(n, _)| n == "Lost").unwrap().1.clone();
    let response = owner
        .post_form(
            "/deals",
            &[
                ("title", ""),
                ("value", "1.234,56"),
                ("currency", "R$"),
                ("expected_close", "31/12/2026"),
                ("stage", &lost),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    for reason in [
        "Title: name the deal",
        "Value:",
        "Currency:",
        "Expected close:",
        "cannot start lost",
    ] {
        assert!(page.contains(reason), "{reason}: {page}");
    }
    assert!(
        page.contains("value=\"1.234,56\""),
        "what was typed is kept"
    );
    for value in ["-5", "1.005", "abc"] {
        let response = owner
            .post_form(
                "/deals",
                &[("title", "x"), ("value", value), ("currency", "USD")],
            )
            .await;
        assert_eq!(response.status(), 422, "{value}");
    }
    assert_eq!(app.count("select count(*) from deals").await, 0);
}

#[tokio::test]
async fn another_workspace_never_sees_or_moves_a_deal() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let ana = create_contact(&acme, &[("name", "Ana")]).await;
    let deal = create_deal(
        &acme,
        &[
            ("title", "Acme secret deal"),
            ("value", "10"),
            ("currency", "USD"),
        ],
    )
    .await;
    let globex_stages = stages(&globex).await;
    let acme_stages = stages(&acme).await;

    assert_eq!(globex.get(&format!("/deals/{deal}")).await.status(), 404);
    let response = globex
        .post_form(
            &format!("/deals/{deal}/stage"),
            &[("stage", &globex_stages[3].1)],
        )
        .await;
    assert_eq!(response.status(), 404);
    let (_, board) = globex.page("/deals").await;
    assert!(!board.contains("Acme secret deal"));
    // Globex cannot use Acme's contact, nor move Acme's deal to Globex's stage.
    let response = globex
        .post_form(
            "/deals",
            &[("title", "x"), ("currency", "USD"), ("contact", &ana)],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = acme
        .post_form(
            &format!("/deals/{deal}/stage"),
            &[("stage", &globex_stages[1].1)],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        globex
            .get(&format!("/deals/new?conversation={}", acme_stages[0].1))
            .await
            .status(),
        404
    );
    assert_eq!(acme.get("/deals/not-an-id").await.status(), 404);
}
