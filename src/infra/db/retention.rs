//! The queries of message retention: one batch of old messages, the file
//! rows only they showed, and what else keeps a copy of their text. Each
//! takes at most `limit` rows, oldest first, so a caller's transaction
//! stays short (see `crate::features::retention`).

use std::collections::HashSet;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// One batch of deleted messages.
#[derive(Debug, Default)]
pub struct DeletedMessages {
    pub count: u64,
    /// The conversations they were in.
    pub conversations: Vec<Uuid>,
    /// The stored files they showed (`/media/{id}`).
    pub media: Vec<Uuid>,
}

/// A deleted message: its conversation and the `/media/{id}` id it showed.
struct DeletedRow {
    conversation_id: Uuid,
    media_id: Option<String>,
}

/// Deletes up to `limit` of the workspace's messages created before
/// `before` (every message when `None`), oldest first, skipping rows
/// another transaction holds (the next sweep takes them).
pub async fn delete_messages(
    tx: &mut TenantTx,
    before: Option<OffsetDateTime>,
    limit: i64,
) -> sqlx::Result<DeletedMessages> {
    // Notes, bot runs and mentions go with their message (cascade), a
    // scheduled message forgets it (set null); replies and reactions keep
    // no key to it and show without the quote. Two statements rather than
    // `$2 is null or ...`, so the index scan stops at the cutoff.
    let org_id = tx.org_id();
    let rows = match before {
        Some(before) => {
            sqlx::query_as!(
                DeletedRow,
                r#"delete from messages m where m.org_id = $1 and m.id in (
                     select id from messages where org_id = $1 and created_at < $3
                     order by created_at, id limit $2 for update skip locked)
                   returning m.conversation_id,
                     substring(m.media ->> 'url' from '^/media/([0-9a-f-]{36})$') as media_id"#,
                org_id,
                limit,
                before
            )
            .fetch_all(tx.conn())
            .await?
        }
        None => {
            sqlx::query_as!(
                DeletedRow,
                r#"delete from messages m where m.org_id = $1 and m.id in (
                     select id from messages where org_id = $1
                     order by created_at, id limit $2 for update skip locked)
                   returning m.conversation_id,
                     substring(m.media ->> 'url' from '^/media/([0-9a-f-]{36})$') as media_id"#,
                org_id,
                limit
            )
            .fetch_all(tx.conn())
            .await?
        }
    };
    let mut deleted = DeletedMessages {
        count: rows.len() as u64,
        ..DeletedMessages::default()
    };
    for DeletedRow {
        conversation_id: conversation,
        media_id: media,
    } in rows
    {
        deleted.conversations.push(conversation);
        if let Some(id) = media.and_then(|id| Uuid::parse_str(&id).ok()) {
            deleted.media.push(id);
        }
    }
    for ids in [&mut deleted.conversations, &mut deleted.media] {
        ids.sort_unstable();
        ids.dedup();
    }
    Ok(deleted)
}

/// Deletes those file rows that no message shows any more; how many, and
/// the stored files (SHA-256) they named, to remove if nothing else shares
/// them.
pub async fn delete_unshown_media(
    tx: &mut TenantTx,
    ids: &[Uuid],
) -> sqlx::Result<(u64, Vec<String>)> {
    if ids.is_empty() {
        return Ok((0, vec![]));
    }
    let urls: Vec<String> = ids.iter().map(|id| format!("/media/{id}")).collect();
    // All at once: one index scan (or, where `->>` is not leakproof, one
    // pass over the workspace's file messages; see migration 33), not one
    // per file.
    let org_id = tx.org_id();
    // Not null: it equals one of `urls`.
    let shown: HashSet<String> = sqlx::query_scalar!(
        r#"select distinct media ->> 'url' as "url!" from messages
           where org_id = $1 and media is not null and media ->> 'url' = any($2::text[])"#,
        org_id,
        &urls
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .collect();
    let unshown: Vec<Uuid> = ids
        .iter()
        .zip(&urls)
        .filter(|(_, url)| !shown.contains(*url))
        .map(|(id, _)| *id)
        .collect();
    // Locked key by key, then deleted by their addresses (`ctid`, stable
    // while locked): plans that do not depend on what the statistics think
    // of the workspace's size (see `crate::infra::db`).
    let rows = sqlx::query!(
        r#"select md.ctid::text as "tid!", md.sha256 from unnest($2::uuid[]) as k(id)
           cross join lateral (select ctid, sha256 from media
             where org_id = $1 and id = k.id limit 1 for update) md"#,
        org_id,
        &unshown
    )
    .fetch_all(tx.conn())
    .await?;
    let (tids, files): (Vec<String>, Vec<Option<String>>) =
        rows.into_iter().map(|row| (row.tid, row.sha256)).unzip();
    if !tids.is_empty() {
        sqlx::query!(
            "delete from media where ctid = any($2::text[]::tid[]) and org_id = $1",
            org_id,
            &tids
        )
        .execute(tx.conn())
        .await?;
    }
    Ok((tids.len() as u64, files.into_iter().flatten().collect()))
}

/// Deletes up to `limit` file rows created before `before` that no message
/// shows (an upload never sent, a fetch that ended after its message went);
/// how many went, and the stored files they named.
pub async fn delete_old_unshown_media(
    tx: &mut TenantTx,
    before: OffsetDateTime,
    limit: i64,
) -> sqlx::Result<(u64, Vec<String>)> {
    let org_id = tx.org_id();
    let files: Vec<Option<String>> = sqlx::query_scalar!(
        "delete from media md where md.org_id = $1 and md.id in ( \
             select id from media where org_id = $1 and created_at < $2 \
               and not exists (select 1 from messages m where m.org_id = $1 \
                   and m.media is not null and m.media ->> 'url' = '/media/' || media.id::text) \
             order by created_at limit $3 for update skip locked) \
         returning md.sha256",
        org_id,
        before,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    let deleted = files.len() as u64;
    Ok((deleted, files.into_iter().flatten().collect()))
}

/// Empties the inbox preview (a copy of the last message's text) of those
/// conversations whose last message is older than `before`: it went with
/// the others. The conversations themselves stay.
pub async fn clear_old_previews(
    tx: &mut TenantTx,
    conversations: &[Uuid],
    before: OffsetDateTime,
) -> sqlx::Result<u64> {
    if conversations.is_empty() {
        return Ok(0);
    }
    // Locked key by key in id order (the ids come sorted), as deliveries
    // lock them, then updated by address (see `crate::infra::db`).
    let org_id = tx.org_id();
    let tids: Vec<String> = sqlx::query_scalar!(
        r#"select c.ctid::text as "tid!" from unnest($2::uuid[]) as k(id)
           cross join lateral (select ctid from conversations where org_id = $1 and id = k.id
             and last_message_at < $3 and last_message_preview <> ''
             limit 1 for no key update) c"#,
        org_id,
        conversations,
        before
    )
    .fetch_all(tx.conn())
    .await?;
    if tids.is_empty() {
        return Ok(0);
    }
    sqlx::query!(
        "update conversations set last_message_preview = '' \
         where ctid = any($2::text[]::tid[]) and org_id = $1",
        org_id,
        &tids
    )
    .execute(tx.conn())
    .await
    .map(|done| done.rows_affected())
}
