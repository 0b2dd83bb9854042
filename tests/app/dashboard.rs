//! The dashboard ("Today"): the conversations waiting on me (the longest
//! waiting first, gone once answered), the unassigned ones, my tasks due or
//! overdue, today's bookings on the workspace's clock, the week's figures
//! counted exactly, each workspace to its own, and an empty workspace's
//! page saying what each part is for.

use time::macros::offset;
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::support::*;

/// The dashboard's card with this id (up to its end).
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section class=\"card\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id} on the dashboard: {page}"));
    let end = page[start..].find("</section>").expect("the section ends") + start;
    &page[start..end]
}

/// The list row (`<li>`) of `within` that holds `needle`.
fn row<'a>(within: &'a str, needle: &str) -> &'a str {
    let at = within
        .find(needle)
        .unwrap_or_else(|| panic!("no row with {needle}: {within}"));
    let start = within[..at].rfind("<li>").expect("inside a row");
    let end = within[at..].find("</li>").expect("the row ends") + at;
    &within[start..end]
}

/// Where `needle` is in `within` (it must be there).
fn position(within: &str, needle: &str) -> usize {
    within
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} is missing: {within}"))
}

/// The figure of the week's stat with this id.
fn stat(page: &str, id: &str) -> String {
    let at = position(page, &format!("id=\"{id}\""));
    let marker = "<span class=\"stat-value\">";
    let start = page[at..].find(marker).unwrap() + at + marker.len();
    let end = page[start..].find("</span>").unwrap() + start;
    page[start..end].to_owned()
}

async fn dashboard(browser: &Browser) -> String {
    let (status, page) = browser.page("/dashboard").await;
    assert_eq!(status, 200, "{page}");
    page
}

async fn set_time_zone(owner: &Browser, zone: &str) {
    let response = owner
        .post_form(
            "/settings",
            &[("name", "Acme"), ("time_zone", zone), ("agents_see", "all")],
        )
        .await;
    assert_eq!(response.status(), 303);
}

async fn assign(browser: &Browser, conversation: &str, to: &str) {
    let response = browser
        .post_form(
            &format!("/inbox/{conversation}/assign"),
            &[("assignee", to)],
        )
        .await;
    assert_eq!(response.status(), 303, "assigning {conversation}");
}

async fn reply(browser: &Browser, conversation: &str, text: &str) {
    let response = browser
        .post_form(
            &format!("/inbox/{conversation}/messages"),
            &[("text", text)],
        )
        .await;
    assert_eq!(response.status(), 303, "replying {text}");
}

/// The customer's last message (and so the conversation's) came `ago`.
async fn last_wrote(app: &TestApp, conversation: &str, ago: Duration) {
    sqlx::query(
        "update conversations set last_message_at = now() - $2, last_inbound_at = now() - $2 \
         where id = $1::uuid",
    )
    .bind(conversation)
    .bind(ago)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
}

