//! Sales reports: the pipeline's value by stage, won revenue by month in
//! the workspace's time zone, order revenue by month, invoices due and
//! overdue; each page table and CSV checked against sums computed here
//! from the rows, per currency, to the cent; each workspace sees only its
//! own; a bad pipeline falls back.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};
use uuid::Uuid;

use crate::support::*;
use wacrm::domain::money::shown;

async fn create_deal(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form("/deals", fields).await;
    assert_eq!(response.status(), 303, "creating {fields:?}");
    location(&response)
        .strip_prefix("/deals/")
        .unwrap()
        .to_owned()
}

/// The workspace's stage ids by name (its default pipeline exists once a
/// deals or reports page was seen).
async fn stage_ids(app: &TestApp, org: &str) -> BTreeMap<String, String> {
    let org_id = app.org_id(org).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("select name, id::text from pipeline_stages where org_id = $1")
            .bind(org_id)
            .fetch_all(&mut app.admin_conn().await)
            .await
            .unwrap();
    rows.into_iter().collect()
}

async fn move_deal(browser: &Browser, deal: &str, stage: &str, reason: &str) {
    let response = browser
        .post_form(
            &format!("/deals/{deal}/stage"),
            &[("stage", stage), ("lost_reason", reason)],
        )
        .await;
    assert_eq!(response.status(), 303, "moving {deal}");
}

async fn set_zone(owner: &Browser, zone: &str) {
    let response = owner
        .post_form(
            "/settings",
            &[("name", "Acme"), ("time_zone", zone), ("agents_see", "all")],
        )
        .await;
    assert_eq!(response.status(), 303, "zone {zone}");
}

/// The text of the element with this id (a table cell).
fn cell(page: &str, id: &str) -> String {
    let open = format!("id=\"{id}\">");
    let at = page
        .find(&open)
        .unwrap_or_else(|| panic!("no #{id} in {page}"))
        + open.len();
    page[at..at + page[at..].find('<').unwrap()].to_owned()
}

/// A CSV download's records (header first), after checking it is one.
async fn csv(browser: &Browser, path: &str) -> Vec<Vec<String>> {
    let response = browser.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
        "{path}"
    );
    let body = response.text().await.unwrap();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The first day of the month `back` months before this one (UTC calendar).
fn month_start(back: i32) -> Date {
    let today = OffsetDateTime::now_utc().date();
    let index = today.year() * 12 + i32::from(u8::from(today.month())) - 1 - back;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap()).unwrap();
    Date::from_calendar_date(index.div_euclid(12), month, 1).unwrap()
}

fn key(month: Date) -> String {
    format!("{}-{:02}", month.year(), u8::from(month.month()))
}

