//! A real browser (headless Chromium over WebDriver): sign up, invite an
//! agent, log out; and the live inbox between a simulated customer and an
//! agent. Screenshots of each page land in target/screenshots/.

use std::process::Stdio;
use std::time::Duration;

use thirtyfour::prelude::*;

use crate::support::*;

/// A real 1x1 red PNG (a browser decodes it).
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde\x00\x00\x00\x0c\x49\x44\x41\x54\x78\x9c\x63\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

struct ChromeDriver {
    child: std::process::Child,
    url: String,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_chromedriver() -> ChromeDriver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let child = std::process::Command::new("chromedriver")
        .args([
            format!("--port={port}"),
            "--allowed-ips=127.0.0.1".to_owned(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "the browser test needs Chromium and ChromeDriver: install the Debian packages \
                 `chromium` and `chromium-driver` (scripts/test does): {e}"
            )
        });
    let driver = ChromeDriver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{}/status", driver.url)).await
            && r.status() == 200
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {}", driver.url);
}

async fn screenshot(driver: &WebDriver, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = driver.screenshot_as_png().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

async fn fill(driver: &WebDriver, name: &str, value: &str) -> WebDriverResult<()> {
    driver
        .find(By::Css(format!("main form [name='{name}']")))
        .await?
        .send_keys(value)
        .await
}

/// A headless Chromium with its own profile (removed when dropped).
async fn open_browser(chromedriver: &ChromeDriver) -> WebDriverResult<(WebDriver, TempDir)> {
    let profile =
        TempDir(std::env::temp_dir().join(format!("wacrm-chrome-{}", uuid::Uuid::new_v4())));
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary("/usr/bin/chromium")?;
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
    ] {
        caps.add_arg(arg)?;
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.0.display()))?;
    let driver = WebDriver::new(&chromedriver.url, caps).await?;
    Ok((driver, profile))
}

/// What only a signed-in page's sidebar has.
const SIGNED_IN: &str = "#sidebar form[action='/logout']";

async fn log_in(driver: &WebDriver, base: &str, email: &str) -> WebDriverResult<()> {
    driver.goto(format!("{base}/login")).await?;
    fill(driver, "email", email).await?;
    fill(driver, "password", PASSWORD).await?;
    driver
        .find(By::Css("main form button[type='submit']"))
        .await?
        .click()
        .await?;
    // The signed-in sidebar (waiting for the page's URL raced the redirect).
    driver.query(By::Css(SIGNED_IN)).first().await?;
    let landed = driver.current_url().await?;
    assert!(landed.path().ends_with("/dashboard"), "landed on {landed}");
    Ok(())
}

