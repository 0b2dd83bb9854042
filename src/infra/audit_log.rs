//! The workspace's audit log: who did what, when, from which address.
//!
//! Tamper-evident: entries are numbered 1, 2, 3... per workspace, and each
//! carries the SHA-256 of the one before it and its own, over every field
//! it holds ([`hash`]). Changing, removing or inserting an entry directly in
//! the database breaks the chain there, which [`verify`] reports. The
//! application may only insert and read it (migration 30); entries are
//! written one at a time per workspace (an advisory lock), so two at once
//! cannot take the same number.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acts: a member (id, email as it is now) from an address, or wacrm.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// wacrm itself (a job, a webhook from Stripe or WhatsApp).
    pub fn system() -> Actor {
        Actor::default()
    }
}

/// One entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Entry {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub target: String,
    pub details: sqlx::types::Json<BTreeMap<String, String>>,
    pub prev_hash: String,
    pub hash: String,
}

/// The entry's hash: SHA-256 over the previous hash and each field, each
/// on its own line, the time in microseconds (as PostgreSQL keeps it), the
/// details as JSON with sorted keys.
pub fn hash(org_id: Uuid, entry: &Entry) -> String {
    let micros = entry.at.unix_timestamp_nanos() / 1000;
    let details = serde_json::to_string(&entry.details.0).unwrap_or_default();
    let text = format!(
        "{}\n{org_id}\n{}\n{micros}\n{}\n{}\n{}\n{}\n{}\n{details}",
        entry.prev_hash,
        entry.seq,
        entry.actor_id.map(|u| u.to_string()).unwrap_or_default(),
        entry.actor_email.as_deref().unwrap_or_default(),
        entry.ip.as_deref().unwrap_or_default(),
        entry.action,
        entry.target,
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Appends an entry to the workspace's log, in the caller's transaction
/// (it is recorded only if what it records commits).
pub async fn record(
    tx: &mut TenantTx,
    actor: &Actor,
    action: &str,
    target: &str,
    details: &[(&str, &str)],
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    // One writer per workspace at a time, until this transaction ends.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('audit:' || $1::uuid::text, 0))",
        org_id
    )
    .fetch_one(tx.conn())
    .await?;
    let last = sqlx::query!(
        "select seq, hash from audit_log where org_id = $1 order by seq desc limit 1",
        org_id
    )
    .fetch_optional(tx.conn())
    .await?;
    let (seq, prev_hash) = last.map_or((1, GENESIS.to_owned()), |last| (last.seq + 1, last.hash));
    let now = OffsetDateTime::now_utc();
    // Kept to the microsecond, as PostgreSQL stores it, so the hash holds.
    let at = now
        .replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now);
    let mut entry = Entry {
        seq,
        at,
        actor_id: actor.user_id,
        actor_email: actor.email.clone(),
        ip: actor.ip.map(|ip| ip.to_string()),
        action: action.to_owned(),
        target: target.chars().take(500).collect(),
        details: sqlx::types::Json(
            details
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.chars().take(1000).collect()))
                .collect(),
        ),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = hash(org_id, &entry);
    sqlx::query!(
        "insert into audit_log (org_id, seq, at, actor_id, actor_email, ip, action, target, \
         details, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        org_id,
        entry.seq,
        entry.at,
        entry.actor_id,
        entry.actor_email,
        entry.ip,
        entry.action,
        entry.target,
        entry.details as _,
        entry.prev_hash,
        entry.hash
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            seq: 1,
            at: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time"),
            actor_id: None,
            actor_email: Some("owner@acme.test".into()),
            ip: Some("203.0.113.9".into()),
            action: "sign_in".into(),
            target: String::new(),
            details: sqlx::types::Json(BTreeMap::new()),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn every_field_is_in_the_hash() {
        let org = Uuid::nil();
        let base = hash(org, &entry());
        assert_eq!(base.len(), 64);
        let changed = [
            Entry { seq: 2, ..entry() },
            Entry {
                ip: Some("203.0.113.10".into()),
                ..entry()
            },
            Entry {
                action: "sign_out".into(),
                ..entry()
            },
            Entry {
                target: "x".into(),
                ..entry()
            },
            Entry {
                details: sqlx::types::Json(BTreeMap::from([("a".into(), "b".into())])),
                ..entry()
            },
            Entry {
                at: entry().at + time::Duration::microseconds(1),
                ..entry()
            },
        ];
        for other in changed {
            assert_ne!(hash(org, &other), base, "{other:?}");
        }
        assert_ne!(hash(Uuid::max(), &entry()), base, "the workspace too");
    }
}
