//! Billing against a fake Stripe: off without a key; Checkout to an active
//! plan, confirmed only by the webhook; the portal; signatures checked
//! exactly before anything is stored; each event applied once, in any
//! order; unknown events and customers acknowledged; owners only, and no
//! workspace sees another's.

use serde_json::{Value, json};

use crate::support::fake_stripe::{self, FakeStripe};
use crate::support::*;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The owner starts Checkout for `plan`; the session Stripe made.
async fn checkout(owner: &Browser, stripe: &FakeStripe, plan: &str) -> fake_stripe::Session {
    let response = owner
        .post_form("/settings/billing/checkout", &[("plan", plan)])
        .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    let session = stripe.sessions().last().cloned().expect("a session");
    assert_eq!(to, format!("{}/checkout/{}", stripe.base_url(), session.id));
    session
}

fn completed(session: &fake_stripe::Session, subscription: &str) -> Value {
    json!({"id": session.id, "object": "checkout.session", "mode": "subscription",
           "status": "complete", "payment_status": "paid", "customer": session.customer,
           "subscription": subscription, "client_reference_id": session.client_reference_id})
}

async fn account_status(app: &TestApp, org: uuid::Uuid) -> Option<String> {
    sqlx::query_scalar("select status from billing_accounts where org_id = $1")
        .bind(org)
        .fetch_optional(&mut app.admin_conn().await)
        .await
        .expect("status")
        .flatten()
}

/// Runs the jobs of the Stripe events received: each is applied.
async fn all_applied(app: &TestApp) {
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from stripe_events where processed_at is null")
            .await,
        0,
        "events applied"
    );
}

