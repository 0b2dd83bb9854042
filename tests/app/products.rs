//! Products: the catalogue list with exact prices, editing, archiving (the
//! list and SKU lookups leave archived ones out), search, bad input and
//! duplicate SKUs, each workspace to its own, and agents who only look.

use wacrm::infra::db::products::{self, Product};
use wacrm::infra::tenancy::bootstrap;

use crate::support::*;

async fn create_product(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form("/products", fields).await;
    assert_eq!(response.status(), 303, "creating {fields:?}");
    let to = location(&response);
    to.strip_prefix("/products/")
        .unwrap_or_else(|| panic!("redirect to {to}"))
        .to_owned()
}

/// What `find_by_sku` (catalogue orders) answers in `org`'s context.
async fn by_sku(app: &TestApp, org: uuid::Uuid, sku: &str) -> Option<Product> {
    let mut tx = bootstrap::for_job(&app.state.pool, org).await.unwrap();
    products::find_by_sku(&mut tx, sku).await.unwrap()
}

const TEA: [(&str, &str); 6] = [
    ("name", "Green tea 250 g"),
    ("sku", "TEA-01"),
    ("price", "1234,5"),
    ("currency", "brl"),
    ("tax_rate", "12,5"),
    ("description", "Loose leaf."),
];

#[tokio::test]
async fn a_new_product_is_listed_with_its_exact_price_and_found_by_its_sku() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (status, empty) = owner.page("/products").await;
    assert_eq!(status, 200);
    assert!(empty.contains("No products yet"), "{empty}");
    assert!(
        empty.contains("class=\"nav-item\" href=\"/products\""),
        "nav link"
    );

    let (status, form) = owner.page("/products/new").await;
    assert_eq!(status, 200);
    assert!(form.contains("name=\"csrf_token\""), "{form}");
    let tea = create_product(&owner, &TEA).await;

    let (status, list) = owner.page("/products").await;
    assert_eq!(status, 200);
    assert!(list.contains("Green tea 250 g"), "{list}");
    assert!(list.contains("BRL 1,234.50"), "price with currency: {list}");
    assert!(list.contains("12.5%") && list.contains("TEA-01"), "{list}");
    let (status, page) = owner.page(&format!("/products/{tea}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"1234.50\"") && page.contains("Loose leaf."));

    let stored: (String, String, String) = sqlx::query_as(
        "select price::text, tax_rate::text, currency from products where sku = 'TEA-01'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(stored, ("1234.50".into(), "12.50".into(), "BRL".into()));

    let acme = app.org_id("Acme").await;
    let found = by_sku(&app, acme, "TEA-01")
        .await
        .expect("found by its SKU");
    assert_eq!(found.id.to_string(), tea);
    assert!(
        by_sku(&app, acme, "tea-01").await.is_none(),
        "SKUs are matched exactly, case included"
    );
}

