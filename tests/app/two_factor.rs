//! Two-factor sign-in: enrolment, the second step at sign-in (replays
//! refused), recovery codes, remembered devices, and workspaces that
//! require it.

use wacrm::features::auth::totp;

use crate::support::*;

/// The password step; where it sends the browser.
async fn password_step(app: &TestApp, email: &str) -> (Browser, String) {
    let browser = app.browser();
    let response = browser
        .post_form("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    (browser, to)
}

async fn audit_actions(app: &TestApp) -> Vec<(String, serde_json::Value)> {
    sqlx::query_as("select action, details from audit_log order by seq")
        .fetch_all(&mut app.admin_conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn enrol_then_sign_in_with_a_code_once_and_a_recovery_code_once() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;

    // A wrong confirming code leaves it off.
    let (_, page) = ana.page("/profile/two-factor").await;
    let secret = secret_on(&page);
    let wrong = format!(
        "{:06}",
        (totp::code_at(&secret, unix_now())
            .unwrap()
            .parse::<u32>()
            .unwrap()
            + 1)
            % 1_000_000
    );
    let response = ana
        .post_form("/profile/two-factor/enable", &[("code", &wrong)])
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("That code does not match")
    );
    assert_eq!(
        app.count("select count(*) from users where totp_enabled_at is not null")
            .await,
        0
    );

    // The same secret is offered until it is confirmed.
    let (secret, codes, enrolled_with) = enrol_with_code(&ana).await;
    assert_eq!(secret, secret_on(&page));
    let mut conn = app.admin_conn().await;
    let (stored, hashes): (Vec<u8>, i64) = sqlx::query_as(
        "select totp_secret, (select count(*) from user_recovery_codes r where r.user_id = u.id) \
         from users u where email = 'ana@acme.test'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(hashes, 10);
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret.as_slice()),
        "the secret is sealed, not stored as is"
    );
    let mut stored_codes: Vec<Vec<u8>> =
        sqlx::query_scalar("select code_hash from user_recovery_codes")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut expected: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| wacrm::infra::tokens::hash(&c.replace('-', "")))
        .collect();
    stored_codes.sort();
    expected.sort();
    assert_eq!(stored_codes, expected, "only the codes' SHA-256 is stored");

    // The password alone no longer signs in.
    let (browser, to) = password_step(&app, "ana@acme.test").await;
    assert_eq!(to, "/login/two-factor");
    assert_eq!(location(&browser.get("/dashboard").await), "/login");
    let (status, page) = browser.page("/login/two-factor").await;
    assert_eq!(status, 200);
    assert!(page.contains("authenticator app"));

    // The code that confirmed enrolment was used: refused, as is a wrong one.
    let response = second_step(&browser, &enrolled_with).await;
    assert_eq!(response.status(), 401, "a code is accepted once");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("That code is not valid")
    );
    let response = second_step(&browser, &wrong).await;
    assert_eq!(response.status(), 401);
    assert_eq!(location(&browser.get("/dashboard").await), "/login");

    // The next step's code (the app's clock may run ahead) signs in.
    let next_code = totp::code_at(&secret, unix_now() + 30).unwrap();
    let response = second_step(&browser, &next_code).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/dashboard");
    assert_eq!(browser.page("/dashboard").await.0, 200);

    // Replayed in another browser within its step: refused.
    let (thief, _) = password_step(&app, "ana@acme.test").await;
    assert_eq!(second_step(&thief, &next_code).await.status(), 401);

    // A recovery code works once (typed in capitals, without the dash).
    let typed = codes[3].to_uppercase().replace('-', "");
    let response = second_step(&thief, &typed).await;
    assert_eq!(response.status(), 303);
    let (status, page) = thief.page("/dashboard").await;
    assert_eq!(status, 200);
    assert!(page.contains("9 left"), "{page}");
    let (again, _) = password_step(&app, "ana@acme.test").await;
    assert_eq!(second_step(&again, &codes[3]).await.status(), 401);

    // The step times out: back to the password.
    let (late, _) = password_step(&app, "ana@acme.test").await;
    sqlx::query("update sessions set data = jsonb_set(data, '{2fa_at}', to_jsonb(0::bigint)) where data ? '2fa_uid'")
        .execute(&mut conn)
        .await
        .unwrap();
    let code = totp::code_at(&secret, unix_now() + 60).unwrap();
    let response = second_step(&late, &code).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
    assert_eq!(location(&late.get("/dashboard").await), "/login");

    let logged = audit_actions(&app).await;
    let sign_ins: Vec<_> = logged
        .iter()
        .filter(|(action, _)| action.starts_with("sign_in") || action.starts_with("two_factor"))
        .cloned()
        .collect();
    assert_eq!(
        sign_ins,
        [
            ("two_factor.enabled".to_owned(), serde_json::json!({})),
            (
                "sign_in_failed".to_owned(),
                serde_json::json!({"reason": "wrong second-factor code"})
            ),
            (
                "sign_in_failed".to_owned(),
                serde_json::json!({"reason": "wrong second-factor code"})
            ),
            (
                "sign_in".to_owned(),
                serde_json::json!({"second_factor": "authenticator code"})
            ),
            (
                "sign_in_failed".to_owned(),
                serde_json::json!({"reason": "wrong second-factor code"})
            ),
            (
                "sign_in".to_owned(),
                serde_json::json!({"second_factor": "recovery code"})
            ),
            (
                "sign_in_failed".to_owned(),
                serde_json::json!({"reason": "wrong second-factor code"})
            ),
        ]
    );
}