/// The conversation and its messages happened eight days ago: before this
/// week's Monday, whatever today is.
async fn last_week(app: &TestApp, conversation: &str) {
    let mut conn = app.admin_conn().await;
    for sql in [
        "update conversations set created_at = now() - interval '8 days' where id = $1::uuid",
        "update messages set created_at = now() - interval '8 days' where conversation_id = $1::uuid",
    ] {
        sqlx::query(sql)
            .bind(conversation)
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

async fn create_task(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form("/tasks", fields).await;
    assert_eq!(response.status(), 303, "creating {fields:?}");
    location(&response)
        .strip_prefix("/tasks/")
        .unwrap()
        .to_owned()
}

/// A booking of the workspace's only service, made directly (booking
/// through the form is tested in bookings, and it refuses the past).
async fn insert_booking(
    app: &TestApp,
    staff: Uuid,
    contact: &str,
    starts_at: OffsetDateTime,
    minutes: i64,
    status: &str,
) {
    sqlx::query(
        "insert into bookings (org_id, id, service_id, staff_id, contact_id, starts_at, ends_at, \
           status) \
         select s.org_id, gen_random_uuid(), s.id, $1, $2::uuid, $3, $4, $5 from services s",
    )
    .bind(staff)
    .bind(contact)
    .bind(starts_at)
    .bind(starts_at + Duration::minutes(minutes))
    .bind(status)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
}

async fn add_service(owner: &Browser) {
    let response = owner
        .post_form(
            "/settings/bookings/services",
            &[("name", "Haircut"), ("minutes", "60")],
        )
        .await;
    assert_eq!(response.status(), 303);
}

/// An order of the workspace `org`, made directly.
async fn insert_order(
    app: &TestApp,
    org: Uuid,
    number: i64,
    status: &str,
    total: &str,
    ago: Duration,
) {
    sqlx::query(
        "insert into orders (org_id, id, number, source, status, currency, total, created_at) \
         values ($1, gen_random_uuid(), $2, 'manual', $3, 'BRL', $4::numeric, now() - $5)",
    )
    .bind(org)
    .bind(number)
    .bind(status)
    .bind(total)
    .bind(ago)
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap();
}

#[tokio::test]
async fn waiting_on_me_lists_my_conversations_the_customer_wrote_last_oldest_first() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    // Agents see only theirs and the unassigned: still the unassigned.
    agents_see_only_theirs(&team.owner).await;
    let agent = app.user_id("agent@acme.test").await.to_string();
    let admin = app.user_id("admin@acme.test").await.to_string();
    let owner = &team.owner;
    let bruno = customer_writes(owner, "Bruno Braga", "+5511911110001", "Is it in stock?").await;
    let ana = customer_writes(owner, "Ana Alves", "+5511911110002", "Where is my order?").await;
    let carla = customer_writes(owner, "Carla Costa", "+5511911110003", "Hello?").await;
    let dora = customer_writes(owner, "Dora Dias", "+5511911110004", "Any news?").await;
    let fabio = customer_writes(owner, "Fabio Faria", "+5511911110005", "Price?").await;
    let eva = customer_writes(owner, "Eva Esteves", "+5511911110006", "Thanks!").await;
    for (conversation, to) in [
        (&ana, &agent),
        (&bruno, &agent),
        (&eva, &agent),
        (&carla, &admin),
    ] {
        assign(owner, conversation, to).await;
    }
    let resolved = owner
        .post_form(&format!("/inbox/{eva}/status"), &[("status", "resolved")])
        .await;
    assert_eq!(resolved.status(), 303);
    // Ana has waited three hours, Bruno twelve minutes: Ana comes first,
    // though she wrote after him.
    last_wrote(&app, &ana, Duration::hours(3)).await;
    last_wrote(&app, &bruno, Duration::minutes(12)).await;
    last_wrote(&app, &dora, Duration::minutes(30)).await;
    // Fabio was answered: still unassigned, after the ones waiting.
    reply(owner, &fabio, "It is 20 reais.").await;

    let page = dashboard(&team.agent).await;
    let waiting = section(&page, "waiting");
    assert!(
        position(waiting, &format!("/inbox/{ana}")) < position(waiting, &format!("/inbox/{bruno}")),
        "the longest waiting first: {waiting}"
    );
    let ana_row = row(waiting, "Ana Alves");
    assert!(
        ana_row.contains("Where is my order?") && ana_row.contains("3 h"),
        "{ana_row}"
    );
    assert!(row(waiting, "Bruno Braga").contains("12 min"));
    for (other, why) in [
        (&carla, "the admin's"),
        (&dora, "unassigned"),
        (&fabio, "unassigned"),
        (&eva, "resolved"),
    ] {
        assert!(
            !waiting.contains(&format!("/inbox/{other}")),
            "{why} is not waiting on me"
        );
    }
    assert!(waiting.contains("href=\"/inbox?assignee=mine\""));

    let unassigned = section(&page, "unassigned");
    assert!(
        position(unassigned, &format!("/inbox/{dora}"))
            < position(unassigned, &format!("/inbox/{fabio}")),
        "waiting before answered: {unassigned}"
    );
    assert!(row(unassigned, "Dora Dias").contains("30 min"));
    assert!(row(unassigned, "Fabio Faria").contains("Answered"));
    for other in [&ana, &bruno, &carla, &eva] {
        assert!(!unassigned.contains(&format!("/inbox/{other}")));
    }
    assert!(unassigned.contains("href=\"/inbox?assignee=unassigned\""));
    // The admin's conversation is in neither list, nor anywhere on my page.
    assert!(!page.contains("Carla Costa"));

    // The admin has Carla waiting, and nothing of mine.
    let theirs = dashboard(&team.admin).await;
    let waiting = section(&theirs, "waiting");
    assert!(waiting.contains(&format!("/inbox/{carla}")));
    assert!(!waiting.contains(&format!("/inbox/{ana}")));

    // I answer Ana: she no longer waits on me; Bruno still does.
    reply(&team.agent, &ana, "It left this morning.").await;
    let page = dashboard(&team.agent).await;
    let waiting = section(&page, "waiting");
    assert!(!waiting.contains(&format!("/inbox/{ana}")), "{waiting}");
    assert!(waiting.contains(&format!("/inbox/{bruno}")));
    // Bruno answered too: nobody waits on me.
    reply(&team.agent, &bruno, "Yes, we have it.").await;
    let page = dashboard(&team.agent).await;
    assert!(section(&page, "waiting").contains("Nobody is waiting on you."));
}

#[tokio::test]
async fn my_due_and_overdue_tasks_and_todays_bookings_show_on_the_workspace_clock() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    // India is 05:30 ahead of UTC all year.
    set_time_zone(&team.owner, "Asia/Kolkata").await;
    let zone: UtcOffset = offset!(+5:30);
    let today: Date = OffsetDateTime::now_utc().to_offset(zone).date();
    let yesterday = today - Duration::days(1);
    let tomorrow = today + Duration::days(1);
    let agent_id = app.user_id("agent@acme.test").await;
    let (agent, admin) = (agent_id.to_string(), app.user_id("admin@acme.test").await);
    let at = |day: Date, hm: &str| format!("{day}T{hm}");

    let owner = &team.owner;
    let task = |title: &'static str, due: String, assignee: String| async move {
        let mut fields = vec![("title", title), ("assignee", assignee.as_str())];
        if !due.is_empty() {
            fields.push(("due", due.as_str()));
        }
        create_task(owner, &fields).await
    };
    let ana = create_contact(&team.owner, &[("name", "Ana Alves")]).await;
    let response = team
        .owner
        .post_form(
            "/tasks",
            &[
                ("kind", "call"),
                ("title", "Call Ana back"),
                ("due", &at(yesterday, "09:00")),
                ("assignee", &agent),
                ("contact", &ana),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    task("Send the proposal", at(today, "23:59"), agent.clone()).await;
    task("Plan next week", at(tomorrow, "00:30"), agent.clone()).await;
    task("Whenever you can", String::new(), agent.clone()).await;
    task("The admin's own", at(today, "10:00"), admin.to_string()).await;
    let done = task("Already done", at(today, "08:00"), agent.clone()).await;
    let response = team
        .agent
        .post_form(&format!("/tasks/{done}/done"), &[("done", "yes")])
        .await;
    assert_eq!(response.status(), 303);

    add_service(&team.owner).await;
    let owner_id = app.user_id("owner@acme.test").await;
    let local = |day: Date, h: u8, m: u8| day.with_hms(h, m, 0).unwrap().assume_offset(zone);
    let contacts = [
        "Bia Booked",
        "Caio Early",
        "Nina Tomorrow",
        "Yuri Yesterday",
        "Cora Cancelled",
    ];
    let mut ids = vec![];
    for name in contacts {
        ids.push(create_contact(&team.owner, &[("name", name)]).await);
    }
    insert_booking(&app, agent_id, &ids[0], local(today, 12, 0), 60, "booked").await;
    insert_booking(&app, owner_id, &ids[1], local(today, 9, 0), 30, "booked").await;
    // 00:30 tomorrow in India is still today in UTC: not today here.
    insert_booking(
        &app,
        agent_id,
        &ids[2],
        local(tomorrow, 0, 30),
        60,
        "booked",
    )
    .await;
    insert_booking(
        &app,
        agent_id,
        &ids[3],
        local(yesterday, 22, 0),
        60,
        "booked",
    )
    .await;
    insert_booking(
        &app,
        agent_id,
        &ids[4],
        local(today, 15, 0),
        60,
        "cancelled",
    )
    .await;

    let page = dashboard(&team.agent).await;
    let tasks = section(&page, "tasks-due");
    assert!(
        position(tasks, "Call Ana back") < position(tasks, "Send the proposal"),
        "overdue first: {tasks}"
    );
    let overdue = row(tasks, "Call Ana back");
    assert!(
        overdue.contains("Overdue") && overdue.contains(&format!("{yesterday} 09:00")),
        "{overdue}"
    );
    assert!(overdue.contains("Ana Alves"), "the contact it is about");
    let due = row(tasks, "Send the proposal");
    assert!(due.contains("23:59") && !due.contains("Overdue"), "{due}");
    for absent in [
        "Plan next week",
        "Whenever you can",
        "The admin&#39;s own",
        "The admin's own",
        "Already done",
    ] {
        assert!(!tasks.contains(absent), "{absent} is not due for me today");
    }

    let bookings = section(&page, "bookings-today");
    assert!(
        position(bookings, "09:00–09:30") < position(bookings, "12:00–13:00"),
        "in order of time, on India's clock: {bookings}"
    );
    assert!(row(bookings, "Bia Booked").contains("You"));
    let caio = row(bookings, "Caio Early");
    assert!(
        caio.contains("Olga Owner") && caio.contains("Haircut"),
        "{caio}"
    );
    for absent in ["Nina Tomorrow", "Yuri Yesterday", "Cora Cancelled"] {
        assert!(!bookings.contains(absent), "{absent} is not today's");
    }
}

#[tokio::test]
async fn the_week_counts_what_happened_since_monday() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga Owner", "owner@acme.test", "Acme").await;
    // Three conversations this week, four messages from customers.
    let ana = customer_writes(&owner, "Ana", "+5511911110001", "Hi").await;
    customer_writes(&owner, "Bruno", "+5511911110002", "Hello").await;
    customer_writes(&owner, "Carla", "+5511911110003", "Hey").await;
    assert_eq!(
        customer_writes(&owner, "Ana", "+5511911110001", "Are you there?").await,
        ana
    );
    // Two replies; a private note is not a message sent.
    reply(&owner, &ana, "Yes!").await;
    reply(&owner, &ana, "How can I help?").await;
    let note = owner
        .post_form(
            &format!("/inbox/{ana}/notes"),
            &[("text", "Regular customer")],
        )
        .await;
    assert_eq!(note.status(), 303);
    // Last week's conversation, its message and its reply are not this week's.
    let dora = customer_writes(&owner, "Dora", "+5511911110004", "Old question").await;
    reply(&owner, &dora, "Old answer").await;
    last_week(&app, &dora).await;

    // Deals: two won this week (in two currencies), one won last week, one lost.
    let (status, _) = owner.page("/deals").await;
    assert_eq!(status, 200);
    let stage = |name: &'static str| {
        let app = &app;
        async move {
            let id: Uuid = sqlx::query_scalar("select id from pipeline_stages where name = $1")
                .bind(name)
                .fetch_one(&mut app.admin_conn().await)
                .await
                .unwrap();
            id.to_string()
        }
    };
    let (won, lost) = (stage("Won").await, stage("Lost").await);
    let deal = |title: &'static str, value: &'static str, currency: &'static str| {
        let owner = &owner;
        async move {
            let response = owner
                .post_form(
                    "/deals",
                    &[("title", title), ("value", value), ("currency", currency)],
                )
                .await;
            assert_eq!(response.status(), 303, "creating {title}");
            location(&response)
                .strip_prefix("/deals/")
                .unwrap()
                .to_owned()
        }
    };
    let move_to = |deal: String, stage: String, reason: &'static str| {
        let owner = &owner;
        async move {
            let response = owner
                .post_form(
                    &format!("/deals/{deal}/stage"),
                    &[("stage", stage.as_str()), ("lost_reason", reason)],
                )
                .await;
            assert_eq!(response.status(), 303, "moving {deal}");
        }
    };
    move_to(deal("Big order", "1234.50", "BRL").await, won.clone(), "").await;
    move_to(deal("Export", "20", "USD").await, won.clone(), "").await;
    let old = deal("Old win", "99", "BRL").await;
    move_to(old.clone(), won.clone(), "").await;
    sqlx::query("update deals set closed_at = now() - interval '8 days' where id = $1::uuid")
        .bind(&old)
        .execute(&mut app.admin_conn().await)
        .await
        .unwrap();
    move_to(deal("Gone", "500", "BRL").await, lost, "Too dear").await;
    deal("Still open", "300", "BRL").await;

    // Orders: two this week, one cancelled, one last week.
    let org = app.org_id("Acme").await;
    insert_order(&app, org, 1, "new", "100", Duration::ZERO).await;
    insert_order(&app, org, 2, "fulfilled", "50.25", Duration::minutes(5)).await;
    insert_order(&app, org, 3, "cancelled", "70", Duration::ZERO).await;
    insert_order(&app, org, 4, "new", "10", Duration::days(8)).await;

    let page = dashboard(&owner).await;
    let week = section(&page, "week");
    assert_eq!(stat(week, "week-new-conversations"), "3");
    assert_eq!(stat(week, "week-received"), "4");
    assert_eq!(stat(week, "week-sent"), "2");
    assert_eq!(stat(week, "week-won"), "2");
    assert!(
        week.contains("BRL 1,234.50 · USD 20.00"),
        "won value per currency: {week}"
    );
    assert_eq!(stat(week, "week-orders"), "2");
    assert!(week.contains("BRL 150.25"), "orders' value: {week}");
}

