//! HTTP: the routes ([`routes`]), the router that assembles them with the
//! middleware ([`router`]), and the plumbing every route shares: CSRF,
//! security headers, static files, rate limits (the client address and the
//! tenant extractors are `infra`).

pub mod bar_chart;
pub mod busy;
pub mod cookies;
pub mod csrf;
pub mod csv_download;
pub mod device_cookie;
pub mod form;
pub mod growing_file;
pub mod headers;
pub mod list_display;
pub mod path;
pub mod pwa;
pub mod qr;
pub mod request_body;
pub mod router;
pub mod routes;
pub mod saved;
pub mod static_files;
pub mod upload;