#[tokio::test]
async fn without_a_stripe_key_billing_is_off_and_says_so() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (_, settings) = owner.page("/settings").await;
    assert!(
        settings.contains("href=\"/settings/billing\""),
        "owners find billing"
    );
    let (status, page) = owner.page("/settings/billing").await;
    assert_eq!(status, 200);
    assert!(page.contains("Billing is off") && page.contains("without limits"));
    let response = owner
        .post_form("/settings/billing/checkout", &[("plan", "pro")])
        .await;
    assert_eq!(response.status(), 404);
    let response = reqwest::Client::new()
        .post(app.browser().url("/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn checkout_makes_the_plan_active_only_when_stripe_confirms() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;

    let (_, page) = owner.page("/settings/billing").await;
    assert!(
        page.contains("Plan: Free")
            && page.contains("Upgrade to Starter")
            && page.contains("Upgrade to Pro")
    );
    assert!(!page.contains("Manage card"), "no customer yet");

    // Checkout: one customer for the workspace, a subscription session
    // naming the workspace, both created with idempotency keys.
    let session = checkout(&owner, &stripe, "pro").await;
    let customers = stripe.customers();
    assert_eq!(customers.len(), 1);
    assert_eq!(
        customers[0].1.get("metadata[org_id]"),
        Some(&org.to_string())
    );
    assert_eq!(
        customers[0].1.get("email").map(String::as_str),
        Some("owner@acme.test")
    );
    assert_eq!(session.price, fake_stripe::PRICE_PRO);
    assert_eq!(session.client_reference_id, org.to_string());
    assert_eq!(
        session.params.get("mode").map(String::as_str),
        Some("subscription")
    );
    assert_eq!(
        session.params.get("subscription_data[metadata][org_id]"),
        Some(&org.to_string())
    );
    assert!(session.params["success_url"].ends_with("/settings/billing/success"));
    for (method, path, key) in stripe.requests() {
        if method == "POST" && path != "/v1/billing_portal/sessions" {
            assert!(
                key.is_some_and(|k| !k.is_empty()),
                "{path} has an idempotency key"
            );
        }
    }
    // Back from Stripe, before the webhook: processing, still Free.
    let response = owner.get("/settings/billing/success").await;
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page("/settings/billing").await;
    assert!(
        page.contains("Processing") && page.contains("Plan: Free"),
        "{page}"
    );

    // A second checkout reuses the customer.
    let again = checkout(&owner, &stripe, "starter").await;
    assert_eq!(again.customer, session.customer);
    assert_eq!(stripe.customers().len(), 1);

    // Stripe confirms: the plan is Pro, active, with its renewal and invoice.
    let period_end = now() + 30 * 86_400;
    let t = now();
    let subscription = stripe.subscription(&session, "active", period_end, false);
    let invoice =
        fake_stripe::invoice_object("in_fake1", &session.customer, "ACME-0001", "paid", 4900, t);
    for event in [
        stripe.event(
            "checkout.session.completed",
            completed(&session, "sub_x"),
            t,
        ),
        stripe.event("customer.subscription.created", subscription, t),
        stripe.event("invoice.paid", invoice, t),
    ] {
        assert_eq!(stripe.send(&event).await, 200);
    }
    all_applied(&app).await;
    assert_eq!(account_status(&app, org).await.as_deref(), Some("active"));
    let (_, page) = owner.page("/settings/billing").await;
    assert!(
        page.contains("Plan: Pro") && page.contains("renews on"),
        "{page}"
    );
    assert!(!page.contains("Processing"));
    assert!(page.contains("ACME-0001") && page.contains("49.00 USD"));
    assert!(page.contains("https://pay.stripe.test/invoice/in_fake1/pdf"));
    assert!(page.contains("Manage card"));
    // The audit log has the checkout (by the owner) and the change (by
    // Stripe, through wacrm: no member).
    let logged: Vec<(String, Option<String>)> = sqlx::query_as(
        "select action, actor_email from audit_log where org_id = $1 \
         and action like 'billing.%' order by seq",
    )
    .bind(org)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("audit");
    assert_eq!(
        logged,
        [
            (
                "billing.checkout_started".to_owned(),
                Some("owner@acme.test".to_owned())
            ),
            (
                "billing.checkout_started".to_owned(),
                Some("owner@acme.test".to_owned())
            ),
            ("billing.subscription_changed".to_owned(), None),
        ]
    );

    // The portal, for this customer, back to billing.
    let response = owner.post_form("/settings/billing/portal", &[]).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("https://billing.stripe.test/p/session/"));

    // A plan that cannot be bought: 422 with the reason, nothing created.
    let before = stripe.sessions().len();
    let response = owner
        .post_form("/settings/billing/checkout", &[("plan", "platinum")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.expect("page").contains("platinum"));
    assert_eq!(stripe.sessions().len(), before);
}

#[tokio::test]
async fn only_exactly_signed_events_are_stored() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let event = stripe.event(
        "customer.created",
        json!({"id": "cus_x", "object": "customer"}),
        now(),
    );
    let body = event.to_string().into_bytes();
    let sign = |secret: &str, t: i64| wacrm::features::billing::signature::sign(secret, &body, t);
    let good = sign(fake_stripe::WEBHOOK_SECRET, now());
    let v1 = good.split("v1=").nth(1).expect("v1").to_owned();
    for (header, why) in [
        (sign("whsec_another", now()), "another secret"),
        (sign(fake_stripe::WEBHOOK_SECRET, now() - 301), "stale"),
        (
            sign(fake_stripe::WEBHOOK_SECRET, now() + 400),
            "from the future",
        ),
        (format!("t={},v1={}", now(), "0".repeat(64)), "wrong digest"),
        (format!("v1={v1}"), "no timestamp"),
        (String::new(), "empty"),
    ] {
        assert_eq!(stripe.post(&body, &header).await, 400, "{why}");
    }
    let tampered = String::from_utf8(body.clone())
        .expect("utf8")
        .replace("cus_x", "cus_y");
    assert_eq!(
        stripe.post(tampered.as_bytes(), &good).await,
        400,
        "tampered body"
    );
    assert_eq!(app.count("select count(*) from stripe_events").await, 0);

    // Several v1 values (a secret rolling over): any one matching will do.
    let t = good.split(',').next().expect("t").to_owned();
    let rotated = format!("{t},v1={},v1={v1}", "ab".repeat(32));
    assert_eq!(stripe.post(&body, &rotated).await, 200);
    assert_eq!(app.count("select count(*) from stripe_events").await, 1);

    // Signed but not an event: 400, nothing stored.
    let not_event = br#"{"hello":"world"}"#;
    let header =
        wacrm::features::billing::signature::sign(fake_stripe::WEBHOOK_SECRET, not_event, now());
    assert_eq!(stripe.post(not_event, &header).await, 400);
    assert_eq!(app.count("select count(*) from stripe_events").await, 1);
}

