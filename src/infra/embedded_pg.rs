//! A private PostgreSQL cluster run from the machine's server binaries.
//!
//! `wacrm serve` without `DATABASE_URL` and the test suite both use it: `initdb`
//! on first start, `pg_ctl start` after, a unix socket inside the cluster
//! directory and no TCP port. PostgreSQL refuses to run as root, so a root
//! process hands the directory to the unprivileged `postgres` user and runs
//! the server binaries as that user.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::postgres::PgConnectOptions;
use tokio::process::Command;

/// The superuser created by `initdb` in a private cluster.
pub const SUPERUSER: &str = "wacrm";
/// Only the socket file name depends on it: the cluster listens on no TCP port.
const PORT: u16 = 5432;
/// Unprivileged system user that runs the cluster when wacrm runs as root.
const SERVICE_USER: &str = "postgres";

/// Connection options for `database` as the superuser of the cluster in
/// `dir` (as given to [`Cluster::start`]), running or not: for tools and
/// tests that look at a cluster some other process runs.
pub fn connect_options_in(dir: &Path, database: &str) -> PgConnectOptions {
    superuser_options(&dir.join("run"), database)
}

fn superuser_options(socket_dir: &Path, database: &str) -> PgConnectOptions {
    PgConnectOptions::new()
        .socket(socket_dir)
        .port(PORT)
        .username(SUPERUSER)
        .database(database)
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH, \
         via `pg_config --bindir`, or under /usr/lib/postgresql/*/bin. Install them \
         (Debian/Ubuntu: `apt-get install postgresql`) or set DATABASE_URL to an existing database."
    )]
    BinariesMissing,
    #[error(
        "wacrm runs as root and PostgreSQL refuses to; the unprivileged user `{SERVICE_USER}` \
         to run it as does not exist. Create it (`apt-get install postgresql` does), run wacrm \
         as a normal user, or set DATABASE_URL."
    )]
    NoServiceUser,
    #[error(
        "the user `{SERVICE_USER}` cannot reach {0}: a parent directory is not searchable by it. \
         Set WACRM_DATA_DIR to a directory outside a private home (e.g. /var/lib/wacrm), or set DATABASE_URL."
    )]
    Unreachable(PathBuf),
    #[error(
        "the socket path {0} is too long for a unix socket (max 107 bytes): use a shorter WACRM_DATA_DIR"
    )]
    SocketPathTooLong(PathBuf),
    #[error("{what} failed ({status}); see {log}:\n{output}")]
    CommandFailed {
        what: &'static str,
        status: String,
        log: String,
        output: String,
    },
    #[error(
        "{0} is not a PostgreSQL data directory and is not empty; move it away or choose another WACRM_DATA_DIR"
    )]
    NotACluster(PathBuf),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ClusterError + '_ {
    move |source| ClusterError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Tuning of the cluster: durable for real use, fast and throwaway for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    /// fsync off: a crash may lose the cluster, which tests throw away anyway.
    Throwaway,
}

/// A running private cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    run_as_service_user: bool,
}

impl Cluster {
    /// Start (creating it on first use) the cluster in `dir`. A cluster already
    /// running there (left by a process that crashed) is reused.
    pub async fn start(dir: &Path, durability: Durability) -> Result<Cluster, ClusterError> {
        let bin_dir = find_bin_dir().await.ok_or(ClusterError::BinariesMissing)?;
        let run_as_service_user = nix::unistd::Uid::effective().is_root();
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let dir = std::fs::canonicalize(dir).map_err(io_err(dir))?;
        let pgdata = dir.join("pgdata");
        let socket_dir = dir.join("run"); // see connect_options_in
        let log_file = dir.join("postgres.log");
        let socket_file = socket_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket_file.as_os_str().len() > 107 {
            return Err(ClusterError::SocketPathTooLong(socket_file));
        }
        std::fs::create_dir_all(&socket_dir).map_err(io_err(&socket_dir))?;
        if run_as_service_user {
            hand_to_service_user(&dir).await?;
        }
        let cluster = Cluster {
            bin_dir,
            pgdata,
            socket_dir,
            log_file,
            run_as_service_user,
        };
        cluster.init_if_needed(durability).await?;
        cluster.write_runtime_settings(durability)?;
        if cluster.is_running().await {
            tracing::info!(pgdata = %cluster.pgdata.display(), "reusing running PostgreSQL cluster");
            return Ok(cluster);
        }
        cluster.pg_ctl_start().await?;
        Ok(cluster)
    }

    /// Connection options for `database` as the cluster's superuser.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        superuser_options(&self.socket_dir, database)
    }

    /// The server's log file (what it said before it stopped answering).
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// Fast shutdown: ends connections, then checkpoints.
    pub async fn stop(&self) -> Result<(), ClusterError> {
        let pgdata = self.pgdata.to_string_lossy().into_owned();
        self.run(
            "pg_ctl stop",
            "pg_ctl",
            &["stop", "-D", &pgdata, "-m", "fast", "-w"],
        )
        .await
        .map(|_| ())
    }

    /// The command that stops this cluster, for a watchdog process.
    pub fn stop_command_line(&self) -> String {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let cmd = format!(
            "{} stop -D {} -m immediate",
            shell_quote(&pg_ctl.to_string_lossy()),
            shell_quote(&self.pgdata.to_string_lossy())
        );
        if self.run_as_service_user {
            format!("runuser -u {SERVICE_USER} -- {cmd}")
        } else {
            cmd
        }
    }

    async fn init_if_needed(&self, durability: Durability) -> Result<(), ClusterError> {
        if self.pgdata.join("PG_VERSION").exists() {
            return Ok(());
        }
        if self.pgdata.exists() {
            let empty = std::fs::read_dir(&self.pgdata)
                .map_err(io_err(&self.pgdata))?
                .next()
                .is_none();
            if !empty {
                return Err(ClusterError::NotACluster(self.pgdata.clone()));
            }
        }
        let pgdata = self.pgdata.to_string_lossy().into_owned();
        let mut args = vec![
            "-D",
            &pgdata,
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=reject",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        ];
        if durability == Durability::Throwaway {
            args.push("--no-sync");
        }
        tracing::info!(pgdata = %pgdata, "creating private PostgreSQL cluster (first start)");
        self.run("initdb", "initdb", &args).await?;
        let conf = self.pgdata.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(io_err(&conf))?;
        text.push_str(
            "\n# wacrm: settings rewritten at every start\ninclude_if_exists = 'wacrm.conf'\n",
        );
        std::fs::write(&conf, text).map_err(io_err(&conf))?;
        Ok(())
    }

    /// The socket directory is absolute, so it is written at each start (the
    /// data dir may have moved since `initdb`).
    fn write_runtime_settings(&self, durability: Durability) -> Result<(), ClusterError> {
        let socket = self.socket_dir.to_string_lossy().replace('\'', "''");
        let mut text = format!(
            "listen_addresses = ''\nport = {PORT}\nunix_socket_directories = '{socket}'\n\
             unix_socket_permissions = 0700\nmax_connections = 200\nshared_buffers = 128MB\n"
        );
        if durability == Durability::Throwaway {
            text.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let path = self.pgdata.join("wacrm.conf");
        std::fs::write(&path, text).map_err(io_err(&path))?;
        if self.run_as_service_user {
            chown_to_service_user(&path)?;
        }
        Ok(())
    }

    async fn is_running(&self) -> bool {
        let pgdata = self.pgdata.to_string_lossy().into_owned();
        self.run("pg_ctl status", "pg_ctl", &["status", "-D", &pgdata])
            .await
            .is_ok()
    }

    async fn pg_ctl_start(&self) -> Result<(), ClusterError> {
        let pgdata = self.pgdata.to_string_lossy().into_owned();
        let log = self.log_file.to_string_lossy().into_owned();
        self.run(
            "pg_ctl start",
            "pg_ctl",
            &["start", "-D", &pgdata, "-l", &log, "-w", "-t", "60"],
        )
        .await
        .map(|_| ())
    }

    async fn run(
        &self,
        what: &'static str,
        program: &str,
        args: &[&str],
    ) -> Result<String, ClusterError> {
        let program = self.bin_dir.join(program);
        let mut command = if self.run_as_service_user {
            let mut c = Command::new("runuser");
            c.args(["-u", SERVICE_USER, "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command
            .args(args)
            .stdin(Stdio::null())
            .current_dir(self.pgdata.parent().unwrap_or(Path::new("/")))
            .env_remove("PGDATA")
            .env_remove("PGHOST")
            .env_remove("PGPORT");
        let output = command.output().await.map_err(io_err(&program))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(ClusterError::CommandFailed {
                what,
                status: output.status.to_string(),
                log: self.log_file.display().to_string(),
                output: text,
            })
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// PATH first, then `pg_config --bindir`, then the newest Debian-style install.
async fn find_bin_dir() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_all(&dir) {
                return Some(dir);
            }
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output().await
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_all(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn service_user() -> Result<nix::unistd::User, ClusterError> {
    nix::unistd::User::from_name(SERVICE_USER)
        .ok()
        .flatten()
        .ok_or(ClusterError::NoServiceUser)
}

fn chown_to_service_user(path: &Path) -> Result<(), ClusterError> {
    let user = service_user()?;
    std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
        .map_err(io_err(path))
}

/// Give the cluster directory to the service user and check it can reach it.
async fn hand_to_service_user(dir: &Path) -> Result<(), ClusterError> {
    use std::os::unix::fs::MetadataExt;
    let user = service_user()?;
    let owner = std::fs::metadata(dir).map_err(io_err(dir))?.uid();
    if owner != user.uid.as_raw() {
        for entry in walk(dir).map_err(io_err(dir))? {
            chown_to_service_user(&entry)?;
        }
    }
    // The parent (the wacrm data dir) must be searchable, not listable.
    if let Some(parent) = dir.parent() {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(parent).map_err(io_err(parent))?;
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(mode | 0o011))
                .map_err(io_err(parent))?;
        }
    }
    let status = Command::new("runuser")
        .args(["-u", SERVICE_USER, "--", "test", "-w"])
        .arg(dir)
        .status()
        .await
        .map_err(io_err(Path::new("runuser")))?;
    if !status.success() {
        return Err(ClusterError::Unreachable(dir.to_owned()));
    }
    Ok(())
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_owned()];
    let mut i = 0;
    while i < out.len() {
        let path = out[i].clone();
        i += 1;
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                out.push(entry?.path());
            }
        }
    }
    Ok(out)
}
