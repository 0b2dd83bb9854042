//! Quotes and invoices: lines from the catalogue and free text totalled to
//! the cent (rounding, discounts, taxes per rate), bad lines refused with
//! their line, numbers given at issue without gaps (also when issued at
//! once), issued documents frozen, a quote accepted into an order, the PDF
//! readable, and each workspace to its own.

use crate::support::*;

async fn product(owner: &Browser, fields: &[(&str, &str)]) -> String {
    let response = owner.post_form("/products", fields).await;
    assert_eq!(response.status(), 303);
    location(&response)
        .strip_prefix("/products/")
        .unwrap()
        .to_owned()
}

async fn draft(owner: &Browser, kind: &str, contact: &str, currency: &str) -> String {
    let response = owner
        .post_form(
            "/documents",
            &[("kind", kind), ("contact", contact), ("currency", currency)],
        )
        .await;
    assert_eq!(response.status(), 303, "draft {kind}");
    location(&response)
        .strip_prefix("/documents/")
        .unwrap()
        .to_owned()
}

/// The editor's form: `rows` of (product, description, qty, price, discount, tax).
fn editor<'a>(currency: &'a str, rows: &[[&'a str; 6]]) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![("currency", currency)];
    for row in rows {
        for (name, value) in [
            "product",
            "description",
            "quantity",
            "unit_price",
            "discount",
            "tax_rate",
        ]
        .into_iter()
        .zip(row)
        {
            fields.push((name, *value));
        }
    }
    fields
}

fn cell<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("{id}"))
        + id.len()
        + 6;
    &page[start..start + page[start..].find('<').unwrap()]
}

