//! Command line and environment configuration (one clap struct, `.env` read by `main`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use url::Url;

#[derive(Debug, Parser)]
#[command(name = "wacrm", version, about = "Multi-tenant WhatsApp CRM")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Migrate, start workers and serve HTTP (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Work on the secrets sealed in the database.
    Secrets {
        #[command(subcommand)]
        action: SecretsCommand,
    },
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum SecretsCommand {
    /// Re-seal every stored secret with the first key of WACRM_SECRET_KEY
    /// (migrating first), print what was done per column, and exit; fails if
    /// any secret does not open. Then older keys can be removed.
    Rotate,
}

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

/// Every setting of the process. `Debug` is safe to log: secrets print redacted.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Postgres to use; unset starts a private cluster under the data dir.
    #[arg(long, env = "DATABASE_URL", value_parser = secret)]
    pub database_url: Option<SecretString>,
    /// Private cluster, media files and generated development keys.
    #[arg(long, env = "WACRM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Listen address.
    #[arg(long, env = "WACRM_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// URL the world reaches us at (links in emails, webhook URLs).
    #[arg(long, env = "WACRM_PUBLIC_URL")]
    pub public_url: Option<Url>,
    /// 32 bytes, base64: encrypts secrets at rest.
    #[arg(long, env = "WACRM_SECRET_KEY", value_parser = secret)]
    pub secret_key: Option<SecretString>,
    /// PEM certificate chain: serve HTTPS with rustls.
    #[arg(long, env = "WACRM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `WACRM_TLS_CERT`.
    #[arg(long, env = "WACRM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// lettre SMTP URL; unset writes each mail to the log.
    #[arg(long, env = "SMTP_URL", value_parser = secret)]
    pub smtp_url: Option<SecretString>,
    /// Sender of every mail.
    #[arg(long, env = "MAIL_FROM", default_value = "wacrm <no-reply@localhost>")]
    pub mail_from: String,
    /// Graph API base.
    #[arg(
        long,
        env = "WHATSAPP_GRAPH_URL",
        default_value = "https://graph.facebook.com"
    )]
    pub whatsapp_graph_url: Url,
    /// Graph API version.
    #[arg(long, env = "WHATSAPP_GRAPH_VERSION", default_value = "v21.0")]
    pub whatsapp_graph_version: String,
    /// How long a send whose outcome was lost (a crash, no answer) waits for
    /// WhatsApp's delivery report before it is sent again; see
    /// `crate::channels::cloud_api::sender`.
    #[arg(long, env = "WHATSAPP_SEND_CONFIRM_SECS", default_value_t = 120)]
    pub whatsapp_send_confirm_secs: u64,
    /// Messages per second one WhatsApp number may send, across instances
    /// (Cloud API's default throughput is 80).
    #[arg(long, env = "WHATSAPP_SEND_RATE", default_value_t = 80, value_parser = clap::value_parser!(i32).range(1..=10000))]
    pub whatsapp_send_rate: i32,
    /// How long a Graph API call may take before it counts as unanswered.
    #[arg(long, env = "WHATSAPP_TIMEOUT_SECS", default_value_t = 15)]
    pub whatsapp_timeout_secs: u64,
    /// Messages per second one linked-device (WhatsApp Web) number may
    /// send, across instances: slow, since automated sending can get such a
    /// number banned.
    #[arg(long, env = "WHATSAPP_WEB_SEND_RATE", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub whatsapp_web_send_rate: i32,
    /// How long a process holds a linked-device session without renewing
    /// its claim: a dead process's sessions resume elsewhere within this.
    #[arg(long, env = "WHATSAPP_WEB_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(3..=600))]
    pub whatsapp_web_lease_secs: u32,
    /// The most linked-device sessions one process runs; more wait for
    /// another process (each holds a socket and the protocol's state:
    /// `cargo bench --bench whatsapp_web` measures what that costs).
    #[arg(long, env = "WHATSAPP_WEB_MAX_SESSIONS", default_value_t = 2000)]
    pub whatsapp_web_max_sessions: usize,
    /// Let workspaces link phones through WAHA servers on private networks
    /// (loopback, 10/8, 192.168/16, …): for a WAHA running next to wacrm.
    /// Off, a workspace can only name a public server, so it cannot make
    /// wacrm call into the operator's network.
    #[arg(long, env = "WAHA_ALLOW_PRIVATE_NETWORKS", default_value_t = false)]
    pub waha_allow_private_networks: bool,
    #[arg(long, env = "STRIPE_SECRET_KEY", value_parser = secret)]
    pub stripe_secret_key: Option<SecretString>,
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", value_parser = secret)]
    pub stripe_webhook_secret: Option<SecretString>,
    #[arg(long, env = "STRIPE_API_URL", default_value = "https://api.stripe.com")]
    pub stripe_api_url: Url,
    #[arg(long, env = "STRIPE_PRICE_STARTER")]
    pub stripe_price_starter: Option<String>,
    #[arg(long, env = "STRIPE_PRICE_PRO")]
    pub stripe_price_pro: Option<String>,
    #[arg(long, env = "OPENAI_API_KEY", value_parser = secret)]
    pub openai_api_key: Option<SecretString>,
    #[arg(long, env = "OPENAI_BASE_URL")]
    pub openai_base_url: Option<Url>,
    #[arg(long, env = "AI_MODEL")]
    pub ai_model: Option<String>,
    /// How long an AI call may take before the agent is told to try again.
    #[arg(long, env = "AI_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub ai_timeout_secs: u64,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    #[arg(long, env = "WACRM_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// Database connections for requests and jobs; default two per CPU core
    /// (more only queue more work on the same cores).
    #[arg(long, env = "WACRM_DB_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_connections: Option<u32>,
    /// Jobs (sends, media fetches, imports, mail) run at once by this
    /// instance; default half the database connections, at least one. A
    /// job holds a connection only while it reads or writes, not while it
    /// waits on WhatsApp.
    #[arg(long, env = "WACRM_JOB_WORKERS", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub job_workers: Option<u32>,
    /// How long a claimed job stays with its worker without word from it.
    /// The worker renews the claim every third of this while the job runs,
    /// so a process that dies (killed, lost power) leaves its jobs to the
    /// other workers after at most this long.
    #[arg(long, env = "WACRM_JOB_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(3..=3600))]
    pub job_lease_secs: u32,
    /// How long a client has to send a request's whole body (uploads
    /// included) before it is answered 408; no database connection is
    /// held meanwhile.
    #[arg(long, env = "WACRM_BODY_TIMEOUT_SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,
    /// How long a handler may take to answer once the body is in (503
    /// after); streamed downloads and live updates run past it.
    #[arg(long, env = "WACRM_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
}

