//! AI assist against a local fake OpenAI-compatible server: off until an
//! owner turns it on (and the page says what is sent), drafts into the
//! composer (never sent by themselves), summaries, translations, rewrites;
//! the workspace's own key and model; provider errors and timeouts as a
//! short message with the draft kept; prompts carry only the one
//! workspace's conversation; metering and the plan's allowance.

use serde_json::Value;

use crate::support::fake_openai::{self, FakeOpenAi, Next};
use crate::support::fake_stripe;
use crate::support::*;

async fn app_with_ai(
    ai: &FakeOpenAi,
    customize: impl FnOnce(&mut wacrm::infra::config::Config),
) -> TestApp {
    spawn_app_with(|config| {
        ai.configure(config);
        config.ai_model = Some("test-model-mini".into());
        customize(config);
    })
    .await
}

/// The owner turns AI on for the workspace.
async fn turn_on(owner: &Browser, extra: &[(&str, &str)]) {
    let mut fields = vec![("enabled", "on")];
    fields.extend_from_slice(extra);
    let response = owner.post_form("/settings/ai", &fields).await;
    assert_eq!(response.status(), 303, "turning AI on");
}

/// POSTs as htmx does (the `HX-Request` header); status and body.
async fn htmx_post(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let token = browser.csrf_token().await;
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    let response = browser
        .client
        .post(browser.url(path))
        .header("HX-Request", "true")
        .form(&all)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn post(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let response = browser.post_form(path, fields).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn usage(app: &TestApp, org: uuid::Uuid) -> (i64, i64, i64) {
    let row: Option<(i32, i64, i64)> = sqlx::query_as(
        "select calls, prompt_tokens, completion_tokens from ai_usage where org_id = $1",
    )
    .bind(org)
    .fetch_optional(&mut app.admin_conn().await)
    .await
    .expect("usage");
    row.map_or((0, 0, 0), |(c, p, t)| (i64::from(c), p, t))
}

/// The newest inbound message of the conversation.
async fn inbound_id(app: &TestApp, conversation: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar(
        "select id from messages where conversation_id = $1::uuid and direction = 'in' \
         order by created_at desc limit 1",
    )
    .bind(conversation)
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("inbound message");
    id.to_string()
}

#[tokio::test]
async fn ai_is_off_until_an_owner_turns_it_on_after_reading_what_is_sent() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai, |_| {}).await;
    let team = team(&app).await;
    let conversation = customer_writes(&team.owner, "Maria", "+55 11 91234 5678", "Oi!").await;
    let path = format!("/inbox/{conversation}");
    let (_, page) = team.agent.page(&path).await;
    assert!(!page.contains("Suggest a reply"), "no AI buttons while off");

    let (status, body) = post(
        &team.agent,
        &format!("{path}/ai/draft"),
        &[("action", "suggest"), ("text", "")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("AI is off for this workspace"), "{body}");

    // Only owners see and change the setting; the page says what is sent.
    for other in [&team.admin, &team.agent] {
        assert_eq!(other.page("/settings/ai").await.0, 403);
        assert_eq!(
            other
                .post_form("/settings/ai", &[("enabled", "on")])
                .await
                .status(),
            403
        );
    }
    let (status, settings) = team.owner.page("/settings/ai").await;
    assert_eq!(status, 200);
    assert!(settings.contains("the last 20 messages of that one conversation"));
    assert!(
        settings.contains("<code>127.0.0.1</code>"),
        "the provider's host"
    );
    turn_on(&team.owner, &[]).await;
    let (_, settings) = team.owner.page("/settings/ai").await;
    assert!(settings.contains("AI is on for this workspace."));
    assert!(settings.contains("Turned on by Olga Owner"), "{settings}");

    let (_, page) = team.agent.page(&path).await;
    assert!(page.contains("Suggest a reply") && page.contains("Summarize (AI)"));
    assert!(
        page.contains(">Translate</button>"),
        "on the customer's message"
    );
    assert!(ai.received().is_empty(), "nothing sent until someone asks");

    // Off again: the buttons go and the routes refuse.
    let response = team.owner.post_form("/settings/ai", &[("model", "")]).await;
    assert_eq!(response.status(), 303);
    let (status, _) = post(&team.agent, &format!("{path}/ai/summary"), &[]).await;
    assert_eq!(status, 409);
    assert!(ai.received().is_empty());
}

#[tokio::test]
async fn a_suggested_reply_goes_into_the_composer_and_is_never_sent_by_itself() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai, |_| {}).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let conversation = customer_writes(
        &owner,
        "Maria Souza",
        "+55 11 91234 5678",
        "Do you ship to Recife?",
    )
    .await;
    turn_on(&owner, &[]).await;
    let path = format!("/inbox/{conversation}/ai/draft");

    ai.then(Next::Answer("Yes, we ship to Recife in 3 days.".into()));
    let (status, fragment) = htmx_post(&owner, &path, &[("action", "suggest"), ("text", "")]).await;
    assert_eq!(status, 200);
    assert!(fragment.contains("AI draft: read and edit it before you send it."));
    assert!(
        fragment.contains("id=\"reply-text\"")
            && fragment.contains("hx-swap-oob=\"true\"")
            && fragment.contains(">Yes, we ship to Recife in 3 days.</textarea>"),
        "the composer's box, replaced with the draft: {fragment}"
    );
    let asked = ai.last();
    assert_eq!(asked.key, fake_openai::DEPLOYMENT_KEY);
    assert_eq!(asked.model(), "test-model-mini");
    assert_eq!(asked.body["messages"][0]["role"], "system");
    let prompt = asked.prompt();
    assert!(prompt.contains("“Acme”"), "{prompt}");
    assert!(
        prompt.contains("Maria Souza: Do you ship to Recife?"),
        "{prompt}"
    );
    assert_eq!(
        app.count("select count(*) from messages where direction = 'out'")
            .await,
        0,
        "nothing is sent by itself"
    );
    let (calls, prompt_tokens, completion_tokens) = usage(&app, org).await;
    assert_eq!(calls, 1);
    assert!(prompt_tokens > 0 && completion_tokens > 0);

    // Without a script: a page with the draft in a form that sends it.
    ai.then(Next::Answer("Olá Maria! Enviamos sim.".into()));
    let (status, page) = post(&owner, &path, &[("action", "suggest"), ("text", "")]).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("action=\"/inbox/{conversation}/messages\"")));
    assert!(
        page.contains(">Olá Maria! Enviamos sim.</textarea>"),
        "{page}"
    );
    assert_eq!(usage(&app, org).await.0, 2);
    let (_, settings) = owner.page("/settings/ai").await;
    assert!(
        settings.contains("<tr><th>AI requests</th><td>2</td></tr>"),
        "{settings}"
    );
}

