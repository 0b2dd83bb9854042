//! The knowledge base and the bot, against the fake OpenAI server and the
//! sandbox channel: articles written, imported and searched; the bot
//! answers from them (marked automated), hands over when asked, when
//! nothing matches, when the model says so or after N answers, then stays
//! quiet; it never writes to an opted-out contact, where a person answers,
//! or inside business hours when set to answer outside them; one run per
//! message; only the workspace's own articles reach the prompt.

use crate::support::fake_openai::{FakeOpenAi, Next};
use crate::support::*;

async fn app_with_ai(ai: &FakeOpenAi) -> TestApp {
    spawn_app_without_worker_with(|config| ai.configure(config)).await
}

async fn sandbox_channel(app: &TestApp, org: uuid::Uuid) -> String {
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from channels where org_id = $1 and kind = 'sandbox'")
            .bind(org)
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("sandbox channel");
    id.to_string()
}

async fn article(owner: &Browser, title: &str, body: &str) {
    let response = owner
        .post_form("/knowledge", &[("title", title), ("body", body)])
        .await;
    assert_eq!(response.status(), 303, "adding {title}");
}

async fn set_bot(owner: &Browser, channel: &str, mode: &str, max_turns: &str) -> u16 {
    owner
        .post_form(
            &format!("/settings/bot/{channel}"),
            &[
                ("mode", mode),
                ("max_turns", max_turns),
                ("handover_message", "A colleague will answer you shortly."),
            ],
        )
        .await
        .status()
        .as_u16()
}

/// The bot's runs of a workspace, oldest first: (outcome, reason).
async fn runs(app: &TestApp, org: uuid::Uuid) -> Vec<(String, String)> {
    sqlx::query_as("select outcome, reason from bot_runs where org_id = $1 order by created_at")
        .bind(org)
        .fetch_all(&mut app.admin_conn().await)
        .await
        .expect("runs")
}

/// Runs the due jobs (the bot's among them): at least `n` runs are done.
async fn wait_runs(app: &TestApp, org: uuid::Uuid, n: usize) -> Vec<(String, String)> {
    app.run_pending_jobs().await;
    let done = runs(app, org).await;
    assert!(done.len() >= n, "{n} bot runs: {done:?}");
    done
}

/// The automated messages of a workspace, oldest first.
async fn automated(app: &TestApp, org: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "select body from messages where org_id = $1 and automated order by created_at",
    )
    .bind(org)
    .fetch_all(&mut app.admin_conn().await)
    .await
    .expect("automated")
}

/// A workspace with AI on, the sandbox's bot on and a shipping article.
async fn ready(app: &TestApp, mode: &str, max_turns: &str) -> (Browser, uuid::Uuid, String) {
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let org = app.org_id("Acme").await;
    // The simulator's channel exists once a customer wrote (the bot is off).
    customer_writes(&owner, "First", "+55 81 99999 0000", "hi").await;
    let channel = sandbox_channel(app, org).await;
    assert_eq!(
        set_bot(&owner, &channel, mode, max_turns).await,
        422,
        "AI must be on first"
    );
    let on = owner.post_form("/settings/ai", &[("enabled", "on")]).await;
    assert_eq!(on.status(), 303);
    assert_eq!(set_bot(&owner, &channel, mode, max_turns).await, 303);
    article(
        &owner,
        "Shipping",
        "We ship to all of Brazil, Recife included, in 3 working days.",
    )
    .await;
    (owner, org, channel)
}

