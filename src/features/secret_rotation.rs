//! `wacrm secrets rotate`: every sealed value in the database re-sealed with
//! the first configured key and the current blob version, so an older key
//! can then be removed from `WACRM_SECRET_KEY`.
//!
//! Every sealed column is listed once, in [`SEALED_COLUMNS`], with what its
//! blobs are bound to (a test fails when the schema gains a sealed column
//! that is not listed). Tenant tables are visited workspace by workspace in
//! that workspace's context, as the application's role: row-level security
//! applies as everywhere else. Rows go in batches, each its own transaction;
//! a row is rewritten only if it still holds the blob that was read (the
//! application may write it meanwhile), so running it again, or beside
//! running instances, is safe. A value that does not open is left as it is
//! and counted as failed.

use std::fmt;

use anyhow::Context;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Rows read and re-sealed per transaction.
const BATCH: i64 = 500;

/// How a sealed column's rows are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A tenant table: visited in each workspace's context.
    Workspace,
    /// A table of no workspace (users, the job queue).
    Global,
}

/// What one stored blob is bound to: the arguments of [`SecretBox::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub org_id: Uuid,
    pub purpose: String,
    pub row: String,
}

/// A column that holds sealed blobs.
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
    /// The table's primary key, in order: each column's name and type.
    pub keys: &'static [(&'static str, &'static str)],
    pub scope: Scope,
    /// What a row's blob is bound to, from its key values (as text, in the
    /// order of `keys`); the same values its call sites seal and open with.
    pub binding: fn(&[String]) -> anyhow::Result<Binding>,
}

impl fmt::Debug for SealedColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

const ORG_AND_ID: &[(&str, &str)] = &[("org_id", "uuid"), ("id", "uuid")];
const ORG_AND_CHANNEL: &[(&str, &str)] = &[("org_id", "uuid"), ("channel_id", "uuid")];

/// Every sealed column of the schema.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "channels",
        column: "access_token_sealed",
        keys: ORG_AND_ID,
        scope: Scope::Workspace,
        binding: |k| channel_secret(k, crate::channels::cloud_api::ACCESS_TOKEN_PURPOSE),
    },
    SealedColumn {
        table: "channels",
        column: "app_secret_sealed",
        keys: ORG_AND_ID,
        scope: Scope::Workspace,
        binding: |k| channel_secret(k, crate::channels::cloud_api::APP_SECRET_PURPOSE),
    },
    SealedColumn {
        table: "waha_bridges",
        column: "api_key_sealed",
        keys: ORG_AND_CHANNEL,
        scope: Scope::Workspace,
        binding: |k| channel_secret(k, crate::channels::waha::API_KEY_PURPOSE),
    },
    SealedColumn {
        table: "waha_bridges",
        column: "webhook_key_sealed",
        keys: ORG_AND_CHANNEL,
        scope: Scope::Workspace,
        binding: |k| channel_secret(k, crate::channels::waha::WEBHOOK_KEY_PURPOSE),
    },
    SealedColumn {
        table: "whatsapp_web_sessions",
        column: "qr_sealed",
        keys: ORG_AND_CHANNEL,
        scope: Scope::Workspace,
        binding: |k| {
            let channel_id = uuid_at(k, 1)?;
            Ok(Binding {
                org_id: uuid_at(k, 0)?,
                purpose: crate::channels::whatsapp_web::events::qr_purpose(channel_id),
                row: channel_id.to_string(),
            })
        },
    },
    SealedColumn {
        table: "whatsapp_web_state",
        column: "value",
        keys: &[
            ("org_id", "uuid"),
            ("channel_id", "uuid"),
            ("space", "text"),
            ("key", "text"),
        ],
        scope: Scope::Workspace,
        binding: |k| {
            let channel_id = uuid_at(k, 1)?;
            Ok(Binding {
                org_id: uuid_at(k, 0)?,
                purpose: crate::channels::whatsapp_web::store::state_purpose(
                    channel_id,
                    text_at(k, 2)?,
                    text_at(k, 3)?,
                ),
                row: channel_id.to_string(),
            })
        },
    },
    SealedColumn {
        table: "ai_settings",
        column: "api_key_sealed",
        keys: &[("org_id", "uuid")],
        scope: Scope::Workspace,
        // One row per workspace: the workspace is the row.
        binding: |k| {
            let org_id = uuid_at(k, 0)?;
            Ok(Binding {
                org_id,
                purpose: crate::infra::db::ai::KEY_PURPOSE.to_owned(),
                row: org_id.to_string(),
            })
        },
    },
    SealedColumn {
        table: "users",
        column: "totp_secret",
        keys: &[("id", "uuid")],
        scope: Scope::Global,
        // Users belong to no one workspace: the user stands in for it.
        binding: |k| {
            let user_id = uuid_at(k, 0)?;
            Ok(Binding {
                org_id: user_id,
                purpose: crate::features::auth::second_factor::SEALED_PURPOSE.to_owned(),
                row: user_id.to_string(),
            })
        },
    },
    SealedColumn {
        table: "jobs",
        column: "payload",
        keys: &[("id", "bigint")],
        scope: Scope::Global,
        binding: |k| {
            let id: i64 = text_at(k, 0)?.parse().context("job id")?;
            Ok(Binding {
                org_id: Uuid::nil(),
                purpose: crate::infra::jobs::SEAL_PURPOSE.to_owned(),
                row: id.to_string(),
            })
        },
    },
];

