//! Tasks: reminders at the local due time (once, across a daylight-saving
//! change, and again only for a new due time), in-app notifications and
//! mail, "my day" and the call plan with each contact's context, bad input,
//! and each workspace to its own.

use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::*;

async fn set_time_zone(owner: &Browser, zone: &str) {
    let response = owner
        .post_form(
            "/settings",
            &[("name", "Acme"), ("time_zone", zone), ("agents_see", "all")],
        )
        .await;
    assert_eq!(response.status(), 303);
}

async fn create_task(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form("/tasks", fields).await;
    assert_eq!(response.status(), 303, "creating {fields:?}");
    location(&response)
        .strip_prefix("/tasks/")
        .unwrap()
        .to_owned()
}

async fn due_at(app: &TestApp, id: &str) -> OffsetDateTime {
    sqlx::query_scalar("select due_at from tasks where id = $1::uuid")
        .bind(id)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap()
}

/// Makes every queued reminder due now (the time travel), and runs them.
async fn reminders_run(app: &TestApp) {
    let mut conn = app.admin_conn().await;
    sqlx::query("update jobs set run_at = now() where queue = 'reminders'")
        .execute(&mut conn)
        .await
        .unwrap();
    app.run_pending_jobs().await;
    assert_eq!(
        app.count("select count(*) from jobs where queue = 'reminders'")
            .await,
        0,
        "reminder jobs done"
    );
}