#[tokio::test]
async fn summaries_translations_and_rewrites_ask_for_what_the_agent_wants() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai, |_| {}).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(
        &owner,
        "Maria",
        "+55 11 91234 5678",
        "Vocês entregam no sábado?",
    )
    .await;
    turn_on(&owner, &[]).await;
    let base = format!("/inbox/{conversation}/ai");

    ai.then(Next::Answer(
        "Maria asks about Saturday delivery.\nOpen: answer her.".into(),
    ));
    let (status, fragment) = htmx_post(&owner, &format!("{base}/summary"), &[]).await;
    assert_eq!(status, 200);
    assert!(fragment.contains("Maria asks about Saturday delivery.\nOpen: answer her."));
    assert!(ai.last().prompt().contains("Summarize the conversation"));

    // The agent reads customers in German.
    let response = owner
        .post_form("/profile/language", &[("language", "de")])
        .await;
    assert_eq!(response.status(), 303);
    let bad = owner
        .post_form("/profile/language", &[("language", "klingon")])
        .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .expect("body")
            .contains("not a language wacrm offers")
    );
    let message = inbound_id(&app, &conversation).await;
    ai.then(Next::Answer("Liefern Sie am Samstag?".into()));
    let (status, fragment) = htmx_post(
        &owner,
        &format!("{base}/translate"),
        &[("message_id", &message)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(fragment.contains("Liefern Sie am Samstag?"));
    let prompt = ai.last().prompt();
    assert!(prompt.contains("into German") && prompt.contains("Vocês entregam no sábado?"));

    // The draft into the customer's language, and rewritten.
    ai.then(Next::Answer("Sim, entregamos no sábado.".into()));
    let (_, fragment) = htmx_post(
        &owner,
        &format!("{base}/draft"),
        &[
            ("action", "translate"),
            ("text", "Yes, we deliver on Saturday."),
        ],
    )
    .await;
    assert!(fragment.contains(">Sim, entregamos no sábado.</textarea>"));
    let prompt = ai.last().prompt();
    assert!(prompt.contains("language the customer writes in"));
    assert!(prompt.contains("Yes, we deliver on Saturday."));
    for (style, word) in [
        ("shorter", "shorter"),
        ("friendlier", "friendlier"),
        ("formal", "formal"),
    ] {
        htmx_post(
            &owner,
            &format!("{base}/draft"),
            &[
                ("action", style),
                ("text", "Dear customer, yes we do deliver."),
            ],
        )
        .await;
        let prompt = ai.last().prompt();
        assert!(prompt.contains(word), "{style}: {prompt}");
        assert!(prompt.contains("Dear customer, yes we do deliver."));
    }
    let asked = ai.received().len();

    // Bad input: a clear sentence, nothing asked of the provider.
    let (status, page) = post(
        &owner,
        &format!("{base}/draft"),
        &[("action", "angrier"), ("text", "hi")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("is not something AI does with a draft"),
        "{page}"
    );
    let (status, fragment) = htmx_post(
        &owner,
        &format!("{base}/draft"),
        &[("action", "shorter"), ("text", "  ")],
    )
    .await;
    assert_eq!(status, 200, "htmx shows the sentence in place");
    assert!(fragment.contains("role=\"alert\"") && fragment.contains("Write a draft first"));
    assert!(!fragment.contains("reply-text"), "the draft is left alone");
    let (status, _) = post(
        &owner,
        &format!("{base}/draft"),
        &[("action", "shorter"), ("text", &"x".repeat(4097))],
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post(
        &owner,
        &format!("{base}/translate"),
        &[("message_id", "nope")],
    )
    .await;
    assert_eq!(status, 400);
    let other = customer_writes(&owner, "Rui", "+55 11 91234 0000", "Oi").await;
    let elsewhere = inbound_id(&app, &other).await;
    let (status, _) = post(
        &owner,
        &format!("{base}/translate"),
        &[("message_id", &elsewhere)],
    )
    .await;
    assert_eq!(status, 404, "a message of another conversation");
    assert_eq!(ai.received().len(), asked);
}

#[tokio::test]
async fn a_workspace_key_and_model_are_used_sealed_and_never_shown() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai, |_| {}).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hello").await;
    let own_key = "sk-own-acme-9f8e7d6c5b4a";
    ai.accept_key(own_key);

    let (status, page) = post(
        &owner,
        "/settings/ai",
        &[("enabled", "on"), ("model", "gpt 4"), ("api_key", own_key)],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("The model name can have letters"));
    assert!(!page.contains(own_key), "the key is not shown back");
    turn_on(&owner, &[("model", "llama3.1:8b"), ("api_key", own_key)]).await;
    let (_, settings) = owner.page("/settings/ai").await;
    assert!(!settings.contains(own_key));
    assert!(settings.contains("set (leave empty to keep it)"));
    let sealed: Vec<u8> = sqlx::query_scalar("select api_key_sealed from ai_settings")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("sealed");
    assert!(
        !sealed
            .windows(own_key.len())
            .any(|w| w == own_key.as_bytes()),
        "encrypted at rest"
    );

    let path = format!("/inbox/{conversation}/ai/draft");
    htmx_post(&owner, &path, &[("action", "suggest")]).await;
    let asked = ai.last();
    assert_eq!(
        (asked.key.as_str(), asked.model()),
        (own_key, "llama3.1:8b")
    );

    // Saving without a key keeps it; removing it goes back to the deployment's.
    turn_on(&owner, &[("model", "llama3.1:8b")]).await;
    htmx_post(&owner, &path, &[("action", "suggest")]).await;
    assert_eq!(ai.last().key, own_key);
    turn_on(&owner, &[("remove_key", "on")]).await;
    htmx_post(&owner, &path, &[("action", "suggest")]).await;
    let asked = ai.last();
    assert_eq!(
        (asked.key.as_str(), asked.model()),
        (fake_openai::DEPLOYMENT_KEY, "test-model-mini")
    );
}

#[tokio::test]
async fn without_a_deployment_provider_ai_needs_the_workspace_key() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (_, settings) = owner.page("/settings/ai").await;
    assert!(settings.contains("This wacrm has no AI provider of its own"));
    let (status, page) = post(&owner, "/settings/ai", &[("enabled", "on")]).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("no AI provider of its own: add your workspace&#39;s API key to turn AI on"),
        "{page}"
    );
}

