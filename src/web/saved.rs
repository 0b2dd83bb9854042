//! How a form that changed something ends (post/redirect/get): commit,
//! say so on the next page, go there.

use axum::response::Redirect;

use crate::error::Result;
use crate::infra::tenancy::capability::Capability;
use crate::infra::tenancy::member::Tenant;
use crate::infra::tenancy::session_state::FlashKind;

/// Commits the member's change, then flashes `message` as a success (only
/// once the change is stored) and redirects to `to`.
pub async fn saved<C: Capability>(
    tenant: Tenant<C>,
    message: impl Into<String>,
    to: &str,
) -> Result<Redirect> {
    tenant.tx.commit().await?;
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to(to))
}
