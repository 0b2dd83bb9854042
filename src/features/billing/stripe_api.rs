//! The Stripe calls wacrm makes, through async-stripe: a workspace's
//! customer (once), a Checkout session in subscription mode, a customer
//! portal session. Creating calls carry idempotency keys, so a retried or
//! double-clicked request creates nothing twice.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::ExposeSecret;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
};
use stripe_core::customer::CreateCustomer;
use uuid::Uuid;

use crate::infra::config::Config;

pub use stripe::StripeError;

/// How long a Stripe call may take.
const TIMEOUT: Duration = Duration::from_secs(20);

pub struct StripeApi {
    client: Client,
}

/// A Checkout session to create.
pub struct Checkout<'a> {
    pub customer: &'a str,
    pub price: &'a str,
    pub org_id: Uuid,
    pub success_url: String,
    pub cancel_url: String,
}

fn idempotent(key: &str) -> Result<RequestStrategy, StripeError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| StripeError::ClientError(e.to_string()))
}

fn org_metadata(org_id: Uuid) -> HashMap<String, String> {
    HashMap::from([("org_id".to_owned(), org_id.to_string())])
}

impl StripeApi {
    /// The client, if billing is on (`STRIPE_SECRET_KEY`).
    pub fn from_config(config: &Config) -> Option<StripeApi> {
        let key = config.stripe_secret_key.as_ref()?;
        crate::infra::tls::install_crypto_provider();
        // async-stripe appends `v1/…` to the base as written.
        let mut base = config.stripe_api_url.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let client = ClientBuilder::new(key.expose_secret())
            .url(base)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| tracing::error!(error = %e, "the Stripe client cannot be built"))
            .ok()?;
        Some(StripeApi { client })
    }

    /// Creates the workspace's customer (the key makes a repeat return
    /// the same one).
    pub async fn create_customer(
        &self,
        org_id: Uuid,
        name: &str,
        email: &str,
    ) -> Result<String, StripeError> {
        let customer = CreateCustomer::new()
            .name(name)
            .email(email)
            .metadata(org_metadata(org_id))
            .customize()
            .request_strategy(idempotent(&format!("customer-{org_id}"))?)
            .send(&self.client)
            .await?;
        Ok(customer.id.to_string())
    }

    /// A subscription-mode Checkout session; the URL to send the owner to.
    pub async fn create_checkout(&self, checkout: &Checkout<'_>) -> Result<String, StripeError> {
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(checkout.price.to_owned());
        item.quantity = Some(1);
        let mut subscription = CreateCheckoutSessionSubscriptionData::new();
        subscription.metadata = Some(org_metadata(checkout.org_id));
        // Clicks within the same minute get the same session.
        let minute = time::OffsetDateTime::now_utc().unix_timestamp() / 60;
        let key = format!("checkout-{}-{}-{minute}", checkout.org_id, checkout.price);
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(checkout.customer)
            .line_items(vec![item])
            .success_url(checkout.success_url.as_str())
            .cancel_url(checkout.cancel_url.as_str())
            .client_reference_id(checkout.org_id.to_string())
            .metadata(org_metadata(checkout.org_id))
            .subscription_data(subscription)
            .customize()
            .request_strategy(idempotent(&key)?)
            .send(&self.client)
            .await?;
        session
            .url
            .ok_or_else(|| StripeError::ClientError("the session has no URL".into()))
    }

    /// A customer portal session; its (short-lived) URL.
    pub async fn create_portal(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<String, StripeError> {
        let session = CreateBillingPortalSession::new()
            .customer(customer)
            .return_url(return_url)
            .send(&self.client)
            .await?;
        Ok(session.url)
    }
}

/// Stripe's error in a line for the owner (its message when it gave one).
pub fn describe(e: &StripeError) -> String {
    match e {
        StripeError::Stripe(api, status) => match &api.message {
            Some(message) => format!("{message} ({status})"),
            None => format!("{} ({status})", api.type_.as_str()),
        },
        StripeError::Timeout => "Stripe did not answer in time".into(),
        other => other.to_string(),
    }
}
