//! Sales reports: a pipeline's value by stage, won revenue and order revenue
//! by month (in the workspace's time zone), invoices due and overdue, each
//! as a table and an SVG bar chart per currency, and each as a CSV download. Every member may see
//! them: they sum the deals and orders every member can already list.

mod csv;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use crate::domain::{StageOutcome, money};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::pipelines::Pipeline;
use crate::infra::db::reports::{MonthValue, OpenInvoice, StageValue};
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::bar_chart::{self, BarChart, Item};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(show))
        .route("/reports/pipeline.csv", get(csv::pipeline))
        .route("/reports/won.csv", get(csv::won))
        .route("/reports/orders.csv", get(csv::orders))
        .route("/reports/invoices.csv", get(csv::invoices))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportQuery {
    /// A pipeline's id; anything else (or another workspace's) means the
    /// first pipeline, as on the deals board and list.
    pipeline: String,
}

/// One currency's figures in a row of a report.
#[derive(Debug, Clone)]
pub struct Cell {
    pub currency: String,
    pub count: i64,
    pub value: Decimal,
}

impl Cell {
    /// "BRL 1,234.50".
    pub fn amount(&self) -> String {
        money::shown(self.value, &self.currency)
    }
}

/// A stage with its deals, a cell per currency of the pipeline.
#[derive(Debug, Clone)]
pub struct StageRow {
    pub id: Uuid,
    pub name: String,
    pub outcome: StageOutcome,
    pub deals: i64,
    pub cells: Vec<Cell>,
}

/// A month with a cell per currency.
#[derive(Debug, Clone)]
pub struct MonthRow {
    pub month: Date,
    pub cells: Vec<Cell>,
}

impl MonthRow {
    /// "2026-09": ids and CSV.
    pub fn key(&self) -> String {
        format!("{}-{:02}", self.month.year(), u8::from(self.month.month()))
    }

    /// "Sep 2026".
    pub fn label(&self) -> String {
        let name = self.month.month().to_string();
        format!("{} {}", name.get(..3).unwrap_or(&name), self.month.year())
    }
}

/// Currencies in the order given, each once.
fn currencies_of<'a>(codes: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = vec![];
    for code in codes {
        if !seen.iter().any(|c| c == code) {
            seen.push(code.to_owned());
        }
    }
    seen
}

/// The stages in order, each with a cell for every currency the pipeline's
/// deals use (zero where a stage has none in it).
pub fn stage_rows(values: &[StageValue]) -> (Vec<String>, Vec<StageRow>) {
    let mut currencies = currencies_of(values.iter().filter_map(|v| v.currency.as_deref()));
    currencies.sort();
    let mut rows: Vec<StageRow> = vec![];
    for value in values {
        if rows.last().is_none_or(|r| r.id != value.stage_id) {
            rows.push(StageRow {
                id: value.stage_id,
                name: value.stage_name.clone(),
                outcome: value.outcome,
                deals: 0,
                cells: currencies
                    .iter()
                    .map(|c| Cell {
                        currency: c.clone(),
                        count: 0,
                        value: Decimal::ZERO,
                    })
                    .collect(),
            });
        }
        let (Some(row), Some(currency)) = (rows.last_mut(), value.currency.as_deref()) else {
            continue;
        };
        row.deals += value.deals;
        if let Some(cell) = row.cells.iter_mut().find(|c| c.currency == currency) {
            cell.count = value.deals;
            cell.value = value.value;
        }
    }
    (currencies, rows)
}

/// The months in order, each with a cell for every currency (the query
/// gives every month for every currency).
pub fn month_rows(values: &[MonthValue]) -> (Vec<String>, Vec<MonthRow>) {
    let currencies = currencies_of(values.iter().map(|v| v.currency.as_str()));
    let mut rows: Vec<MonthRow> = vec![];
    for value in values {
        let cell = Cell {
            currency: value.currency.clone(),
            count: value.count,
            value: value.value,
        };
        match rows.iter_mut().find(|r| r.month == value.month) {
            Some(row) => row.cells.push(cell),
            None => rows.push(MonthRow {
                month: value.month,
                cells: vec![cell],
            }),
        }
    }
    rows.sort_by_key(|r| r.month);
    (currencies, rows)
}