#[tokio::test]
async fn events_apply_once_and_an_older_one_never_overwrites_a_newer() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let session = checkout(&owner, &stripe, "pro").await;
    let t = now();
    assert_eq!(
        stripe
            .send(&stripe.event(
                "checkout.session.completed",
                completed(&session, "sub_1"),
                t - 10
            ))
            .await,
        200
    );

    // updated (newer, past due) arrives before created (older, active).
    let period_end = t + 30 * 86_400;
    let updated = stripe.event(
        "customer.subscription.updated",
        stripe.subscription(&session, "past_due", period_end, false),
        t,
    );
    let created = stripe.event(
        "customer.subscription.created",
        stripe.subscription(&session, "active", period_end, false),
        t - 5,
    );
    assert_eq!(stripe.send(&updated).await, 200);
    all_applied(&app).await;
    assert_eq!(stripe.send(&created).await, 200);
    all_applied(&app).await;
    assert_eq!(account_status(&app, org).await.as_deref(), Some("past_due"));

    // The same event delivered again: stored and applied once.
    let jobs_before = app.count("select count(*) from jobs").await;
    for _ in 0..3 {
        assert_eq!(stripe.send(&updated).await, 200);
    }
    assert_eq!(
        app.count("select count(*) from stripe_events").await,
        3,
        "completed, updated, created"
    );
    assert_eq!(app.count("select count(*) from jobs").await, jobs_before);

    // Paid again (a newer event): active at once.
    let paid = stripe.event(
        "customer.subscription.updated",
        stripe.subscription(&session, "active", period_end, false),
        t + 5,
    );
    assert_eq!(stripe.send(&paid).await, 200);
    all_applied(&app).await;
    assert_eq!(account_status(&app, org).await.as_deref(), Some("active"));

    // Unknown types and customers: acknowledged, applied as nothing.
    let unknown_type = stripe.event(
        "radar.early_fraud_warning.created",
        json!({"id": "issfr_1"}),
        t,
    );
    let unknown_customer = stripe.event(
        "customer.subscription.updated",
        fake_stripe::subscription_object(
            "sub_9",
            "cus_nobody",
            fake_stripe::PRICE_PRO,
            "canceled",
            period_end,
            false,
        ),
        t + 10,
    );
    assert_eq!(stripe.send(&unknown_type).await, 200);
    assert_eq!(stripe.send(&unknown_customer).await, 200);
    all_applied(&app).await;
    assert_eq!(account_status(&app, org).await.as_deref(), Some("active"));
    assert_eq!(app.count("select count(*) from billing_accounts").await, 1);

    // Processed events are kept 90 days, then pruned; one not yet
    // processed stays whatever its age.
    assert_eq!(app.count("select count(*) from stripe_events").await, 6);
    sqlx::query("update stripe_events set processed_at = null where id = $1")
        .bind(unknown_type["id"].as_str())
        .execute(&mut app.admin_conn().await)
        .await
        .expect("unprocess");
    let env = app.state.env();
    let sweep = || wacrm::features::billing::lapsed_workspaces::sweep(&env);
    app.state.clock.advance(time::Duration::days(89));
    assert_eq!(sweep().await.expect("sweep").events_pruned, 0);
    app.state.clock.advance(time::Duration::days(2));
    assert_eq!(sweep().await.expect("sweep").events_pruned, 5);
    assert_eq!(app.count("select count(*) from stripe_events").await, 1);
}

