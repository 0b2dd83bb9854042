//! Bookings: free times from a member's hours within the workspace's,
//! booking one from a conversation with a reminder scheduled there, the
//! past, outside hours and taken times refused, cancelling, double booking
//! refused by Postgres under concurrency, bad settings, and each workspace
//! to its own.

use time::OffsetDateTime;

use crate::support::*;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Today on the clock of São Paulo (UTC-3, no daylight saving), plus `days`.
fn local_day(days: i64) -> time::Date {
    (OffsetDateTime::now_utc() - time::Duration::hours(3)).date() + time::Duration::days(days)
}

/// São Paulo time; business hours 08:00–11:00 every day; a 60-minute
/// service; the member works 09:00–12:00 every day (so 09:00–11:00 counts).
async fn set_up(app: &TestApp, owner: &Browser, member_email: &str) -> String {
    let mut settings = vec![
        ("name".to_owned(), "Acme".to_owned()),
        ("time_zone".to_owned(), "America/Sao_Paulo".to_owned()),
        ("agents_see".to_owned(), "all".to_owned()),
    ];
    for day in DAYS {
        settings.push((format!("{day}_open"), "on".to_owned()));
        settings.push((format!("{day}_from"), "08:00".to_owned()));
        settings.push((format!("{day}_to"), "11:00".to_owned()));
    }
    let fields: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(owner.post_form("/settings", &fields).await.status(), 303);
    let response = owner
        .post_form(
            "/settings/bookings/services",
            &[("name", "Haircut"), ("minutes", "60")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let member = app.user_id(member_email).await;
    works_every_morning(owner, member).await;
    member.to_string()
}

async fn service_id(app: &TestApp) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from services limit 1")
        .fetch_one(&mut app.admin_conn().await)
        .await
        .unwrap();
    id.to_string()
}

#[tokio::test]
async fn a_booking_takes_a_free_time_and_schedules_the_customers_reminder() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let olga = set_up(&app, &owner, "owner@acme.test").await;
    let service = service_id(&app).await;
    let chat = customer_writes(&owner, "Maria", "+5511988887777", "Can I book a haircut?").await;
    let day = local_day(2);

    let (status, page) = owner
        .page(&format!("/bookings/new?conversation={chat}&day={day}"))
        .await;
    assert_eq!(status, 200);
    let slots = |page: &str| -> Vec<String> {
        page.match_indices("name=\"starts\" value=\"")
            .map(|(at, m)| page[at + m.len() + 11..at + m.len() + 16].to_owned())
            .collect()
    };
    // 09:00–11:00 (member ∩ workspace); a 60-minute service starts by 10:00.
    assert_eq!(slots(&page), ["09:00", "09:15", "09:30", "09:45", "10:00"]);

    let at = |hm: &str| format!("{day}T{hm}");
    let book = |starts: String| {
        let owner = &owner;
        let (chat, service, olga) = (chat.clone(), service.clone(), olga.clone());
        async move {
            owner
                .post_form(
                    "/bookings",
                    &[
                        ("conversation", chat.as_str()),
                        ("service", service.as_str()),
                        ("staff", olga.as_str()),
                        ("starts", starts.as_str()),
                        ("notes", "Short on the sides"),
                    ],
                )
                .await
        }
    };
    let response = book(at("09:30")).await;
    assert_eq!(response.status(), 303);
    let booking = location(&response)
        .strip_prefix("/bookings/")
        .unwrap()
        .to_owned();
    let (_, page) = owner.page(&format!("/bookings/{booking}")).await;
    assert!(
        page.contains(&format!("{day} 09:30 (America/Sao_Paulo)")),
        "{page}"
    );
    assert!(page.contains("Maria") && page.contains("Short on the sides"));

    // The reminder: a scheduled message in the conversation, a day before.
    let (body, send_at, state): (String, OffsetDateTime, String) =
        sqlx::query_as("select body, send_at, state from scheduled_messages")
            .fetch_one(&mut app.admin_conn().await)
            .await
            .unwrap();
    assert_eq!(
        body,
        format!(
            "Reminder: your Haircut with Olga is on {day} 09:30 (America/Sao_Paulo). Reply here if you need to change it."
        )
    );
    assert_eq!(
        send_at,
        day.with_hms(12, 30, 0).unwrap().assume_utc() - time::Duration::days(1)
    );
    assert_eq!(state, "scheduled");

    // The hour around it is no longer free; the same time is refused.
    let (_, page) = owner
        .page(&format!("/bookings/new?conversation={chat}&day={day}"))
        .await;
    assert!(
        slots(&page).is_empty(),
        "09:30–10:30 leaves no hour inside 09:00–11:00: {:?}",
        slots(&page)
    );
    let response = book(at("09:30")).await;
    assert_eq!(response.status(), 409);
    let text = response.text().await.unwrap();
    assert!(text.contains("Olga was booked at that time") && text.contains("Short on the sides"));
    // The past and times outside the hours are refused with the reason.
    let response = book(format!("{}T10:00", local_day(-1))).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("That time has passed")
    );
    let response = book(format!("{}T11:30", local_day(3))).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Olga does not work then")
    );
    assert_eq!(app.count("select count(*) from bookings").await, 1);

    // The agenda; cancelling frees the time and cancels the reminder.
    let (_, agenda) = owner.page(&format!("/bookings?day={day}")).await;
    assert!(agenda.contains("09:30–10:30") && agenda.contains("Haircut"));
    let response = owner
        .post_form(&format!("/bookings/{booking}/cancel"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from scheduled_messages where state = 'canceled'")
            .await,
        1
    );
    let response = owner
        .post_form(&format!("/bookings/{booking}/cancel"), &[])
        .await;
    assert_eq!(response.status(), 409);
    let response = book(at("09:30")).await;
    assert_eq!(response.status(), 303, "the time is free again");
}

