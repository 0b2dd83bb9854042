use crate::support::*;

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("wacrm_session=") || c.starts_with("__Host-wacrm="))
        .map(str::to_owned)
}

#[tokio::test]
async fn sign_up_creates_user_workspace_and_owner_and_logs_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser
        .post_form(
            "/signup",
            &[
                ("name", "Ana"),
                ("email", "Ana@Example.com"),
                ("password", PASSWORD),
                ("org_name", "Ana Shop"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/dashboard");
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (status, body) = browser.page("/dashboard").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("Ana Shop") && body.contains("(owner)"),
        "{body}"
    );
    let mut conn = app.admin_conn().await;
    let hash: String =
        sqlx::query_scalar("select password_hash from users where email = 'Ana@Example.com'")
            .fetch_one(&mut conn)
            .await
            .expect("user row");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[tokio::test]
async fn sign_up_with_a_taken_email_in_other_case_keeps_the_values_but_not_the_password() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let browser = app.browser();
    let response = browser
        .post_form(
            "/signup",
            &[
                ("name", "Other Ana"),
                ("email", "ANA@example.com"),
                ("password", "another long password"),
                ("org_name", "Second Shop"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap_or_default();
    assert!(body.contains("already exists"), "{body}");
    assert!(body.contains("value=\"Other Ana\"") && body.contains("value=\"Second Shop\""));
    assert!(!body.contains("another long password"));
}

#[tokio::test]
async fn sign_up_refuses_weak_passwords_and_bad_input_with_reasons() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (password, email, expected) in [
        ("short", "a@example.com", "at least 10 characters"),
        ("password123", "a@example.com", "most common"),
        (PASSWORD, "not-an-email", "not a valid email"),
    ] {
        let response = browser
            .post_form(
                "/signup",
                &[
                    ("name", "A"),
                    ("email", email),
                    ("password", password),
                    ("org_name", "Org"),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "{password} {email}");
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains(expected), "expected {expected:?} in {body}");
    }
    // Missing fields are an error page, not a 500.
    let response = browser.post_form("/signup", &[]).await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.count("select count(*) from users").await, 0);
}

#[tokio::test]
async fn login_rotates_the_session_id_and_logout_ends_it_server_side() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let browser = app.browser();
    // Viewing the login page stores no session; a message to show does (a
    // second step posted too late): the session a fixation attack plants.
    assert_eq!(session_cookie(&browser.get("/login").await), None);
    let late = browser
        .post_form("/login/two-factor", &[("code", "123456")])
        .await;
    let before = session_cookie(&late).expect("anonymous session cookie");
    browser.page("/login").await;
    let response = browser
        .post_form(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let after = session_cookie(&response).expect("rotated cookie");
    let id = |c: &str| c.split(';').next().unwrap_or("").to_owned();
    assert_ne!(id(&before), id(&after), "session id must change at login");
    assert_eq!(browser.page("/dashboard").await.0, 200);

    let mut conn = app.admin_conn().await;
    let stolen = id(&after);
    let session_id = stolen
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    let count_session = "select count(*) from sessions where id = $1 and user_id is not null";
    let stored: i64 = sqlx::query_scalar(count_session)
        .bind(&session_id)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(stored, 1, "the signed-in session is stored server-side");
    let response = browser.post_form("/logout", &[]).await;
    assert_eq!(response.status(), 303);
    let stored: i64 = sqlx::query_scalar(count_session)
        .bind(&session_id)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(stored, 0, "logout deletes the session row");
    // Replaying the old cookie after logout must not work.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(browser.url("/dashboard"))
        .header("cookie", stolen)
        .send()
        .await
        .expect("GET");
    assert_eq!(replay.status(), 303);
    assert_eq!(location(&replay), "/login");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let browser = app.browser();
    let wrong = browser
        .post_form(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", "wrong password!!"),
            ],
        )
        .await;
    let status_wrong = wrong.status();
    let body_wrong = wrong.text().await.unwrap_or_default();
    let unknown = browser
        .post_form(
            "/login",
            &[
                ("email", "nobody@example.com"),
                ("password", "wrong password!!"),
            ],
        )
        .await;
    assert_eq!(status_wrong, 401);
    assert_eq!(unknown.status(), 401);
    let body_unknown = unknown.text().await.unwrap_or_default();
    assert!(body_wrong.contains("Email or password is incorrect."));
    assert!(body_unknown.contains("Email or password is incorrect."));
    assert!(!body_wrong.contains("wrong password!!"));
}

#[tokio::test]
async fn posts_without_a_valid_csrf_token_are_refused() {
    let app = spawn_app().await;
    let owner = app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    owner.page("/dashboard").await;
    let missing = owner.post_form_raw("/logout", &[]).await;
    assert_eq!(missing.status(), 403);
    let wrong = owner
        .post_form_raw("/logout", &[("csrf_token", "forged")])
        .await;
    assert_eq!(wrong.status(), 403);
    // Still signed in: the forged logouts did nothing.
    assert_eq!(owner.page("/dashboard").await.0, 200);
    // The header works for htmx requests.
    let token = owner.csrf_token().await;
    let with_header = owner
        .client
        .post(owner.url("/logout"))
        .header("x-csrf-token", token)
        .send()
        .await
        .expect("POST");
    assert_eq!(with_header.status(), 303);
    // A login post from a session that never saw a form is refused too.
    let fresh = app.browser();
    let response = fresh
        .post_form_raw(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn legacy_bcrypt_hash_logs_in_and_is_upgraded_to_argon2id() {
    let app = spawn_app().await;
    let legacy = bcrypt::hash("legacy password 42", 6).expect("bcrypt");
    let mut conn = app.admin_conn().await;
    sqlx::query(
        "insert into users (id, name, email, password_hash) values (gen_random_uuid(), 'Old', 'old@example.com', $1)",
    )
    .bind(&legacy)
    .execute(&mut conn)
    .await
    .expect("insert legacy user");
    let browser = app.log_in("old@example.com", "legacy password 42").await;
    let hash: String =
        sqlx::query_scalar("select password_hash from users where email = 'old@example.com'")
            .fetch_one(&mut conn)
            .await
            .expect("user");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // No workspace yet: the user is sent to create or pick one.
    let (status, body) = browser.page("/workspaces").await;
    assert_eq!(status, 200);
    assert!(body.contains("Create a workspace"));
    // And the new hash still works.
    app.log_in("old@example.com", "legacy password 42").await;
}

#[tokio::test]
async fn login_is_rate_limited_per_email_with_retry_after() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let browser = app.browser();
    let (tries, response) = tries_until_429(10, || {
        browser.post_form(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", "not the password"),
            ],
        )
    })
    .await;
    assert!(tries > 10, "refused after {tries} tries; the limit is 10");
    let retry: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=900).contains(&retry));
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("Too many attempts")
    );
    // Even the right password waits until the window ends.
    let blocked = browser
        .post_form(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(blocked.status(), 429);
}

