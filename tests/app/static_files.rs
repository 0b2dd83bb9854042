//! Static files under content-hashed URLs: pages link the hashed name,
//! browsers keep it for a year, and a stale or made-up hash finds nothing.

use crate::support::spawn_app;

/// Every `/static/...` URL a page links, in order.
fn static_urls(body: &str) -> Vec<String> {
    body.split("\"/static/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|name| format!("/static/{name}"))
        .collect()
}

/// `app.css` for `/static/app.<hash>.css`, with the hash.
fn split_hash(url: &str) -> (String, String) {
    let name = url.strip_prefix("/static/").unwrap();
    let (rest, extension) = name.rsplit_once('.').unwrap();
    let (stem, hash) = rest.rsplit_once('.').unwrap();
    (format!("{stem}.{extension}"), hash.to_owned())
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn pages_link_static_files_by_content_hash_and_browsers_keep_them() {
    let app = spawn_app().await;
    let (status, body) = app.browser().page("/login").await;
    assert_eq!(status, 200);
    let urls = static_urls(&body);
    let names: Vec<String> = urls.iter().map(|u| split_hash(u).0).collect();
    assert_eq!(
        names,
        [
            "app.css",
            "icon.svg",
            "icon-192.png",
            "htmx.min.js",
            "htmx-sse.js",
            "app.js"
        ]
    );
    for url in &urls {
        let (_, hash) = split_hash(url);
        assert_eq!(hash.len(), 16, "{url}");
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{url}");
    }

    let css = &urls[0];
    let response = app.browser().get(css).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&response, "content-type"), "text/css; charset=utf-8");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..], include_bytes!("../../static/app.css"));

    // The page's CSP still lets it load them: same origin.
    let response = app.browser().get("/login").await;
    let csp = header(&response, "content-security-policy");
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"));

    // A hash that is not this file's (an old deploy's, or made up) is a 404,
    // so no browser keeps the wrong bytes under it for a year.
    let (_, hash) = split_hash(css);
    let wrong = css.replace(&hash, &"0".repeat(16));
    assert_ne!(&wrong, css);
    assert_eq!(app.browser().get(&wrong).await.status(), 404);
    let unknown = format!("/static/nope.{hash}.css");
    assert_eq!(app.browser().get(&unknown).await.status(), 404);
}

#[tokio::test]
async fn plain_static_urls_still_load_for_pages_cached_before_a_deploy() {
    let app = spawn_app().await;
    let response = app.browser().get("/static/app.js").await;
    assert_eq!(response.status(), 200);
    let cache = header(&response, "cache-control");
    assert!(!cache.contains("immutable"), "{cache}");
    assert!(cache.contains("max-age=300"), "{cache}");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..], include_bytes!("../../static/app.js"));
}

#[tokio::test]
async fn error_pages_link_the_hashed_stylesheet() {
    let app = spawn_app().await;
    let (status, body) = app.browser().page("/no/such/page").await;
    assert_eq!(status, 404);
    let urls = static_urls(&body);
    assert!(!urls.is_empty());
    let css = urls.iter().find(|u| u.ends_with(".css")).unwrap();
    assert_eq!(split_hash(css).0, "app.css");
    assert_eq!(split_hash(css).1.len(), 16);
}

#[tokio::test]
async fn the_app_is_installable_with_its_manifest_icons_and_service_worker() {
    let app = spawn_app().await;
    let (_, page) = app.browser().page("/login").await;
    assert!(page.contains("<link rel=\"manifest\" href=\"/manifest.webmanifest\">"));

    let response = app.browser().get("/manifest.webmanifest").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "application/manifest+json"
    );
    let manifest: serde_json::Value = response.json().await.unwrap();
    assert_eq!(manifest["start_url"], "/inbox");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().unwrap();
    for icon in icons {
        let src = icon["src"].as_str().unwrap();
        let response = app.browser().get(src).await;
        assert_eq!(response.status(), 200, "{src}");
        assert_eq!(
            header(&response, "content-type"),
            icon["type"].as_str().unwrap()
        );
        let bytes = response.bytes().await.unwrap();
        if icon["type"] == "image/png" {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{src}");
            // The PNG's width is the size the manifest says.
            let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
            assert_eq!(icon["sizes"], format!("{width}x{width}"), "{src}");
        }
    }

    let worker = app.browser().get("/sw.js").await;
    assert_eq!(worker.status(), 200);
    assert_eq!(
        header(&worker, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header(&worker, "cache-control"), "no-cache");
    assert!(
        worker
            .text()
            .await
            .unwrap()
            .contains("addEventListener(\"fetch\"")
    );
}