fn at(date: Date, hour: u8) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::from_hms(hour, 0, 0).unwrap()).assume_utc()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[tokio::test]
async fn pipeline_report_matches_the_deals_per_stage_and_currency() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (status, page) = owner.page("/reports").await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/reports\""), "the nav links here");
    assert!(page.contains("No deals in this pipeline yet."), "{page}");
    let stages = stage_ids(&app, "Acme").await;
    let ana = create_contact(&owner, &[("name", "Ana")]).await;
    for (title, value, currency, stage) in [
        ("Big", "1234,5", "brl", "Lead"),
        ("Small", "0.10", "BRL", "Lead"),
        ("Dollars", "99.99", "USD", "Lead"),
        ("Euros", "500", "EUR", "Qualified"),
        ("Proposal", "10.01", "BRL", "Proposal"),
        ("To win", "250.25", "BRL", "Lead"),
        ("To lose", "7", "USD", "Lead"),
    ] {
        let deal = create_deal(
            &owner,
            &[
                ("title", title),
                ("value", value),
                ("currency", currency),
                ("stage", &stages[stage]),
                ("contact", &ana),
            ],
        )
        .await;
        match title {
            "To win" => move_deal(&owner, &deal, &stages["Won"], "").await,
            "To lose" => move_deal(&owner, &deal, &stages["Lost"], "Price").await,
            _ => {}
        }
    }

    // Every stage and currency of the pipeline, zeros included, summed here.
    let expected: Vec<(String, String, String, i64, String)> = sqlx::query_as(
        "select s.id::text, s.name, c.currency, count(d.id), \
           coalesce(sum(d.value), 0)::numeric(14, 2)::text \
         from pipeline_stages s cross join (select distinct currency from deals) c \
         left join deals d on d.stage_id = s.id and d.currency = c.currency \
         group by s.id, s.name, s.position, c.currency order by s.position, c.currency",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(expected.len(), 5 * 3, "five stages, three currencies");

    let (status, page) = owner.page("/reports").await;
    assert_eq!(status, 200);
    for (stage_id, _, currency, _, value) in &expected {
        assert_eq!(
            cell(&page, &format!("stage-{stage_id}-{currency}")),
            shown(dec(value), currency),
            "{stage_id} {currency}"
        );
    }
    let lead = &stages["Lead"];
    assert_eq!(cell(&page, &format!("stage-{lead}-BRL")), "BRL 1,234.60");
    assert_eq!(cell(&page, &format!("stage-{lead}-USD")), "USD 99.99");
    assert_eq!(cell(&page, &format!("stage-{lead}-deals")), "3");
    assert_eq!(cell(&page, &format!("stage-{}-deals", stages["Won"])), "1");
    assert_eq!(
        cell(&page, &format!("stage-{}-EUR", stages["Qualified"])),
        "EUR 500.00"
    );
    // A chart per currency, its bars labelled with the amounts.
    for currency in ["BRL", "EUR", "USD"] {
        assert!(
            page.contains(&format!("id=\"pipeline-chart-{currency}\"")),
            "{currency} chart"
        );
    }
    assert!(page.contains("<title>Lead: BRL 1,234.60</title>"), "{page}");
    assert!(!page.contains("style="), "no inline styles (CSP)");

    let records = csv(&owner, "/reports/pipeline.csv").await;
    assert_eq!(
        records[0],
        ["pipeline", "stage", "outcome", "currency", "deals", "value"]
    );
    let rows: Vec<(String, String, i64, String)> = records[1..]
        .iter()
        .map(|r| {
            assert_eq!(r[0], "Sales");
            (
                r[1].clone(),
                r[3].clone(),
                r[4].parse().unwrap(),
                r[5].clone(),
            )
        })
        .collect();
    let wanted: Vec<(String, String, i64, String)> = expected
        .into_iter()
        .map(|(_, name, currency, deals, value)| (name, currency, deals, value))
        .collect();
    assert_eq!(rows, wanted, "the CSV holds the same figures");
}