#[tokio::test]
async fn the_knowledge_base_is_written_imported_searched_and_kept_to_its_workspace() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    let owner = &team.owner;
    article(
        owner,
        "Shipping",
        "We ship to all of Brazil in 3 working days.",
    )
    .await;
    article(owner, "Opening hours", "Monday to Friday, 9 to 17.").await;
    let (status, page) = {
        let r = owner
            .post_form("/knowledge", &[("title", " "), ("body", "x")])
            .await;
        (r.status().as_u16(), r.text().await.expect("body"))
    };
    assert_eq!(status, 422);
    assert!(page.contains("Title: write a title or the question."));

    let (_, page) = owner.page("/knowledge?q=do+you+ship+to+Recife%3F").await;
    let matches = &page[page.find("id=\"matches\"").expect("matches")..];
    let matches = &matches[..matches.find("</ol>").expect("list")];
    assert!(
        matches.contains("Shipping") && !matches.contains("Opening hours"),
        "{matches}"
    );
    let (_, page) = owner.page("/knowledge?q=refund+policy").await;
    assert!(page.contains("Nothing matches: the bot would hand this over to a person."));

    // A CSV of questions and answers.
    let token = owner.csrf_token().await;
    let csv =
        "question,answer\nDo you take cards?,\"Yes: Visa, Mastercard and Pix.\"\nBroken row,\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
            .file_name("faq.csv")
            .mime_str("text/csv")
            .expect("mime"),
    );
    let response = owner
        .client
        .post(owner.url(&format!("/knowledge/import?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .expect("import");
    assert_eq!(response.status(), 303);
    let (_, page) = owner.page("/knowledge").await;
    assert!(page.contains("1 questions and answers added to the knowledge base."));
    assert!(
        page.contains("Not added: line 3: Text: write the article or the answer."),
        "{page}"
    );
    assert!(page.contains("Yes: Visa, Mastercard and Pix."));
    assert!(page.contains("Articles (3)"));

    // Edit and delete; agents may not; another workspace cannot reach them.
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from kb_articles where title = 'Opening hours'")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .expect("id");
    let edit = format!("/knowledge/{id}");
    assert_eq!(team.agent.page("/knowledge").await.0, 403);
    let other = app.sign_up("Bob", "bob@globex.test", "Globex").await;
    for (path, fields) in [
        (edit.clone(), vec![("title", "Hacked"), ("body", "x")]),
        (format!("{edit}/delete"), vec![]),
    ] {
        assert_eq!(
            other.post_form(&path, &fields).await.status(),
            404,
            "{path}"
        );
    }
    let (_, theirs) = other.page("/knowledge?q=ship").await;
    assert!(
        theirs.contains("Nothing matches") && theirs.contains("Articles (0)"),
        "Globex sees nothing of Acme's"
    );
    let saved = owner
        .post_form(
            &edit,
            &[("title", "Opening hours"), ("body", "Every day, 8 to 20.")],
        )
        .await;
    assert_eq!(saved.status(), 303);
    assert!(
        owner
            .page("/knowledge")
            .await
            .1
            .contains("Every day, 8 to 20.")
    );
    assert_eq!(
        owner
            .post_form(&format!("{edit}/delete"), &[])
            .await
            .status(),
        303
    );
    assert!(
        !owner
            .page("/knowledge")
            .await
            .1
            .contains("Every day, 8 to 20.")
    );
}

#[tokio::test]
async fn the_bot_answers_from_the_knowledge_base_then_hands_over_and_stays_quiet() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai).await;
    let (owner, org, _) = ready(&app, "always", "3").await;
    // Another workspace's article on the same topic never reaches Acme's prompt.
    let globex = app.sign_up("Bob", "bob@globex.test", "Globex").await;
    article(&globex, "Shipping", "GLOBEX-ONLY ships to Recife by drone.").await;

    ai.then(Next::Answer(
        "Yes! We ship to Recife in 3 working days.".into(),
    ));
    let conversation = customer_writes(
        &owner,
        "Maria",
        "+55 81 91234 5678",
        "Do you ship to Recife?",
    )
    .await;
    let done = wait_runs(&app, org, 1).await;
    assert_eq!(done[0].0, "answered");
    let prompt = ai.last().prompt();
    assert!(prompt.contains("### Shipping\nWe ship to all of Brazil, Recife included"));
    assert!(prompt.contains("Maria: Do you ship to Recife?"));
    assert!(!prompt.contains("GLOBEX"), "{prompt}");
    assert_eq!(
        automated(&app, org).await,
        vec!["🤖 Yes! We ship to Recife in 3 working days."]
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("<span class=\"automated\">Automated</span>"));
    assert!(page.contains("The bot answered 1 time here."));

    // The same job again (a retry) does nothing more.
    let first: uuid::Uuid = sqlx::query_scalar("select message_id from bot_runs where org_id = $1")
        .bind(org)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("run");
    wacrm::features::ai::bot::answer(&app.state.env(), org, first)
        .await
        .expect("again");
    assert_eq!(automated(&app, org).await.len(), 1);
    assert_eq!(ai.received().len(), 1);

    // Asking for a person hands over at once, without the model.
    customer_writes(
        &owner,
        "Maria",
        "+55 81 91234 5678",
        "Can I talk to a human?",
    )
    .await;
    let done = wait_runs(&app, org, 2).await;
    assert_eq!(
        done[1],
        (
            "handed_over".into(),
            "the customer asked for a person".into()
        )
    );
    assert_eq!(
        automated(&app, org).await[1],
        "A colleague will answer you shortly."
    );
    let (_, page) = owner.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains(
        "The bot handed this conversation to a person: the customer asked for a person."
    ));

    // Then it stays quiet in this conversation.
    customer_writes(
        &owner,
        "Maria",
        "+55 81 91234 5678",
        "Do you ship to Recife?",
    )
    .await;
    let done = wait_runs(&app, org, 3).await;
    assert_eq!(
        done[2],
        ("skipped".into(), "handed over to a person earlier".into())
    );
    assert_eq!(automated(&app, org).await.len(), 2);
    assert_eq!(ai.received().len(), 1);
}