#[tokio::test]
async fn another_workspace_sees_only_its_own_billing() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let session = checkout(&owner, &stripe, "pro").await;
    let t = now();
    let invoice =
        fake_stripe::invoice_object("in_acme", &session.customer, "ACME-0001", "paid", 4900, t);
    for event in [
        stripe.event(
            "checkout.session.completed",
            completed(&session, "sub_1"),
            t,
        ),
        stripe.event(
            "customer.subscription.created",
            stripe.subscription(&session, "active", t + 86_400, false),
            t,
        ),
        stripe.event("invoice.paid", invoice, t),
    ] {
        assert_eq!(stripe.send(&event).await, 200);
    }
    all_applied(&app).await;

    let other = app.sign_up("Bob", "bob@globex.test", "Globex").await;
    let (_, page) = other.page("/settings/billing").await;
    assert!(page.contains("Plan: Free") && !page.contains("ACME-0001"));
    assert!(!page.contains("Manage card"));
    let response = other.post_form("/settings/billing/portal", &[]).await;
    assert_eq!(response.status(), 409, "no customer of its own");
    // Its own checkout gets its own customer.
    let own = checkout(&other, &stripe, "starter").await;
    assert_ne!(own.customer, session.customer);
}

/// Adds `n` contacts to `org` straight into the database.
async fn fill_contacts(app: &TestApp, org: uuid::Uuid, n: i64) {
    sqlx::query(
        "insert into contacts (org_id, id, name) \
         select $1, gen_random_uuid(), 'Filler ' || g from generate_series(1, $2) g",
    )
    .bind(org)
    .bind(n)
    .execute(&mut app.admin_conn().await)
    .await
    .expect("contacts");
}

