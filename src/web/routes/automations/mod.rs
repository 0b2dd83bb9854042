//! Automation rules (owners and admins): when, on which conversations, do
//! what; switched on and off one by one. Welcome and away messages are
//! there from the start, off. Any member says whether they are available
//! for round-robin assignment.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{Priority, Trigger};
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

mod rule_form;

use rule_form::{RuleForm, RuleView, choices, parse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/automations", get(index).post(create))
        .route("/automations/{id}", post(update))
        .route("/automations/{id}/enabled", post(set_enabled))
        .route("/automations/{id}/delete", post(delete))
        .route("/availability", post(set_availability))
}

#[derive(Template, WebTemplate)]
#[template(path = "automations/index.html")]
pub struct AutomationsPage {
    page: Page,
    rules: Vec<RuleView>,
    /// The new-rule form (as typed, after an error).
    new_rule: RuleView,
    errors: Vec<String>,
    /// Which rule the errors are about (`None`: the new one).
    errors_for: Option<Uuid>,
    triggers: &'static [Trigger],
    priorities: &'static [Priority],
    channels: Vec<(String, String)>,
    labels: Vec<(String, String)>,
    members: Vec<(String, String)>,
    attributes: Vec<(String, String)>,
}

async fn render(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    typed: Option<RuleView>,
    errors: Vec<String>,
) -> Result<Response> {
    db::automation::install_builtin(&mut tenant.tx).await?;
    let choices = choices(&mut tenant).await?;
    let mut rules: Vec<RuleView> = db::automation::list(&mut tenant.tx)
        .await?
        .iter()
        .map(RuleView::from)
        .collect();
    tenant.tx.commit().await?;
    let errors_for = typed.as_ref().and_then(|t| t.id);
    let new_rule = match typed {
        Some(t) if t.id.is_none() => t,
        Some(t) => {
            // The edited rule shows what was typed.
            if let Some(r) = rules.iter_mut().find(|r| r.id == t.id) {
                *r = RuleView {
                    enabled: r.enabled,
                    builtin: r.builtin,
                    ..t
                };
            }
            RuleView::default()
        }
        None => RuleView::default(),
    };
    let page = AutomationsPage {
        page: tenant.page,
        rules,
        new_rule,
        errors,
        errors_for,
        triggers: Trigger::ALL,
        priorities: Priority::ALL,
        channels: choices.channels,
        labels: choices.labels,
        members: choices.members,
        attributes: choices.attributes,
    };
    Ok((status, page).into_response())
}

async fn index(tenant: Tenant<ManageSettings>) -> Result<Response> {
    render(StatusCode::OK, tenant, None, vec![]).await
}

async fn create(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<RuleForm>,
) -> Result<Response> {
    let view = RuleView::from_form(form, None);
    let choices = choices(&mut tenant).await?;
    let rule = match parse(&view, &choices) {
        Ok(rule) => rule,
        Err(errors) => {
            return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, Some(view), errors).await;
        }
    };
    db::automation::save(&mut tenant.tx, None, &rule).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!(
                "Rule “{}” added, switched off: switch it on when ready.",
                rule.name
            ),
        )
        .await?;
    Ok(Redirect::to("/automations").into_response())
}

async fn update(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<RuleForm>,
) -> Result<Response> {
    if db::automation::find(&mut tenant.tx, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let view = RuleView::from_form(form, Some(id));
    let choices = choices(&mut tenant).await?;
    let rule = match parse(&view, &choices) {
        Ok(rule) => rule,
        Err(errors) => {
            return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, Some(view), errors).await;
        }
    };
    db::automation::save(&mut tenant.tx, Some(id), &rule).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, format!("Rule “{}” saved.", rule.name))
        .await?;
    Ok(Redirect::to("/automations").into_response())
}

/// Switching a rule: `enabled=on` switches it on, anything else off.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnabledForm {
    enabled: String,
}

async fn set_enabled(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<EnabledForm>,
) -> Result<Response> {
    let enabled = form.enabled == "on";
    if !db::automation::set_enabled(&mut tenant.tx, id, enabled).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    let message = if enabled {
        "The rule is on."
    } else {
        "The rule is off."
    };
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to("/automations").into_response())
}

async fn delete(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Response> {
    if !db::automation::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "The rule was deleted.")
        .await?;
    Ok(Redirect::to("/automations").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AvailabilityForm {
    available: String,
}

/// A member says whether they take conversations now (round-robin).
async fn set_availability(
    mut tenant: Tenant,
    HtmlForm(form): HtmlForm<AvailabilityForm>,
) -> Result<Response> {
    let available = match form.available.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(AppError::Unprocessable(
                "Availability: say yes or no.".into(),
            ));
        }
    };
    db::automation::set_available(&mut tenant.tx, tenant.member.user_id, available).await?;
    tenant.tx.commit().await?;
    let message = if available {
        "You are available: rules may assign you conversations."
    } else {
        "You are away: round-robin rules skip you."
    };
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to("/inbox").into_response())
}