/// One chart per currency: a bar per row, labelled by `label`.
fn charts_per_currency<R>(
    id: &str,
    title: &str,
    currencies: &[String],
    rows: &[R],
    label: impl Fn(&R) -> String,
    cells: impl Fn(&R) -> &[Cell],
) -> Vec<BarChart> {
    currencies
        .iter()
        .map(|currency| {
            let items = rows
                .iter()
                .filter_map(|row| {
                    let cell = cells(row).iter().find(|c| &c.currency == currency)?;
                    Some(Item {
                        label: label(row),
                        value: cell.value,
                        amount: cell.amount(),
                    })
                })
                .collect();
            bar_chart::horizontal(
                &format!("{id}-{currency}"),
                &format!("{title}, {currency}"),
                items,
            )
        })
        .collect()
}

/// The workspace's pipelines and the one asked for (the first otherwise).
async fn chosen_pipeline(
    tx: &mut TenantTx,
    query: &ReportQuery,
) -> Result<(Vec<Pipeline>, Pipeline)> {
    let pipelines = db::pipelines::pipelines(tx).await?;
    let pipeline = pipelines
        .iter()
        .find(|p| p.id.to_string() == query.pipeline.trim())
        .or(pipelines.first())
        .cloned()
        .ok_or(AppError::NotFound)?;
    Ok((pipelines, pipeline))
}

/// A monthly report: its currencies, rows and charts.
struct MonthReport {
    currencies: Vec<String>,
    rows: Vec<MonthRow>,
    charts: Vec<BarChart>,
}