#[tokio::test]
async fn plan_limits_are_checked_where_the_action_happens() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let number = |id: &'static str| {
        [
            ("name", "Sales"),
            ("phone_number_id", id),
            ("waba_id", "102290129340398"),
            ("access_token", "EAAGm0PX4ZCpsBAKtestaccesstoken0123456789"),
            ("app_secret", "0123456789abcdef0123456789abcdef"),
        ]
    };

    // Free: one number.
    let response = owner
        .post_form("/settings/channels", &number("106540352242922"))
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form("/settings/channels", &number("106540352242923"))
        .await;
    assert_eq!(response.status(), 402);
    let page = response.text().await.expect("page");
    assert!(
        page.contains(
            "Your Free plan allows 1 connected WhatsApp number or phone; this workspace has 1."
        ),
        "{page}"
    );
    assert!(
        page.contains("href=\"/settings/billing\""),
        "an upgrade link"
    );
    let response = owner
        .post_form("/settings/linked-devices", &[("name", "Shop phone")])
        .await;
    assert_eq!(response.status(), 402, "a linked phone counts too");

    // Free: two members, invitations included.
    let response = owner
        .post_form(
            "/team/invitations",
            &[("email", "adam@acme.test"), ("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(
            "/team/invitations",
            &[("email", "aga@acme.test"), ("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), 402);
    assert!(
        response
            .text()
            .await
            .expect("page")
            .contains("allows 2 members (invitations included); this workspace has 2")
    );

    // Free: 1,000 contacts, by the form.
    fill_contacts(&app, org, 999).await;
    let response = owner
        .post_form("/contacts", &[("name", "Number 1000")])
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form("/contacts", &[("name", "Number 1001")])
        .await;
    assert_eq!(response.status(), 402);
    assert!(
        response
            .text()
            .await
            .expect("page")
            .contains("allows 1000 contacts; this workspace has 1000")
    );
    assert_eq!(app.count("select count(*) from contacts").await, 1000);

    // An import over the limit imports up to it and reports the rest.
    sqlx::query("delete from contacts where name in ('Filler 1', 'Filler 2')")
        .execute(&mut app.admin_conn().await)
        .await
        .expect("delete");
    let csv =
        "Name,Phone\nAna,+4930901801\nBruno,+4930901802\nCarla,+4930901803\nDino,+4930901804\n";
    let response = upload(&owner, "leads.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(response.status(), 303);
    let path = location(&response);
    let response = start(&owner, &path, &["name", "phone"], "skip").await;
    assert_eq!(response.status(), 303);
    let done = finished(&app, &owner, &path).await;
    assert_eq!(count_of(&done, "created"), 2);
    assert_eq!(count_of(&done, "failed"), 2);
    assert!(done.contains("Not imported"), "{done}");
    assert_eq!(app.count("select count(*) from contacts").await, 1000);

    // Pro: room again.
    let session = checkout(&owner, &stripe, "pro").await;
    let t = now();
    for event in [
        stripe.event(
            "checkout.session.completed",
            completed(&session, "sub_1"),
            t,
        ),
        stripe.event(
            "customer.subscription.created",
            stripe.subscription(&session, "active", t + 86_400, false),
            t,
        ),
    ] {
        assert_eq!(stripe.send(&event).await, 200);
    }
    all_applied(&app).await;
    let response = owner
        .post_form("/contacts", &[("name", "Number 1001")])
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form("/settings/channels", &number("106540352242923"))
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn the_api_says_plan_limits_in_json() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    fill_contacts(&app, org, 1000).await;
    let token = api_token(&owner, "CRM sync").await;
    let response = reqwest::Client::new()
        .post(app.browser().url("/api/v1/contacts"))
        .bearer_auth(&token)
        .json(&json!({"name": "One too many"}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 402);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "plan_limit");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("allows 1000 contacts"))
    );
}

/// Acme's owner on an active Pro plan; the Checkout session.
async fn subscribed(app: &TestApp, stripe: &FakeStripe, owner: &Browser) -> fake_stripe::Session {
    let session = checkout(owner, stripe, "pro").await;
    let t = now();
    for event in [
        stripe.event(
            "checkout.session.completed",
            completed(&session, "sub_1"),
            t,
        ),
        stripe.event(
            "customer.subscription.created",
            stripe.subscription(&session, "active", t + 30 * 86_400, false),
            t,
        ),
    ] {
        assert_eq!(stripe.send(&event).await, 200);
    }
    all_applied(app).await;
    session
}

#[tokio::test]
async fn a_failed_payment_leaves_seven_days_then_read_only_until_paid() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let session = subscribed(&app, &stripe, &owner).await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hello?").await;
    let reply = |text: &'static str| {
        let owner = &owner;
        let path = format!("/inbox/{conversation}/messages");
        async move {
            owner
                .post_form(&path, &[("text", text)])
                .await
                .status()
                .as_u16()
        }
    };

    // The payment fails: owners are mailed, everyone sees the banner, work goes on.
    let t = now();
    let failed_invoice =
        fake_stripe::invoice_object("in_2", &session.customer, "ACME-0002", "open", 4900, t);
    let period_end = t + 30 * 86_400;
    for event in [
        stripe.event("invoice.payment_failed", failed_invoice, t + 1),
        stripe.event(
            "customer.subscription.updated",
            stripe.subscription(&session, "past_due", period_end, false),
            t + 1,
        ),
    ] {
        assert_eq!(stripe.send(&event).await, 200);
    }
    all_applied(&app).await;
    app.mail_to("owner@acme.test", "could not take the payment of 49.00 USD")
        .await;
    let (_, page) = owner.page("/dashboard").await;
    assert!(page.contains("The last payment failed"), "{page}");
    assert_eq!(reply("Within the grace").await, 303);
    assert_eq!(
        wacrm::features::billing::lapsed_workspaces::sweep(&app.state.env())
            .await
            .expect("sweep")
            .warned,
        0,
        "not read-only yet"
    );

    // Eight days later: read-only (the owners are told once). Reading
    // works; sending and importing wait.
    app.state.clock.advance(time::Duration::days(8));
    assert_eq!(
        wacrm::features::billing::lapsed_workspaces::sweep(&app.state.env())
            .await
            .expect("sweep")
            .warned,
        1
    );
    assert_eq!(
        wacrm::features::billing::lapsed_workspaces::sweep(&app.state.env())
            .await
            .expect("sweep")
            .warned,
        0
    );
    app.mail_to("owner@acme.test", "so it is now read-only")
        .await;
    let (status, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("read-only") && page.contains("Within the grace"));
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Blocked")],
        )
        .await;
    assert_eq!(response.status(), 402);
    let text = response.text().await.expect("page");
    assert!(
        text.contains("payment has failed for more than 7 days")
            && text.contains("/settings/billing")
    );
    let response = upload(&owner, "leads.csv", b"Name\nAna\n".to_vec()).await;
    assert_eq!(response.status(), 402);
    assert_eq!(
        app.count("select count(*) from messages where body = 'Blocked'")
            .await,
        0
    );

    // Paid: back to normal at once.
    let later = app.state.clock.now().unix_timestamp();
    let paid = stripe.event(
        "customer.subscription.updated",
        stripe.subscription(&session, "active", period_end, false),
        later,
    );
    assert_eq!(stripe.send_at(&paid, later).await, 200);
    all_applied(&app).await;
    assert_eq!(reply("Paid again").await, 303);
    let (_, page) = owner.page("/dashboard").await;
    assert!(!page.contains("billing-banner"));
}