#[tokio::test]
async fn provider_errors_and_timeouts_are_a_short_message_and_the_draft_stays() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai, |config| config.ai_timeout_secs = 2).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hello").await;
    turn_on(&owner, &[]).await;
    let path = format!("/inbox/{conversation}/ai/draft");
    let draft = [("action", "shorter"), ("text", "My careful draft")];

    // async-openai retries a rate limit and a server error 3 times (0.1 s,
    // 0.2 s, 0.4 s), within wacrm's timeout; a used-up quota at once.
    let cases = [
        (
            Next::Error(429, "requests", "rate_limit_exceeded", "Rate limit reached"),
            4,
            "The AI provider is busy",
        ),
        (
            Next::Error(
                429,
                "insufficient_quota",
                "insufficient_quota",
                "You exceeded your current quota",
            ),
            1,
            "quota for this key is used up",
        ),
        (
            Next::Error(
                500,
                "server_error",
                "server_error",
                "The server had an error",
            ),
            4,
            "The AI provider failed (HTTP 500)",
        ),
        (
            Next::Slow(std::time::Duration::from_secs(4), "too late".into()),
            1,
            "did not answer within 2 seconds",
        ),
    ];
    for (next, tries, says) in cases {
        for _ in 0..tries {
            ai.then(next.clone());
        }
        let before = ai.received().len();
        let (status, fragment) = htmx_post(&owner, &path, &draft).await;
        assert_eq!(status, 200, "{says}");
        assert!(fragment.contains(says), "{says}: {fragment}");
        assert!(
            !fragment.contains("reply-text"),
            "the draft is not replaced"
        );
        assert_eq!(ai.received().len() - before, tries, "{says}: tries");
    }
    // Without a script: the page says it and keeps the draft to send.
    for _ in 0..4 {
        ai.then(Next::Error(503, "server_error", "overloaded", "Overloaded"));
    }
    let (status, page) = post(&owner, &path, &draft).await;
    assert_eq!(status, 502);
    assert!(page.contains("The AI provider failed (HTTP 503)"));
    assert!(page.contains(">My careful draft</textarea>"), "{page}");
    // A key the provider refuses.
    turn_on(&owner, &[("api_key", "sk-revoked-0000")]).await;
    let (_, fragment) = htmx_post(&owner, &path, &draft).await;
    assert!(fragment.contains("refused the API key"), "{fragment}");
    assert_eq!(usage(&app, org).await.0, 0, "failed calls are not counted");
}