#[tokio::test]
async fn editing_a_product_saves_it_and_a_refusal_keeps_what_was_typed() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let tea = create_product(&owner, &TEA).await;
    let path = format!("/products/{tea}");

    let response = owner
        .post_form(
            &path,
            &[
                ("name", "Green tea 500 g"),
                ("sku", "TEA-02"),
                ("price", "19.9"),
                ("currency", "EUR"),
                ("tax_rate", "7"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), path);
    let (_, list) = owner.page("/products").await;
    assert!(
        list.contains("Green tea 500 g") && list.contains("EUR 19.90"),
        "{list}"
    );
    assert!(list.contains("7%") && list.contains("TEA-02"), "{list}");
    assert!(
        !list.contains("250 g") && !list.contains("TEA-01"),
        "{list}"
    );
    let acme = app.org_id("Acme").await;
    assert!(by_sku(&app, acme, "TEA-01").await.is_none());
    assert!(by_sku(&app, acme, "TEA-02").await.is_some());

    let response = owner
        .post_form(
            &path,
            &[
                ("name", "Green tea 1 kg"),
                ("sku", "TEA-03"),
                ("price", "12.345"),
                ("currency", "EUR"),
                ("description", "Bulk"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Price: &#34;12.345&#34; has more than two decimal places"),
        "{page}"
    );
    for kept in [
        "value=\"Green tea 1 kg\"",
        "value=\"TEA-03\"",
        "value=\"12.345\"",
        ">Bulk</textarea>",
    ] {
        assert!(page.contains(kept), "{kept}: {page}");
    }
    let (_, list) = owner.page("/products").await;
    assert!(list.contains("Green tea 500 g"), "nothing saved: {list}");
}

#[tokio::test]
async fn an_archived_product_leaves_the_list_and_sku_lookups_until_restored() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let acme = app.org_id("Acme").await;
    let tea = create_product(&owner, &TEA).await;
    create_product(
        &owner,
        &[("name", "Mug"), ("price", "5"), ("currency", "BRL")],
    )
    .await;

    let response = owner
        .post_form(&format!("/products/{tea}/active"), &[("active", "false")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, list) = owner.page("/products").await;
    assert!(
        list.contains("Mug") && !list.contains("Green tea"),
        "{list}"
    );
    let (_, all) = owner.page("/products?archived=1").await;
    assert!(
        all.contains("Green tea") && all.contains("Archived"),
        "{all}"
    );
    assert!(by_sku(&app, acme, "TEA-01").await.is_none());
    let (status, page) = owner.page(&format!("/products/{tea}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Restore product"), "{page}");

    let response = owner
        .post_form(&format!("/products/{tea}/active"), &[("active", "maybe")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(by_sku(&app, acme, "TEA-01").await.is_none());

    let response = owner
        .post_form(&format!("/products/{tea}/active"), &[("active", "true")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, list) = owner.page("/products").await;
    assert!(list.contains("Green tea"), "{list}");
    assert!(by_sku(&app, acme, "TEA-01").await.is_some());
}

#[tokio::test]
async fn search_matches_a_name_or_a_sku_in_any_case() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    create_product(&owner, &TEA).await;
    create_product(
        &owner,
        &[
            ("name", "Coffee mug"),
            ("sku", "MUG-7"),
            ("price", "5"),
            ("currency", "BRL"),
        ],
    )
    .await;
    create_product(
        &owner,
        &[
            ("name", "100% cotton bag"),
            ("price", "3"),
            ("currency", "BRL"),
        ],
    )
    .await;

    for (q, shown, hidden) in [
        ("TEA", "Green tea", "Coffee mug"),
        ("mug-7", "Coffee mug", "Green tea"),
        ("COFFEE", "Coffee mug", "cotton bag"),
        // `%` is a character to look for, not a wildcard.
        ("100%", "cotton bag", "Coffee mug"),
    ] {
        let (status, list) = owner.page(&format!("/products?q={}", urlencode(q))).await;
        assert_eq!(status, 200);
        assert!(list.contains(shown), "{q} finds {shown}: {list}");
        assert!(!list.contains(hidden), "{q} leaves out {hidden}: {list}");
    }
    let (_, none) = owner.page("/products?q=teapot").await;
    assert!(none.contains("No product matches"), "{none}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bad_products_are_refused_with_every_reason_and_nothing_is_saved() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let long_sku = "S".repeat(65);
    let response = owner
        .post_form(
            "/products",
            &[
                ("name", "  "),
                ("sku", &long_sku),
                ("price", "-5"),
                ("currency", "R$"),
                ("tax_rate", "120"),
                ("description", "Kept as typed"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    for reason in [
        "Name: enter the product",
        "SKU: it is too long (64 characters at most)",
        "Price: &#34;-5&#34; is not an amount",
        "Currency: &#34;R$&#34; is not a currency code",
        "Tax rate: &#34;120&#34; is more than 100%",
    ] {
        assert!(page.contains(reason), "{reason}: {page}");
    }
    for kept in [
        "value=\"-5\"",
        "value=\"R$\"",
        "value=\"120\"",
        ">Kept as typed</textarea>",
    ] {
        assert!(page.contains(kept), "{kept} is shown back: {page}");
    }
    assert!(page.contains(&format!("value=\"{long_sku}\"")));

    let long_name = "n".repeat(201);
    let long_description = "d".repeat(2001);
    for (field, value, reason) in [
        ("price", "", "Price: enter the price"),
        ("price", "12a", "Price: &#34;12a&#34; is not an amount"),
        ("price", "1.005", "has more than two decimal places"),
        (
            "tax_rate",
            "-1",
            "Tax rate: &#34;-1&#34; is not a percentage",
        ),
        ("tax_rate", "100.01", "is more than 100%"),
        ("currency", "EURO", "Currency:"),
        (
            "name",
            &long_name,
            "Name is too long (200 characters at most)",
        ),
        (
            "description",
            &long_description,
            "Description is too long (2000 characters at most)",
        ),
        ("sku", "A\u{7}B", "SKU: it cannot hold line breaks"),
    ] {
        let mut fields = vec![("name", "Tea"), ("price", "1"), ("currency", "USD")];
        fields.retain(|(f, _)| *f != field);
        fields.push((field, value));
        let response = owner.post_form("/products", &fields).await;
        assert_eq!(response.status(), 422, "{field} = {value}");
        let page = response.text().await.unwrap();
        assert!(page.contains(reason), "{field} = {value}: {reason}: {page}");
    }
    assert_eq!(app.count("select count(*) from products").await, 0);
}

#[tokio::test]
async fn a_duplicate_sku_is_refused_by_name_and_nothing_is_saved() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let tea = create_product(&owner, &TEA).await;

    let response = owner
        .post_form(
            "/products",
            &[
                ("name", "Other tea"),
                ("sku", " TEA-01 "),
                ("price", "2"),
                ("currency", "BRL"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("SKU: &#34;TEA-01&#34; is already used by another product"),
        "{page}"
    );
    assert!(
        page.contains("value=\"Other tea\""),
        "what was typed is kept"
    );
    assert_eq!(app.count("select count(*) from products").await, 1);

    // Case counts: WhatsApp sends the retailer id exactly.
    let other = create_product(
        &owner,
        &[
            ("name", "Other tea"),
            ("sku", "tea-01"),
            ("price", "2"),
            ("currency", "BRL"),
        ],
    )
    .await;
    // Taking it by editing is refused too, and an archived product keeps it.
    let response = owner
        .post_form(&format!("/products/{tea}/active"), &[("active", "false")])
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(
            &format!("/products/{other}"),
            &[
                ("name", "Renamed"),
                ("sku", "TEA-01"),
                ("price", "2"),
                ("currency", "BRL"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("&#34;TEA-01&#34; is already used"), "{page}");
    assert_eq!(
        app.count("select count(*) from products where name = 'Other tea' and sku = 'tea-01'")
            .await,
        1,
        "the product was not changed"
    );
    // Products without a SKU are many.
    for name in ["Gift wrap", "Card"] {
        create_product(
            &owner,
            &[("name", name), ("price", "0"), ("currency", "BRL")],
        )
        .await;
    }
    // Another workspace has its own SKUs.
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    create_product(&globex, &TEA).await;
    assert_eq!(
        app.count("select count(*) from products where sku = 'TEA-01'")
            .await,
        2
    );
}

#[tokio::test]
async fn another_workspace_never_sees_or_changes_a_product() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let tea = create_product(&acme, &TEA).await;

    assert_eq!(globex.get(&format!("/products/{tea}")).await.status(), 404);
    let response = globex
        .post_form(
            &format!("/products/{tea}"),
            &[("name", "Stolen"), ("price", "0"), ("currency", "USD")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = globex
        .post_form(&format!("/products/{tea}/active"), &[("active", "false")])
        .await;
    assert_eq!(response.status(), 404);
    for q in ["", "?q=tea", "?archived=1"] {
        let (status, list) = globex.page(&format!("/products{q}")).await;
        assert_eq!(status, 200);
        assert!(
            !list.contains("Green tea") && !list.contains("TEA-01"),
            "{list}"
        );
    }
    let globex_id = app.org_id("Globex").await;
    assert!(by_sku(&app, globex_id, "TEA-01").await.is_none());
    assert_eq!(
        app.count("select count(*) from products where name = 'Green tea 250 g' and active")
            .await,
        1,
        "unchanged"
    );
    for path in ["/products/not-an-id", "/products/12345"] {
        assert_eq!(acme.get(path).await.status(), 404, "{path}");
    }
    let response = acme
        .post_form("/products/not-an-id/active", &[("active", "false")])
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn agents_see_the_catalogue_but_only_owners_and_admins_change_it() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let tea = create_product(&team.owner, &TEA).await;
    let path = format!("/products/{tea}");

    let (status, list) = team.agent.page("/products").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("Green tea 250 g") && list.contains("BRL 1,234.50"),
        "{list}"
    );
    assert!(!list.contains("/products/new"), "no button to add: {list}");
    let (status, page) = team.agent.page(&path).await;
    assert_eq!(status, 200);
    assert!(page.contains("BRL 1,234.50"), "{page}");
    assert!(
        !page.contains(&format!("action=\"{path}\"")) && !page.contains("Archive product"),
        "no form for an agent: {page}"
    );

    assert_eq!(team.agent.get("/products/new").await.status(), 403);
    for (to, fields) in [
        (
            "/products".to_owned(),
            vec![("name", "Mine"), ("price", "1"), ("currency", "USD")],
        ),
        (
            path.clone(),
            vec![("name", "Mine"), ("price", "1"), ("currency", "USD")],
        ),
        (format!("{path}/active"), vec![("active", "false")]),
    ] {
        let response = team.agent.post_form(&to, &fields).await;
        assert_eq!(response.status(), 403, "{to}");
        let body = response.text().await.unwrap();
        assert!(body.contains("manage the product catalogue"), "{body}");
    }
    assert_eq!(
        app.count("select count(*) from products where name = 'Green tea 250 g' and active")
            .await,
        1
    );
    assert_eq!(app.count("select count(*) from products").await, 1);

    // An admin may.
    create_product(
        &team.admin,
        &[("name", "Mug"), ("price", "5"), ("currency", "BRL")],
    )
    .await;
    let response = team
        .admin
        .post_form(&format!("{path}/active"), &[("active", "false")])
        .await;
    assert_eq!(response.status(), 303);
}