#[tokio::test]
async fn reminders_fire_once_at_the_local_due_time_across_a_daylight_saving_change() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    set_time_zone(&team.owner, "Europe/Berlin").await;
    let agent = app.user_id("agent@acme.test").await.to_string();
    let ana = create_contact(&team.owner, &[("name", "Ana"), ("phone", "+4930901820")]).await;
    // Berlin moves its clocks from 02:00 to 03:00 on 28 March 2027.
    let before = create_task(
        &team.owner,
        &[
            ("kind", "call"),
            ("title", "Call Ana back"),
            ("due", "2027-03-27T09:00"),
            ("assignee", &agent),
            ("contact", &ana),
        ],
    )
    .await;
    let after = create_task(
        &team.owner,
        &[
            ("title", "Send the proposal"),
            ("due", "2027-03-28T09:00"),
            ("assignee", &agent),
        ],
    )
    .await;
    assert_eq!(due_at(&app, &before).await, datetime!(2027-03-27 08:00 UTC));
    assert_eq!(due_at(&app, &after).await, datetime!(2027-03-28 07:00 UTC));
    let run_at: Vec<OffsetDateTime> =
        sqlx::query_scalar("select run_at from jobs where queue = 'reminders' order by run_at")
            .fetch_all(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!(
        run_at,
        [
            datetime!(2027-03-27 08:00 UTC),
            datetime!(2027-03-28 07:00 UTC)
        ],
        "each reminder waits for its due time"
    );
    let (_, page) = team.owner.page(&format!("/tasks/{after}")).await;
    assert!(
        page.contains("value=\"2027-03-28T09:00\""),
        "shown as typed"
    );

    // Their time comes; one job runs twice (a retry): one reminder each.
    // (Queued again as a new job: a payload is sealed for its own job.)
    let mut conn = app.admin_conn().await;
    let queued: Vec<(i64, Vec<u8>, OffsetDateTime)> =
        sqlx::query_as("select id, payload, run_at from jobs where queue = 'reminders'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for (id, payload, run_at) in queued {
        let job = wacrm::infra::jobs::open_payload::<wacrm::features::reminders::RemindTask>(
            &app.state.secrets,
            id,
            &payload,
        )
        .unwrap();
        wacrm::infra::jobs::enqueue_at(&mut conn, &app.state.secrets, &job, Some(run_at))
            .await
            .unwrap();
    }
    reminders_run(&app).await;
    assert_eq!(
        app.count("select count(*) from user_notifications").await,
        2
    );
    let mail = app.mail_to("agent@acme.test", "Send the proposal").await;
    assert!(
        format!("{mail:?}").contains("2027-03-28 09:00"),
        "the mail tells the local time: {mail:?}"
    );
    app.mail_to("agent@acme.test", "Call due: Call Ana back (Ana)")
        .await;
    let (_, page) = team.agent.page("/dashboard").await;
    assert!(page.contains("<span class=\"count\" id=\"unread-notifications\">2</span>"));
    let (_, list) = team.agent.page("/notifications").await;
    assert!(
        list.contains("Call due: Call Ana back (Ana)") && list.contains(&format!("/tasks/{after}"))
    );
    let (_, owners) = team.owner.page("/notifications").await;
    assert!(
        !owners.contains("Call Ana back"),
        "only the assignee is told"
    );
    let response = team.agent.post_form("/notifications/read", &[]).await;
    assert_eq!(response.status(), 303);
    let (_, page) = team.agent.page("/dashboard").await;
    assert!(!page.contains("unread-notifications"));

    // A new due time reminds again (once); its old job does nothing.
    let response = team
        .owner
        .post_form(
            &format!("/tasks/{after}"),
            &[
                ("title", "Send the proposal"),
                ("due", "2027-04-01T10:30"),
                ("assignee", &agent),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(due_at(&app, &after).await, datetime!(2027-04-01 08:30 UTC));
    // A done task is not reminded.
    let done = create_task(
        &team.owner,
        &[
            ("title", "Already done"),
            ("due", "2027-04-02T10:00"),
            ("assignee", &agent),
        ],
    )
    .await;
    let response = team
        .owner
        .post_form(&format!("/tasks/{done}/done"), &[("done", "yes")])
        .await;
    assert_eq!(response.status(), 303);
    reminders_run(&app).await;
    assert_eq!(
        app.count("select count(*) from user_notifications").await,
        3
    );
    assert_eq!(
        app.count(
            "select count(*) from user_notifications where title = 'To-do due: Send the proposal'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn my_day_and_the_call_plan_show_the_right_tasks_in_order_with_context() {
    let app = spawn_app_without_worker().await;
    let team = team(&app).await;
    let owner = &team.owner;
    set_time_zone(owner, "America/Sao_Paulo").await;
    let me = app.user_id("owner@acme.test").await.to_string();
    let agent = app.user_id("agent@acme.test").await.to_string();
    // Today in São Paulo (UTC-3, no daylight saving).
    let today = (OffsetDateTime::now_utc() - time::Duration::hours(3)).date();
    let at = |days: i64, hm: &str| format!("{}T{hm}", today + time::Duration::days(days));

    let bia = create_contact(owner, &[("name", "Bia Costa"), ("phone", "+5511987654321")]).await;
    let caio = create_contact(owner, &[("name", "Caio"), ("phone", "+5511912345678")]).await;
    let response = owner
        .post_form(
            &format!("/contacts/{bia}/notes"),
            &[("body", "Prefers mornings")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = owner
        .post_form(
            "/deals",
            &[
                ("title", "Bia's shop fit-out"),
                ("value", "900"),
                ("currency", "BRL"),
                ("contact", &bia),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let deal = location(&response)
        .strip_prefix("/deals/")
        .unwrap()
        .to_owned();

    let late_call = create_task(
        owner,
        &[
            ("kind", "call"),
            ("title", "Call Bia"),
            ("due", &at(0, "15:00")),
            ("assignee", &me),
            ("contact", &bia),
        ],
    )
    .await;
    let early_call = create_task(
        owner,
        &[
            ("kind", "call"),
            ("title", "Call Caio"),
            ("due", &at(0, "08:30")),
            ("assignee", &me),
            ("contact", &caio),
        ],
    )
    .await;
    create_task(
        owner,
        &[
            ("title", "Overdue invoice"),
            ("due", &at(-1, "10:00")),
            ("assignee", &me),
        ],
    )
    .await;
    create_task(
        owner,
        &[
            ("title", "Next week prep"),
            ("due", &at(3, "10:00")),
            ("assignee", &me),
        ],
    )
    .await;
    create_task(
        owner,
        &[
            ("title", "Far away"),
            ("due", &at(30, "10:00")),
            ("assignee", &me),
        ],
    )
    .await;
    create_task(
        owner,
        &[("title", "Whenever"), ("assignee", &me), ("deal", &deal)],
    )
    .await;
    create_task(
        owner,
        &[
            ("title", "Agent's own"),
            ("due", &at(0, "11:00")),
            ("assignee", &agent),
        ],
    )
    .await;
    let finished = create_task(
        owner,
        &[
            ("title", "Finished"),
            ("due", &at(0, "12:00")),
            ("assignee", &me),
        ],
    )
    .await;
    let response = owner
        .post_form(
            &format!("/tasks/{finished}/done"),
            &[("done", "yes"), ("back", "/tasks")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/tasks");

    let (status, day) = owner.page("/tasks").await;
    assert_eq!(status, 200);
    let section = |id: &str| -> String {
        let start = day
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id}: {day}"));
        day[start..start + day[start..].find("</ul>").unwrap()].to_owned()
    };
    assert!(section("overdue").contains("Overdue invoice"));
    let today_list = section("today");
    assert!(today_list.contains("Call Caio") && today_list.contains("Call Bia"));
    assert!(
        today_list.find("Call Caio").unwrap() < today_list.find("Call Bia").unwrap(),
        "soonest first"
    );
    assert!(
        !day.contains("Agent&#39;s own") && !day.contains("Finished") && !day.contains("Far away")
    );
    assert!(section("later").contains("Next week prep"));
    assert!(
        section("undated").contains("Whenever")
            && section("undated").contains("Bia&#39;s shop fit-out")
    );
    let (_, everyone) = owner.page("/tasks?assignee=all").await;
    assert!(everyone.contains("Agent&#39;s own"));
    let (_, agents) = team.agent.page("/tasks").await;
    assert!(agents.contains("Agent&#39;s own") && !agents.contains("Call Bia"));

    // The call plan: today's calls in order, each with its contact's context.
    let (status, plan) = owner.page("/tasks/calls").await;
    assert_eq!(status, 200);
    let caio_at = plan.find(&format!("id=\"call-{early_call}\"")).unwrap();
    let bia_at = plan.find(&format!("id=\"call-{late_call}\"")).unwrap();
    assert!(caio_at < bia_at, "in order of time");
    let bia_card = &plan[bia_at..];
    for context in [
        "15:00",
        "tel:+5511987654321",
        "Bia&#39;s shop fit-out",
        "BRL 900.00",
        "Prefers mornings",
    ] {
        assert!(bia_card.contains(context), "{context}: {bia_card}");
    }
    assert!(!plan.contains("Overdue invoice"), "to-dos are not calls");
    let (_, tomorrow) = owner
        .page(&format!(
            "/tasks/calls?day={}",
            today + time::Duration::days(1)
        ))
        .await;
    assert!(!tomorrow.contains("Call Bia"));
    // A call marked done from the plan comes back to it.
    let back = format!("/tasks/calls?day={today}&assignee=");
    let response = owner
        .post_form(
            &format!("/tasks/{early_call}/done"),
            &[("done", "yes"), ("back", &back)],
        )
        .await;
    assert_eq!(location(&response), back);
    let response = owner
        .post_form(
            &format!("/tasks/{early_call}/done"),
            &[("done", "yes"), ("back", "https://evil.test/")],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/tasks/{early_call}"),
        "never another site"
    );

    // The deal lists its open task.
    let (_, deal_page) = owner.page(&format!("/deals/{deal}")).await;
    assert!(deal_page.contains("Whenever"));
}

#[tokio::test]
async fn bad_tasks_are_refused_with_every_reason_and_the_text_kept() {
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = owner
        .post_form(
            "/tasks",
            &[
                ("kind", "call"),
                ("title", ""),
                ("details", "Ask about the second floor"),
                ("due", ""),
                ("assignee", "00000000-0000-0000-0000-000000000000"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    for reason in [
        "Title: say what",
        "a call needs a time",
        "Assignee: choose a member",
    ] {
        assert!(page.contains(reason), "{reason}: {page}");
    }
    assert!(
        page.contains("Ask about the second floor"),
        "what was typed is kept"
    );
    for (field, value, reason) in [
        ("due", "tomorrow", "is not a date and time"),
        ("kind", "meeting", "Kind: a to-do or a call"),
    ] {
        let response = owner
            .post_form("/tasks", &[("title", "x"), (field, value)])
            .await;
        assert_eq!(response.status(), 422, "{field}={value}");
        assert!(response.text().await.unwrap().contains(reason), "{reason}");
    }
    let response = owner.get("/tasks/calls?day=31-12-2026").await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("is not a date"));
    let response = owner.get("/tasks?assignee=somebody").await;
    assert_eq!(response.status(), 422);
    let id = create_task(&owner, &[("title", "Real one")]).await;
    let response = owner
        .post_form(&format!("/tasks/{id}/done"), &[("done", "maybe")])
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.count("select count(*) from tasks").await, 1);
    assert_eq!(
        app.count("select count(*) from tasks where done_at is not null")
            .await,
        0
    );
}

#[tokio::test]
async fn another_workspace_never_sees_or_changes_a_task() {
    let app = spawn_app_without_worker().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let ana = create_contact(&acme, &[("name", "Ana")]).await;
    let task = create_task(&acme, &[("title", "Acme secret task"), ("contact", &ana)]).await;
    assert_eq!(globex.get(&format!("/tasks/{task}")).await.status(), 404);
    for path in [
        format!("/tasks/{task}"),
        format!("/tasks/{task}/done"),
        format!("/tasks/{task}/delete"),
    ] {
        let response = globex
            .post_form(&path, &[("title", "Hijacked"), ("done", "yes")])
            .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    assert_eq!(
        globex
            .get(&format!("/tasks/new?contact={ana}"))
            .await
            .status(),
        404
    );
    let response = globex
        .post_form("/tasks", &[("title", "x"), ("contact", &ana)])
        .await;
    assert_eq!(response.status(), 404);
    let (_, day) = globex.page("/tasks?assignee=all").await;
    assert!(!day.contains("Acme secret task"));
    assert_eq!(
        app.count(
            "select count(*) from tasks where title = 'Acme secret task' and done_at is null"
        )
        .await,
        1
    );
    assert_eq!(app.count("select count(*) from tasks").await, 1);
    // Acme deletes its own.
    let response = acme.post_form(&format!("/tasks/{task}/delete"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(acme.get(&format!("/tasks/{task}")).await.status(), 404);
}
