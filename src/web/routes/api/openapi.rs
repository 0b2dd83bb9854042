//! `GET /api/v1/openapi.json`: the API's OpenAPI document, generated from
//! the handlers' and types' annotations. Public: it describes the API and
//! holds nothing of any workspace.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{channels, companies, contacts, conversations, media, messages};

const DESCRIPTION: &str = "The JSON API of a wacrm workspace, for integrations.

Authenticate with `Authorization: Bearer <token>`, a workspace API token \
created in Settings → API tokens by an owner or admin. Every call sees and \
changes that workspace only: another workspace's ids answer 404, like \
missing ones.

Ids are UUID strings; timestamps are RFC 3339 in UTC. Lists answer \
`{\"data\": [...], \"next_cursor\": \"...\" | null}` and take `?cursor=` \
(the `next_cursor` of the previous page) and `?limit=` (1–100, default 25; \
larger limits are capped at 100).

Errors answer `{\"error\": {\"code\", \"message\"}}`: `unauthorized` (401), \
`not_found` (404), `bad_request` (400: a body that is not JSON, a bad cursor \
or filter), `invalid` (422: the message names the field), `conflict` (409), \
`too_large` (413: bodies are 256 KiB at most). Unknown fields are ignored.

Message statuses: an outgoing message goes `queued` → `sent` → `delivered` \
→ `read`, or ends `failed` with an `error`. Messages from the contact and \
private notes are reported as `delivered`.

Messages and notes written through the API are from no member: their \
`sender_kind` is `bot`.";

#[derive(OpenApi)]
#[openapi(
    info(title = "wacrm API", version = "1", description = DESCRIPTION),
    paths(
        super::me,
        contacts::list,
        contacts::create,
        contacts::show,
        contacts::update,
        contacts::delete,
        channels::list,
        channels::create,
        channels::show,
        channels::delete,
        companies::list,
        companies::create,
        companies::show,
        companies::update,
        companies::delete,
        conversations::list,
        conversations::create,
        conversations::show,
        conversations::update,
        messages::list,
        messages::send,
        messages::note,
        media::upload,
        document,
    ),
    modifiers(&BearerToken),
    tags(
        (name = "workspace", description = "The token's workspace"),
        (name = "channels", description = "Where conversations come from: the sandbox and WhatsApp numbers"),
        (name = "contacts", description = "The workspace's customers"),
        (name = "companies", description = "The organisations contacts belong to"),
        (name = "conversations", description = "The shared inbox"),
        (name = "messages", description = "A conversation's messages and private notes"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The `bearer` security scheme the operations name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// This OpenAPI document (no token needed).
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "An OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