#[tokio::test]
async fn another_workspace_sees_none_of_it() {
    let app = spawn_app_without_worker().await;
    let acme = app.sign_up("Olga Owner", "owner@acme.test", "Acme").await;
    let olga = app.user_id("owner@acme.test").await;
    customer_writes(&acme, "Ana Alves", "+5511911110001", "Unassigned here").await;
    let bruno = customer_writes(&acme, "Bruno Braga", "+5511911110002", "Mine here").await;
    assign(&acme, &bruno, "me").await;
    create_task(
        &acme,
        &[
            ("title", "Call the Acme supplier"),
            (
                "due",
                &format!("{}T00:00", OffsetDateTime::now_utc().date()),
            ),
            ("assignee", &olga.to_string()),
        ],
    )
    .await;
    add_service(&acme).await;
    let bia = create_contact(&acme, &[("name", "Bia Booked")]).await;
    insert_booking(&app, olga, &bia, OffsetDateTime::now_utc(), 30, "booked").await;
    insert_order(
        &app,
        app.org_id("Acme").await,
        1,
        "new",
        "100",
        Duration::ZERO,
    )
    .await;

    // Acme's own dashboard shows them all.
    let page = dashboard(&acme).await;
    for name in [
        "Ana Alves",
        "Bruno Braga",
        "Call the Acme supplier",
        "Bia Booked",
    ] {
        assert!(page.contains(name), "Acme sees {name}");
    }
    assert_eq!(stat(&page, "week-new-conversations"), "2");
    assert_eq!(stat(&page, "week-orders"), "1");

    // Globex's shows none of Acme's, and counts none of it.
    let globex = app
        .sign_up("Gil Globex", "owner@globex.test", "Globex")
        .await;
    let page = dashboard(&globex).await;
    for name in [
        "Ana Alves",
        "Bruno Braga",
        "Unassigned here",
        "Call the Acme supplier",
        "Bia Booked",
    ] {
        assert!(!page.contains(name), "Globex sees Acme's {name}");
    }
    for id in [
        "week-new-conversations",
        "week-received",
        "week-sent",
        "week-won",
        "week-orders",
    ] {
        assert_eq!(stat(&page, id), "0", "Globex's {id}");
    }
    assert!(section(&page, "unassigned").contains("No conversations yet."));
}

