//! Importing contacts from CSV (owners and admins): upload, map the columns,
//! choose what happens to duplicates, then follow the background job's
//! progress; rows that failed are listed with the reason and downloadable.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::OnDuplicate;
use crate::domain::csv_cell::CsvWriter;
use crate::domain::csv_file::{self, MAX_BYTES};
use crate::error::{AppError, Result};
use crate::features::import::mapping::{self, Field};
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::imports::{Failure, Import};
use crate::infra::jobs;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use crate::web::upload::{read_file, upload_error};

/// Failed rows shown on the page (all of them are in the download).
const FAILURES_SHOWN: i64 = 100;
const FAILURES_DOWNLOADED: i64 = 1_000_000;

#[derive(Template, WebTemplate)]
#[template(path = "contacts/import.html")]
pub struct UploadPage {
    page: Page,
    imports: Vec<Import>,
    max_mb: usize,
}

pub async fn index(mut tenant: Tenant<ManageSettings>) -> Result<UploadPage> {
    let imports = db::imports::recent(&mut tenant.tx, 20).await?;
    tenant.tx.commit().await?;
    Ok(UploadPage {
        page: tenant.page,
        imports,
        max_mb: MAX_BYTES / (1024 * 1024),
    })
}

fn too_large() -> AppError {
    AppError::TooLarge(format!(
        "The file is larger than {} MB. Split it into smaller files and import them one after another.",
        MAX_BYTES / (1024 * 1024)
    ))
}

/// The uploaded file's name and bytes, refused past [`MAX_BYTES`].
async fn read_upload(mut multipart: Multipart) -> Result<(String, Vec<u8>)> {
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| upload_error(e, &too_large))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("contacts.csv").to_owned();
        let bytes = read_file(&mut field, MAX_BYTES, &too_large).await?;
        return Ok((filename, bytes));
    }
    Err(AppError::BadRequest("Choose a CSV file to upload.".into()))
}

pub async fn upload(mut tenant: Tenant<ManageSettings>, multipart: Multipart) -> Result<Redirect> {
    tenant.member.must_be_writable()?;
    let (filename, bytes) = read_upload(multipart).await?;
    let file = csv_file::inspect(&bytes).map_err(AppError::Unprocessable)?;
    let filename: String = filename.chars().take(200).collect();
    let id = db::imports::create(&mut tenant.tx, tenant.member.user_id, &filename, &file).await?;
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/contacts/import/{id}")))
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/import_show.html")]
pub struct ImportPage {
    page: Page,
    import: Import,
    /// For the mapping form: per column, its name and the field chosen.
    columns: Vec<(String, String)>,
    choices: Vec<(String, String)>,
    on_duplicate: String,
    errors: Vec<String>,
    failures: Vec<Failure>,
}

async fn render(
    mut tenant: Tenant<ManageSettings>,
    import: Import,
    chosen: Option<(Vec<String>, String)>,
    errors: Vec<String>,
) -> Result<ImportPage> {
    let defs = db::attributes::list(&mut tenant.tx, Entity::Contact).await?;
    let failures = db::imports::failures(&mut tenant.tx, import.id, FAILURES_SHOWN).await?;
    tenant.tx.commit().await?;
    let (fields, on_duplicate) = match chosen {
        Some(chosen) => chosen,
        None => (
            import
                .mapping
                .clone()
                .unwrap_or_else(|| mapping::guess(&import.columns, &defs)),
            import.on_duplicate.to_string(),
        ),
    };
    let columns = import
        .columns
        .iter()
        .cloned()
        .zip(fields.into_iter().chain(std::iter::repeat(String::new())))
        .collect();
    Ok(ImportPage {
        page: tenant.page,
        columns,
        choices: mapping::choices(&defs),
        on_duplicate,
        errors,
        failures,
        import,
    })
}

pub async fn show(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<ImportPage> {
    let import = db::imports::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    render(tenant, import, None, vec![]).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MappingForm {
    /// One per column, in order: a field name or empty to skip the column.
    map: Vec<String>,
    on_duplicate: String,
}

pub async fn start(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<MappingForm>,
) -> Result<Response> {
    let import = db::imports::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tenant.member.must_be_writable()?;
    if !import.status.is_mapping() {
        return Ok(Redirect::to(&format!("/contacts/import/{}", import.id)).into_response());
    }
    let defs = db::attributes::list(&mut tenant.tx, Entity::Contact).await?;
    let mut errors = vec![];
    let fields = match mapping::check(&form.map, &import.columns, &defs) {
        Ok(fields) => fields,
        Err(e) => {
            errors = e;
            vec![]
        }
    };
    let on_duplicate = OnDuplicate::parse(form.on_duplicate.trim()).unwrap_or_else(|| {
        errors.push("Duplicates: choose to skip them or to update the existing contacts.".into());
        OnDuplicate::Skip
    });
    if !errors.is_empty() {
        let chosen = (form.map.clone(), form.on_duplicate.clone());
        let page = render(tenant, import, Some(chosen), errors).await?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let stored: Vec<String> = fields
        .iter()
        .map(|f| f.as_ref().map(Field::value).unwrap_or_default())
        .collect();
    if db::imports::start(&mut tenant.tx, import.id, &stored, on_duplicate).await? {
        let job = crate::features::import::run::ImportContacts {
            org_id: tenant.member.org_id,
            import_id: import.id,
        };
        jobs::enqueue(tenant.tx.conn(), &state.secrets, &job).await?;
    }
    tenant.tx.commit().await?;
    Ok(Redirect::to(&format!("/contacts/import/{}", import.id)).into_response())
}

/// The failed rows as CSV: the file's columns, then the row number and the reason.
pub async fn failed_rows(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
) -> Result<Response> {
    let import = db::imports::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let failures = db::imports::failures(&mut tenant.tx, import.id, FAILURES_DOWNLOADED).await?;
    tenant.tx.commit().await?;
    // The file's rows as they came: some shorter or longer than its header.
    let mut writer = CsvWriter::flexible(vec![]);
    let mut header = import.columns.clone();
    header.extend(["row".to_owned(), "error".to_owned()]);
    writer.write_record(&header).map_err(anyhow::Error::from)?;
    for failure in failures {
        let mut record = failure.raw;
        record.extend([failure.row_number.to_string(), failure.reason]);
        writer.write_record(&record).map_err(anyhow::Error::from)?;
    }
    let bytes = writer.into_inner()?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"failed-rows-{}.csv\"", import.id),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}