#[tokio::test]
async fn a_quote_is_totalled_to_the_cent_issued_and_accepted_into_an_order() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let tea = product(
        &owner,
        &[
            ("name", "Tea"),
            ("sku", "TEA"),
            ("price", "19.99"),
            ("tax_rate", "12.5"),
            ("currency", "BRL"),
        ],
    )
    .await;
    let ana = create_contact(&owner, &[("name", "Ana Araújo")]).await;
    let (status, _) = owner
        .page(&format!("/documents/new?kind=quote&contact={ana}"))
        .await;
    assert_eq!(status, 200);
    let quote = draft(&owner, "quote", &ana, "brl").await;

    // Bad lines are refused with their line, and what was typed stays.
    let response = owner
        .post_form(
            &format!("/documents/{quote}"),
            &editor(
                "BRL",
                &[
                    ["", "Boxes", "-2", "10", "", ""],
                    ["00000000-0000-0000-0000-000000000000", "", "1", "", "", ""],
                    ["", "", "1", "5", "", ""],
                    ["", "Gift wrap", "1", "2", "150", ""],
                ],
            ),
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    for reason in [
        "Line 1: Quantity must be more than zero.",
        "Line 2: choose a product of the catalogue",
        "Line 3: describe it or choose a product.",
        "Line 4: Discount",
    ] {
        assert!(page.contains(reason), "{reason}: {page}");
    }
    assert!(page.contains("value=\"Boxes\"") && page.contains("value=\"-2\""));
    assert_eq!(
        app.count("select count(*) from sales_document_lines").await,
        0
    );

    // The catalogue's tea (12.5 % on 19.99 = 2.49875 → 2.50), 3 × 0.335 =
    // 1.005 → 1.01, and 10 % off 200 then 5 % tax.
    let response = owner
        .post_form(
            &format!("/documents/{quote}"),
            &editor(
                "BRL",
                &[
                    [tea.as_str(), "", "1", "", "", ""],
                    ["", "Setup", "3", "0.335", "", "0"],
                    ["", "Consulting", "2", "100", "10", "5"],
                ],
            ),
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page(&format!("/documents/{quote}")).await;
    for (id, amount) in [
        ("doc-subtotal", "BRL 221.00"),
        ("doc-discount", "BRL 20.00"),
        ("doc-net", "BRL 201.00"),
        ("doc-tax", "BRL 11.50"),
        ("doc-total", "BRL 212.50"),
    ] {
        assert_eq!(cell(&page, id), amount, "{id}");
    }
    assert!(page.contains("Tax 12.5% on BRL 19.99") && page.contains("BRL 2.50"));
    let stored: (rust_decimal::Decimal, rust_decimal::Decimal) =
        sqlx::query_as("select total, tax from sales_documents")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!(
        stored,
        ("212.50".parse().unwrap(), "11.50".parse().unwrap())
    );

    // The PDF reads back with the customer, the total and the draft stamp.
    let response = owner.get(&format!("/documents/{quote}/pdf")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    let pdf = lopdf::Document::load_mem(&bytes).expect("a PDF");
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let text = pdf.extract_text(&pages).unwrap();
    for expected in ["Ana Araújo", "212.50", "DRAFT", "Consulting"] {
        assert!(text.contains(expected), "{expected}: {text}");
    }

    // Issued: numbered per kind; frozen.
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/issue"), &[])
            .await
            .status(),
        303
    );
    let (_, page) = owner.page(&format!("/documents/{quote}")).await;
    assert!(page.contains("Quote Q-0001"));
    let response = owner
        .post_form(
            &format!("/documents/{quote}"),
            &editor("BRL", &[["", "Sneaky", "1", "1", "", ""]]),
        )
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/delete"), &[])
            .await
            .status(),
        409
    );
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/issue"), &[])
            .await
            .status(),
        409
    );
    let invoice = draft(&owner, "invoice", &ana, "BRL").await;
    assert_eq!(
        owner
            .post_form(&format!("/documents/{invoice}/issue"), &[])
            .await
            .status(),
        422,
        "no lines yet"
    );
    let response = owner
        .post_form(
            &format!("/documents/{invoice}"),
            &editor("BRL", &[["", "Tea box", "2", "15", "", ""]]),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        owner
            .post_form(&format!("/documents/{invoice}/issue"), &[])
            .await
            .status(),
        303
    );
    let (_, page) = owner.page(&format!("/documents/{invoice}")).await;
    assert!(page.contains("Invoice INV-0001"), "its own sequence");

    // Accepted: the order, with the quote's total; paid; void.
    let response = owner
        .post_form(
            &format!("/documents/{quote}/state"),
            &[("state", "accepted")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (source, total): (String, rust_decimal::Decimal) =
        sqlx::query_as("select source, total from orders")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!(
        (source.as_str(), total),
        ("quote", "212.50".parse().unwrap())
    );
    let (_, page) = owner.page(&format!("/documents/{quote}")).await;
    assert!(page.contains("Open the order"));
    let response = owner
        .post_form(
            &format!("/documents/{quote}/state"),
            &[("state", "accepted")],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(app.count("select count(*) from orders").await, 1);
    let response = owner
        .post_form(&format!("/documents/{quote}/state"), &[("state", "paid")])
        .await;
    assert_eq!(response.status(), 409, "quotes are not paid");
    for state in ["paid", "void"] {
        let response = owner
            .post_form(&format!("/documents/{invoice}/state"), &[("state", state)])
            .await;
        assert_eq!(response.status(), 303, "{state}");
    }
    let response = owner
        .post_form(&format!("/documents/{invoice}/state"), &[("state", "lost")])
        .await;
    assert_eq!(response.status(), 422);
    let response = owner.get(&format!("/documents/{invoice}/pdf")).await;
    let bytes = response.bytes().await.unwrap();
    let pdf = lopdf::Document::load_mem(&bytes).expect("a PDF");
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    assert!(pdf.extract_text(&pages).unwrap().contains("VOID"));
    let (_, list) = owner.page("/documents?kind=invoice").await;
    assert!(list.contains("INV-0001") && !list.contains("Q-0001"));

    // The customer deleted: the issued documents keep who they were for.
    let response = owner
        .post_form(&format!("/contacts/{ana}/delete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (status, page) = owner.page(&format!("/documents/{invoice}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Ana Araújo") && !page.contains(&format!("/contacts/{ana}")));
}

#[tokio::test]
async fn numbers_are_given_without_gaps_when_many_are_issued_at_once() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let ana = create_contact(&owner, &[("name", "Ana")]).await;
    let mut drafts = vec![];
    for i in 0..10 {
        let id = draft(&owner, "invoice", &ana, "USD").await;
        let price = format!("{}.00", i + 1);
        let response = owner
            .post_form(
                &format!("/documents/{id}"),
                &editor("USD", &[["", "Work", "1", &price, "", ""]]),
            )
            .await;
        assert_eq!(response.status(), 303);
        drafts.push(id);
    }
    // A deleted draft never took a number.
    let unused = draft(&owner, "invoice", &ana, "USD").await;
    assert_eq!(
        owner
            .post_form(&format!("/documents/{unused}/delete"), &[])
            .await
            .status(),
        303
    );
    let issues = drafts.iter().map(|id| {
        let owner = &owner;
        async move {
            owner
                .post_form(&format!("/documents/{id}/issue"), &[])
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(issues).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let numbers: Vec<i64> = sqlx::query_scalar(
        "select number from sales_documents where kind = 'invoice' order by number",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(numbers, (1..=10).collect::<Vec<i64>>());
}

#[tokio::test]
async fn another_workspace_never_sees_or_changes_a_quote() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let ana = create_contact(&acme, &[("name", "Ana Secret")]).await;
    let quote = draft(&acme, "quote", &ana, "USD").await;
    let response = acme
        .post_form(
            &format!("/documents/{quote}"),
            &editor("USD", &[["", "Work", "1", "10", "", ""]]),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        globex.get(&format!("/documents/{quote}")).await.status(),
        404
    );
    assert_eq!(
        globex
            .get(&format!("/documents/{quote}/pdf"))
            .await
            .status(),
        404
    );
    for path in ["", "/issue", "/state", "/delete", "/send"] {
        let response = globex
            .post_form(
                &format!("/documents/{quote}{path}"),
                &[
                    ("state", "void"),
                    ("currency", "USD"),
                    ("description", "Hijacked"),
                    ("quantity", "1"),
                    ("unit_price", "1"),
                ],
            )
            .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    assert_eq!(
        globex
            .get(&format!("/documents/new?contact={ana}"))
            .await
            .status(),
        404
    );
    let response = globex
        .post_form(
            "/documents",
            &[("kind", "quote"), ("contact", &ana), ("currency", "USD")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let (_, list) = globex.page("/documents?kind=quote").await;
    assert!(!list.contains("Ana Secret"));
    assert_eq!(
        app.count("select count(*) from sales_documents where state = 'draft'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from sales_document_lines where description = 'Hijacked'")
            .await,
        0
    );
}

#[tokio::test]
async fn an_issued_quote_is_sent_as_a_pdf_into_the_conversation() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let chat = customer_writes(&owner, "Maria", "+5511977776666", "A quote please").await;
    let response = owner
        .post_form(
            "/documents",
            &[
                ("kind", "quote"),
                ("conversation", &chat),
                ("currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let quote = location(&response)
        .strip_prefix("/documents/")
        .unwrap()
        .to_owned();
    let response = owner
        .post_form(
            &format!("/documents/{quote}"),
            &editor("EUR", &[["", "Design", "4", "62.5", "", "20"]]),
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(&format!("/documents/{quote}/send"), &[])
        .await;
    assert_eq!(response.status(), 409, "a draft is not sent");
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/issue"), &[])
            .await
            .status(),
        303
    );
    let response = owner
        .post_form(&format!("/documents/{quote}/send"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (kind, body, media): (String, String, serde_json::Value) = sqlx::query_as(
        "select kind, body, media from messages where direction = 'out' and not private",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), body.as_str()),
        ("document", "Quote Q-0001 · EUR 300.00")
    );
    assert_eq!(media["filename"], "Q-0001.pdf");
    let url = media["url"].as_str().unwrap().to_owned();
    let response = owner.get(&url).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let pdf = lopdf::Document::load_mem(&bytes).expect("the sent file is the PDF");
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let text = pdf.extract_text(&pages).unwrap();
    assert!(
        text.contains("Q-0001") && text.contains("300.00") && text.contains("Maria"),
        "{text}"
    );
}

#[tokio::test]
async fn a_share_link_opens_the_pdf_without_signing_in_until_replaced_or_stopped() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let ana = create_contact(&owner, &[("name", "Ana")]).await;
    let quote = draft(&owner, "quote", &ana, "USD").await;
    let response = owner
        .post_form(
            &format!("/documents/{quote}"),
            &editor("USD", &[["", "Work", "1", "10", "", ""]]),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/share"), &[])
            .await
            .status(),
        409,
        "drafts are not shared"
    );
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/issue"), &[])
            .await
            .status(),
        303
    );
    let link = |page: &str| -> String {
        let at = page
            .find("/shared/documents/doc_")
            .expect("the link is shown");
        let end = at
            + page[at..]
                .find(|c: char| c == '<' || c.is_whitespace())
                .unwrap();
        format!("{}{}", app.base, &page[at..end])
    };
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/share"), &[])
            .await
            .status(),
        303
    );
    let (_, page) = owner.page(&format!("/documents/{quote}")).await;
    let first = link(&page);
    let response = reqwest::get(&first).await.unwrap();
    assert_eq!(response.status(), 200, "no session needed");
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    let pdf = lopdf::Document::load_mem(&bytes).expect("a PDF");
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    assert!(pdf.extract_text(&pages).unwrap().contains("Q-0001"));

    // A new link replaces the old; stopping ends it; tampering finds nothing.
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/share"), &[])
            .await
            .status(),
        303
    );
    let (_, page) = owner.page(&format!("/documents/{quote}")).await;
    let second = link(&page);
    assert_ne!(first, second);
    assert_eq!(reqwest::get(&first).await.unwrap().status(), 404);
    assert_eq!(reqwest::get(&second).await.unwrap().status(), 200);
    // Another last character (never the one it had).
    let swap = if second.ends_with('A') { 'B' } else { 'A' };
    let tampered = format!("{}{swap}", &second[..second.len() - 1]);
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 404);
    assert_eq!(
        reqwest::get(format!("{}/shared/documents/nonsense", app.base))
            .await
            .unwrap()
            .status(),
        404
    );
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    assert_eq!(
        globex
            .post_form(&format!("/documents/{quote}/unshare"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        reqwest::get(&second).await.unwrap().status(),
        200,
        "another workspace cannot stop it"
    );
    assert_eq!(
        owner
            .post_form(&format!("/documents/{quote}/unshare"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(reqwest::get(&second).await.unwrap().status(), 404);
}