/// A channel's secret: the workspace and the channel are the key's first
/// two columns.
fn channel_secret(keys: &[String], purpose: &str) -> anyhow::Result<Binding> {
    Ok(Binding {
        org_id: uuid_at(keys, 0)?,
        purpose: purpose.to_owned(),
        row: uuid_at(keys, 1)?.to_string(),
    })
}

fn text_at(keys: &[String], i: usize) -> anyhow::Result<&str> {
    keys.get(i)
        .map(String::as_str)
        .with_context(|| format!("key column #{} missing", i + 1))
}

fn uuid_at(keys: &[String], i: usize) -> anyhow::Result<Uuid> {
    Ok(Uuid::try_parse(text_at(keys, i)?)?)
}

/// What rotating did to one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub table: &'static str,
    pub column: &'static str,
    /// Re-sealed with the first key, as the current version.
    pub resealed: u64,
    /// Opened, and already sealed so (or rewritten by the application
    /// while this ran).
    pub current: u64,
    /// Did not open with any configured key: left as they are.
    pub failed: u64,
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}: resealed {}, already current {}, failed {}",
            self.table, self.column, self.resealed, self.current, self.failed
        )
    }
}

/// Re-seals every sealed value that opens but is not sealed with the first
/// key as the current version; one tally per column of [`SEALED_COLUMNS`].
/// `pool` is the application's (role `wacrm_app`).
pub async fn rotate(pool: &PgPool, secrets: &SecretBox) -> anyhow::Result<Vec<Tally>> {
    let workspaces = workspaces(pool).await.context("listing workspaces")?;
    let mut tallies = Vec::with_capacity(SEALED_COLUMNS.len());
    for column in SEALED_COLUMNS {
        let mut tally = Tally {
            table: column.table,
            column: column.column,
            resealed: 0,
            current: 0,
            failed: 0,
        };
        match column.scope {
            Scope::Global => rotate_scope(pool, None, column, secrets, &mut tally).await,
            Scope::Workspace => {
                for org_id in &workspaces {
                    rotate_scope(pool, Some(*org_id), column, secrets, &mut tally).await?;
                }
                Ok(())
            }
        }
        .with_context(|| format!("re-sealing {}.{}", column.table, column.column))?;
        tallies.push(tally);
    }
    Ok(tallies)
}

/// Every workspace's id, read as the sweeps read them (policy
/// `retention_sweeper`: the list only).
async fn workspaces(pool: &PgPool) -> sqlx::Result<Vec<Uuid>> {
    // runtime SQL: `BEGIN` and `SET LOCAL` are utility statements (not prepared).
    let mut tx = pool
        .begin_with("begin; set local app.retention_sweeper = 'on'")
        .await?;
    let ids = sqlx::query_scalar!("select id from organizations order by id")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids)
}