#[tokio::test]
async fn a_person_signs_up_invites_an_agent_and_logs_out_in_a_real_browser() -> WebDriverResult<()>
{
    let app = spawn_app().await;
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        driver.goto(format!("{}/signup", app.base)).await?;
        screenshot(&driver, "signup").await;
        fill(&driver, "name", "Ana Owner").await?;
        fill(&driver, "email", "ana@shop.test").await?;
        fill(&driver, "password", PASSWORD).await?;
        fill(&driver, "org_name", "Ana's Shop").await?;
        driver
            .find(By::Css("main form button[type='submit']"))
            .await?
            .click()
            .await?;
        let workspace = driver
            .query(By::Css("#sidebar .switcher .org-name"))
            .first()
            .await?;
        assert_eq!(workspace.text().await?, "Ana's Shop");
        let dashboard = driver.query(By::Css("main h1")).first().await?;
        assert_eq!(dashboard.text().await?, "Today");
        assert!(driver.current_url().await?.path().ends_with("/dashboard"));
        screenshot(&driver, "dashboard").await;
        // Inviting needs a verified address: open the mailed link.
        let mail = app.mail_to("ana@shop.test", "/verify-email?token=").await;
        let link = mail.link_containing("/verify-email?token=").expect("link");
        driver.goto(link).await?;

        driver.goto(format!("{}/team", app.base)).await?;
        fill(&driver, "email", "agent@shop.test").await?;
        let role = driver
            .find(By::Css(
                "main form[action='/team/invitations'] select[name='role']",
            ))
            .await?;
        thirtyfour::components::SelectElement::new(&role)
            .await?
            .select_by_value("agent")
            .await?;
        driver
            .find(By::Css("main form[action='/team/invitations'] button"))
            .await?
            .click()
            .await?;
        let flash = driver.query(By::Css(".flash.success")).first().await?;
        assert!(
            flash
                .text()
                .await?
                .contains("Invitation sent to agent@shop.test")
        );
        assert!(
            driver
                .source()
                .await?
                .contains("data-invitation=\"agent@shop.test\"")
        );
        screenshot(&driver, "team").await;
        app.mail_to("agent@shop.test", "/invitations/").await;

        // Log out sits in the user menu at the sidebar's foot.
        driver
            .find(By::Css("#sidebar details.user-menu summary"))
            .await?
            .click()
            .await?;
        driver
            .find(By::Css("#sidebar form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        driver
            .query(By::Css("main form[action='/login']"))
            .first()
            .await?;
        assert!(driver.current_url().await?.path().ends_with("/login"));
        screenshot(&driver, "logged-out").await;
        driver.goto(format!("{}/dashboard", app.base)).await?;
        assert!(
            driver.current_url().await?.path().ends_with("/login"),
            "signed out for real"
        );
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result
}

/// The customer writes in the simulator (one browser); the agent's inbox
/// (another browser, open all along) shows it live; the agent opens it,
/// inserts a canned reply with `/` and Tab, sends it; the simulator shows
/// the reply.
#[tokio::test]
async fn a_customer_message_shows_up_live_and_the_reply_reaches_the_simulator()
-> WebDriverResult<()> {
    let app = spawn_app().await;
    let team = team(&app).await;
    let response = team
        .owner
        .post_form(
            "/canned",
            &[
                ("shortcode", "thanks"),
                ("body", "Thanks {{first_name}}, on its way!"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let chromedriver = start_chromedriver().await;
    let (customer, _customer_profile) = open_browser(&chromedriver).await?;
    let (agent, agent_profile) = open_browser(&chromedriver).await?;
    let result = async {
        log_in(&customer, &app.base, "owner@acme.test").await?;
        log_in(&agent, &app.base, "agent@acme.test").await?;
        agent.goto(format!("{}/inbox", app.base)).await?;
        agent.query(By::Css(".inbox")).first().await?;
        // Let the event stream connect before the message is sent.
        tokio::time::sleep(Duration::from_millis(500)).await;
        customer.goto(format!("{}/sandbox", app.base)).await?;
        fill(&customer, "name", "Maria Souza").await?;
        fill(&customer, "phone", "+55 11 91234 5678").await?;
        fill(&customer, "text", "Where is my order?").await?;
        customer
            .find(By::Css("main form[action='/sandbox/messages'] button"))
            .await?
            .click()
            .await?;
        customer.query(By::Css("ol.messages")).first().await?;

        // No reload: the list refreshes from the event.
        let item = agent
            .query(By::XPath(
                "//ul[@class='conversations']//a[contains(., 'Where is my order?')]",
            ))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        screenshot(&agent, "inbox-live").await;
        // The tab counts the unread conversation; opening it reads it.
        assert_eq!(title_soon(&agent, "(1) Inbox · wacrm").await?, "(1) Inbox · wacrm");
        item.click().await?;
        // Only the panes are loaded (htmx); the address and the list follow.
        agent
            .query(By::Css(".conversations li.current"))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        let url = agent.current_url().await?;
        assert!(url.path().starts_with("/inbox/0"), "{url}");
        assert_eq!(
            title_soon(&agent, "Inbox · wacrm").await?,
            "Inbox · wacrm",
            "read once opened"
        );
        let reply = agent
            .query(By::Css("form.composer textarea[name='text']"))
            .first()
            .await?;
        reply.send_keys("/tha").await?;
        agent
            .query(By::Css(".suggestion-slot button[data-insert]"))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        reply.send_keys(Key::Tab).await?;
        assert_eq!(
            reply.prop("value").await?.unwrap_or_default(),
            "Thanks Maria, on its way!"
        );
        screenshot(&agent, "composer-canned").await;
        agent
            .find(By::Css(
                "form.composer button[type='submit']:not([formaction])",
            ))
            .await?
            .click()
            .await?;
        agent
            .query(By::XPath(
                "//ol[@class='messages']//p[contains(., 'Thanks Maria, on its way!')]",
            ))
            .first()
            .await?;

        // The simulator shows the reply once it is sent.
        let mut seen = false;
        for _ in 0..50 {
            customer.refresh().await?;
            if customer
                .source()
                .await?
                .contains("Thanks Maria, on its way!")
            {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        screenshot(&customer, "simulator-reply").await;
        assert!(seen, "the simulator shows the agent's reply");

        // Quote the customer's message in a reply, then react to it.
        let theirs = "//li[contains(concat(' ', @class, ' '), ' in ')]";
        agent
            .find(By::XPath(format!("{theirs}//a[normalize-space()='Reply']")))
            .await?
            .click()
            .await?;
        agent.query(By::Css("p.replying")).first().await?;
        agent
            .query(By::Css("form.composer textarea[name='text']"))
            .first()
            .await?
            .send_keys("It left today")
            .await?;
        agent
            .find(By::Css(
                "form.composer button[type='submit']:not([formaction])",
            ))
            .await?
            .click()
            .await?;
        agent
            .query(By::XPath(
                "//li[.//blockquote[contains(., 'Where is my order?')]]//p[contains(., 'It left today')]",
            ))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        agent
            .find(By::XPath(format!("{theirs}//details[@class='react']/summary")))
            .await?
            .click()
            .await?;
        agent
            .find(By::XPath(format!("{theirs}//button[@aria-label='React 👍']")))
            .await?
            .click()
            .await?;
        agent
            .query(By::XPath(
                "//p[contains(@class, 'reaction') and contains(., 'Reacted 👍 to “Where is my order?”')]",
            ))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        screenshot(&agent, "reply-and-reaction").await;

        // Send a picture with a caption from the composer's file form.
        let picture = agent_profile.0.join("receipt.png");
        std::fs::write(&picture, PNG).expect("write the picture");
        agent
            .find(By::Css("details.attach > summary"))
            .await?
            .click()
            .await?;
        agent
            .find(By::Css("details.attach input[type='file']"))
            .await?
            .send_keys(picture.to_string_lossy())
            .await?;
        agent
            .find(By::Css("details.attach textarea[name='text']"))
            .await?
            .send_keys("Your receipt")
            .await?;
        agent
            .find(By::Css("details.attach button[type='submit']"))
            .await?
            .click()
            .await?;
        let image = agent
            .query(By::XPath(
                "//ol[@class='messages']//li[.//p[contains(., 'Your receipt')]]//img[@class='media']",
            ))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        // The browser loaded it from wacrm: a real 1x1 picture (loading may
        // take a moment under load).
        let started = std::time::Instant::now();
        let width = loop {
            let width = agent
                .execute("return arguments[0].naturalWidth;", vec![image.to_json()?])
                .await?;
            if width.json() != &serde_json::json!(0) || started.elapsed() > Duration::from_secs(5)
            {
                break width;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(width.json(), &serde_json::json!(1), "the picture loads");
        // The conversation opens at its newest message, the picture.
        let in_view = agent
            .execute(
                "const r = arguments[0].getBoundingClientRect(); \
                 const list = document.querySelector('#panes #messages').getBoundingClientRect(); \
                 return r.bottom <= Math.min(list.bottom, window.innerHeight) + 1;",
                vec![image.to_json()?],
            )
            .await?;
        assert_eq!(in_view.json(), &serde_json::json!(true), "the newest message is in view");
        screenshot(&agent, "file-sent").await;
        Ok::<_, WebDriverError>(())
    }
    .await;
    customer.quit().await?;
    agent.quit().await?;
    result
}

/// The QR code's SVG shown now, if any.
async fn qr_html(driver: &WebDriver) -> WebDriverResult<Option<String>> {
    let shown = driver
        .execute(
            "const svg = document.querySelector('#linked-device .qr svg'); \
             return svg ? svg.outerHTML : null;",
            vec![],
        )
        .await?;
    Ok(shown.json().as_str().map(str::to_owned))
}

/// The owner links a phone in Chromium: the page shows the QR code the
/// (scripted) session gives, a new one when it rotates, and turns to
/// "Linked" when the phone scans it, without a reload.
#[tokio::test]
async fn the_linked_phone_page_shows_the_qr_and_turns_to_linked_by_itself() -> WebDriverResult<()> {
    use crate::support::fake_wa_web::FakeWeb;
    use wacrm::channels::whatsapp_web::link::SessionEvent;
    let fake = FakeWeb::new();
    let connector: std::sync::Arc<dyn wacrm::channels::whatsapp_web::link::Connector> =
        fake.clone();
    let app = spawn_app_with_connector(Some(connector), |_| {}).await;
    app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        log_in(&driver, &app.base, "owner@acme.test").await?;
        driver
            .goto(format!("{}/settings/linked-devices", app.base))
            .await?;
        fill(&driver, "name", "Shop phone").await?;
        driver
            .find(By::Css(
                "main form[action='/settings/linked-devices'] button[type='submit']",
            ))
            .await?
            .click()
            .await?;
        driver.query(By::Css("#linked-device")).first().await?;
        let path = driver.current_url().await?.path().to_owned();
        let channel = uuid::Uuid::try_parse(path.trim_start_matches("/settings/linked-devices/"))
            .expect("channel id");
        fake.until_open(channel, Duration::from_secs(10)).await;

        fake.emit(
            channel,
            SessionEvent::Qr {
                code: "2@first-ref,noise,identity,adv".into(),
                valid_for: Duration::from_secs(60),
            },
        );
        driver
            .query(By::Css("#linked-device .qr svg"))
            .wait(Duration::from_secs(10), Duration::from_millis(100))
            .first()
            .await?;
        // Read in one script: htmx replaces the section every 2 s, so an
        // element found a moment ago may be gone.
        let first = qr_html(&driver).await?.expect("a QR code");
        screenshot(&driver, "linked-phone-qr").await;
        fake.emit(
            channel,
            SessionEvent::Qr {
                code: "2@second-ref,noise,identity,adv".into(),
                valid_for: Duration::from_secs(20),
            },
        );
        let mut rotated = false;
        for _ in 0..100 {
            if qr_html(&driver).await?.is_some_and(|now| now != first) {
                rotated = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(rotated, "the page shows the new QR code");

        fake.emit(
            channel,
            SessionEvent::Linked {
                phone: "15550783881".into(),
                name: "Acme Shop".into(),
            },
        );
        driver
            .query(By::Css("#linked-device[data-status='linked']"))
            .wait(Duration::from_secs(10), Duration::from_millis(100))
            .first()
            .await?;
        let text = driver.find(By::Css("#linked-device")).await?.text().await?;
        assert!(
            text.contains("+15550783881") && text.contains("Acme Shop"),
            "{text}"
        );
        assert!(
            driver
                .find_all(By::Css("#linked-device .qr"))
                .await?
                .is_empty()
        );
        screenshot(&driver, "linked-phone-linked").await;
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result
}

/// AI in a real browser: the suggestion lands in the reply box (htmx
/// swaps it out of band), a rewrite sends what the box holds then, the
/// summary and a translation appear in place, and the progress line shows
/// only while the provider works.
#[tokio::test]
async fn ai_drafts_summaries_and_translations_land_in_place_in_a_real_browser()
-> WebDriverResult<()> {
    use crate::support::fake_openai::{FakeOpenAi, Next};
    let ai = FakeOpenAi::start().await;
    let app = spawn_app_with(|config| ai.configure(config)).await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let on = owner.post_form("/settings/ai", &[("enabled", "on")]).await;
    assert_eq!(on.status(), 303);
    let conversation = customer_writes(
        &owner,
        "Maria",
        "+55 11 91234 5678",
        "Vocês entregam no sábado?",
    )
    .await;
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        log_in(&driver, &app.base, "owner@acme.test").await?;
        driver
            .goto(format!("{}/inbox/{conversation}", app.base))
            .await?;
        let progress = driver.find(By::Id("ai-progress")).await?;
        assert!(
            !progress.is_displayed().await?,
            "no progress line while idle"
        );

        ai.then(Next::Slow(
            Duration::from_millis(1500),
            "Sim, entregamos no sábado até as 14h.".into(),
        ));
        driver
            .find(By::Css("button[name='action'][value='suggest']"))
            .await?
            .click()
            .await?;
        let working = driver
            .query(By::Id("ai-progress"))
            .wait(Duration::from_secs(10), Duration::from_millis(20))
            .and_displayed()
            .first()
            .await;
        assert!(working.is_ok(), "progress shows while the provider works");
        // The box is replaced by the swap: find the new one by its text
        // (an element found before the swap would be stale).
        let reply = driver
            .query(By::XPath(
                "//textarea[@id='reply-text' and contains(., 'entregamos no sábado até as 14h.')]",
            ))
            .wait(Duration::from_secs(15), Duration::from_millis(50))
            .first()
            .await?;
        assert_eq!(
            reply.prop("value").await?.unwrap_or_default(),
            "Sim, entregamos no sábado até as 14h."
        );
        assert!(
            driver
                .find(By::Id("ai-status"))
                .await?
                .text()
                .await?
                .contains("AI draft: read and edit it before you send it.")
        );
        screenshot(&driver, "ai-suggestion").await;

        // The rewrite sends what the box holds now (the swapped-in draft).
        ai.then(Next::Answer("Sim, sábado até 14h.".into()));
        driver
            .find(By::Css("button[name='action'][value='shorter']"))
            .await?
            .click()
            .await?;
        driver
            .query(By::XPath(
                "//textarea[@id='reply-text' and contains(., 'sábado até 14h.')]",
            ))
            .wait(Duration::from_secs(15), Duration::from_millis(50))
            .first()
            .await?;
        assert!(
            ai.last()
                .prompt()
                .contains("Sim, entregamos no sábado até as 14h.")
        );

        ai.then(Next::Answer("Maria asks about Saturday delivery.".into()));
        driver
            .find(By::XPath("//button[contains(., 'Summarize (AI)')]"))
            .await?
            .click()
            .await?;
        driver
            .query(By::XPath(
                "//div[@id='ai-summary']//p[contains(., 'Saturday delivery')]",
            ))
            .wait(Duration::from_secs(15), Duration::from_millis(50))
            .first()
            .await?;

        ai.then(Next::Answer("Do you deliver on Saturday?".into()));
        driver
            .find(By::Css("form.ai-translate button"))
            .await?
            .click()
            .await?;
        // Inside the live-refreshed message list, whose swap settings the
        // form must not inherit.
        driver
            .query(By::XPath(
                "//p[@class='translation' and contains(., 'Do you deliver on Saturday?')]",
            ))
            .wait(Duration::from_secs(15), Duration::from_millis(50))
            .first()
            .await?;
        screenshot(&driver, "ai-summary-translation").await;
        assert_eq!(
            app.count("select count(*) from messages where direction = 'out'")
                .await,
            0,
            "nothing was sent by itself"
        );
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result
}

/// Dragging a deal's card onto another column moves it (the drag is
/// dispatched as the browser's own drag events; WebDriver cannot drag
/// HTML5 draggables).
#[tokio::test]
async fn a_deal_dragged_to_another_column_moves_there_in_a_real_browser() -> WebDriverResult<()> {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let response = owner
        .post_form(
            "/deals",
            &[
                ("title", "Dragged deal"),
                ("value", "5"),
                ("currency", "USD"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        log_in(&driver, &app.base, "owner@acme.test").await?;
        driver.goto(format!("{}/deals", app.base)).await?;
        driver
            .execute(
                "var card = document.querySelector('.deal-card');
                 var column = document.querySelectorAll('.board-column')[2];
                 var data = new DataTransfer();
                 card.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
                 column.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: data}));
                 column.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));",
                vec![],
            )
            .await?;
        let flash = driver.query(By::Css(".flash.success")).first().await?;
        assert!(flash.text().await?.contains("moved to Proposal"));
        screenshot(&driver, "deals-board").await;
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result?;
    let stage: String = sqlx::query_scalar(
        "select s.name from deals d join pipeline_stages s on s.id = d.stage_id",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .unwrap();
    assert_eq!(stage, "Proposal");
    Ok(())
}

/// Files a customer chose on their phone (a page, a scripted SVG, a page
/// behind a JPEG's first bytes, a page under `image/jpeg,text/html`),
/// opened from the conversation in a real browser: nothing renders as a
/// page of wacrm and no script runs.
#[tokio::test]
async fn hostile_files_opened_from_a_conversation_render_nothing_and_run_nothing()
-> WebDriverResult<()> {
    let (app, _owner, _fake, stored) =
        crate::whatsapp_web::hostile_files_from_a_linked_phone().await;
    let conversation: String = sqlx::query_scalar(
        "select conversation_id::text from messages where provider_message_id = '3AH000'",
    )
    .fetch_one(&mut app.admin_conn().await)
    .await
    .expect("conversation");
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        log_in(&driver, &app.base, "owner@acme.test").await?;
        let page = format!("{}/inbox/{conversation}", app.base);
        for (url, _) in &stored {
            driver.goto(&page).await?;
            // The link the conversation shows, clicked as a person would.
            // Waits until it can be clicked: a loaded machine lays the page
            // out late.
            let link = driver
                .query(By::Css(format!("a[href='{url}']")))
                .and_clickable()
                .first()
                .await?;
            link.scroll_into_view().await?;
            link.click().await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            for handle in driver.windows().await? {
                driver.switch_to_window(handle).await?;
                assert_ne!(driver.title().await?, "ran", "a script of {url} ran");
                let shown = driver.source().await?;
                assert!(
                    !shown.contains("<script>document.title"),
                    "{url} rendered as a page: {shown}"
                );
            }
            // And the file's address typed in directly.
            driver.goto(format!("{}{url}", app.base)).await?;
            assert_ne!(driver.title().await?, "ran", "a script of {url} ran");
        }
        screenshot(&driver, "hostile-file").await;
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result
}

/// A sign-in link whose `next` would leave the site keeps a real browser
/// on wacrm.
#[tokio::test]
async fn a_login_link_with_a_hostile_next_stays_on_this_site_in_a_real_browser()
-> WebDriverResult<()> {
    let app = spawn_app().await;
    app.sign_up("Ana", "ana@example.com", "Ana Shop").await;
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        let hostile = [
            "/%09/evil.example",
            "/%5Cevil.example",
            "//evil.example",
            "/%0a/evil.example",
        ];
        // Signing in through the form with the first, then each link again.
        driver
            .goto(format!("{}/login?next={}", app.base, hostile[0]))
            .await?;
        fill(&driver, "email", "ana@example.com").await?;
        fill(&driver, "password", PASSWORD).await?;
        driver
            .find(By::Css("main form button[type='submit']"))
            .await?
            .click()
            .await?;
        driver.query(By::Css(SIGNED_IN)).first().await?;
        for next in hostile {
            driver
                .goto(format!("{}/login?next={next}", app.base))
                .await?;
            let url = driver.current_url().await?;
            assert_eq!(url.host_str(), Some("127.0.0.1"), "{next} led to {url}");
            assert_eq!(url.path(), "/dashboard", "{next}");
        }
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result
}

/// The tab's title once it is `wanted` (htmx settles a moment after the
/// swap), or as it is after 3 s.
async fn title_soon(driver: &WebDriver, wanted: &str) -> WebDriverResult<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let title = driver.title().await?;
        if title == wanted || std::time::Instant::now() > deadline {
            return Ok(title);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page's width in CSS pixels and the widest thing on it: equal when
/// nothing scrolls sideways.
async fn widths(driver: &WebDriver) -> WebDriverResult<(i64, i64)> {
    let inner = driver.execute("return window.innerWidth;", vec![]).await?;
    let scroll = driver
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await?;
    Ok((
        inner.json().as_i64().unwrap_or(0),
        scroll.json().as_i64().unwrap_or(0),
    ))
}

#[tokio::test]
async fn on_a_phone_the_inbox_opens_a_conversation_full_screen_and_goes_back() -> WebDriverResult<()>
{
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    customer_writes(
        &owner,
        "Maria Souza",
        "+5511912345678",
        "Do you deliver today?",
    )
    .await;
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        driver.set_window_rect(0, 0, 390, 844).await?;
        log_in(&driver, &app.base, "owner@acme.test").await?;
        let (inner, scroll) = widths(&driver).await?;
        assert!(inner < 640, "a phone-sized window ({inner} px)");
        // Installable: the service worker is registered for the whole site.
        let scope = driver
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 navigator.serviceWorker.ready.then(r => done(r.scope), e => done(String(e)));",
                vec![],
            )
            .await?;
        assert_eq!(
            scope.json().as_str(),
            Some(format!("{}/", app.base).as_str())
        );
        // The shell: no sidebar, a bottom bar, the menu behind a button.
        assert!(
            !driver
                .find(By::Css("#sidebar"))
                .await?
                .is_displayed()
                .await?
        );
        assert!(
            driver
                .find(By::Css(".bottombar"))
                .await?
                .is_displayed()
                .await?
        );
        assert!(
            scroll <= inner,
            "the dashboard scrolls sideways: {scroll} > {inner}"
        );
        driver
            .find(By::Css(".topbar .menu-open"))
            .await?
            .click()
            .await?;
        let sidebar = driver.find(By::Css("#sidebar")).await?;
        assert!(sidebar.is_displayed().await?, "the menu sheet opens");
        screenshot(&driver, "phone-menu").await;
        driver
            .find(By::Css("#sidebar .sidebar-close"))
            .await?
            .click()
            .await?;
        assert!(!sidebar.is_displayed().await?, "and closes");

        driver.goto(format!("{}/inbox", app.base)).await?;
        let row = driver.query(By::Css(".conversations li a")).first().await?;
        screenshot(&driver, "phone-inbox").await;
        row.click().await?;
        driver
            .query(By::Css("#panes[data-open]"))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        // The conversation alone, with a way back and a usable composer.
        assert!(
            !driver
                .find(By::Css(".inbox-list"))
                .await?
                .is_displayed()
                .await?
        );
        assert!(
            !driver
                .find(By::Css(".bottombar"))
                .await?
                .is_displayed()
                .await?
        );
        let reply = driver
            .find(By::Css("form.composer textarea[name='text']"))
            .await?;
        assert!(reply.is_displayed().await?);
        let (inner, scroll) = widths(&driver).await?;
        assert!(
            scroll <= inner,
            "the conversation scrolls sideways: {scroll} > {inner}"
        );
        reply.send_keys("Yes, until 6 pm!").await?;
        driver
            .find(By::Css(
                "form.composer button[type='submit']:not([formaction])",
            ))
            .await?
            .click()
            .await?;
        driver
            .query(By::XPath(
                "//ol[@class='messages']//p[contains(., 'Yes, until 6 pm!')]",
            ))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        screenshot(&driver, "phone-conversation").await;
        driver
            .find(By::Css(".conversation-head .back"))
            .await?
            .click()
            .await?;
        let list = driver
            .query(By::Css(".inbox-list"))
            .wait(Duration::from_secs(5), Duration::from_millis(100))
            .first()
            .await?;
        assert!(list.is_displayed().await?, "back to the list");
        assert!(
            driver
                .find_all(By::Css("#panes[data-open]"))
                .await?
                .is_empty()
        );
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result
}

#[tokio::test]
async fn conversations_ticked_in_the_list_are_assigned_together_in_a_real_browser()
-> WebDriverResult<()> {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    customer_writes(&owner, "Maria Souza", "+5511912345678", "hi").await;
    customer_writes(&owner, "Jonas Weber", "+4930901820", "hello").await;
    customer_writes(&owner, "Priya Nair", "+919820012345", "hey").await;
    let chromedriver = start_chromedriver().await;
    let (driver, _profile) = open_browser(&chromedriver).await?;
    let result = async {
        driver.set_window_rect(0, 0, 1400, 900).await?;
        log_in(&driver, &app.base, "owner@acme.test").await?;
        driver.goto(format!("{}/inbox", app.base)).await?;
        let bar = driver.find(By::Css("form#bulk")).await?;
        assert!(!bar.is_displayed().await?, "no bar before a tick");
        let ticks = driver.find_all(By::Css("input.pick")).await?;
        assert_eq!(ticks.len(), 3);
        ticks[0].click().await?;
        ticks[1].click().await?;
        assert!(bar.is_displayed().await?, "the bar once ticked");
        let count = driver.find(By::Css("[data-bulk-count]")).await?;
        assert_eq!(count.text().await?, "2 ticked");
        driver
            .find(By::Css(
                "form#bulk select[name='action'] option[value='assign:me']",
            ))
            .await?
            .click()
            .await?;
        screenshot(&driver, "inbox-bulk").await;
        bar.find(By::Css("button[type='submit']"))
            .await?
            .click()
            .await?;
        let flash = driver.query(By::Css(".flash.success")).first().await?;
        assert_eq!(flash.text().await?, "2 conversations assigned.");
        Ok::<_, WebDriverError>(())
    }
    .await;
    driver.quit().await?;
    result?;
    assert_eq!(
        app.count("select count(*) from conversations where assignee_id is not null")
            .await,
        2
    );
    Ok(())
}
