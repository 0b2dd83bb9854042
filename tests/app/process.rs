//! The binary itself: first start on an empty data dir, a second instance on
//! the same data dir, graceful shutdown stopping the private cluster.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::TempDir;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

async fn wait_ready(port: u16, limit: Duration) -> bool {
    wacrm::server::install_crypto_provider();
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && r.status() == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn wacrm(data_dir: &std::path::Path, port: u16) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_wacrm"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WACRM_DATA_DIR", data_dir)
        .env("WACRM_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn binary_starts_its_own_postgres_refuses_a_second_instance_and_stops_cleanly() {
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-proc-{}", uuid::Uuid::new_v4())));
    let data = dir.0.join("data");
    let port = free_port();
    let mut first = wacrm(&data, port).spawn().expect("spawn wacrm");
    assert!(
        wait_ready(port, Duration::from_secs(60)).await,
        "first start never became ready"
    );
    assert!(data.join("postgres/pgdata/PG_VERSION").exists());
    assert!(
        data.join("secret.key").exists(),
        "development key generated"
    );

    let second = wacrm(&data, free_port())
        .output()
        .await
        .expect("second wacrm");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(
        wait_ready(port, Duration::from_secs(2)).await,
        "the first one is unharmed"
    );

    let pid = first.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), first.wait())
        .await
        .expect("exits")
        .expect("wait");
    assert!(exit.success(), "graceful shutdown exits 0");
    assert!(
        !data.join("postgres/pgdata/postmaster.pid").exists(),
        "cluster stopped"
    );

    // Restart on the existing data dir.
    let mut again = wacrm(&data, port).spawn().expect("restart");
    assert!(
        wait_ready(port, Duration::from_secs(30)).await,
        "restart never became ready"
    );
    let pid = again.id().expect("pid").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let _ = tokio::time::timeout(Duration::from_secs(30), again.wait()).await;
}

#[tokio::test]
async fn migrate_subcommand_applies_migrations_and_exits() {
    let dir = TempDir(std::env::temp_dir().join(format!("wacrm-mig-{}", uuid::Uuid::new_v4())));
    let output = wacrm(&dir.0.join("data"), free_port())
        .arg("migrate")
        .output()
        .await
        .expect("migrate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !dir.0.join("data/postgres/pgdata/postmaster.pid").exists(),
        "cluster stopped after migrate"
    );
}
