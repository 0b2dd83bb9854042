//! The reports as CSV: amounts as plain decimals with two places and a
//! currency column (never summed across currencies). A few dozen rows at
//! most, so they are read first and sent as one chunk (whose writer
//! defuses formulas in names).

use axum::extract::Query;
use axum::response::Response;
use rust_decimal::Decimal;

use super::{ReportQuery, chosen_pipeline, month_rows, stage_rows};
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::reports::MonthValue;
use crate::infra::tenancy::member::Tenant;
use crate::web::csv_download::download;

/// "1234.50".
fn plain(value: Decimal) -> String {
    format!("{:.2}", value.round_dp(2))
}

/// The response, its rows sent from a task as the download helper expects.
fn csv_response(filename: &str, rows: Vec<Vec<String>>) -> Result<Response> {
    let (response, sink) = download(filename)?;
    tokio::spawn(async move {
        sink.send(&rows).await;
    });
    Ok(response)
}

pub async fn pipeline(mut tenant: Tenant, Query(query): Query<ReportQuery>) -> Result<Response> {
    let (_, pipeline) = chosen_pipeline(&mut tenant.tx, &query).await?;
    let values = db::reports::pipeline_by_stage(&mut tenant.tx, pipeline.id).await?;
    tenant.tx.commit().await?;
    let (currencies, stages) = stage_rows(&values);
    let mut rows = vec![
        ["pipeline", "stage", "outcome", "currency", "deals", "value"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for stage in &stages {
        let first = || {
            vec![
                pipeline.name.clone(),
                stage.name.clone(),
                stage.outcome.to_string(),
            ]
        };
        if currencies.is_empty() {
            let mut row = first();
            row.extend([String::new(), "0".to_owned(), plain(Decimal::ZERO)]);
            rows.push(row);
        }
        for cell in &stage.cells {
            let mut row = first();
            row.extend([
                cell.currency.clone(),
                cell.count.to_string(),
                plain(cell.value),
            ]);
            rows.push(row);
        }
    }
    csv_response("pipeline.csv", rows)
}

/// `month,currency,{count},revenue`: every month of the window for every
/// currency with something in it.
fn month_csv(filename: &str, count: &str, values: &[MonthValue]) -> Result<Response> {
    let (_, months) = month_rows(values);
    let mut rows = vec![vec![
        "month".to_owned(),
        "currency".to_owned(),
        count.to_owned(),
        "revenue".to_owned(),
    ]];
    for month in &months {
        for cell in &month.cells {
            rows.push(vec![
                month.key(),
                cell.currency.clone(),
                cell.count.to_string(),
                plain(cell.value),
            ]);
        }
    }
    csv_response(filename, rows)
}

pub async fn won(mut tenant: Tenant) -> Result<Response> {
    let zone = db::reports::report_zone(&mut tenant.tx).await?;
    let values = db::reports::won_by_month(&mut tenant.tx, &zone).await?;
    tenant.tx.commit().await?;
    month_csv("won-revenue.csv", "deals", &values)
}

pub async fn orders(mut tenant: Tenant) -> Result<Response> {
    let zone = db::reports::report_zone(&mut tenant.tx).await?;
    let values = db::reports::orders_by_month(&mut tenant.tx, &zone).await?;
    tenant.tx.commit().await?;
    month_csv("order-revenue.csv", "orders", &values)
}

/// `invoice,customer,due,status,currency,total`: invoices to be paid.
pub async fn invoices(mut tenant: Tenant) -> Result<Response> {
    let zone = db::reports::report_zone(&mut tenant.tx).await?;
    let open = db::reports::open_invoices(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    let today = super::today_in(&zone);
    let mut rows = vec![
        ["invoice", "customer", "due", "status", "currency", "total"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for invoice in &open {
        rows.push(vec![
            format!("INV-{:04}", invoice.number),
            invoice.customer_name.clone(),
            invoice.due.map(|d| d.to_string()).unwrap_or_default(),
            if invoice.overdue(today) {
                "overdue"
            } else {
                "due"
            }
            .to_owned(),
            invoice.currency.clone(),
            plain(invoice.total),
        ]);
    }
    csv_response("invoices.csv", rows)
}
