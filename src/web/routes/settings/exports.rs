//! Data exports (owners): ask for an archive of the whole workspace, or of
//! one contact's data; watch it being built; download it for 7 days.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{ExportScope, ExportState};
use crate::error::{AppError, Result};
use crate::features::audit;
use crate::features::export;
use crate::infra::db;
use crate::infra::db::exports::{Export, Scope};
use crate::infra::jobs;
use crate::infra::tenancy::capability::OwnWorkspace;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "settings/exports.html")]
struct ExportsPage {
    page: Page,
    exports: Vec<Export>,
    time_zone: String,
    now: OffsetDateTime,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/export_row.html")]
struct ExportRow {
    export: Export,
    time_zone: String,
    now: OffsetDateTime,
}

/// Shared by the page and the row the page polls.
trait ShowsExports {
    fn time_zone(&self) -> &str;

    fn when(&self, at: &OffsetDateTime) -> String {
        crate::domain::local_time::shown(*at, self.time_zone())
    }

    fn size(export: &Export) -> String {
        let Some(bytes) = export.size_bytes else {
            return String::new();
        };
        match bytes {
            b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / f64::from(1u32 << 30)),
            b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
            b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
            b => format!("{b} bytes"),
        }
    }

    fn what(export: &Export) -> String {
        match export.scope {
            ExportScope::Contact => format!("Contact: {}", export.contact_name),
            ExportScope::Workspace => "Whole workspace".to_owned(),
        }
    }
}

impl ShowsExports for ExportsPage {
    fn time_zone(&self) -> &str {
        &self.time_zone
    }
}

impl ShowsExports for ExportRow {
    fn time_zone(&self) -> &str {
        &self.time_zone
    }
}

pub async fn index(mut tenant: Tenant<OwnWorkspace>) -> Result<Response> {
    let exports = db::exports::list(&mut tenant.tx).await?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok(ExportsPage {
        page: tenant.page,
        exports,
        time_zone,
        now: OffsetDateTime::now_utc(),
    }
    .into_response())
}

/// One export's row (polled while it is being built).
pub async fn row(mut tenant: Tenant<OwnWorkspace>, PathId(id): PathId) -> Result<Response> {
    let export = db::exports::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let time_zone = db::orgs::time_zone(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok(ExportRow {
        export,
        time_zone,
        now: OffsetDateTime::now_utc(),
    }
    .into_response())
}

/// Queues the export and records who asked.
async fn queue(
    state: &AppState,
    tenant: &mut Tenant<OwnWorkspace>,
    scope: Scope<'_>,
) -> Result<Uuid> {
    let (action, target, contact_id) = match &scope {
        Scope::Workspace => ("data.export_requested", String::new(), None),
        Scope::Contact { id, .. } => ("data.contact_export_requested", id.to_string(), Some(*id)),
    };
    let member = tenant.member.clone();
    let export_id =
        db::exports::insert(&mut tenant.tx, member.user_id, &member.user_email, scope).await?;
    let job = crate::features::export::BuildExport {
        org_id: member.org_id,
        export_id,
    };
    jobs::enqueue(tenant.tx.conn(), &state.secrets, &job).await?;
    let export = export_id.to_string();
    let mut details = vec![("export", export.as_str())];
    let contact = contact_id.map(|id| id.to_string());
    if let Some(contact) = &contact {
        details.push(("contact", contact));
    }
    audit::record(&mut tenant.tx, &member.actor(), action, &target, &details).await?;
    Ok(export_id)
}

pub async fn create(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
) -> Result<Response> {
    if db::exports::workspace_export_in_progress(&mut tenant.tx).await? {
        return Err(AppError::Conflict(
            "An export of the workspace is already being built; it is listed in Settings → Data exports.".into(),
        ));
    }
    queue(&state, &mut tenant, Scope::Workspace).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            "The export is being built. You can leave this page; it stays here for 7 days.",
        )
        .await?;
    Ok(Redirect::to("/settings/exports").into_response())
}

/// A subject access request: one contact's data.
pub async fn create_for_contact(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
    PathId(id): PathId,
) -> Result<Response> {
    let contact = db::contacts::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = if contact.name.is_empty() {
        contact
            .phone
            .clone()
            .or(contact.email.clone())
            .unwrap_or_default()
    } else {
        contact.name.clone()
    };
    queue(
        &state,
        &mut tenant,
        Scope::Contact {
            id: contact.id,
            name: &name,
        },
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        // Not naming them: a flash rests in the session store until shown.
        .flash(
            FlashKind::Success,
            "The export of the contact's data is being built.",
        )
        .await?;
    Ok(Redirect::to("/settings/exports").into_response())
}

/// The archive, streamed from disk.
pub async fn download(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
    PathId(id): PathId,
) -> Result<Response> {
    let export = db::exports::find(&mut tenant.tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if export.state == ExportState::Expired
        || (export.state == ExportState::Done && !export.downloadable(OffsetDateTime::now_utc()))
    {
        return Err(AppError::Gone(
            "This export has expired (exports are kept 7 days). Make a new one.".into(),
        ));
    }
    if export.state != ExportState::Done {
        return Err(AppError::Conflict("This export is not ready yet.".into()));
    }
    let path = export::archive_path(&state.config, tenant.member.org_id, export.id);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::Gone(
                "This export's file is no longer here. Make a new one.".into(),
            ));
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let export_id = export.id.to_string();
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "data.export_downloaded",
        "",
        &[("export", &export_id)],
    )
    .await?;
    tenant.tx.commit().await?;
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    if let Some(size) = export.size_bytes {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    let disposition = format!(
        "attachment; filename=\"{}\"",
        export::download_name(&export)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
