//! Deals: the default pipeline, creating a deal (from a conversation too),
//! the board's stage totals, moving between stages (lost needs a reason),
//! editing, notes, the filtered list with its totals, deleting, managing
//! pipelines and stages, bad input, and each workspace to its own.

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

/// The first `id="{prefix}…"` uuid on the page after `after`.
fn id_after(page: &str, after: &str, prefix: &str) -> String {
    let from = page
        .find(after)
        .unwrap_or_else(|| panic!("{after}: {page}"));
    let at = page[from..].find(prefix).unwrap() + from + prefix.len();
    page[at..at + 36].to_owned()
}

#[tokio::test]
async fn a_deal_is_edited_noted_listed_with_filters_and_deleted() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let owner = &team.owner;
    let agent_id = app.user_id("agent@acme.test").await.to_string();
    let stages = stages(owner).await;
    let stage = |name: &str| stages.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let ana = create_contact(owner, &[("name", "Ana Lima"), ("company", "Lima Ltda")]).await;

    // The new-deal form starts with the contact's company and the member as owner.
    let (_, form) = owner.page(&format!("/deals/new?contact={ana}")).await;
    assert!(form.contains("value=\"Lima Ltda\""), "{form}");
    let deal = create_deal(
        owner,
        &[
            ("title", "Lima renewal"),
            ("value", "100"),
            ("currency", "USD"),
            ("contact", &ana),
            ("company", "Lima Ltda"),
            ("owner", &app.user_id("owner@acme.test").await.to_string()),
        ],
    )
    .await;
    assert_eq!(
        app.count("select count(*) from companies").await,
        1,
        "the contact's company is linked, not made again"
    );

    // Edit: bad input keeps what was typed; good input saves.
    let response = owner
        .post_form(
            &format!("/deals/{deal}"),
            &[
                ("title", "Lima renewal 2027"),
                ("value", "-3"),
                ("currency", "USD"),
                ("owner", "00000000-0000-0000-0000-000000000000"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Value:") && page.contains("Owner: choose a member"),
        "{page}"
    );
    assert!(page.contains("value=\"Lima renewal 2027\""));
    let response = owner
        .post_form(
            &format!("/deals/{deal}"),
            &[
                ("title", "Lima renewal 2027"),
                ("value", "2500.5"),
                ("currency", "eur"),
                ("expected_close", "2027-01-31"),
                ("owner", &agent_id),
                ("company", "Lima Group"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/deals/{deal}")).await;
    assert!(page.contains("EUR 2,500.50"), "{page}");
    assert!(page.contains("<dd id=\"deal-owner\">Aga Agent</dd>"));
    assert!(page.contains("Lima Group") && page.contains("2027-01-31"));

    // Notes on the deal.
    let response = owner
        .post_form(
            &format!("/deals/{deal}/notes"),
            &[("body", "Call after the holidays")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/deals/{deal}")).await;
    assert!(page.contains("Call after the holidays"));
    let response = owner
        .post_form(&format!("/deals/{deal}/notes"), &[("body", "  ")])
        .await;
    assert_eq!(response.status(), 422);

    // The contact's page and its conversation list the deal.
    let (_, page) = owner.page(&format!("/contacts/{ana}")).await;
    assert!(
        page.contains("Lima renewal 2027") && page.contains(&format!("/deals/new?contact={ana}"))
    );
    let chat = customer_writes(owner, "Bruno", "+5511988887777", "Quote please").await;
    let bruno_deal = create_deal(
        owner,
        &[
            ("title", "Bruno boxes"),
            ("value", "40"),
            ("currency", "USD"),
            ("conversation", &chat),
        ],
    )
    .await;
    let (_, panes) = owner.page(&format!("/inbox/{chat}")).await;
    assert!(
        panes.contains("Bruno boxes") && panes.contains(&format!("/deals/new?conversation={chat}"))
    );
    create_deal(
        owner,
        &[("title", "Unowned"), ("value", "7"), ("currency", "USD")],
    )
    .await;
    let response = owner
        .post_form(
            &format!("/deals/{bruno_deal}/stage"),
            &[("stage", &stage("Won"))],
        )
        .await;
    assert_eq!(response.status(), 303);

    // The list: filters, and totals per stage over what they take.
    let (status, list) = owner.page("/deals/list").await;
    assert_eq!(status, 200);
    for title in ["Lima renewal 2027", "Bruno boxes", "Unowned"] {
        assert!(list.contains(title), "{title}");
    }
    let won_total = format!(
        "<tr id=\"total-{}\"><td>Won</td><td>1 deal · USD 40.00</td></tr>",
        stage("Won")
    );
    assert!(list.contains(&won_total), "{list}");
    assert!(
        list.contains(&format!(
            "<tr id=\"total-{}\"><td>Lead</td><td>2 deals · EUR 2,500.50 · USD 7.00</td></tr>",
            stage("Lead")
        )),
        "{list}"
    );
    let (_, won) = owner.page("/deals/list?status=won").await;
    assert!(
        won.contains("Bruno boxes") && !won.contains("Lima renewal") && !won.contains("Unowned")
    );
    let (_, mine) = team.agent.page("/deals/list?owner=me").await;
    assert!(mine.contains("Lima renewal") && !mine.contains("Bruno boxes"));
    let (_, nobody) = owner.page("/deals/list?owner=none").await;
    assert!(nobody.contains("Unowned") && !nobody.contains("Lima renewal"));
    let (_, found) = owner.page("/deals/list?q=lima+group").await;
    assert!(
        found.contains("Lima renewal") && !found.contains("Unowned"),
        "company names are searched"
    );
    let (_, closing) = owner
        .page("/deals/list?from=2027-01-01&to=2027-02-01")
        .await;
    assert!(closing.contains("Lima renewal") && !closing.contains("Bruno boxes"));
    assert!(closing.contains("0 deals</td>"), "totals follow the filter");
    let response = owner.get("/deals/list?from=tomorrow&stage=nope").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Closing from: &#34;tomorrow&#34; is not a date")
            && page.contains("Stage: choose")
    );

    // Deleting: agents may not; owners may, and the notes go with it.
    assert_eq!(
        team.agent
            .post_form(&format!("/deals/{deal}/delete"), &[])
            .await
            .status(),
        403
    );
    let response = owner.post_form(&format!("/deals/{deal}/delete"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(owner.get(&format!("/deals/{deal}")).await.status(), 404);
    assert_eq!(
        app.count("select count(*) from notes where deal_id is not null")
            .await,
        0
    );
}

#[tokio::test]
async fn admins_shape_pipelines_and_stages_without_stranding_deals() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let admin = &team.admin;
    assert_eq!(team.agent.get("/settings/pipelines").await.status(), 403);
    let (status, page) = admin.page("/settings/pipelines").await;
    assert_eq!(status, 200);
    let sales = id_after(&page, "<section", "id=\"pipeline-");

    // A second pipeline, with the usual stages; its board and new deals.
    let response = admin
        .post_form("/settings/pipelines", &[("name", "Renewals")])
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .post_form("/settings/pipelines", &[("name", "renewals")])
        .await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("named &#34;renewals&#34; already")
    );
    let (_, page) = admin.page("/settings/pipelines").await;
    // The pipeline whose rename form holds "Renewals".
    let renewals = {
        let at = page.find("value=\"Renewals\"").unwrap();
        let prefix = "action=\"/settings/pipelines/";
        let start = page[..at].rfind(prefix).unwrap() + prefix.len();
        page[start..start + 36].to_owned()
    };
    assert_ne!(renewals, sales);
    let (_, board) = admin.page(&format!("/deals?pipeline={renewals}")).await;
    assert!(board.contains("Deals: Renewals"));
    let deal = create_deal(
        admin,
        &[
            ("title", "Renew Acme"),
            ("currency", "USD"),
            ("pipeline", &renewals),
        ],
    )
    .await;
    let in_renewals = app
        .count("select count(*) from deals d join pipelines p on p.id = d.pipeline_id where p.name = 'Renewals'")
        .await;
    assert_eq!(in_renewals, 1);

    // Stages: add, rename, reorder.
    let response = admin
        .post_form(
            &format!("/settings/pipelines/{renewals}/stages"),
            &[("name", "Negotiation"), ("outcome", "open")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .post_form(
            &format!("/settings/pipelines/{renewals}/stages"),
            &[("name", "Maybe"), ("outcome", "perhaps")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("choose open, won or lost")
    );
    let (_, board) = admin.page(&format!("/deals?pipeline={renewals}")).await;
    let names = |board: &str| -> Vec<String> {
        board
            .match_indices("<h2>")
            .map(|(at, m)| board[at + m.len()..at + board[at..].find("</h2>").unwrap()].to_owned())
            .collect()
    };
    assert_eq!(
        names(&board),
        [
            "Lead",
            "Qualified",
            "Proposal",
            "Won",
            "Lost",
            "Negotiation"
        ]
    );
    let stage_id = |board: &str, name: &str| -> String {
        let at = board.find(&format!("<h2>{name}</h2>")).unwrap();
        let s = board[..at].rfind("data-stage=\"").unwrap() + "data-stage=\"".len();
        board[s..s + 36].to_owned()
    };
    let negotiation = stage_id(&board, "Negotiation");
    for _ in 0..3 {
        let response = admin
            .post_form(
                &format!("/settings/stages/{negotiation}/move"),
                &[("direction", "up")],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    let (_, board) = admin.page(&format!("/deals?pipeline={renewals}")).await;
    assert_eq!(
        names(&board),
        [
            "Lead",
            "Qualified",
            "Negotiation",
            "Proposal",
            "Won",
            "Lost"
        ]
    );
    let lead = stage_id(&board, "Lead");
    let qualified = stage_id(&board, "Qualified");
    let response = admin
        .post_form(
            &format!("/settings/stages/{lead}"),
            &[("name", "Qualified"), ("outcome", "open")],
        )
        .await;
    assert_eq!(response.status(), 409, "names are unique within a pipeline");
    let response = admin
        .post_form(
            &format!("/settings/stages/{lead}"),
            &[("name", "Due"), ("outcome", "open")],
        )
        .await;
    assert_eq!(response.status(), 303);

    // A stage holding a deal keeps its meaning and is not deleted.
    let response = admin
        .post_form(&format!("/settings/stages/{lead}/delete"), &[])
        .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.unwrap().contains("holds 1 deal(s)"));
    let response = admin
        .post_form(
            &format!("/settings/stages/{lead}"),
            &[("name", "Due"), ("outcome", "won")],
        )
        .await;
    assert_eq!(response.status(), 409);
    let response = admin
        .post_form(&format!("/settings/pipelines/{renewals}/delete"), &[])
        .await;
    assert_eq!(response.status(), 409);
    // An empty stage goes; the last open stage stays.
    let response = admin
        .post_form(&format!("/settings/stages/{qualified}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let response = admin.post_form(&format!("/deals/{deal}/delete"), &[]).await;
    assert_eq!(response.status(), 303);
    for open in [negotiation.as_str(), stage_id(&board, "Proposal").as_str()] {
        let response = admin
            .post_form(&format!("/settings/stages/{open}/delete"), &[])
            .await;
        assert_eq!(response.status(), 303);
    }
    let response = admin
        .post_form(&format!("/settings/stages/{lead}/delete"), &[])
        .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.unwrap().contains("only open stage"));

    // An empty pipeline is deleted; the last one is kept.
    let response = admin
        .post_form(&format!("/settings/pipelines/{renewals}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .post_form(&format!("/settings/pipelines/{sales}/delete"), &[])
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(app.count("select count(*) from pipelines").await, 1);
}

#[tokio::test]
async fn another_workspace_cannot_touch_deal_notes_pipelines_or_stages() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let deal = create_deal(&acme, &[("title", "Acme deal"), ("currency", "USD")]).await;
    let acme_stages = stages(&acme).await;
    let (_, page) = acme.page("/settings/pipelines").await;
    let pipeline = id_after(&page, "<section", "id=\"pipeline-");
    let stage = &acme_stages[1].1;
    let fields = [
        ("name", "Hijacked"),
        ("outcome", "open"),
        ("title", "Hijacked"),
        ("currency", "USD"),
        ("body", "Hijacked"),
        ("direction", "up"),
    ];
    for path in [
        format!("/deals/{deal}"),
        format!("/deals/{deal}/notes"),
        format!("/deals/{deal}/delete"),
        format!("/settings/pipelines/{pipeline}"),
        format!("/settings/pipelines/{pipeline}/stages"),
        format!("/settings/pipelines/{pipeline}/delete"),
        format!("/settings/stages/{stage}"),
        format!("/settings/stages/{stage}/move"),
        format!("/settings/stages/{stage}/delete"),
    ] {
        assert_eq!(
            globex.post_form(&path, &fields).await.status(),
            404,
            "{path}"
        );
    }
    let (_, list) = globex
        .page(&format!("/deals/list?pipeline={pipeline}"))
        .await;
    assert!(
        !list.contains("Acme deal"),
        "another workspace's pipeline id shows its own"
    );
    let (_, page) = globex.page("/settings/pipelines").await;
    assert!(!page.contains(&pipeline));
    assert_eq!(app.count("select count(*) from notes").await, 0);
    assert_eq!(
        app.count("select count(*) from deals where title = 'Acme deal'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from pipeline_stages where name = 'Hijacked'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from pipelines where name = 'Hijacked'")
            .await,
        0
    );
    let (_, board) = acme.page("/deals").await;
    let names: Vec<&str> = acme_stages.iter().map(|(n, _)| n.as_str()).collect();
    for name in names {
        assert!(board.contains(&format!("<h2>{name}</h2>")));
    }
}