#[tokio::test]
async fn won_revenue_lands_in_the_month_of_the_workspace_zone() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    set_zone(&owner, "UTC").await;
    owner.page("/deals").await;
    let stages = stage_ids(&app, "Acme").await;
    let boundary = month_start(3);
    let before = month_start(4);
    let after = month_start(2);
    // title, value, currency, stage, closed at (UTC).
    let deals = [
        // 02:00 UTC on the 1st is still the month before in São Paulo.
        ("Boundary", "100.00", "BRL", "Won", at(boundary, 2)),
        (
            "Mid-month",
            "50.05",
            "BRL",
            "Won",
            at(boundary.replace_day(15).unwrap(), 12),
        ),
        (
            "Dollars",
            "20",
            "USD",
            "Won",
            at(after.replace_day(15).unwrap(), 12),
        ),
        (
            "Lost one",
            "999",
            "BRL",
            "Lost",
            at(boundary.replace_day(10).unwrap(), 12),
        ),
        (
            "Too old",
            "300",
            "EUR",
            "Won",
            at(month_start(14).replace_day(15).unwrap(), 12),
        ),
    ];
    let mut admin = app.admin_conn().await;
    for (title, value, currency, stage, closed_at) in deals {
        let id = create_deal(
            &owner,
            &[("title", title), ("value", value), ("currency", currency)],
        )
        .await;
        move_deal(&owner, &id, &stages[stage], "Timing").await;
        sqlx::query("update deals set closed_at = $2 where id = $1")
            .bind(Uuid::parse_str(&id).unwrap())
            .bind(closed_at)
            .execute(&mut admin)
            .await
            .unwrap();
    }

    let (status, page) = owner.page("/reports").await;
    assert_eq!(status, 200);
    assert_eq!(
        cell(&page, &format!("won-{}-BRL", key(boundary))),
        "BRL 150.05"
    );
    assert_eq!(cell(&page, &format!("won-{}-BRL", key(before))), "BRL 0.00");

    set_zone(&owner, "America/Sao_Paulo").await;
    let (status, page) = owner.page("/reports").await;
    assert_eq!(status, 200);
    assert!(page.contains("America/Sao_Paulo"));
    assert_eq!(
        cell(&page, &format!("won-{}-BRL", key(before))),
        "BRL 100.00"
    );
    assert_eq!(cell(&page, &format!("won-{}-BRL-deals", key(before))), "1");
    assert_eq!(
        cell(&page, &format!("won-{}-BRL", key(boundary))),
        "BRL 50.05"
    );
    assert_eq!(cell(&page, &format!("won-{}-BRL", key(after))), "BRL 0.00");
    assert_eq!(cell(&page, &format!("won-{}-USD", key(after))), "USD 20.00");
    // Too old for the monthly report (the pipeline report still counts it).
    assert!(
        !page.contains("EUR deals") && !page.contains("won-chart-EUR"),
        "older than twelve months: {page}"
    );
    assert!(page.contains("id=\"won-chart-BRL\"") && page.contains("id=\"won-chart-USD\""));

    let records = csv(&owner, "/reports/won.csv").await;
    assert_eq!(records[0], ["month", "currency", "deals", "revenue"]);
    assert_eq!(records.len(), 1 + 12 * 2, "twelve months for each currency");
    let mut by_cell: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &records[1..] {
        by_cell.insert((r[0].clone(), r[1].clone()), (r[2].clone(), r[3].clone()));
        *totals.entry(r[1].clone()).or_default() += dec(&r[3]);
    }
    let get = |month: Date, currency: &str| by_cell[&(key(month), currency.to_owned())].clone();
    assert_eq!(get(before, "BRL"), ("1".to_owned(), "100.00".to_owned()));
    assert_eq!(get(boundary, "BRL"), ("1".to_owned(), "50.05".to_owned()));
    assert_eq!(get(after, "USD"), ("1".to_owned(), "20.00".to_owned()));
    assert_eq!(get(after, "BRL"), ("0".to_owned(), "0.00".to_owned()));
    // The won deals of the last twelve months, summed here per currency.
    let won: Vec<(String, String)> = sqlx::query_as(
        "select d.currency, sum(d.value)::text from deals d \
         join pipeline_stages s on s.id = d.stage_id \
         where s.outcome = 'won' and d.closed_at > now() - interval '13 months' \
         group by d.currency order by d.currency",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let won: BTreeMap<String, Decimal> = won.into_iter().map(|(c, v)| (c, dec(&v))).collect();
    assert_eq!(totals, won);
}

/// An order of Acme's, made directly (the cart flow is tested in orders).
async fn insert_order(
    app: &TestApp,
    org: &str,
    number: i64,
    status: &str,
    currency: &str,
    total: &str,
    created_at: OffsetDateTime,
) {
    let org_id = app.org_id(org).await;
    sqlx::query(
        "insert into orders (org_id, id, number, source, status, currency, total, created_at) \
         values ($1, gen_random_uuid(), $2, 'manual', $3, $4, $5::numeric, $6)",
    )
    .bind(org_id)
    .bind(number)
    .bind(status)
    .bind(currency)
    .bind(total)
    .bind(created_at)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
}

