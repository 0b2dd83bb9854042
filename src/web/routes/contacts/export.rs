//! Contacts as CSV (owners and admins), with the list's filters applied,
//! streamed page by page.

use axum::extract::Query;
use axum::response::Response;

use super::list::{ListParams, list_query};
use crate::domain::attributes::form_values;
use crate::error::Result;
use crate::infra::db;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::Tenant;
use crate::web::csv_download::{CsvSink, download, safe_cell};

const PAGE: i64 = 1000;

pub async fn export(
    tenant: Tenant<ManageSettings>,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    let mut tx = tenant.tx;
    let (mut query, defs) = list_query(&mut tx, &params, PAGE).await?;
    let (response, sink) = download("contacts.csv")?;
    tokio::spawn(async move {
        let mut header: Vec<String> = [
            "id",
            "name",
            "phone",
            "email",
            "company",
            "labels",
            "opted_out",
            "blocked",
            "created_at",
        ]
        .map(str::to_owned)
        .to_vec();
        header.extend(defs.iter().map(|d| d.key.clone()));
        if !sink.send(&[header]).await {
            return;
        }
        loop {
            let page = match db::contacts::list(&mut tx, &query).await {
                Ok(mut page) => {
                    match db::contacts::with_labels(&mut tx, &mut page.contacts).await {
                        Ok(()) => page,
                        Err(e) => return fail(&sink, e).await,
                    }
                }
                Err(e) => return fail(&sink, e).await,
            };
            let rows: Vec<Vec<String>> = page
                .contacts
                .iter()
                .map(|c| {
                    let values = form_values(&defs, &c.attributes);
                    let labels: Vec<&str> = c.labels.iter().map(|l| l.name.as_str()).collect();
                    let mut row = vec![
                        c.id.to_string(),
                        safe_cell(&c.name).into_owned(),
                        // E.164: digits after a `+`, never a formula.
                        c.phone.clone().unwrap_or_default(),
                        safe_cell(c.email.as_deref().unwrap_or("")).into_owned(),
                        safe_cell(c.company_name.as_deref().unwrap_or("")).into_owned(),
                        safe_cell(&labels.join("; ")).into_owned(),
                        c.opted_out.to_string(),
                        c.blocked.to_string(),
                        c.created_at.to_string(),
                    ];
                    row.extend(defs.iter().map(|d| {
                        safe_cell(values.get(&d.field()).map_or("", String::as_str)).into_owned()
                    }));
                    row
                })
                .collect();
            if !sink.send(&rows).await {
                return;
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return,
            }
        }
    });
    Ok(response)
}

async fn fail(sink: &CsvSink, e: sqlx::Error) {
    tracing::error!(error = %e, "contact export failed");
    sink.fail().await;
}
