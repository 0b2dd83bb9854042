//! Static files compiled into the binary, so it runs from any directory.
//!
//! Pages link each file under a name carrying a hash of its bytes
//! (`/static/app.3f2a9c1e5b7d0a4f.css`), so browsers may keep it for a year
//! without asking again: a deploy that changes the file changes its URL.
//! The plain names (`/static/app.css`) still answer, with a short cache, for
//! pages a browser cached before a deploy.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTMX: Asset = Asset {
    name: "htmx.min.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../../static/htmx.min.js"),
};
const HTMX_SSE: Asset = Asset {
    name: "htmx-sse.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../../static/htmx-sse.js"),
};
const APP_CSS: Asset = Asset {
    name: "app.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../../static/app.css"),
};
const APP_JS: Asset = Asset {
    name: "app.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../../static/app.js"),
};

/// The app's icon: the tab's (SVG) and the home screen's (PNG, as the
/// web app manifest asks for them).
const ICON_SVG: Asset = Asset {
    name: "icon.svg",
    content_type: "image/svg+xml",
    body: include_bytes!("../../static/icon.svg"),
};
const ICON_192: Asset = Asset {
    name: "icon-192.png",
    content_type: "image/png",
    body: include_bytes!("../../static/icon-192.png"),
};
const ICON_512: Asset = Asset {
    name: "icon-512.png",
    content_type: "image/png",
    body: include_bytes!("../../static/icon-512.png"),
};

const ASSETS: &[&Asset] = &[
    &HTMX, &HTMX_SSE, &APP_CSS, &APP_JS, &ICON_SVG, &ICON_192, &ICON_512,
];

/// A hashed name never names other bytes, so it may be kept for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A plain name names whatever this deploy has: kept briefly.
const SHORT: &str = "public, max-age=300";

/// `app.css` with the hash of `body` before the extension: `app.<hash>.css`.
fn hashed_name(asset: &Asset) -> String {
    // 64 bits of SHA-256: a collision between two versions of one file is
    // out of reach, and the URL stays short.
    let digest = Sha256::digest(asset.body);
    let hash = hex::encode(&digest[..8]);
    match asset.name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{}.{hash}", asset.name),
    }
}

/// The hashed names, in the order of `ASSETS`, computed once.
static HASHED_NAMES: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|a| hashed_name(a)).collect());

/// The URLs pages link the static files under; templates read them as
/// `crate::web::static_files::URLS.app_css`, the one place they come from.
pub struct AssetUrls {
    pub app_css: String,
    pub app_js: String,
    pub htmx: String,
    pub htmx_sse: String,
    pub icon_svg: String,
    pub icon_192: String,
}

pub static URLS: LazyLock<AssetUrls> = LazyLock::new(|| {
    let url = |asset: &Asset| format!("/static/{}", hashed_name(asset));
    AssetUrls {
        app_css: url(&APP_CSS),
        app_js: url(&APP_JS),
        htmx: url(&HTMX),
        htmx_sse: url(&HTMX_SSE),
        icon_svg: url(&ICON_SVG),
        icon_192: url(&ICON_192),
    }
});

pub async fn serve(Path(name): Path<String>) -> Response {
    let found = ASSETS
        .iter()
        .zip(HASHED_NAMES.iter())
        .find_map(|(asset, hashed)| {
            if *hashed == name {
                Some((asset, IMMUTABLE))
            } else if asset.name == name {
                Some((asset, SHORT))
            } else {
                None
            }
        });
    match found {
        Some((asset, cache)) => {
            let mut response = asset.body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_goes_before_the_extension() {
        let name = hashed_name(&HTMX);
        let hash = name
            .strip_prefix("htmx.min.")
            .and_then(|rest| rest.strip_suffix(".js"))
            .unwrap_or_default();
        assert_eq!(hash.len(), 16, "{name}");
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
    }

    #[test]
    fn different_bytes_get_different_urls() {
        let mut urls = vec![&URLS.app_css, &URLS.app_js, &URLS.htmx, &URLS.htmx_sse];
        urls.sort();
        urls.dedup();
        assert_eq!(urls.len(), 4);
        let changed = Asset {
            body: b"body { color: red }",
            ..APP_CSS
        };
        assert_ne!(hashed_name(&changed), hashed_name(&APP_CSS));
    }
}
