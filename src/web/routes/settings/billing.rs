//! Billing (owners only): the plan, its status and renewal, usage against
//! the plan's limits, invoices; upgrade through Stripe Checkout, manage the
//! card or cancel in Stripe's customer portal. The plan changes only when
//! Stripe's webhook confirms; until then the page says "processing".

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::domain::{Limits, Plan};
use crate::error::{AppError, Result};
use crate::features::audit;
use crate::features::billing::limits::current_plan;
use crate::features::billing::stripe_api::{self, StripeApi};
use crate::infra::db;
use crate::infra::db::billing::{Account, Invoice, Usage};
use crate::infra::tenancy::capability::OwnWorkspace;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;

#[derive(Template, WebTemplate)]
#[template(path = "settings/billing.html")]
pub struct BillingPage {
    page: Page,
    enabled: bool,
    account: Account,
    plan: Plan,
    limits: Limits,
    usage: Usage,
    invoices: Vec<Invoice>,
    /// A checkout went through and Stripe has not confirmed it yet.
    processing: bool,
    /// Paid plans that can be bought here (their prices are configured).
    offers: Vec<Plan>,
}

impl BillingPage {
    fn date(at: &OffsetDateTime) -> String {
        crate::infra::tenancy::standing::date(at)
    }

    fn amount(cents: &i64, currency: &str) -> String {
        format!(
            "{}.{:02} {}",
            cents / 100,
            cents % 100,
            currency.to_uppercase()
        )
    }

    fn limit(value: &Option<i64>) -> String {
        value.map_or_else(|| "unlimited".to_owned(), |v| v.to_string())
    }
}

pub async fn show(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
) -> Result<Response> {
    let account = db::billing::account(&mut tenant.tx).await?;
    let usage = db::billing::usage(&mut tenant.tx).await?;
    let invoices = db::billing::invoices(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    let plan = current_plan(&account);
    let processing = account
        .checkout_started_at
        .is_some_and(|at| state.clock.now() - at < Duration::hours(1));
    let prices = state.config.stripe_prices();
    let offers = [Plan::Starter, Plan::Pro]
        .into_iter()
        .filter(|p| *p != plan && prices.of(*p).is_some())
        .collect();
    Ok(BillingPage {
        page: tenant.page,
        enabled: state.config.billing_enabled(),
        limits: plan.limits(),
        account,
        plan,
        usage,
        invoices,
        processing,
        offers,
    }
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CheckoutForm {
    plan: String,
}

fn api(state: &AppState) -> Result<StripeApi> {
    StripeApi::from_config(&state.config).ok_or_else(|| AppError::NotFound)
}

/// Starts Stripe Checkout for a paid plan: the workspace's customer (made
/// once), then a subscription-mode session; the owner is sent there.
pub async fn checkout(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
    HtmlForm(form): HtmlForm<CheckoutForm>,
) -> Result<Response> {
    let api = api(&state)?;
    let prices = state.config.stripe_prices();
    let plan = Plan::parse(&form.plan).filter(|p| *p != Plan::Free);
    let Some((plan, price)) = plan.and_then(|p| prices.of(p).map(|price| (p, price.to_owned())))
    else {
        return Err(AppError::Unprocessable(format!(
            "“{}” is not a plan that can be bought here.",
            form.plan
        )));
    };
    let org_id = tenant.member.org_id;
    let account = db::billing::account(&mut tenant.tx).await?;
    let customer = match account.stripe_customer_id {
        Some(customer) => customer,
        None => {
            let made = api
                .create_customer(org_id, &tenant.member.org_name, &tenant.member.user_email)
                .await
                .map_err(stripe_failed)?;
            db::billing::set_customer(&mut tenant.tx, &made).await?
        }
    };
    let checkout = stripe_api::Checkout {
        customer: &customer,
        price: &price,
        org_id,
        success_url: state.url("/settings/billing/success"),
        cancel_url: state.url("/settings/billing"),
    };
    let url = api
        .create_checkout(&checkout)
        .await
        .map_err(stripe_failed)?;
    db::billing::checkout_started(&mut tenant.tx).await?;
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "billing.checkout_started",
        plan.as_str(),
        &[],
    )
    .await?;
    tenant.tx.commit().await?;
    tracing::info!(%org_id, plan = plan.as_str(), "checkout started");
    Ok(Redirect::to(&url).into_response())
}

/// Stripe's customer portal for the workspace's customer.
pub async fn portal(
    State(state): State<AppState>,
    mut tenant: Tenant<OwnWorkspace>,
) -> Result<Response> {
    let api = api(&state)?;
    let account = db::billing::account(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    let Some(customer) = account.stripe_customer_id else {
        return Err(AppError::Conflict(
            "This workspace has not subscribed yet: choose a plan first.".into(),
        ));
    };
    let url = api
        .create_portal(&customer, &state.url("/settings/billing"))
        .await
        .map_err(stripe_failed)?;
    Ok(Redirect::to(&url).into_response())
}

/// Back from Checkout: the plan changes when Stripe confirms.
pub async fn success(tenant: Tenant<OwnWorkspace>) -> Result<Response> {
    tenant
        .session
        .flash(
            FlashKind::Success,
            "Thank you! Stripe is confirming the payment; the plan changes here as soon as it has.",
        )
        .await?;
    Ok(Redirect::to("/settings/billing").into_response())
}

fn stripe_failed(e: stripe_api::StripeError) -> AppError {
    let reason = stripe_api::describe(&e);
    tracing::warn!(error = %reason, "a Stripe call failed");
    AppError::BadGateway(format!(
        "Stripe did not accept the request: {reason}. Nothing was charged; try again."
    ))
}