#[tokio::test]
async fn a_prompt_carries_only_its_own_conversation_of_its_own_workspace() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai, |_| {}).await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Bob", "bob@globex.test", "Globex").await;
    turn_on(&acme, &[]).await;
    turn_on(&globex, &[]).await;
    let ours = customer_writes(&acme, "Maria", "+55 11 91234 5678", "ACME-ORDER-17?").await;
    customer_writes(&acme, "Rui", "+55 11 91234 0001", "ACME-OTHER-CHAT").await;
    let theirs = customer_writes(&globex, "Zed", "+55 11 91234 0002", "GLOBEX-SECRET-42").await;
    let note = acme
        .post_form(
            &format!("/inbox/{ours}/notes"),
            &[("text", "INTERNAL-NOTE-7 do not share")],
        )
        .await;
    assert_eq!(note.status(), 303);

    htmx_post(&acme, &format!("/inbox/{ours}/ai/summary"), &[]).await;
    let body: Value = ai.last().body;
    let sent = body.to_string();
    assert!(sent.contains("ACME-ORDER-17?"));
    for absent in [
        "GLOBEX",
        "Globex",
        "ACME-OTHER-CHAT",
        "INTERNAL-NOTE-7",
        "Zed",
    ] {
        assert!(!sent.contains(absent), "{absent} leaked into {sent}");
    }

    // Another workspace's conversation is not found, and nothing is asked.
    let asked = ai.received().len();
    for path in [
        format!("/inbox/{theirs}/ai/summary"),
        format!("/inbox/{theirs}/ai/draft"),
    ] {
        let (status, _) = post(&acme, &path, &[("action", "suggest")]).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = htmx_post(&acme, &format!("/inbox/{theirs}/ai/summary"), &[]).await;
    assert_eq!(status, 404);
    assert_eq!(ai.received().len(), asked);
}

