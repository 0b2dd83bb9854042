//! For benchmarks that run wacrm inside their own process (to read its
//! memory from `/proc/self`): the app built on a private PostgreSQL, with
//! one workspace signed up.

use std::path::Path;

use uuid::Uuid;
use wacrm::infra::config::Config;
use wacrm::infra::embedded_pg::Cluster;
use wacrm::server::Application;

/// A field of this process's `/proc/self/status`, in KiB (0 when unread).
pub fn own_status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0.0)
}

/// wacrm built (not run) on `cluster`'s database, migrated, files under
/// `dir`, with a workspace "Bench" signed up; the app and the workspace.
pub async fn app_with_workspace(
    cluster: &Cluster,
    dir: &Path,
) -> anyhow::Result<(Application, Uuid)> {
    wacrm::infra::db::ensure_database(cluster, "wacrm").await?;
    let admin = cluster.connect_options("wacrm");
    wacrm::infra::db::migrate(&admin).await?;
    let mut config = Config::for_tests(dir.join("data"));
    config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.secret_key =
        Some(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]).into());
    let app = Application::build(config, &admin).await?;
    let hash = wacrm::features::auth::password::hash(super::PASSWORD.to_owned()).await?;
    let email =
        wacrm::domain::EmailAddress::parse("owner@bench.test").map_err(anyhow::Error::msg)?;
    let (_, org_id) = wacrm::infra::tenancy::bootstrap::sign_up(
        &app.state().pool,
        "Bench",
        &email,
        &hash,
        "Bench",
    )
    .await?;
    Ok((app, org_id))
}