#[tokio::test]
async fn a_canceled_workspace_is_read_only_and_says_until_when_its_data_is_kept() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let session = subscribed(&app, &stripe, &owner).await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hello?").await;
    let t = now() + 2;
    let canceled = stripe.event(
        "customer.subscription.deleted",
        stripe.subscription(&session, "canceled", t, false),
        t,
    );
    assert_eq!(stripe.send(&canceled).await, 200);
    all_applied(&app).await;
    let keep_until =
        time::OffsetDateTime::from_unix_timestamp(t).expect("t") + time::Duration::days(30);
    let date = format!(
        "{}-{:02}-{:02}",
        keep_until.year(),
        u8::from(keep_until.month()),
        keep_until.day()
    );
    let (_, page) = owner.page("/dashboard").await;
    assert!(
        page.contains("subscription was canceled") && page.contains(&date),
        "{page}"
    );
    let response = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Blocked")],
        )
        .await;
    assert_eq!(response.status(), 402);
    // The API refuses too, in JSON.
    let token = api_token(&owner, "sync").await;
    let response = reqwest::Client::new()
        .post(
            app.browser()
                .url(&format!("/api/v1/conversations/{conversation}/messages")),
        )
        .bearer_auth(&token)
        .json(&json!({"text": "Blocked too"}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 402);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("canceled"))
    );
}

/// Stores a file for `org` the way fetched media is kept; its digest.
async fn stored_file(app: &TestApp, org: uuid::Uuid, bytes: &[u8]) -> String {
    let mut tx = wacrm::infra::tenancy::bootstrap::for_job(&app.state.pool, org)
        .await
        .expect("tx");
    wacrm::infra::db::media::store(
        &mut tx,
        &app.state.media,
        Some("image/png"),
        "photo.png",
        wacrm::infra::media_store::Incoming::from_bytes(bytes.to_vec()),
    )
    .await
    .expect("store");
    tx.commit().await.expect("commit");
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// Rows of `org` in every table that has an `org_id`.
async fn rows_of(app: &TestApp, org: uuid::Uuid) -> Vec<(String, i64)> {
    let mut conn = app.admin_conn().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.columns \
         where table_schema = 'public' and column_name = 'org_id' \
           and table_name in (select tablename from pg_tables where schemaname = 'public')",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut found = vec![];
    for table in tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where org_id = $1"
        )))
        .bind(org)
        .fetch_one(&mut conn)
        .await
        .expect("count");
        if n > 0 {
            found.push((table, n));
        }
    }
    found
}

