use crate::support::*;

#[tokio::test]
async fn workspace_settings_are_saved_and_bad_values_explained() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (status, body) = owner.page("/settings").await;
    assert_eq!(status, 200);
    assert!(body.contains("Europe/Lisbon"));
    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme Ltd"),
                ("time_zone", "Europe/Lisbon"),
                ("mon_open", "on"),
                ("mon_from", "08:30"),
                ("mon_to", "18:00"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let mut conn = app.admin_conn().await;
    let (name, tz, hours): (String, String, serde_json::Value) =
        sqlx::query_as("select name, time_zone, business_hours from organizations")
            .fetch_one(&mut conn)
            .await
            .expect("org");
    assert_eq!(name, "Acme Ltd");
    assert_eq!(tz, "Europe/Lisbon");
    assert_eq!(
        hours,
        serde_json::json!({"mon": {"open": "08:30", "close": "18:00"}})
    );

    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Keep Me"),
                ("time_zone", "Mars/Olympus"),
                ("tue_open", "on"),
                ("tue_from", "18:00"),
                ("tue_to", "09:00"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap_or_default();
    assert!(body.contains("not a time zone"));
    assert!(body.contains("closing time must be after"));
    assert!(body.contains("value=\"Keep Me\""));
    let name: String = sqlx::query_scalar("select name from organizations")
        .fetch_one(&mut conn)
        .await
        .expect("org");
    assert_eq!(name, "Acme Ltd");
}

#[tokio::test]
async fn owner_deletes_the_workspace_after_typing_its_name_with_thirty_days_to_restore() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Maria", "+55 11 91234 5678", "Hi").await;
    let response = owner
        .post_form(
            "/settings/delete-workspace",
            &[("confirm_name", "Not Acme")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from organizations where deletion_requested_at is not null")
            .await,
        0,
        "the wrong name deletes nothing"
    );
    let response = owner
        .post_form("/settings/delete-workspace", &[("confirm_name", "Acme")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/settings");

    // Read-only meanwhile, and restorable.
    let (_, page) = owner.page("/settings").await;
    assert!(page.contains("an owner deleted it") && page.contains("Restore the workspace"));
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
    assert_eq!(reply("Blocked").await, 402);
    let response = owner.post_form("/settings/restore-workspace", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(reply("Works again").await, 303);

    // Deleted again: 29 days later still there, after 30 gone.
    let response = owner
        .post_form("/settings/delete-workspace", &[("confirm_name", "Acme")])
        .await;
    assert_eq!(response.status(), 303);
    app.state.clock.advance(time::Duration::days(29));
    assert!(
        wacrm::features::billing::lapsed_workspaces::sweep(&app.state.env())
            .await
            .expect("sweep")
            .purged
            .is_empty()
    );
    assert_eq!(app.count("select count(*) from organizations").await, 1);
    app.state.clock.advance(time::Duration::days(2));
    assert_eq!(
        wacrm::features::billing::lapsed_workspaces::sweep(&app.state.env())
            .await
            .expect("sweep")
            .purged
            .len(),
        1
    );
    assert_eq!(app.count("select count(*) from organizations").await, 0);
    assert_eq!(app.count("select count(*) from messages").await, 0);
}

#[tokio::test]
async fn profile_name_and_password_change_which_ends_other_sessions() {
    let app = spawn_app().await;
    let first = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let second = app.log_in("owner@acme.test", PASSWORD).await;
    // Twice, so the second session is in the session cache when it ends.
    assert_eq!(second.page("/dashboard").await.0, 200);
    assert_eq!(second.page("/dashboard").await.0, 200);
    assert_eq!(
        first
            .post_form("/profile", &[("name", "Olga O.")])
            .await
            .status(),
        303
    );
    let (_, body) = first.page("/profile").await;
    assert!(body.contains("value=\"Olga O.\""));

    let wrong = first
        .post_form(
            "/profile/password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap_or_default()
            .contains("current password is not right")
    );
    let ok = first
        .post_form(
            "/profile/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(
        first.page("/dashboard").await.0,
        200,
        "this session continues"
    );
    assert_eq!(
        second.get("/dashboard").await.status(),
        303,
        "the other session ended"
    );
    app.log_in("owner@acme.test", "a new long password").await;
}

#[tokio::test]
async fn api_token_is_shown_once_and_authenticates_the_json_api() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = owner
        .post_form("/settings/api-tokens", &[("name", "Zapier")])
        .await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap_or_default();
    let start = body.find("data-api-token>").expect("token element") + "data-api-token>".len();
    let token = body[start..start + body[start..].find('<').expect("end")].to_owned();
    assert!(token.starts_with("wacrm_"));
    let mut conn = app.admin_conn().await;
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from api_tokens")
        .fetch_one(&mut conn)
        .await
        .expect("token row");
    assert!(
        !stored
            .windows(8)
            .any(|w| token.as_bytes().windows(8).any(|t| t == w)),
        "stored in clear"
    );
    let (_, list) = owner.page("/settings/api-tokens").await;
    assert!(
        list.contains("Zapier") && !list.contains(&token),
        "shown once only"
    );

    let client = reqwest::Client::new();
    let me: serde_json::Value = client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(me["org"]["name"], "Acme");
    assert_eq!(me["token"]["name"], "Zapier");
    assert_eq!(me["org"]["id"], app.org_id("Acme").await.to_string());

    let mut wrong = token.clone();
    wrong.pop();
    wrong.push(if token.ends_with('A') { 'B' } else { 'A' });
    for bad in [wrong.as_str(), "nonsense", ""] {
        let response = client
            .get(format!("{}/api/v1/me", app.base))
            .bearer_auth(bad)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 401);
        let error: serde_json::Value = response.json().await.expect("json error");
        assert_eq!(error["error"]["code"], "unauthorized");
    }
    let id: uuid::Uuid = sqlx::query_scalar("select id from api_tokens")
        .fetch_one(&mut conn)
        .await
        .expect("id");
    assert_eq!(
        owner
            .post_form(&format!("/settings/api-tokens/{id}/revoke"), &[])
            .await
            .status(),
        303
    );
    let response = client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 401);
    let last_used: bool = sqlx::query_scalar("select last_used_at is not null from api_tokens")
        .fetch_one(&mut conn)
        .await
        .expect("row");
    assert!(last_used);
}

#[tokio::test]
async fn unknown_api_routes_answer_json_404() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/nope", app.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 404);
    let error: serde_json::Value = response.json().await.expect("json");
    assert_eq!(error["error"]["code"], "not_found");
}
