//! Files from customers and members are typed by their bytes, served from
//! disk with ranges, and never shown as a page of wacrm's origin: anything
//! but a confirmed picture, recording or video is an opaque, sandboxed
//! download. (Each provider channel has its own case beside its other
//! tests: `whatsapp`, `waha`, `whatsapp_web`.)

use crate::support::*;

/// A small MP4: a `ftyp` box, then bytes.
fn mp4(len: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    bytes.extend((0..len).map(|i| (i % 251) as u8));
    bytes
}

async fn media_of(app: &TestApp, caption: &str) -> serde_json::Value {
    sqlx::query_scalar("select media from messages where body = $1")
        .bind(caption)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("media")
}

#[tokio::test]
async fn an_uploaded_video_is_typed_by_its_bytes_streamed_and_seekable() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Ines", "+4930901820", "hello").await;
    let video = mp4(300_000);
    // The browser's claim is wrong; the bytes say MP4.
    let response = owner
        .attach(
            &conversation,
            ("clip.bin", "application/pdf", &video),
            "the clip",
            None,
        )
        .await;
    assert_eq!(response.status(), 303);
    let media = media_of(&app, "the clip").await;
    assert_eq!(media["mime_type"], "video/mp4");
    let url = media["url"].as_str().expect("url").to_owned();

    let whole = owner.get(&url).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert!(
        whole.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline"),
    );
    assert_eq!(
        whole.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(whole.bytes().await.unwrap().as_ref(), video.as_slice());

    let part = owner
        .client
        .get(owner.url(&url))
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 1000-1999/{}", video.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &video[1000..2000]);
    let beyond = owner
        .client
        .get(owner.url(&url))
        .header("range", format!("bytes={}-", video.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416, "a range past the end");

    // Nothing of the upload is left behind but the kept file.
    let incoming = app.state.config.data_dir.join("media").join("incoming");
    let left = std::fs::read_dir(&incoming).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        left,
        0,
        "no temporary upload left in {}",
        incoming.display()
    );

    let other = app.sign_up("Otto", "otto@other.test", "Other").await;
    assert_eq!(other.get(&url).await.status(), 404);
}

#[tokio::test]
async fn hostile_files_a_member_attaches_are_downloads_not_pages() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let conversation = customer_writes(&owner, "Ines", "+4930901820", "hello").await;
    // A page sent as a text document, and a page behind a JPEG's first bytes.
    let files = hostile_files();
    let page = &files[0].2;
    let polyglot = &files[2].2;
    for (caption, name, claimed, bytes) in [
        ("as text", "notes.txt", "text/plain", page),
        ("as photo", "photo.jpg", "image/jpeg", polyglot),
    ] {
        let response = owner
            .attach(&conversation, (name, claimed, bytes), caption, None)
            .await;
        assert_eq!(response.status(), 303, "{caption}");
        let media = media_of(&app, caption).await;
        assert_served_as_attachment(&owner, media["url"].as_str().expect("url"), bytes).await;
    }
    // A scripted SVG is not a file WhatsApp takes at all.
    let (_, _, svg) = &files[1];
    let response = owner
        .attach(
            &conversation,
            ("logo.svg", "image/svg+xml", svg),
            "svg",
            None,
        )
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn the_sandbox_customer_can_send_only_real_pictures() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    for (name, _, bytes) in hostile_files() {
        let response = customer_sends_image_as(&owner, "Ines", "+4930901820", bytes, name).await;
        assert_eq!(response.status(), 422, "{name}");
    }
    assert_eq!(app.count("select count(*) from media").await, 0);
}