impl Config {
    /// Size of the request pool; see [`Config::db_connections`].
    pub fn pool_size(&self) -> u32 {
        self.db_connections.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            u32::try_from(cores * 2).unwrap_or(u32::MAX)
        })
    }

    /// How many jobs run at once; see [`Config::job_workers`].
    pub fn job_workers(&self) -> usize {
        let workers = self
            .job_workers
            .unwrap_or_else(|| (self.pool_size() / 2).max(1));
        usize::try_from(workers).unwrap_or(1)
    }

    /// Public base URL without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => {
                let scheme = if self.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", self.bind)
            }
        }
    }

    /// Cookies get `Secure` when users reach us over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_base().starts_with("https://")
    }

    /// Whether billing is on (`STRIPE_SECRET_KEY` set): plans, limits,
    /// Stripe. Off, a self-hosted wacrm has no limits.
    pub fn billing_enabled(&self) -> bool {
        self.stripe_secret_key.is_some()
    }

    /// The Stripe prices of the paid plans.
    pub fn stripe_prices(&self) -> crate::domain::Prices {
        crate::domain::Prices {
            starter: self.stripe_price_starter.clone(),
            pro: self.stripe_price_pro.clone(),
        }
    }

    /// A configuration for tests and tools: defaults everywhere, no environment read.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        // Defaults come from clap; anything the environment could inject is cleared.
        let cli = Cli::parse_from(["wacrm"]);
        Config {
            data_dir,
            database_url: None,
            public_url: None,
            secret_key: None,
            tls_cert: None,
            tls_key: None,
            smtp_url: None,
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            openai_api_key: None,
            openai_base_url: None,
            ai_model: None,
            trust_proxy: false,
            db_connections: Some(4),
            job_workers: None,
            ..cli.config
        }
    }
}