/// A transaction in one workspace's context, or outside any.
enum Tx {
    Workspace(TenantTx),
    Global(Transaction<'static, Postgres>),
}

impl Tx {
    async fn begin(pool: &PgPool, org_id: Option<Uuid>) -> sqlx::Result<Tx> {
        Ok(match org_id {
            Some(org_id) => Tx::Workspace(bootstrap::for_maintenance(pool, org_id).await?),
            None => Tx::Global(pool.begin().await?),
        })
    }

    fn conn(&mut self) -> &mut PgConnection {
        match self {
            Tx::Workspace(tx) => tx.conn(),
            Tx::Global(tx) => tx,
        }
    }

    async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Workspace(tx) => tx.commit().await,
            Tx::Global(tx) => tx.commit().await,
        }
    }
}

/// One column's rows in one workspace (or all of a global table), batch by
/// batch in key order.
async fn rotate_scope(
    pool: &PgPool,
    org_id: Option<Uuid>,
    column: &SealedColumn,
    secrets: &SecretBox,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let read_first = select_sql(column, false);
    let read_next = select_sql(column, true);
    let write = update_sql(column);
    let mut after: Option<Vec<String>> = None;
    loop {
        let mut tx = Tx::begin(pool, org_id).await?;
        // runtime SQL: the table, key columns and sealed column are data
        // (the list of sealed columns this walks).
        let mut query = sqlx::query(sqlx::AssertSqlSafe(match after {
            Some(_) => read_next.as_str(),
            None => read_first.as_str(),
        }));
        for value in after.iter().flatten() {
            query = query.bind(value);
        }
        let rows: Vec<PgRow> = query.fetch_all(tx.conn()).await?;
        let mut keys: Vec<Vec<String>> = vec![Vec::new(); column.keys.len()];
        let (mut old, mut new) = (Vec::new(), Vec::new());
        let mut last = None;
        for row in &rows {
            let row_keys = (0..column.keys.len())
                .map(|i| row.try_get::<String, _>(i))
                .collect::<sqlx::Result<Vec<String>>>()?;
            let blob: Vec<u8> = row.try_get(column.keys.len())?;
            match reseal(column, secrets, &row_keys, &blob) {
                Ok(None) => tally.current += 1,
                Ok(Some(fresh)) => {
                    for (i, value) in row_keys.iter().enumerate() {
                        keys[i].push(value.clone());
                    }
                    old.push(blob);
                    new.push(fresh);
                }
                Err(e) => {
                    tally.failed += 1;
                    tracing::warn!(
                        table = column.table,
                        column = column.column,
                        key = ?row_keys,
                        error = %format!("{e:#}"),
                        "a sealed value does not open: left as it is"
                    );
                }
            }
            last = Some(row_keys);
        }
        if !new.is_empty() {
            let pending = new.len() as u64;
            // runtime SQL: as the read above, one statement per sealed column.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(write.as_str()));
            for values in keys {
                query = query.bind(values);
            }
            let written = query
                .bind(old)
                .bind(new)
                .execute(tx.conn())
                .await?
                .rows_affected();
            tally.resealed += written;
            // The rest were written by the application since they were read,
            // with its own (current) key.
            tally.current += pending.saturating_sub(written);
        }
        tx.commit().await?;
        if (rows.len() as i64) < BATCH {
            return Ok(());
        }
        after = last;
    }
}

/// `None` when the blob opens and is current; the blob re-sealed when it
/// opens but is not.
fn reseal(
    column: &SealedColumn,
    secrets: &SecretBox,
    keys: &[String],
    blob: &[u8],
) -> anyhow::Result<Option<Vec<u8>>> {
    let binding = (column.binding)(keys)?;
    let plain = secrets.open(binding.org_id, &binding.purpose, &binding.row, blob)?;
    if !secrets.needs_reseal(blob) {
        return Ok(None);
    }
    Ok(Some(secrets.seal(
        binding.org_id,
        &binding.purpose,
        &binding.row,
        &plain,
    )?))
}