#[tokio::test]
async fn order_revenue_by_month_leaves_out_cancelled_orders() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (_, page) = owner.page("/reports").await;
    assert!(page.contains("No orders in the last 12 months."));
    let last = month_start(1).replace_day(15).unwrap();
    let earlier = month_start(2).replace_day(15).unwrap();
    insert_order(&app, "Acme", 1, "new", "BRL", "19.90", at(last, 12)).await;
    insert_order(&app, "Acme", 2, "fulfilled", "BRL", "35.00", at(last, 13)).await;
    insert_order(&app, "Acme", 3, "cancelled", "BRL", "1000.00", at(last, 14)).await;
    insert_order(
        &app,
        "Acme",
        4,
        "confirmed",
        "USD",
        "12.34",
        at(earlier, 12),
    )
    .await;

    let expected: Vec<(String, String, i64, String)> = sqlx::query_as(
        "select to_char(created_at at time zone 'UTC', 'YYYY-MM'), currency, count(*), \
           sum(total)::text from orders where status <> 'cancelled' group by 1, 2 order by 1, 2",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(expected.len(), 2);
    let (status, page) = owner.page("/reports").await;
    assert_eq!(status, 200);
    for (month, currency, count, total) in &expected {
        assert_eq!(
            cell(&page, &format!("orders-{month}-{currency}")),
            shown(dec(total), currency)
        );
        assert_eq!(
            cell(&page, &format!("orders-{month}-{currency}-orders")),
            count.to_string()
        );
    }
    assert_eq!(
        cell(&page, &format!("orders-{}-BRL", key(last))),
        "BRL 54.90"
    );
    assert_eq!(
        cell(&page, &format!("orders-{}-BRL", key(earlier))),
        "BRL 0.00"
    );
    assert!(page.contains("id=\"orders-chart-USD\""));

    let records = csv(&owner, "/reports/orders.csv").await;
    assert_eq!(records[0], ["month", "currency", "orders", "revenue"]);
    let nonzero: Vec<(String, String, i64, String)> = records[1..]
        .iter()
        .filter(|r| r[2] != "0")
        .map(|r| {
            (
                r[0].clone(),
                r[1].clone(),
                r[2].parse().unwrap(),
                r[3].clone(),
            )
        })
        .collect();
    assert_eq!(nonzero, expected);
    assert_eq!(records.len(), 1 + 12 * 2);
}

#[tokio::test]
async fn each_workspace_reports_only_its_own_and_bad_pipelines_fall_back() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    acme.page("/deals").await;
    let stages = stage_ids(&app, "Acme").await;
    create_deal(
        &acme,
        &[("title", "Open"), ("value", "777.77"), ("currency", "BRL")],
    )
    .await;
    let won = create_deal(
        &acme,
        &[("title", "Won"), ("value", "555.55"), ("currency", "BRL")],
    )
    .await;
    move_deal(&acme, &won, &stages["Won"], "").await;
    insert_order(
        &app,
        "Acme",
        1,
        "new",
        "BRL",
        "4321.00",
        at(month_start(1), 12),
    )
    .await;
    let acme_pipeline: String = sqlx::query_scalar("select id::text from pipelines")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();

    // A second pipeline is chosen by its id, and holds none of the first's.
    let response = acme
        .post_form("/settings/pipelines", &[("name", "Wholesale")])
        .await;
    assert_eq!(response.status(), 303);
    let wholesale: String =
        sqlx::query_scalar("select id::text from pipelines where name = 'Wholesale'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    let (status, page) = acme.page(&format!("/reports?pipeline={wholesale}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Pipeline value by stage: Wholesale"));
    assert!(!page.contains("777.77"), "{page}");
    let (_, page) = acme.page("/reports").await;
    assert!(page.contains("Pipeline value by stage: Sales"));
    assert!(page.contains("BRL 777.77"));

    // Bad or foreign ids fall back to the first pipeline, as /deals/list does.
    let (status, page) = acme.page("/reports?pipeline=not-a-uuid").await;
    assert_eq!(status, 200);
    assert!(page.contains("Pipeline value by stage: Sales") && page.contains("BRL 777.77"));
    let records = csv(&acme, "/reports/pipeline.csv?pipeline=not-a-uuid").await;
    assert!(records[1..].iter().all(|r| r[0] == "Sales"));

    let globex = app.sign_up("Gil", "owner@globex.test", "Globex").await;
    for path in [
        "/reports".to_owned(),
        format!("/reports?pipeline={acme_pipeline}"),
    ] {
        let (status, page) = globex.page(&path).await;
        assert_eq!(status, 200, "{path}");
        for figure in ["777.77", "555.55", "4,321.00", "BRL"] {
            assert!(!page.contains(figure), "{path} shows {figure}");
        }
        assert!(!page.contains(&acme_pipeline), "{path}");
        assert!(page.contains("No deals in this pipeline yet."));
        assert!(page.contains("No deals won in the last 12 months."));
        assert!(page.contains("No orders in the last 12 months."));
    }
    let records = csv(
        &globex,
        &format!("/reports/pipeline.csv?pipeline={acme_pipeline}"),
    )
    .await;
    assert_eq!(records.len(), 1 + 5, "Globex's five empty stages");
    assert!(records[1..].iter().all(|r| r[3].is_empty() && r[4] == "0"));
    assert_eq!(csv(&globex, "/reports/won.csv").await.len(), 1);
    assert_eq!(csv(&globex, "/reports/orders.csv").await.len(), 1);
}

