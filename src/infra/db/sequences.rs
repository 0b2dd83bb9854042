//! Per-workspace numbers without gaps (orders, quotes, invoices).

use crate::infra::tenancy::TenantTx;

/// The next number of `kind` (`order`, `quote`, `invoice`). The sequence's
/// row stays locked until the caller's transaction ends: concurrent callers
/// wait their turn, and a rolled-back number is given again.
pub async fn next(tx: &mut TenantTx, kind: &str) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "insert into number_sequences (org_id, kind, last_number) values ($1, $2, 1) \
         on conflict (org_id, kind) do update \
           set last_number = number_sequences.last_number + 1 \
         returning last_number",
        org_id,
        kind
    )
    .fetch_one(tx.conn())
    .await
}
