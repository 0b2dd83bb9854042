//! Workspace settings (owners and admins), API tokens, WhatsApp numbers,
//! message retention, deleting the workspace.

mod ai;
mod api_tokens;
mod audit;
pub(crate) mod billing;
mod bookings;
mod bot;
mod channels;
mod exports;
mod linked_device_groups;
mod linked_devices;
mod pipelines;
mod retention;
mod security;
mod templates;
mod workspace;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(workspace::show).post(workspace::update))
        .route("/settings/delete-workspace", post(workspace::delete))
        .route("/settings/restore-workspace", post(workspace::restore))
        .route("/settings/retention", post(retention::update))
        .route("/settings/bookings", get(bookings::show))
        .route("/settings/bookings/services", post(bookings::add_service))
        .route(
            "/settings/bookings/services/{id}",
            post(bookings::update_service),
        )
        .route("/settings/bookings/hours/{user}", post(bookings::set_hours))
        .route(
            "/settings/pipelines",
            get(pipelines::show).post(pipelines::create),
        )
        .route("/settings/pipelines/{id}", post(pipelines::rename))
        .route("/settings/pipelines/{id}/delete", post(pipelines::delete))
        .route(
            "/settings/pipelines/{id}/stages",
            post(pipelines::add_stage),
        )
        .route("/settings/stages/{id}", post(pipelines::update_stage))
        .route("/settings/stages/{id}/move", post(pipelines::move_stage))
        .route(
            "/settings/stages/{id}/delete",
            post(pipelines::delete_stage),
        )
        .route("/settings/ai", get(ai::show).post(ai::update))
        .route("/settings/audit", get(audit::show))
        .route("/settings/audit/verify", post(audit::verify))
        .route("/settings/bot", get(bot::show))
        .route(
            "/settings/exports",
            get(exports::index).post(exports::create),
        )
        .route("/settings/exports/{id}", get(exports::row))
        .route("/settings/exports/{id}/download", get(exports::download))
        .route("/contacts/{id}/export", post(exports::create_for_contact))
        .route(
            "/settings/security",
            get(security::show).post(security::update),
        )
        .route("/settings/bot/{channel}", post(bot::update))
        .route("/settings/billing", get(billing::show))
        .route("/settings/billing/checkout", post(billing::checkout))
        .route("/settings/billing/portal", post(billing::portal))
        .route("/settings/billing/success", get(billing::success))
        .route(
            "/settings/api-tokens",
            get(api_tokens::index).post(api_tokens::create),
        )
        .route("/settings/api-tokens/{id}/revoke", post(api_tokens::revoke))
        .route(
            "/settings/channels",
            get(channels::index).post(channels::create),
        )
        .route("/settings/channels/{id}", get(channels::show))
        .route("/settings/channels/{id}/check", post(channels::check))
        .route(
            "/settings/channels/{id}/templates",
            post(channels::sync_templates),
        )
        .route(
            "/settings/channels/{id}/templates/list",
            get(channels::template_list),
        )
        .route(
            "/settings/channels/{id}/templates/new",
            get(templates::new).post(templates::create),
        )
        .route(
            "/settings/channels/{id}/templates/delete",
            post(templates::delete),
        )
        .route(
            "/settings/channels/{id}/enabled",
            post(channels::set_enabled),
        )
        .route("/settings/channels/{id}/delete", post(channels::delete))
        .route(
            "/settings/linked-devices",
            get(linked_devices::index).post(linked_devices::create),
        )
        .route("/settings/linked-devices/{id}", get(linked_devices::show))
        .route(
            "/settings/linked-devices/{id}/status",
            get(linked_devices::status),
        )
        .route(
            "/settings/linked-devices/{id}/unlink",
            post(linked_devices::unlink),
        )
        .route(
            "/settings/linked-devices/{id}/relink",
            post(linked_devices::relink),
        )
        .route(
            "/settings/linked-devices/{id}/new-code",
            post(linked_devices::new_code),
        )
        .route(
            "/settings/linked-devices/{id}/reconnect",
            post(linked_devices::reconnect),
        )
        .route(
            "/settings/linked-devices/{id}/groups",
            post(linked_device_groups::set),
        )
}