#[tokio::test]
async fn the_bot_hands_over_without_an_answer_and_stays_out_where_it_must() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai).await;
    let (owner, org, channel) = ready(&app, "always", "1").await;
    let customer = |phone: &'static str, text: &'static str| {
        let owner = &owner;
        async move { customer_writes(owner, "Rui", phone, text).await }
    };

    // Nothing in the knowledge base: a person, without the model.
    customer("+55 81 90000 0001", "Who is your CEO?").await;
    let done = wait_runs(&app, org, 1).await;
    assert_eq!(
        done[0],
        (
            "handed_over".into(),
            "nothing in the knowledge base matches".into()
        )
    );
    assert!(ai.received().is_empty());

    // The model finds no answer in the articles.
    ai.then(Next::Answer("HANDOVER".into()));
    customer("+55 81 90000 0002", "Do you ship frozen food?").await;
    let done = wait_runs(&app, org, 2).await;
    assert_eq!(done[1].0, "handed_over");
    assert!(done[1].1.contains("the model said"));

    // One answer allowed: the second question goes to a person.
    ai.then(Next::Answer("3 working days.".into()));
    customer("+55 81 90000 0003", "How long does shipping take?").await;
    wait_runs(&app, org, 3).await;
    customer("+55 81 90000 0003", "And shipping to Recife?").await;
    let done = wait_runs(&app, org, 4).await;
    assert_eq!(
        (done[2].0.as_str(), done[3].1.as_str()),
        ("answered", "1 answers given")
    );

    // An opted-out contact gets nothing.
    let created = owner
        .post_form(
            "/contacts",
            &[("name", "Ana"), ("phone", "+55 81 90000 0004")],
        )
        .await;
    assert_eq!(created.status(), 303);
    sqlx::query("update contacts set opted_out = true where phone = '+5581900000004'")
        .execute(&mut app.admin_conn().await)
        .await
        .expect("opt out");
    customer("+55 81 90000 0004", "Do you ship to Recife?").await;
    let done = wait_runs(&app, org, 5).await;
    assert_eq!(done[4], ("skipped".into(), "the contact opted out".into()));

    // Where a person already answered, the bot stays out.
    let conversation = customer("+55 81 90000 0005", "Who is your CEO?").await;
    wait_runs(&app, org, 6).await;
    sqlx::query("update conversations set bot_handed_over_at = null where id = $1::uuid")
        .bind(&conversation)
        .execute(&mut app.admin_conn().await)
        .await
        .expect("back to the bot");
    let reply = owner
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", "Hi Rui, Olga here.")],
        )
        .await;
    assert_eq!(reply.status(), 303);
    customer("+55 81 90000 0005", "Do you ship to Recife?").await;
    let done = wait_runs(&app, org, 7).await;
    assert_eq!(
        done[6],
        (
            "skipped".into(),
            "a person answers in this conversation".into()
        )
    );

    // Outside business hours only: open all week now, so it stays out.
    assert_eq!(set_bot(&owner, &channel, "outside_hours", "3").await, 303);
    let all_day = serde_json::json!({
        "mon": {"open": "00:00", "close": "23:59"}, "tue": {"open": "00:00", "close": "23:59"},
        "wed": {"open": "00:00", "close": "23:59"}, "thu": {"open": "00:00", "close": "23:59"},
        "fri": {"open": "00:00", "close": "23:59"}, "sat": {"open": "00:00", "close": "23:59"},
        "sun": {"open": "00:00", "close": "23:59"}});
    sqlx::query("update organizations set business_hours = $1 where id = $2")
        .bind(&all_day)
        .bind(org)
        .execute(&mut app.admin_conn().await)
        .await
        .expect("hours");
    customer("+55 81 90000 0006", "Do you ship to Recife?").await;
    let done = wait_runs(&app, org, 8).await;
    assert_eq!(done[7], ("skipped".into(), "within business hours".into()));

    // Bad settings, other roles, other workspaces.
    for (mode, turns) in [("sometimes", "3"), ("always", "0"), ("always", "x")] {
        assert_eq!(
            set_bot(&owner, &channel, mode, turns).await,
            422,
            "{mode} {turns}"
        );
    }
    let other = app.sign_up("Bob", "bob@globex.test", "Globex").await;
    assert_eq!(set_bot(&other, &channel, "off", "3").await, 404);
    assert_eq!(set_bot(&owner, "not-an-id", "off", "3").await, 404);
}