#[tokio::test]
async fn a_remembered_device_skips_the_code_until_forgotten() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let (secret, _) = enrol(&ana).await;

    let (browser, to) = password_step(&app, "ana@acme.test").await;
    assert_eq!(to, "/login/two-factor");
    let code = totp::code_at(&secret, unix_now() + 30).unwrap();
    let response = browser
        .post_form("/login/two-factor", &[("code", &code), ("remember", "1")])
        .await;
    assert_eq!(response.status(), 303);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("wacrm_device="))
        .expect("device cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=2592000"),
        "{cookie}"
    );
    assert_eq!(
        app.count("select count(*) from remembered_devices").await,
        1
    );

    // Signed out, the password is enough on this browser...
    assert_eq!(browser.post_form("/logout", &[]).await.status(), 303);
    let response = browser
        .post_form(
            "/login",
            &[("email", "ana@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/dashboard");
    assert_eq!(browser.page("/dashboard").await.0, 200);
    // ...but not on another.
    let (_, to) = password_step(&app, "ana@acme.test").await;
    assert_eq!(to, "/login/two-factor");

    // Forgotten: the code is asked again.
    let response = browser
        .post_form("/profile/two-factor/forget-devices", &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(browser.post_form("/logout", &[]).await.status(), 303);
    let response = browser
        .post_form(
            "/login",
            &[("email", "ana@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/login/two-factor");
    assert!(
        audit_actions(&app).await.iter().any(|(a, d)| a == "sign_in"
            && d == &serde_json::json!({"second_factor": "remembered device"}))
    );
}

#[tokio::test]
async fn new_recovery_codes_and_turning_off_need_a_current_code() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let (secret, old_codes) = enrol(&ana).await;

    let response = ana
        .post_form("/profile/two-factor/recovery-codes", &[("code", "123")])
        .await;
    assert_eq!(response.status(), 422);
    let code = totp::code_at(&secret, unix_now() + 30).unwrap();
    let response = ana
        .post_form("/profile/two-factor/recovery-codes", &[("code", &code)])
        .await;
    assert_eq!(response.status(), 200);
    let new_codes = recovery_codes_on(&response.text().await.unwrap());
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
    let (browser, _) = password_step(&app, "ana@acme.test").await;
    assert_eq!(
        second_step(&browser, &old_codes[0]).await.status(),
        401,
        "old codes are gone"
    );
    assert_eq!(second_step(&browser, &new_codes[0]).await.status(), 303);

    let response = ana
        .post_form("/profile/two-factor/disable", &[("code", "000000x")])
        .await;
    assert_eq!(response.status(), 422);
    let response = ana
        .post_form("/profile/two-factor/disable", &[("code", &new_codes[1])])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("select count(*) from users where totp_secret is not null")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from user_recovery_codes").await,
        0
    );
    let (_, to) = password_step(&app, "ana@acme.test").await;
    assert_eq!(to, "/dashboard", "the password alone signs in again");
    let (status, page) = ana.page("/profile/two-factor").await;
    assert_eq!(status, 200);
    assert!(page.contains("Turn on"));
}

#[tokio::test]
async fn a_workspace_that_requires_it_sends_members_without_it_to_enrolment() {
    let app = spawn_app().await;
    let acme = team(&app).await;
    let globex = app.sign_up("Gina", "owner@globex.test", "Globex").await;

    assert_eq!(acme.admin.get("/settings/security").await.status(), 403);
    // The owner must have it first.
    let response = acme
        .owner
        .post_form("/settings/security", &[("require_two_factor", "1")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("for yourself first")
    );
    enrol(&acme.owner).await;
    let response = acme
        .owner
        .post_form("/settings/security", &[("require_two_factor", "1")])
        .await;
    assert_eq!(response.status(), 303);
    let (status, page) = acme.owner.page("/settings/security").await;
    assert_eq!(status, 200);
    assert!(page.contains("owner@acme.test") && page.contains("agent@acme.test"));
    assert!(!page.contains("globex"), "only this workspace's members");

    // Members without it are sent to set it up, whatever they open.
    for path in ["/dashboard", "/inbox", "/contacts", "/settings"] {
        let response = acme.agent.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/profile/two-factor");
    }
    let (status, page) = acme.agent.page("/profile/two-factor").await;
    assert_eq!(status, 200);
    assert!(page.contains("Acme requires two-factor sign-in"), "{page}");
    let (agent_secret, _) = enrol(&acme.agent).await;
    assert_eq!(acme.agent.page("/dashboard").await.0, 200);
    // ...and cannot turn it off while a member.
    let code = totp::code_at(&agent_secret, unix_now() + 30).unwrap();
    let response = acme
        .agent
        .post_form("/profile/two-factor/disable", &[("code", &code)])
        .await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Acme requires two-factor sign-in")
    );
    assert_eq!(acme.owner.page("/dashboard").await.0, 200);

    // Another workspace is not affected.
    assert_eq!(globex.page("/dashboard").await.0, 200);
    let (_, to) = password_step(&app, "owner@globex.test").await;
    assert_eq!(to, "/dashboard");

    // Lifting it lets the admin in again.
    assert_eq!(acme.admin.get("/dashboard").await.status(), 303);
    let response = acme.owner.post_form("/settings/security", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(acme.admin.page("/dashboard").await.0, 200);
    let required: Vec<serde_json::Value> = sqlx::query_scalar(
        "select details from audit_log where action = 'settings.two_factor_required' order by seq",
    )
    .fetch_all(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(
        required,
        [
            serde_json::json!({"required": "yes"}),
            serde_json::json!({"required": "no"})
        ]
    );
}

#[tokio::test]
async fn guessing_codes_is_cut_off_after_ten_tries() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let (secret, _) = enrol(&ana).await;
    let (browser, _) = password_step(&app, "ana@acme.test").await;
    let right = totp::code_at(&secret, unix_now() + 30).unwrap();
    let mut guess = 0u32;
    let browser = &browser;
    let (tries, refused) = tries_until_429(10, || {
        guess += 1;
        let code = format!("{:06}", (right.parse::<u32>().unwrap() + guess) % 1_000_000);
        async move { second_step(browser, &code).await }
    })
    .await;
    assert!(tries > 10, "ten tries are allowed, {tries}");
    assert_eq!(refused.status(), 429);
    // Even the right code waits out the window.
    assert_eq!(second_step(browser, &right).await.status(), 429);
    assert_eq!(location(&browser.get("/dashboard").await), "/login");
}

#[tokio::test]
async fn guessing_codes_to_turn_it_off_shares_the_sign_in_limit() {
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let (secret, _) = enrol(&ana).await;
    let right = totp::code_at(&secret, unix_now() + 30).unwrap();
    let mut guess = 0u32;
    let ana = &ana;
    // Someone at an unlocked session tries codes to turn it off.
    let (tries, refused) = tries_until_429(10, || {
        guess += 1;
        let code = format!("{:06}", (right.parse::<u32>().unwrap() + guess) % 1_000_000);
        async move {
            ana.post_form("/profile/two-factor/disable", &[("code", &code)])
                .await
        }
    })
    .await;
    assert!(tries > 10, "ten tries are allowed, {tries}");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // Every place a code is typed waits out the same window.
    let response = ana
        .post_form("/profile/two-factor/recovery-codes", &[("code", &right)])
        .await;
    assert_eq!(response.status(), 429);
    let (browser, _) = password_step(&app, "ana@acme.test").await;
    assert_eq!(second_step(&browser, &right).await.status(), 429);
    assert_eq!(
        app.count("select count(*) from users where totp_secret is not null")
            .await,
        1,
        "still on"
    );
}

#[tokio::test]
async fn an_enrolment_sealed_under_a_retired_key_starts_again() {
    use base64::Engine;
    let app = spawn_app().await;
    let ana = app.sign_up("Ana", "ana@acme.test", "Acme").await;
    let (_, page) = ana.page("/profile/two-factor").await;
    let shown = secret_on(&page);
    let token = ana.csrf_token().await;
    // The operator put a new key in place and retired the old one.
    let new_key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let other = app
        .second_instance_with(|config| config.secret_key = Some(new_key.into()))
        .await;
    let code = totp::code_at(&shown, unix_now()).unwrap();
    let response = ana
        .client
        .post(format!("{}/profile/two-factor/enable", other.base))
        .form(&[("code", code.as_str()), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "not a failure: start again");
    let page = ana
        .client
        .get(format!("{}/profile/two-factor", other.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("has expired"), "says why");
    assert_ne!(secret_on(&page), shown, "a new code to scan");
    assert_eq!(
        app.count("select count(*) from users where totp_secret is not null")
            .await,
        0
    );
}