#[tokio::test]
async fn an_empty_workspace_says_what_each_part_is_for() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;

    let page = dashboard(&team.owner).await;
    assert!(section(&page, "waiting").contains("Nobody is waiting on you."));
    let unassigned = section(&page, "unassigned");
    assert!(unassigned.contains("No conversations yet."), "{unassigned}");
    assert!(
        unassigned.contains("href=\"/sandbox\"")
            && unassigned.contains("href=\"/settings/channels\"")
    );
    assert!(section(&page, "tasks-due").contains("Nothing of yours is due today or overdue."));
    assert!(section(&page, "bookings-today").contains("No bookings today."));
    assert_eq!(stat(&page, "week-new-conversations"), "0");
    assert_eq!(stat(&page, "week-won"), "0");
    // The links lead somewhere.
    for path in ["/sandbox", "/settings/channels", "/tasks/new", "/bookings"] {
        let (status, _) = team.owner.page(path).await;
        assert_eq!(status, 200, "{path}");
    }

    // An agent cannot connect a number: they are told whom to ask.
    let page = dashboard(&team.agent).await;
    let unassigned = section(&page, "unassigned");
    assert!(unassigned.contains("href=\"/sandbox\""));
    assert!(!unassigned.contains("/settings/channels"), "{unassigned}");
    assert!(unassigned.contains("ask an admin to connect WhatsApp"));

    // Once a customer wrote and someone took it, the section says so.
    let chat = customer_writes(&team.owner, "Ana", "+5511911110001", "Hi").await;
    assign(&team.owner, &chat, "me").await;
    let page = dashboard(&team.owner).await;
    assert!(section(&page, "unassigned").contains("Every open conversation has someone on it."));
}
