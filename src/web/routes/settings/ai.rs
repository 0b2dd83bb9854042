//! Settings → AI (owners): turn AI on for the workspace after reading what
//! is sent to the model provider, bring the workspace's own API key and
//! pick the model; see this month's use against the plan.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::Result;
use crate::features::audit;
use crate::features::billing::limits::current_plan;
use crate::infra::db;
use crate::infra::db::ai::{KeyChange, MonthUsage};
use crate::infra::tenancy::capability::ControlAi;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

#[derive(Template, WebTemplate)]
#[template(path = "settings/ai.html")]
pub struct AiPage {
    page: Page,
    errors: Vec<String>,
    enabled: bool,
    enabled_note: Option<String>,
    has_own_key: bool,
    model: String,
    default_model: String,
    provider_host: String,
    deployment_offers_ai: bool,
    usage: MonthUsage,
    /// The plan's monthly allowance (billing on); `None`: unlimited.
    allowance: Option<Option<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AiForm {
    enabled: Option<String>,
    model: String,
    api_key: String,
    remove_key: Option<String>,
}

async fn render(
    state: &AppState,
    mut tenant: Tenant<ControlAi>,
    form: Option<&AiForm>,
    errors: Vec<String>,
) -> Result<Response> {
    let settings = db::ai::settings(&mut tenant.tx).await?;
    let usage = db::ai::this_month(&mut tenant.tx).await?;
    let allowance = if state.config.billing_enabled() {
        let account = db::billing::account(&mut tenant.tx).await?;
        Some(current_plan(&account).limits().ai_replies_per_month)
    } else {
        None
    };
    tenant.tx.commit().await?;
    let enabled_note = settings.enabled_at.filter(|_| settings.enabled).map(|at| {
        let on = crate::infra::tenancy::standing::date(&at);
        match &settings.enabled_by_name {
            Some(by) => format!("Turned on by {by} on {on}."),
            None => format!("Turned on on {on}."),
        }
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AiPage {
        page: tenant.page,
        enabled: form.map_or(settings.enabled, |f| f.enabled.is_some()),
        enabled_note,
        has_own_key: settings.api_key_sealed.is_some(),
        model: form.map_or_else(
            || settings.model.clone().unwrap_or_default(),
            |f| f.model.trim().to_owned(),
        ),
        default_model: state.ai.default_model().to_owned(),
        provider_host: state.ai.host(),
        deployment_offers_ai: state.ai.deployment_offers_ai,
        usage,
        allowance,
        errors,
    };
    Ok((status, page).into_response())
}

pub async fn show(State(state): State<AppState>, tenant: Tenant<ControlAi>) -> Result<Response> {
    render(&state, tenant, None, vec![]).await
}

/// A model name as providers write them (`gpt-4o-mini`,
/// `meta-llama/Llama-3.1-8B-Instruct`, `llama3.1:8b`).
fn valid_model(model: &str) -> bool {
    model.len() <= 100
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/-@".contains(c))
}

pub async fn update(
    State(state): State<AppState>,
    mut tenant: Tenant<ControlAi>,
    HtmlForm(form): HtmlForm<AiForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let model = form.model.trim();
    if !valid_model(model) {
        errors.push(
            "The model name can have letters, digits and . _ : / - @ only (100 at most).".into(),
        );
    }
    let key = form.api_key.trim();
    if key.len() > 500 || key.chars().any(char::is_whitespace) {
        errors.push(
            "That API key is not valid: paste it without spaces (500 characters at most).".into(),
        );
    }
    let settings = db::ai::settings(&mut tenant.tx).await?;
    let key_change = if !key.is_empty() {
        KeyChange::Set(
            state
                .secrets
                .seal(
                    tenant.member.org_id,
                    db::ai::KEY_PURPOSE,
                    tenant.member.org_id,
                    key.as_bytes(),
                )
                .map_err(|e| anyhow::anyhow!("sealing the AI key: {e}"))?,
        )
    } else if form.remove_key.is_some() {
        KeyChange::Remove
    } else {
        KeyChange::Keep
    };
    let will_have_key = match key_change {
        KeyChange::Set(_) => true,
        KeyChange::Remove => false,
        KeyChange::Keep => settings.api_key_sealed.is_some(),
    };
    let enabled = form.enabled.is_some();
    if enabled && !will_have_key && !state.ai.deployment_offers_ai {
        errors.push(
            "This wacrm has no AI provider of its own: add your workspace's API key to turn AI on."
                .into(),
        );
    }
    if !errors.is_empty() {
        return render(&state, tenant, Some(&form), errors).await;
    }
    let model = (!model.is_empty()).then_some(model);
    let key_said = match key_change {
        KeyChange::Set(_) => "set",
        KeyChange::Remove => "removed",
        KeyChange::Keep => "kept",
    };
    let on = if enabled { "on" } else { "off" };
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "settings.ai_changed",
        "AI",
        &[
            ("ai", on),
            ("own_key", key_said),
            ("model", model.unwrap_or_default()),
        ],
    )
    .await?;
    db::ai::save(
        &mut tenant.tx,
        enabled,
        tenant.member.user_id,
        key_change,
        model,
    )
    .await?;
    tenant.tx.commit().await?;
    let message = if enabled {
        "AI is on for this workspace."
    } else {
        "AI is off for this workspace."
    };
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to("/settings/ai").into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn model_names_as_providers_write_them() {
        for ok in [
            "gpt-4o-mini",
            "meta-llama/Llama-3.1-8B-Instruct",
            "llama3.1:8b",
            "",
        ] {
            assert!(super::valid_model(ok), "{ok}");
        }
        for bad in ["gpt 4", "<script>", &"a".repeat(101)] {
            assert!(!super::valid_model(bad), "{bad}");
        }
    }
}