#[tokio::test]
async fn a_canceled_workspace_is_kept_thirty_days_restorable_then_deleted_with_its_files() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let session = subscribed(&app, &stripe, &owner).await;
    customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hello?").await;
    let other_owner = app.sign_up("Bob", "bob@globex.test", "Globex").await;
    let other = app.org_id("Globex").await;
    customer_writes(&other_owner, "Rui", "+55 11 91234 0000", "Oi").await;
    let only_acme = stored_file(&app, org, b"acme's own photo").await;
    let shared = stored_file(&app, org, b"a photo both have").await;
    assert_eq!(stored_file(&app, other, b"a photo both have").await, shared);
    let racing = stored_file(&app, org, b"a photo Globex stores as Acme goes").await;
    let file_path = |sha: &str| {
        app.state
            .config
            .data_dir
            .join("media")
            .join(&sha[0..2])
            .join(&sha[2..4])
            .join(sha)
    };
    assert!(file_path(&only_acme).exists() && file_path(&shared).exists());

    let cancel = |at: time::OffsetDateTime| {
        stripe.event(
            "customer.subscription.deleted",
            stripe.subscription(&session, "canceled", at.unix_timestamp(), false),
            at.unix_timestamp(),
        )
    };
    let send = |event: Value| {
        let stripe = &stripe;
        let at = app.state.clock.now().unix_timestamp();
        async move { stripe.send_at(&event, at).await }
    };
    let env = app.state.env();
    let sweep = || wacrm::features::billing::lapsed_workspaces::sweep(&env);

    // Canceled; 23 days later the owners are warned (once), at 29 again.
    assert_eq!(send(cancel(app.state.clock.now())).await, 200);
    all_applied(&app).await;
    app.state
        .clock
        .advance(time::Duration::days(23) + time::Duration::hours(1));
    assert_eq!(sweep().await.expect("sweep").warned, 1);
    assert_eq!(sweep().await.expect("sweep").warned, 0, "warned once");
    app.mail_to("owner@acme.test", "kept until").await;
    app.state.clock.advance(time::Duration::days(6));
    let swept = sweep().await.expect("sweep");
    assert_eq!(
        (swept.warned, swept.purged.len()),
        (1, 0),
        "day 29: warned, kept"
    );

    // Subscribing again on day 29 keeps everything past day 31.
    let back = stripe.event(
        "customer.subscription.updated",
        stripe.subscription(&session, "active", 0, false),
        app.state.clock.now().unix_timestamp(),
    );
    assert_eq!(send(back).await, 200);
    all_applied(&app).await;
    app.state.clock.advance(time::Duration::days(2));
    assert!(sweep().await.expect("sweep").purged.is_empty());
    assert!(!rows_of(&app, org).await.is_empty());

    // Canceled again: 31 days later every row and the files only it had go.
    assert_eq!(send(cancel(app.state.clock.now())).await, 200);
    all_applied(&app).await;
    app.state.clock.advance(time::Duration::days(31));
    // Globex stores one of Acme's files while the purge runs: its
    // transaction is still open when the sweep reaches that file.
    let mut globex = wacrm::infra::tenancy::bootstrap::for_job(&app.state.pool, other)
        .await
        .expect("tx");
    let racing_bytes = b"a photo Globex stores as Acme goes";
    wacrm::infra::db::media::store(
        &mut globex,
        &app.state.media,
        Some("image/png"),
        "same.png",
        wacrm::infra::media_store::Incoming::from_bytes(racing_bytes.to_vec()),
    )
    .await
    .expect("store");
    let (swept, ()) = tokio::join!(sweep(), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        globex.commit().await.expect("commit");
    });
    let swept = swept.expect("sweep");
    assert_eq!(swept.purged, vec![org]);
    assert_eq!(swept.files_removed, 1);
    assert_eq!(
        std::fs::read(file_path(&racing)).expect("kept for Globex"),
        racing_bytes,
        "a file Globex stored during the purge stays"
    );
    assert_eq!(
        rows_of(&app, org).await,
        vec![],
        "no row of the workspace remains"
    );
    assert_eq!(
        app.count("select count(*) from organizations where name = 'Acme'")
            .await,
        0
    );
    let events: i64 = sqlx::query_scalar(
        "select count(*) from stripe_events where payload #>> '{data,object,customer}' = $1",
    )
    .bind(&session.customer)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("count");
    assert_eq!(events, 0, "nor Stripe's events about it");
    assert!(!file_path(&only_acme).exists(), "its own file is gone");
    assert!(file_path(&shared).exists(), "a file Globex also has stays");

    // Globex is untouched.
    assert!(
        rows_of(&app, other)
            .await
            .iter()
            .any(|(t, _)| t == "messages")
    );
    assert!(rows_of(&app, other).await.iter().any(|(t, _)| t == "media"));
    let (status, _) = other_owner.page("/inbox").await;
    assert_eq!(status, 200);
    assert!(
        sweep().await.expect("sweep").purged.is_empty(),
        "nothing more"
    );
}
