//! A local fake of Stripe for the billing tests: the API calls wacrm makes
//! (customers, Checkout sessions, customer portal sessions; form-encoded,
//! `Authorization: Bearer sk_…`, `Idempotency-Key` replays the first
//! answer, Stripe's error envelope), answering with the fields async-stripe
//! requires; and Stripe's side of the webhooks: events in Stripe's
//! envelope, signed as Stripe signs them (`Stripe-Signature:
//! t=…,v1=hex(HMAC-SHA256(whsec, "t.body"))`), posted when and in the
//! order a test says. Wire facts: `/work/shared/design/protocols.md` 3.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub const SECRET_KEY: &str = "sk_test_fake_51Hwacrm";
pub const WEBHOOK_SECRET: &str = "whsec_fake_wacrm_endpoint";
pub const PRICE_STARTER: &str = "price_starter_monthly";
pub const PRICE_PRO: &str = "price_pro_monthly";

/// A Checkout session the app created.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub customer: String,
    pub price: String,
    pub client_reference_id: String,
    pub params: HashMap<String, String>,
}

#[derive(Default)]
struct Inner {
    customers: Vec<(String, HashMap<String, String>)>,
    sessions: Vec<Session>,
    portals: Vec<(String, String)>,
    /// Idempotency key → the status and body first answered.
    replays: HashMap<String, (StatusCode, Value)>,
    requests: Vec<(String, String, Option<String>)>,
    next: u64,
    events: u64,
}

#[derive(Clone)]
struct Shared {
    base: Arc<str>,
    inner: Arc<Mutex<Inner>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct FakeStripe {
    shared: Shared,
    task: JoinHandle<()>,
    http: reqwest::Client,
    /// Where events go (the app's `/webhooks/stripe`).
    webhook_url: Mutex<Option<String>>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let (listener, base) = super::local_server::bind("fake Stripe").await;
        let shared = Shared {
            base: base.into(),
            inner: Arc::default(),
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = super::local_server::serve(listener, app);
        wacrm::infra::tls::install_crypto_provider();
        FakeStripe {
            shared,
            task,
            http: reqwest::Client::new(),
            webhook_url: Mutex::new(None),
        }
    }

    /// `http://127.0.0.1:PORT`, for `STRIPE_API_URL`.
    pub fn base_url(&self) -> String {
        self.shared.base.to_string()
    }

    pub fn set_webhook(&self, url: &str) {
        *self.webhook_url.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.to_owned());
    }

    pub fn customers(&self) -> Vec<(String, HashMap<String, String>)> {
        self.shared.lock().customers.clone()
    }

    pub fn sessions(&self) -> Vec<Session> {
        self.shared.lock().sessions.clone()
    }

    /// Every request: method, path, idempotency key.
    pub fn requests(&self) -> Vec<(String, String, Option<String>)> {
        self.shared.lock().requests.clone()
    }

    /// An event in Stripe's envelope, made at `created` (unix seconds).
    pub fn event(&self, kind: &str, object: Value, created: i64) -> Value {
        let mut inner = self.shared.lock();
        inner.events += 1;
        json!({
            "id": format!("evt_fake{:010}", inner.events),
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": created,
            "data": {"object": object},
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": kind,
        })
    }

    /// Posts `body` to the webhook with this `Stripe-Signature` header.
    pub async fn post(&self, body: &[u8], signature: &str) -> u16 {
        let url = self
            .webhook_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| panic!("fake Stripe: no webhook set"));
        let response = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header("Stripe-Signature", signature)
            .body(body.to_vec())
            .send()
            .await;
        match response {
            Ok(r) => r.status().as_u16(),
            Err(e) => panic!("fake Stripe: webhook post failed: {e}"),
        }
    }

    /// Sends `event` signed now, as Stripe does; the status answered.
    pub async fn send(&self, event: &Value) -> u16 {
        self.send_at(event, now()).await
    }

    /// Sends `event` signed at `t` (unix seconds: Stripe's clock, which a
    /// test moves with the app's).
    pub async fn send_at(&self, event: &Value, t: i64) -> u16 {
        let body = event.to_string().into_bytes();
        let signature = wacrm::features::billing::signature::sign(WEBHOOK_SECRET, &body, t);
        self.post(&body, &signature).await
    }

    /// The session's customer pays: Stripe's subscription (`sub_…`).
    pub fn subscription(
        &self,
        session: &Session,
        status: &str,
        period_end: i64,
        cancel_at_period_end: bool,
    ) -> Value {
        subscription_object(
            &format!("sub_for_{}", session.id),
            &session.customer,
            &session.price,
            status,
            period_end,
            cancel_at_period_end,
        )
    }
}

/// A subscription object (API version 2025-03-31: the period on its item).
pub fn subscription_object(
    id: &str,
    customer: &str,
    price: &str,
    status: &str,
    period_end: i64,
    cancel_at_period_end: bool,
) -> Value {
    json!({
        "id": id, "object": "subscription", "customer": customer, "status": status,
        "cancel_at_period_end": cancel_at_period_end, "created": period_end - 30 * 86_400,
        "items": {"object": "list", "data": [{
            "id": format!("si_{id}"), "object": "subscription_item",
            "price": {"id": price, "object": "price", "currency": "usd", "unit_amount": 2900},
            "current_period_start": period_end - 30 * 86_400, "current_period_end": period_end,
        }]},
        "metadata": {},
    })
}

