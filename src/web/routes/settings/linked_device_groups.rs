//! A linked phone's group chats: shown as group conversations, or left
//! out (the default). Owners and admins choose.

use axum::response::Redirect;
use serde::Deserialize;

use crate::error::{AppError, Result};
use crate::features::audit;
use crate::infra::db;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::Tenant;
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupsForm {
    /// `on` or `off`.
    groups: String,
}

/// Turns the phone's group chats on or off. Messages that came while they
/// were off are not brought back (they were left out as they came).
pub async fn set(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<GroupsForm>,
) -> Result<Redirect> {
    let shows = match form.groups.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Err(AppError::Unprocessable(
                "Choose whether group chats are shown: on or off.".into(),
            ));
        }
    };
    // Only linked phones (run here or on WAHA) have group chats.
    if db::web_sessions::find(&mut tenant.tx, id).await?.is_none()
        || !db::channels::set_shows_groups(&mut tenant.tx, id, shows).await?
    {
        return Err(AppError::NotFound);
    }
    let action = if shows {
        "linked_phone.groups_shown"
    } else {
        "linked_phone.groups_hidden"
    };
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        action,
        &id.to_string(),
        &[],
    )
    .await?;
    tenant.tx.commit().await?;
    let said = if shows {
        "Group chats are shown from now on: each group is a conversation of its own. No automation, bot or campaign touches them."
    } else {
        "Group chats are left out from now on. Group conversations kept so far stay."
    };
    tenant.session.flash(FlashKind::Success, said).await?;
    Ok(Redirect::to(&format!("/settings/linked-devices/{id}")))
}
