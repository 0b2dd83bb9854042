//! HTTPS with rustls, from PEM files, with a generated self-signed certificate.

use crate::support::*;

#[tokio::test]
async fn serves_https_with_a_self_signed_certificate_and_sends_hsts() {
    wacrm::infra::tls::install_crypto_provider();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-tls-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&dir.0).expect("dir");
    let cert_path = dir.0.join("cert.pem");
    let key_path = dir.0.join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).expect("write cert");
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write key");

    let admin = fresh_database().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut config = wacrm::infra::config::Config::for_tests(dir.0.join("data"));
    config.tls_cert = Some(cert_path.clone());
    config.tls_key = Some(key_path.clone());
    config.secret_key = Some(test_secret_key().into());
    config.public_url = Some(format!("https://localhost:{port}").parse().expect("url"));
    let app = wacrm::server::Application::build_on(listener, config, &admin)
        .await
        .expect("application");
    tokio::spawn(app.run_until_stopped(wacrm::server::Jobs::OnDemand, std::future::pending()));

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).expect("root"),
        )
        .build()
        .expect("client");
    let url = format!("https://localhost:{port}");
    let mut response = None;
    for _ in 0..50 {
        match client.get(format!("{url}/login")).send().await {
            Ok(r) => {
                response = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let response = response.expect("HTTPS answered");
    assert_eq!(response.status(), 200);
    let hsts = response
        .headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(hsts.contains("max-age="), "HSTS under TLS");
    let cookie_named = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(name))
            .map(str::to_owned)
    };
    // A visitor gets no session, only the visitor cookie for its forms.
    let visitor = cookie_named(&response, "__Host-wacrm_visitor=")
        .expect("__Host- visitor cookie over https");
    assert!(
        visitor.contains("Secure") && visitor.contains("HttpOnly"),
        "{visitor}"
    );
    let page = response.text().await.expect("page");
    let token = hidden_value(&page, "csrf_token").expect("token");
    let visitor_pair = visitor.split(';').next().expect("pair").to_owned();
    let signed_up = client
        .post(format!("{url}/signup"))
        .header("cookie", visitor_pair)
        .form(&[
            ("name", "Ana"),
            ("email", "ana@tls.test"),
            ("password", PASSWORD),
            ("org_name", "Ana Shop"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("sign-up");
    let cookie =
        cookie_named(&signed_up, "__Host-wacrm=").expect("__Host- session cookie over https");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // A client that does not trust the certificate is refused by TLS itself.
    let untrusting = reqwest::Client::builder().build().expect("client");
    assert!(
        untrusting
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err()
    );
    // Plain HTTP on the TLS port is not served.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );
}

#[test]
fn mismatched_or_missing_tls_files_are_clear_errors() {
    let missing = wacrm::infra::tls::server_config(
        std::path::Path::new("/nonexistent/cert.pem"),
        std::path::Path::new("/nonexistent/key.pem"),
    );
    let message = format!("{:#}", missing.expect_err("error"));
    assert!(message.contains("WACRM_TLS_CERT"), "{message}");
}

#[tokio::test]
async fn hsts_is_sent_behind_a_proxy_when_the_public_address_is_https() {
    let hsts = |app: TestApp| async move {
        let response = app.browser().get("/login").await;
        assert_eq!(response.status(), 200);
        response
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // A proxy in front ends TLS; wacrm itself speaks plain http.
    let proxied = spawn_app_with(|config| {
        config.public_url = Some("https://crm.example.com".parse().expect("url"));
    })
    .await;
    let sent = hsts(proxied).await.expect("HSTS behind an https proxy");
    assert!(sent.contains("max-age="), "{sent}");

    let plain = spawn_app_with(|config| {
        config.public_url = Some("http://crm.example.com".parse().expect("url"));
    })
    .await;
    assert_eq!(hsts(plain).await, None, "no HSTS for an http address");
    assert_eq!(hsts(spawn_app().await).await, None, "nor without one");
}