#[tokio::test]
async fn the_bot_offers_free_times_and_books_the_one_picked() {
    let ai = FakeOpenAi::start().await;
    let app = app_with_ai(&ai).await;
    let (owner, org, _) = ready(&app, "always", "5").await;
    let response = owner
        .post_form(
            "/settings/bookings/services",
            &[("name", "Haircut"), ("minutes", "60")],
        )
        .await;
    assert_eq!(response.status(), 303);
    works_every_morning(&owner, app.user_id("owner@acme.test").await).await;

    let phone = "+55 81 98888 1111";
    customer_writes(&owner, "Bia", phone, "Can I book a haircut?").await;
    wait_runs(&app, org, 1).await;
    let said = automated(&app, org).await;
    let offer = said.last().unwrap().clone();
    assert!(
        offer.starts_with("🤖 I can book Haircut (60 min) at:\n1) "),
        "{offer}"
    );
    assert!(offer.contains("with Olga") && offer.contains("Reply with the number"));
    let first_time = offer
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("1) ")
        .to_owned();

    customer_writes(&owner, "Bia", phone, "1").await;
    wait_runs(&app, org, 2).await;
    let said = automated(&app, org).await;
    let booked = said.last().unwrap();
    assert!(
        booked.starts_with("🤖 Booked: Haircut with Olga on "),
        "{booked}"
    );
    assert!(
        booked.contains(first_time.trim_end_matches(" with Olga")),
        "{booked} vs {first_time}"
    );
    assert_eq!(
        app.count(
            "select count(*) from bookings where status = 'booked' and conversation_id is not null"
        )
        .await,
        1
    );
    assert!(ai.received().is_empty(), "no model for times and bookings");

    // Asked again: the booked time is no longer offered; a stale number is not a pick.
    customer_writes(&owner, "Bia", phone, "Another appointment please").await;
    wait_runs(&app, org, 3).await;
    let again = automated(&app, org).await.last().unwrap().clone();
    assert!(
        again.starts_with("🤖 I can book Haircut") && !again.contains(&first_time),
        "{again}"
    );
}