#[tokio::test]
async fn email_verification_link_from_the_real_mail_verifies_once() {
    let app = spawn_app().await;
    let browser = app
        .sign_up_unverified("Ana", "ana@example.com", "Ana Shop")
        .await;
    let mail = app.mail_to("ana@example.com", "/verify-email?token=").await;
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Verify your email for wacrm")
    );
    let link = mail.link_containing("/verify-email?token=").expect("link");
    let path = link.trim_start_matches(&app.base).to_owned();
    let response = browser.get(&path).await;
    assert_eq!(response.status(), 303);
    let mut conn = app.admin_conn().await;
    let verified: bool = sqlx::query_scalar("select email_verified_at is not null from users")
        .fetch_one(&mut conn)
        .await
        .expect("user");
    assert!(verified);
    let (_, body) = browser.page("/dashboard").await;
    assert!(!body.contains("Please verify your email"));
    // Used once: the same link is now refused with a reason.
    let (status, body) = browser.page(&path).await;
    assert_eq!(status, 400);
    assert!(body.contains("not valid"));
}

#[tokio::test]
async fn password_reset_is_single_use_and_does_not_reveal_accounts() {
    let app = spawn_app().await;
    let old_session = app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let anonymous = app.browser();
    let known = anonymous
        .post_form("/password/forgot", &[("email", "ana@example.com")])
        .await;
    let unknown = anonymous
        .post_form("/password/forgot", &[("email", "ghost@example.com")])
        .await;
    assert_eq!(known.status(), 200);
    assert_eq!(unknown.status(), 200);
    let known_body = known
        .text()
        .await
        .unwrap_or_default()
        .replace("ana@example.com", "X");
    let unknown_body = unknown
        .text()
        .await
        .unwrap_or_default()
        .replace("ghost@example.com", "X");
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("csrf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&known_body), strip(&unknown_body));

    let mail = app
        .mail_to("ana@example.com", "/password/reset?token=")
        .await;
    let link = mail
        .link_containing("/password/reset?token=")
        .expect("link");
    let path = link.trim_start_matches(&app.base).to_owned();
    let token = path.split("token=").nth(1).expect("token").to_owned();
    let (status, _) = anonymous.page(&path).await;
    assert_eq!(status, 200);
    let response = anonymous
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(response.status(), 303);
    // Other sessions ended; the new password works, the old one doesn't.
    assert_eq!(old_session.get("/dashboard").await.status(), 303);
    app.log_in("ana@example.com", "a brand new password").await;
    let old = app
        .browser()
        .post_form(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status(), 401);
    // Single use.
    let again = anonymous
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", "yet another password")],
        )
        .await;
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn sign_up_and_password_reset_are_rate_limited() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut i = 0;
    let (tries, _) = tries_until_429(10, || {
        i += 1;
        let email = format!("user{i}@example.com");
        let browser = &browser;
        async move {
            browser
                .post_form(
                    "/signup",
                    &[
                        ("name", "U"),
                        ("email", &email),
                        ("password", "short"),
                        ("org_name", "O"),
                    ],
                )
                .await
        }
    })
    .await;
    assert!(
        tries > 10,
        "invalid sign-ups count too, and 10 pass per hour: {tries}"
    );

    let other = app.browser();
    let (tries, _) = tries_until_429(3, || {
        other.post_form("/password/forgot", &[("email", "victim@example.com")])
    })
    .await;
    assert!(tries > 3, "three reset mails per address per hour: {tries}");
}

#[tokio::test]
async fn repeated_sign_ups_for_one_address_are_rate_limited() {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let prober = app.browser();
    let (tries, _) = tries_until_429(5, || {
        prober.post_form(
            "/signup",
            &[
                ("name", "X"),
                ("email", "ANA@example.com"),
                ("password", PASSWORD),
                ("org_name", "X"),
            ],
        )
    })
    .await;
    // The owner's own sign-up was the first of the five allowed.
    assert!(tries > 4, "refused after {tries} tries");
}