/// The next batch: key columns as text and the blob, after the last key
/// read (`$1..$n`) when `after`.
fn select_sql(column: &SealedColumn, after: bool) -> String {
    let names: Vec<&str> = column.keys.iter().map(|(name, _)| *name).collect();
    let as_text: Vec<String> = names.iter().map(|n| format!("{n}::text")).collect();
    let mut sql = format!(
        "select {}, {} from {} where {} is not null",
        as_text.join(", "),
        column.column,
        column.table,
        column.column
    );
    if after {
        let params: Vec<String> = column
            .keys
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| format!("${}::{ty}", i + 1))
            .collect();
        sql.push_str(&format!(
            " and ({}) > ({})",
            names.join(", "),
            params.join(", ")
        ));
    }
    sql.push_str(&format!(" order by {} limit {BATCH}", names.join(", ")));
    sql
}

/// Writes a batch: key values as text arrays (`$1..$n`), then the blobs
/// read (`$n+1`) and their replacements (`$n+2`); a row whose blob changed
/// since it was read is left alone.
fn update_sql(column: &SealedColumn) -> String {
    let n = column.keys.len();
    let arrays: Vec<String> = (1..=n).map(|i| format!("${i}::text[]")).collect();
    let aliases: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let matches: Vec<String> = column
        .keys
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| format!("t.{name} = v.k{i}::{ty}"))
        .collect();
    format!(
        "update {table} t set {col} = v.new \
         from unnest({arrays}, ${old}::bytea[], ${new}::bytea[]) as v({aliases}, old, new) \
         where {matches} and t.{col} = v.old",
        table = column.table,
        col = column.column,
        arrays = arrays.join(", "),
        old = n + 1,
        new = n + 2,
        aliases = aliases.join(", "),
        matches = matches.join(" and "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_read_in_key_order_and_written_only_over_what_was_read() {
        let state = SEALED_COLUMNS
            .iter()
            .find(|c| c.table == "whatsapp_web_state")
            .unwrap();
        assert_eq!(
            select_sql(state, true),
            "select org_id::text, channel_id::text, space::text, key::text, value \
             from whatsapp_web_state where value is not null \
             and (org_id, channel_id, space, key) > ($1::uuid, $2::uuid, $3::text, $4::text) \
             order by org_id, channel_id, space, key limit 500"
        );
        let jobs = SEALED_COLUMNS.iter().find(|c| c.table == "jobs").unwrap();
        assert_eq!(
            update_sql(jobs),
            "update jobs t set payload = v.new \
             from unnest($1::text[], $2::bytea[], $3::bytea[]) as v(k0, old, new) \
             where t.id = v.k0::bigint and t.payload = v.old"
        );
    }

    #[test]
    fn each_column_binds_its_rows_as_its_call_sites_do() {
        let org = Uuid::new_v4();
        let channel = Uuid::new_v4();
        let binding = |table: &str, column: &str, keys: &[String]| {
            let c = SEALED_COLUMNS
                .iter()
                .find(|c| c.table == table && c.column == column)
                .unwrap();
            assert_eq!(c.keys.len(), keys.len(), "{c:?}");
            (c.binding)(keys).unwrap()
        };
        let pair = [org.to_string(), channel.to_string()];
        assert_eq!(
            binding("channels", "access_token_sealed", &pair),
            Binding {
                org_id: org,
                purpose: crate::channels::cloud_api::ACCESS_TOKEN_PURPOSE.into(),
                row: channel.to_string(),
            }
        );
        assert_eq!(
            binding(
                "whatsapp_web_state",
                "value",
                &[
                    org.to_string(),
                    channel.to_string(),
                    "session".into(),
                    "peer".into()
                ],
            ),
            Binding {
                org_id: org,
                purpose: format!("whatsapp-web-state\n{channel}\nsession\npeer"),
                row: channel.to_string(),
            }
        );
        assert_eq!(
            binding("jobs", "payload", &["42".into()]),
            Binding {
                org_id: Uuid::nil(),
                purpose: "job-payload".into(),
                row: "42".into(),
            }
        );
        assert!((SEALED_COLUMNS[0].binding)(&["not a uuid".into(), channel.to_string()]).is_err());
    }
}
