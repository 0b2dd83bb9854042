//! Erasing a contact on their request (owners): everything about them goes
//! (see `crate::features::erasure`); the audit log keeps the counts.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::{AppError, Result};
use crate::features::audit;
use crate::features::erasure;
use crate::features::export;
use crate::infra::tenancy::capability::OwnWorkspace;
use crate::infra::tenancy::member::Tenant;
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

/// What the owner types to confirm.
const CONFIRMATION: &str = "ERASE";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EraseForm {
    confirm: String,
}

pub async fn erase(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
    PathId(contact_id): PathId,
    HtmlForm(form): HtmlForm<EraseForm>,
) -> Result<Response> {
    if form.confirm.trim() != CONFIRMATION {
        crate::infra::db::contacts::find(&mut tenant.tx, contact_id)
            .await?
            .ok_or(AppError::NotFound)?;
        return Err(AppError::Unprocessable(format!(
            "Type {CONFIRMATION} to confirm: erasing cannot be undone."
        )));
    }
    let erased = match erasure::erase_contact(&mut tenant.tx, contact_id).await {
        Ok(Some(erased)) => erased,
        Ok(None) => return Err(AppError::NotFound),
        Err(e @ erasure::CannotErase::ImportRunning) => {
            return Err(AppError::Conflict(e.to_string()));
        }
        Err(erasure::CannotErase::Failed(e)) => return Err(AppError::Internal(e)),
    };
    let details = erased.details();
    let details: Vec<(&str, &str)> = details.iter().map(|(k, v)| (*k, v.as_str())).collect();
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "data.contact_erased",
        &contact_id.to_string(),
        &details,
    )
    .await?;
    tenant.tx.commit().await?;
    for export_id in &erased.exports {
        export::remove_archive(&state.config, tenant.member.org_id, *export_id)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    crate::features::retention::remove_unshared_files(&state.env(), erased.files.clone()).await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!(
                "The contact was erased: {} conversation(s), {} message(s), {} note(s) and {} file(s) with them.",
                erased.conversations, erased.messages, erased.notes, erased.media
            ),
        )
        .await?;
    Ok(Redirect::to("/contacts").into_response())
}
