use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::text::required_text;
use crate::error::{AppError, Result};
use crate::features::audit;
use crate::infra::db;
use crate::infra::db::api_tokens::ApiToken;
use crate::infra::tenancy::api_client::API_TOKEN_PREFIX;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tokens::TenantToken;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "settings/api_tokens.html")]
pub struct TokensPage {
    page: Page,
    tokens: Vec<ApiToken>,
    /// The token just created: shown once, never stored in clear.
    new_token: Option<String>,
    errors: Vec<String>,
    name: String,
}

pub async fn index(mut tenant: Tenant<ManageSettings>) -> Result<TokensPage> {
    Ok(TokensPage {
        tokens: db::api_tokens::list_live(&mut tenant.tx).await?,
        new_token: None,
        errors: vec![],
        name: String::new(),
        page: tenant.page,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateForm {
    name: String,
}

pub async fn create(
    State(_state): State<AppState>,
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<CreateForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let name = required_text(&form.name, "a name for the token", 100, &mut errors);
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            TokensPage {
                tokens: db::api_tokens::list_live(&mut tenant.tx).await?,
                new_token: None,
                errors,
                name,
                page: tenant.page,
            },
        )
            .into_response());
    }
    let token = TenantToken::generate(tenant.member.org_id)?;
    db::api_tokens::insert(&mut tenant.tx, &name, &token.hash(), tenant.member.user_id).await?;
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "api_token.created",
        &name,
        &[],
    )
    .await?;
    let tokens = db::api_tokens::list_live(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    tracing::info!(org_id = %tenant.member.org_id, "API token created");
    Ok(TokensPage {
        tokens,
        new_token: Some(token.encode(API_TOKEN_PREFIX)),
        errors: vec![],
        name: String::new(),
        page: tenant.page,
    }
    .into_response())
}

pub async fn revoke(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Redirect> {
    if !db::api_tokens::revoke(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "api_token.revoked",
        &id.to_string(),
        &[],
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "API token revoked.")
        .await?;
    Ok(Redirect::to("/settings/api-tokens"))
}
