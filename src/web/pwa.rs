//! The installable web app: its manifest (name, start page, icons) and its
//! service worker, served from the root so that it covers every page.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Icons by their plain names: a manifest is read again by the browser
/// now and then, so a deploy's new icon arrives without the hashed names.
const MANIFEST: &str = r##"{
  "name": "wacrm",
  "short_name": "wacrm",
  "description": "Your team's WhatsApp inbox and CRM",
  "start_url": "/inbox",
  "scope": "/",
  "display": "standalone",
  "background_color": "#f4f6f8",
  "theme_color": "#128c7e",
  "icons": [
    { "src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any maskable" },
    { "src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable" },
    { "src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml" }
  ]
}
"##;

const SERVICE_WORKER: &[u8] = include_bytes!("../../static/sw.js");

pub async fn manifest() -> Response {
    with_type(MANIFEST.as_bytes(), "application/manifest+json")
}

pub async fn service_worker() -> Response {
    with_type(SERVICE_WORKER, "text/javascript; charset=utf-8")
}

fn with_type(body: &'static [u8], content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A new service worker must reach browsers on their next visit.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_json_with_what_installing_needs() {
        let manifest: serde_json::Value =
            serde_json::from_str(MANIFEST).unwrap_or(serde_json::Value::Null);
        assert_eq!(manifest["display"], "standalone");
        assert_eq!(manifest["start_url"], "/inbox");
        let sizes: Vec<&str> = manifest["icons"]
            .as_array()
            .map(|icons| icons.iter().filter_map(|i| i["sizes"].as_str()).collect())
            .unwrap_or_default();
        assert!(sizes.contains(&"192x192") && sizes.contains(&"512x512"));
    }
}