#[tokio::test]
async fn two_bookings_of_one_member_never_overlap_even_at_once() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let adam = set_up(&app, &team.owner, "admin@acme.test").await;
    let service = service_id(&app).await;
    let day = local_day(4);
    let mut contacts = vec![];
    for i in 0..8 {
        contacts.push(create_contact(&team.owner, &[("name", &format!("Customer {i}"))]).await);
    }
    let starts = format!("{day}T09:00");
    let attempts = contacts.iter().enumerate().map(|(i, contact)| {
        let browser = if i % 2 == 0 { &team.owner } else { &team.agent };
        let (service, adam, starts) = (service.clone(), adam.clone(), starts.clone());
        async move {
            browser
                .post_form(
                    "/bookings",
                    &[
                        ("contact", contact.as_str()),
                        ("service", service.as_str()),
                        ("staff", adam.as_str()),
                        ("starts", starts.as_str()),
                    ],
                )
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(
        app.count("select count(*) from bookings where status = 'booked'")
            .await,
        1
    );

    // Postgres itself refuses an overlap, whatever the application checks.
    let refused = sqlx::query(
        "insert into bookings (org_id, id, service_id, staff_id, contact_id, starts_at, ends_at) \
         select org_id, gen_random_uuid(), service_id, staff_id, contact_id, \
           starts_at + interval '30 minutes', ends_at + interval '30 minutes' from bookings",
    )
    .execute(&mut app.admin_conn().await)
    .await
    .unwrap_err();
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("23P01")
    );
}

#[tokio::test]
async fn bad_booking_settings_and_requests_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let olga = set_up(&app, &owner, "owner@acme.test").await;
    for (minutes, name) in [("abc", "Beard"), ("3", "Beard"), ("60", "")] {
        let response = owner
            .post_form(
                "/settings/bookings/services",
                &[("name", name), ("minutes", minutes)],
            )
            .await;
        assert_eq!(response.status(), 422, "{name} {minutes}");
    }
    let response = owner
        .post_form(
            "/settings/bookings/services",
            &[("name", "haircut"), ("minutes", "30")],
        )
        .await;
    assert_eq!(response.status(), 409);
    let response = owner
        .post_form(
            &format!("/settings/bookings/hours/{olga}"),
            &[
                ("d1_starts", "17:00"),
                ("d1_ends", "09:00"),
                ("d2_starts", "9am"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("Monday: the day ends before it starts")
            && text.contains("Tuesday: give a start")
    );
    assert_eq!(
        app.count("select count(*) from staff_hours").await,
        7,
        "nothing changed"
    );

    let ana = create_contact(&owner, &[("name", "Ana")]).await;
    let response = owner
        .post_form(
            "/bookings",
            &[
                ("contact", &ana),
                ("service", "nope"),
                ("staff", &olga),
                ("starts", "soon"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.contains("Service: choose") && text.contains("Time: "));
    let response = owner
        .get(&format!("/bookings/new?contact={ana}&day=someday"))
        .await;
    assert_eq!(response.status(), 200, "the form shows, with the reason");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Day: &#34;someday&#34; is not a date")
    );
    assert_eq!(owner.get("/bookings?day=31/12").await.status(), 422);
    assert_eq!(owner.get("/bookings/new").await.status(), 422);
    assert_eq!(app.count("select count(*) from bookings").await, 0);
}

#[tokio::test]
async fn another_workspace_never_sees_or_changes_a_booking() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;
    let olga = set_up(&app, &acme, "owner@acme.test").await;
    let service = service_id(&app).await;
    let ana = create_contact(&acme, &[("name", "Ana Secret")]).await;
    let day = local_day(2);
    let response = acme
        .post_form(
            "/bookings",
            &[
                ("contact", &ana),
                ("service", &service),
                ("staff", &olga),
                ("starts", &format!("{day}T09:00")),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let booking = location(&response)
        .strip_prefix("/bookings/")
        .unwrap()
        .to_owned();
    assert_eq!(
        globex.get(&format!("/bookings/{booking}")).await.status(),
        404
    );
    assert_eq!(
        globex
            .post_form(&format!("/bookings/{booking}/cancel"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        globex
            .get(&format!("/bookings/new?contact={ana}"))
            .await
            .status(),
        404
    );
    let response = globex
        .post_form(
            &format!("/settings/bookings/services/{service}"),
            &[("name", "Hijacked"), ("minutes", "30")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = globex
        .post_form(
            &format!("/settings/bookings/hours/{olga}"),
            &[("d1_starts", "00:00"), ("d1_ends", "23:00")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = globex
        .post_form(
            "/bookings",
            &[
                ("contact", &ana),
                ("service", &service),
                ("staff", &olga),
                ("starts", &format!("{day}T10:00")),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    let (_, agenda) = globex.page(&format!("/bookings?day={day}")).await;
    assert!(!agenda.contains("Ana Secret"));
    assert_eq!(
        app.count("select count(*) from bookings where status = 'booked'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from services where name = 'Haircut'")
            .await,
        1
    );
}
