//! Walks a workspace's audit chain and reports its first broken link.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::{Entry, GENESIS, hash};
use crate::infra::tenancy::TenantTx;

/// Entries read at a time.
const BATCH: i64 = 1000;

/// What the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Entries checked (up to the first broken one).
    pub checked: i64,
    /// The first entry that does not hold, and why; `None`: the chain holds.
    pub broken: Option<(i64, String)>,
}

/// Whether `entry` follows `prev_hash` (the previous entry's, at number
/// `expected - 1`) and is what its own hash says; why not, if not.
pub fn check(org_id: Uuid, entry: &Entry, expected: i64, prev_hash: &str) -> Option<String> {
    if entry.seq != expected {
        return Some(format!(
            "entry {} comes where entry {expected} should: entries are missing",
            entry.seq
        ));
    }
    if entry.prev_hash != prev_hash {
        return Some(
            "its link to the entry before does not match: that entry was changed or removed".into(),
        );
    }
    if hash(org_id, entry) != entry.hash {
        return Some("its content does not match its hash: it was changed".into());
    }
    None
}

/// Checks the whole chain of the transaction's workspace.
pub async fn verify(tx: &mut TenantTx) -> sqlx::Result<Report> {
    let org_id = tx.org_id();
    let mut prev_hash = GENESIS.to_owned();
    let mut expected = 1;
    loop {
        let entries: Vec<Entry> = sqlx::query_as!(
            Entry,
            r#"select seq, at, actor_id, actor_email, ip, action, target,
               details as "details: sqlx::types::Json<BTreeMap<String, String>>", prev_hash, hash
               from audit_log where org_id = $1 and seq >= $2 order by seq limit $3"#,
            org_id,
            expected,
            BATCH
        )
        .fetch_all(tx.conn())
        .await?;
        if entries.is_empty() {
            return Ok(Report {
                checked: expected - 1,
                broken: None,
            });
        }
        for entry in &entries {
            if let Some(why) = check(org_id, entry, expected, &prev_hash) {
                return Ok(Report {
                    checked: expected - 1,
                    broken: Some((expected, why)),
                });
            }
            prev_hash.clone_from(&entry.hash);
            expected += 1;
        }
    }
}