/// An invoice object.
pub fn invoice_object(
    id: &str,
    customer: &str,
    number: &str,
    status: &str,
    amount: i64,
    created: i64,
) -> Value {
    json!({
        "id": id, "object": "invoice", "customer": customer, "number": number, "status": status,
        "amount_due": amount, "amount_paid": if status == "paid" { amount } else { 0 },
        "currency": "usd", "created": created,
        "hosted_invoice_url": format!("https://invoice.stripe.test/i/{id}"),
        "invoice_pdf": format!("https://pay.stripe.test/invoice/{id}/pdf"),
        "billing_reason": "subscription_create",
    })
}

fn stripe_error(
    status: StatusCode,
    kind: &str,
    message: &str,
    param: Option<&str>,
) -> (StatusCode, Value) {
    (
        status,
        json!({"error": {"type": kind, "message": message, "param": param}}),
    )
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let key = parts
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared
        .lock()
        .requests
        .push((parts.method.to_string(), path.clone(), key.clone()));
    let auth = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (status, answer) = if auth != format!("Bearer {SECRET_KEY}") {
        stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
            None,
        )
    } else {
        let bytes = axum::body::to_bytes(body, 1024 * 1024)
            .await
            .unwrap_or_default();
        let params: HashMap<String, String> =
            url::form_urlencoded::parse(&bytes).into_owned().collect();
        if let Some(replay) = key
            .as_ref()
            .and_then(|k| shared.lock().replays.get(k).cloned())
        {
            replay
        } else {
            let answer = respond(&shared, &parts.method, &path, &params);
            if let Some(key) = key {
                shared.lock().replays.insert(key, answer.clone());
            }
            answer
        }
    };
    (status, axum::Json(answer)).into_response()
}

fn respond(
    shared: &Shared,
    method: &Method,
    path: &str,
    params: &HashMap<String, String>,
) -> (StatusCode, Value) {
    let mut inner = shared.lock();
    inner.next += 1;
    let n = inner.next;
    let created = now();
    match (method, path) {
        (&Method::POST, "/v1/customers") => {
            let id = format!("cus_fake{n:06}");
            inner.customers.push((id.clone(), params.clone()));
            (
                StatusCode::OK,
                json!({"id": id, "object": "customer", "created": created, "livemode": false,
                       "email": params.get("email"), "name": params.get("name"),
                       "metadata": {"org_id": params.get("metadata[org_id]")}}),
            )
        }
        (&Method::POST, "/v1/checkout/sessions") => {
            let price = params
                .get("line_items[0][price]")
                .cloned()
                .unwrap_or_default();
            if price != PRICE_STARTER && price != PRICE_PRO {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    &format!("No such price: '{price}'"),
                    Some("line_items[0][price]"),
                );
            }
            if params.get("mode").map(String::as_str) != Some("subscription") {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "mode must be subscription here",
                    Some("mode"),
                );
            }
            let Some(customer) = params.get("customer").cloned() else {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "customer is required here",
                    Some("customer"),
                );
            };
            let id = format!("cs_test_fake{n:06}");
            let session = Session {
                id: id.clone(),
                customer: customer.clone(),
                price,
                client_reference_id: params
                    .get("client_reference_id")
                    .cloned()
                    .unwrap_or_default(),
                params: params.clone(),
            };
            inner.sessions.push(session);
            let url = format!("{}/checkout/{id}", shared.base);
            (
                StatusCode::OK,
                json!({
                    "id": id, "object": "checkout.session", "created": created, "livemode": false,
                    "expires_at": created + 86_400, "mode": "subscription", "status": "open",
                    "payment_status": "unpaid", "payment_method_types": ["card"],
                    "custom_fields": [], "shipping_options": [],
                    "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
                    "custom_text": {"after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null},
                    "customer": customer, "client_reference_id": params.get("client_reference_id"),
                    "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
                    "url": url, "metadata": {},
                }),
            )
        }
        (&Method::POST, "/v1/billing_portal/sessions") => {
            let Some(customer) = params.get("customer").cloned() else {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "Missing required param: customer.",
                    Some("customer"),
                );
            };
            let return_url = params.get("return_url").cloned().unwrap_or_default();
            inner.portals.push((customer.clone(), return_url.clone()));
            (
                StatusCode::OK,
                json!({"id": format!("bps_fake{n:06}"), "object": "billing_portal.session",
                       "configuration": "bpc_fake", "created": created, "customer": customer,
                       "livemode": false, "return_url": return_url,
                       "url": format!("https://billing.stripe.test/p/session/fake{n:06}")}),
            )
        }
        _ => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("Unrecognized request URL ({method}: {path})."),
            None,
        ),
    }
}
