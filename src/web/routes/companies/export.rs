//! Companies as CSV (owners and admins), with the list's search applied,
//! streamed page by page.

use axum::extract::Query;
use axum::response::Response;

use super::list::ListParams;
use crate::domain::attributes::form_values;
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::keyset::{Cursor, Sort};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::Tenant;
use crate::web::csv_download::{CsvSink, download, safe_cell};

const PAGE: i64 = 1000;

pub async fn export(
    tenant: Tenant<ManageSettings>,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    let sort = Sort::from_param(&params.sort)?;
    let mut after = Cursor::from_param(&params.after, sort)?;
    let q = params.q.trim().to_owned();
    let mut tx = tenant.tx;
    let defs = db::attributes::list(&mut tx, Entity::Company).await?;
    let (response, sink) = download("companies.csv")?;
    tokio::spawn(async move {
        let mut header: Vec<String> = ["id", "name", "domain", "address", "contacts", "created_at"]
            .map(str::to_owned)
            .to_vec();
        header.extend(defs.iter().map(|d| d.key.clone()));
        if !sink.send(&[header]).await {
            return;
        }
        loop {
            let page = match db::companies::list(&mut tx, &q, sort, after.as_ref(), PAGE).await {
                Ok(page) => page,
                Err(e) => return fail(&sink, e).await,
            };
            let rows: Vec<Vec<String>> = page
                .companies
                .iter()
                .map(|c| {
                    let values = form_values(&defs, &c.attributes);
                    let mut row = vec![
                        c.id.to_string(),
                        safe_cell(&c.name).into_owned(),
                        safe_cell(c.domain.as_deref().unwrap_or("")).into_owned(),
                        safe_cell(c.address.as_deref().unwrap_or("")).into_owned(),
                        c.contact_count.to_string(),
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
                Some(next) => after = Some(next),
                None => return,
            }
        }
    });
    Ok(response)
}

async fn fail(sink: &CsvSink, e: sqlx::Error) {
    tracing::error!(error = %e, "company export failed");
    sink.fail().await;
}
