//! Workspace security (owners): require two-factor sign-in of every member,
//! and see who has it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::Result;
use crate::features::audit;
use crate::infra::db;
use crate::infra::db::two_factor::MemberTwoFactor;
use crate::infra::tenancy::capability::OwnWorkspace;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

#[derive(Template, WebTemplate)]
#[template(path = "settings/security.html")]
struct SecurityPage {
    page: Page,
    errors: Vec<String>,
    required: bool,
    members: Vec<MemberTwoFactor>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecurityForm {
    require_two_factor: Option<String>,
}

async fn render(
    mut tenant: Tenant<OwnWorkspace>,
    status: StatusCode,
    errors: Vec<String>,
) -> Result<Response> {
    let required = db::two_factor::required(&mut tenant.tx).await?;
    let members = db::two_factor::members(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    Ok((
        status,
        SecurityPage {
            page: tenant.page,
            errors,
            required,
            members,
        },
    )
        .into_response())
}

pub async fn show(tenant: Tenant<OwnWorkspace>) -> Result<Response> {
    render(tenant, StatusCode::OK, vec![]).await
}

pub async fn update(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
    HtmlForm(form): HtmlForm<SecurityForm>,
) -> Result<Response> {
    let require = form.require_two_factor.is_some();
    if require {
        // Requiring it without having it would send the owner to enrolment
        // on their next click: ask them to set it up first.
        let mut conn = state.pool.acquire().await?;
        let owner_has_it = db::two_factor::sealed_secret(&mut conn, tenant.member.user_id)
            .await?
            .is_some();
        drop(conn);
        if !owner_has_it {
            let error =
                "Turn on two-factor sign-in for yourself first (Profile → Two-factor sign-in).";
            return render(tenant, StatusCode::UNPROCESSABLE_ENTITY, vec![error.into()]).await;
        }
    }
    let was = db::two_factor::required(&mut tenant.tx).await?;
    if was != require {
        db::two_factor::set_required(&mut tenant.tx, require).await?;
        audit::record(
            &mut tenant.tx,
            &tenant.member.actor(),
            "settings.two_factor_required",
            "",
            &[("required", if require { "yes" } else { "no" })],
        )
        .await?;
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            if require {
                "Every member now needs two-factor sign-in; those without it are asked to set it up."
            } else {
                "Two-factor sign-in is up to each member."
            },
        )
        .await?;
    Ok(Redirect::to("/settings/security").into_response())
}
