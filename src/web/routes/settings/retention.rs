//! Message retention (owners, on the workspace settings page): keep
//! messages forever or a number of days; `crate::features::retention` deletes older
//! ones.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::workspace::{RetentionField, render};
use crate::domain::retention::parse_setting;
use crate::error::Result;
use crate::features::audit;
use crate::infra::db;
use crate::infra::tenancy::capability::OwnWorkspace;
use crate::infra::tenancy::member::Tenant;
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RetentionForm {
    /// `forever` or `days`.
    keep: String,
    days: String,
}

#[tracing::instrument(skip_all, fields(org_id = %tenant.member.org_id))]
pub async fn update(
    mut tenant: Tenant<OwnWorkspace>,
    HtmlForm(form): HtmlForm<RetentionForm>,
) -> Result<Response> {
    let days = match parse_setting(&form.keep, &form.days) {
        Ok(days) => days,
        Err(reason) => {
            let typed = RetentionField {
                keep_days: form.keep == "days",
                days: form.days,
                errors: vec![reason],
            };
            return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, typed).await;
        }
    };
    let was = db::orgs::retention_days(&mut tenant.tx).await?;
    if was != days {
        db::orgs::set_retention_days(&mut tenant.tx, days).await?;
        let kept = days.map_or_else(|| "off".to_owned(), |d| d.days().to_string());
        audit::record(
            &mut tenant.tx,
            &tenant.member.actor(),
            "settings.retention_changed",
            "",
            &[("retention_days", &kept)],
        )
        .await?;
    }
    tenant.tx.commit().await?;
    let said = match days {
        Some(days) => format!(
            "Messages are kept {} days: older ones and their files are deleted within minutes, for good.",
            days.days()
        ),
        None => "Messages are kept forever.".to_owned(),
    };
    tenant.session.flash(FlashKind::Success, said).await?;
    Ok(Redirect::to("/settings").into_response())
}
