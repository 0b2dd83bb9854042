//! Quotes and invoices: the list of each, a draft made for a contact (or
//! from a conversation), its lines edited (from the catalogue or free
//! text, with discounts and taxes, totals exact to the cent), issued with
//! the next number of its kind, moved to accepted (a quote: it becomes an
//! order), paid (an invoice) or void, and its PDF.

mod edit;
mod lines;
mod state;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/documents", get(edit::list).post(edit::create))
        .route("/documents/new", get(edit::new))
        .route("/documents/{id}", get(edit::show).post(edit::save))
        .route("/documents/{id}/delete", post(edit::delete))
        .route("/documents/{id}/issue", post(state::issue))
        .route("/documents/{id}/state", post(state::change))
        .route("/documents/{id}/pdf", get(state::pdf))
        .route("/documents/{id}/send", post(state::send))
        .route("/documents/{id}/share", post(state::share))
        .route("/documents/{id}/unshare", post(state::unshare))
        .route("/shared/documents/{token}", get(state::shared))
}