impl MonthReport {
    fn of(values: &[MonthValue], id: &str, title: &str) -> MonthReport {
        let (currencies, rows) = month_rows(values);
        let charts =
            charts_per_currency(id, title, &currencies, &rows, MonthRow::label, |r| &r.cells);
        MonthReport {
            currencies,
            rows,
            charts,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/index.html")]
struct ReportsPage {
    page: Page,
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    stage_currencies: Vec<String>,
    stages: Vec<StageRow>,
    stage_charts: Vec<BarChart>,
    won: MonthReport,
    orders: MonthReport,
    time_zone: String,
    invoices: InvoiceReport,
}

/// Invoices to be paid: each, and per currency how many and how much are
/// overdue and due.
pub(super) struct InvoiceReport {
    pub today: Date,
    pub invoices: Vec<OpenInvoice>,
    /// `(currency, overdue count, overdue amount, due count, due amount)`.
    pub sums: Vec<(String, i64, String, i64, String)>,
    pub charts: Vec<BarChart>,
}

impl InvoiceReport {
    pub(super) fn of(invoices: Vec<OpenInvoice>, today: Date) -> InvoiceReport {
        let mut currencies: Vec<String> = invoices.iter().map(|i| i.currency.clone()).collect();
        currencies.sort();
        currencies.dedup();
        let mut sums = vec![];
        let mut charts = vec![];
        for currency in currencies {
            let of = |late: bool| {
                invoices
                    .iter()
                    .filter(|i| i.currency == currency && i.overdue(today) == late)
                    .fold((0i64, Decimal::ZERO), |(n, sum), i| (n + 1, sum + i.total))
            };
            let (late_count, late_sum) = of(true);
            let (due_count, due_sum) = of(false);
            let shown = |v| money::shown(v, &currency);
            charts.push(bar_chart::horizontal(
                &format!("invoices-chart-{currency}"),
                &format!("Invoices to be paid, {currency}"),
                vec![
                    Item {
                        label: "Overdue".to_owned(),
                        value: late_sum,
                        amount: shown(late_sum),
                    },
                    Item {
                        label: "Due".to_owned(),
                        value: due_sum,
                        amount: shown(due_sum),
                    },
                ],
            ));
            sums.push((
                currency.clone(),
                late_count,
                shown(late_sum),
                due_count,
                shown(due_sum),
            ));
        }
        InvoiceReport {
            today,
            invoices,
            sums,
            charts,
        }
    }

    fn overdue(&self, invoice: &OpenInvoice) -> bool {
        invoice.overdue(self.today)
    }

    fn amount(invoice: &OpenInvoice) -> String {
        crate::domain::money::shown(invoice.total, &invoice.currency)
    }
}

/// Today in `time_zone`.
pub(super) fn today_in(time_zone: &str) -> Date {
    let now = time::OffsetDateTime::now_utc();
    crate::domain::local_time::input_value(now, time_zone)
        .get(..10)
        .and_then(|d| {
            Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
        })
        .unwrap_or(now.date())
}

#[tracing::instrument(skip_all, fields(org_id = %tenant.member.org_id))]
async fn show(mut tenant: Tenant, Query(query): Query<ReportQuery>) -> Result<Response> {
    let (pipelines, pipeline) = chosen_pipeline(&mut tenant.tx, &query).await?;
    let stage_values = db::reports::pipeline_by_stage(&mut tenant.tx, pipeline.id).await?;
    let time_zone = db::reports::report_zone(&mut tenant.tx).await?;
    let won = db::reports::won_by_month(&mut tenant.tx, &time_zone).await?;
    let orders = db::reports::orders_by_month(&mut tenant.tx, &time_zone).await?;
    let open_invoices = db::reports::open_invoices(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    let invoices = InvoiceReport::of(open_invoices, today_in(&time_zone));
    let (stage_currencies, stages) = stage_rows(&stage_values);
    let stage_charts = charts_per_currency(
        "pipeline-chart",
        &format!("Value by stage in {}", pipeline.name),
        &stage_currencies,
        &stages,
        |s| s.name.clone(),
        |s| &s.cells,
    );
    Ok(ReportsPage {
        page: tenant.page,
        pipelines,
        pipeline,
        stage_currencies,
        stages,
        stage_charts,
        won: MonthReport::of(&won, "won-chart", "Won revenue by month"),
        orders: MonthReport::of(&orders, "orders-chart", "Order revenue by month"),
        time_zone,
        invoices,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn stage(id: u128, name: &str, currency: Option<&str>, deals: i64, value: &str) -> StageValue {
        StageValue {
            stage_id: Uuid::from_u128(id),
            stage_name: name.to_owned(),
            outcome: StageOutcome::Open,
            currency: currency.map(str::to_owned),
            deals,
            value: value.parse().unwrap(),
        }
    }

    #[test]
    fn stages_keep_their_order_and_currencies_stay_apart() {
        let (currencies, rows) = stage_rows(&[
            stage(2, "Lead", Some("USD"), 1, "99.99"),
            stage(2, "Lead", Some("BRL"), 2, "1234.60"),
            stage(1, "Won", None, 0, "0"),
        ]);
        assert_eq!(currencies, ["BRL", "USD"]);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Lead", "Won"]);
        assert_eq!(rows[0].deals, 3);
        assert_eq!(rows[0].cells[0].amount(), "BRL 1,234.60");
        assert_eq!(rows[0].cells[1].amount(), "USD 99.99");
        assert_eq!(rows[1].deals, 0);
        assert_eq!(rows[1].cells[1].amount(), "USD 0.00");
    }

    #[test]
    fn months_get_a_cell_per_currency_in_order() {
        let month = |m: Date, currency: &str, value: &str| MonthValue {
            month: m,
            currency: currency.to_owned(),
            count: 1,
            value: value.parse().unwrap(),
        };
        let (currencies, rows) = month_rows(&[
            month(date!(2026 - 10 - 01), "BRL", "10"),
            month(date!(2026 - 11 - 01), "BRL", "0"),
            month(date!(2026 - 10 - 01), "EUR", "5.5"),
            month(date!(2026 - 11 - 01), "EUR", "1"),
        ]);
        assert_eq!(currencies, ["BRL", "EUR"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].key(), "2026-10");
        assert_eq!(rows[0].label(), "Oct 2026");
        assert_eq!(rows[0].cells[1].amount(), "EUR 5.50");
        let charts = charts_per_currency("won", "Won", &currencies, &rows, MonthRow::label, |r| {
            &r.cells
        });
        assert_eq!(charts.len(), 2);
        assert_eq!(charts[1].id, "won-EUR");
        assert_eq!(charts[1].bars[1].amount, "EUR 1.00");
    }
}