#[tokio::test]
async fn with_billing_ai_is_metered_and_stops_at_the_plans_allowance() {
    let ai = FakeOpenAi::start().await;
    let stripe = fake_stripe::FakeStripe::start().await;
    let stripe_base = stripe.base_url();
    let app = app_with_ai(&ai, move |config| {
        config.stripe_secret_key = Some(fake_stripe::SECRET_KEY.to_owned().into());
        config.stripe_webhook_secret = Some(fake_stripe::WEBHOOK_SECRET.to_owned().into());
        config.stripe_api_url = stripe_base.parse().expect("url");
        config.stripe_price_pro = Some(fake_stripe::PRICE_PRO.into());
    })
    .await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hello").await;
    turn_on(&owner, &[]).await;
    let path = format!("/inbox/{conversation}/ai/draft");

    // Free: no AI requests.
    let (status, page) = post(&owner, &path, &[("action", "suggest")]).await;
    assert_eq!(status, 402);
    assert!(
        page.contains(
            "Your Free plan allows 0 AI requests a month; this workspace has made 0 this month."
        ),
        "{page}"
    );
    assert!(page.contains("href=\"/settings/billing\""));
    let (_, fragment) = htmx_post(&owner, &path, &[("action", "suggest")]).await;
    assert!(fragment.contains("Your Free plan allows 0 AI requests"));
    assert!(ai.received().is_empty());

    // Pro, with 9,999 of its 10,000 used: one more, then the limit.
    let mut conn = app.admin_conn().await;
    sqlx::query(
        "insert into billing_accounts (org_id, plan, status) values ($1, 'pro', 'active') \
         on conflict (org_id) do update set plan = 'pro', status = 'active'",
    )
    .bind(org)
    .execute(&mut conn)
    .await
    .expect("pro");
    sqlx::query(
        "insert into ai_usage (org_id, month, calls) \
         values ($1, date_trunc('month', now() at time zone 'UTC')::date, 9999)",
    )
    .bind(org)
    .execute(&mut conn)
    .await
    .expect("usage");
    let (status, _) = post(&owner, &path, &[("action", "suggest")]).await;
    assert_eq!(status, 200);
    let (status, page) = post(&owner, &path, &[("action", "suggest")]).await;
    assert_eq!(status, 402);
    assert!(page.contains(
        "Your Pro plan allows 10000 AI requests a month; this workspace has made 10000 this month."
    ));
    assert_eq!(ai.received().len(), 1);
    let (_, billing) = owner.page("/settings/billing").await;
    assert!(billing.contains("AI requests this month"));
    assert!(
        billing.contains("<td>10000</td><td>10000</td>"),
        "{billing}"
    );
    let (_, settings) = owner.page("/settings/ai").await;
    assert!(
        settings.contains("10000 of 10000 in your plan"),
        "{settings}"
    );
}
