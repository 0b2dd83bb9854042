//! Every route, one module per resource, merged here.

mod account;
mod api;
mod attributes;
mod auth;
mod automations;
mod bookings;
mod campaigns;
mod canned;
mod companies;
pub(crate) mod contacts;
mod dashboard;
mod deals;
mod documents;
mod health;
pub(crate) mod inbox;
mod invitations;
mod knowledge;
mod labels;
mod media;
mod mentions;
mod notes;
mod notifications;
mod orders;
mod products;
mod profile;
mod reports;
mod sandbox;
mod scheduled;
mod search;
mod sessions;
mod settings;
mod tasks;
mod team;
mod webhooks;
mod workspaces;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::get;

use crate::infra::tenancy::member::Page;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(dashboard::router())
        .merge(companies::router())
        .merge(contacts::router())
        .merge(notes::router())
        .merge(inbox::router())
        .merge(scheduled::router())
        .merge(sandbox::router())
        .merge(search::router())
        .merge(media::router())
        .merge(mentions::router())
        .merge(labels::router())
        .merge(canned::router())
        .merge(knowledge::router())
        .merge(automations::router())
        .merge(sessions::router())
        .merge(campaigns::router())
        .merge(deals::router())
        .merge(tasks::router())
        .merge(bookings::router())
        .merge(orders::router())
        .merge(documents::router())
        .merge(reports::router())
        .merge(notifications::router())
        .merge(products::router())
        .merge(attributes::router())
        .merge(workspaces::router())
        .merge(team::router())
        .merge(invitations::router())
        .merge(profile::router())
        .merge(account::router())
        .merge(settings::router())
        .merge(webhooks::router())
        .nest("/api/v1", api::router())
        .route("/static/{name}", get(crate::web::static_files::serve))
        .route("/manifest.webmanifest", get(crate::web::pwa::manifest))
        .route("/sw.js", get(crate::web::pwa::service_worker))
        .fallback(|| async { crate::error::AppError::NotFound })
}

/// A simple page: a heading, a sentence and maybe one button.
#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub page: Page,
    pub heading: String,
    pub body: String,
    pub link: Option<(String, String)>,
}

/// A path on this site to continue to after logging in; anything else is
/// dropped (no open redirects). Browsers drop tabs and newlines from URLs
/// and read `\\` as `/`, so `/\t/evil.example` and `/\\evil.example` would
/// leave the site: only printable ASCII is taken (our own links are
/// percent-encoded), and the value must resolve to a path of this origin.
pub fn safe_next(next: &str) -> Option<&str> {
    let printable = next.bytes().all(|b| b.is_ascii_graphic());
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if !printable || !local {
        return None;
    }
    let base = url::Url::parse("http://wacrm.invalid/").ok()?;
    let resolved = base.join(next).ok()?;
    let same_origin = resolved.scheme() == "http"
        && resolved.host_str() == Some("wacrm.invalid")
        && resolved.port().is_none()
        && resolved.username().is_empty()
        && resolved.password().is_none();
    same_origin.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_only_a_path_on_this_site() {
        for good in [
            "/dashboard",
            "/inbox?status=open&page=2",
            "/contacts/abc#notes",
            "/a/b/../c",
        ] {
            assert_eq!(safe_next(good), Some(good), "{good}");
        }
        // The OWASP open-redirect list and the browsers' lenient parsing.
        let hostile = [
            "",
            "dashboard",
            "//evil.example",
            "///evil.example",
            "////evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /evil.example",
            "/%09/evil.example\t",
            "\t//evil.example",
            " /\\evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "/\u{3000}/evil.example",
            "/\u{ff0f}evil.example",
            "\u{0000}//evil.example",
            "/\x7f/evil.example",
        ];
        for bad in hostile {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