#[tokio::test]
async fn invoices_due_and_overdue_match_the_unpaid_invoices() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    set_zone(&owner, "America/Sao_Paulo").await;
    let ana = create_contact(&owner, &[("name", "Ana")]).await;
    let today = (OffsetDateTime::now_utc() - time::Duration::hours(3)).date();
    let day = |days: i64| (today + time::Duration::days(days)).to_string();
    issue_invoice(&owner, &ana, "USD", "100", &day(-1)).await;
    issue_invoice(&owner, &ana, "USD", "60.50", &day(-30)).await;
    issue_invoice(&owner, &ana, "USD", "50", &day(0)).await;
    issue_invoice(&owner, &ana, "EUR", "20", "").await;
    let paid = issue_invoice(&owner, &ana, "USD", "999", &day(-5)).await;
    let void = issue_invoice(&owner, &ana, "USD", "888", &day(-5)).await;
    for (id, state) in [(&paid, "paid"), (&void, "void")] {
        let response = owner
            .post_form(&format!("/documents/{id}/state"), &[("state", state)])
            .await;
        assert_eq!(response.status(), 303);
    }

    let (status, page) = owner.page("/reports").await;
    assert_eq!(status, 200);
    assert_eq!(cell(&page, "overdue-USD-count"), "2");
    assert_eq!(cell(&page, "overdue-USD"), "USD 160.50");
    assert_eq!(cell(&page, "due-USD-count"), "1", "due today is not late");
    assert_eq!(cell(&page, "due-USD"), "USD 50.00");
    assert_eq!(cell(&page, "due-EUR"), "EUR 20.00");
    assert_eq!(cell(&page, "overdue-EUR"), "EUR 0.00");
    assert!(page.contains("invoices-chart-USD") && !page.contains("USD 999.00"));
    // The same figures from the rows themselves.
    let unpaid: Decimal = sqlx::query_scalar(
        "select sum(total) from sales_documents where kind = 'invoice' and state = 'sent' and currency = 'USD'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(unpaid, dec("210.50"));

    let rows = csv(&owner, "/reports/invoices.csv").await;
    assert_eq!(
        rows[0],
        ["invoice", "customer", "due", "status", "currency", "total"]
    );
    let statuses: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[3].as_str(), r[4].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("overdue", "USD", "60.50"),
            ("overdue", "USD", "100.00"),
            ("due", "USD", "50.00"),
            ("due", "EUR", "20.00")
        ]
    );

    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let (_, theirs) = globex.page("/reports").await;
    assert!(!theirs.contains("overdue-USD") && theirs.contains("No invoice is waiting to be paid"));
    assert_eq!(
        csv(&globex, "/reports/invoices.csv").await.len(),
        1,
        "the header only"
    );
}
