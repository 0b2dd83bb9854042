//! Who a private note mentions, and the notes that mention a member.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::db::conversations::Visibility;
use crate::infra::tenancy::TenantTx;

pub async fn record(tx: &mut TenantTx, message_id: Uuid, users: &[Uuid]) -> sqlx::Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into note_mentions (org_id, message_id, user_id) \
         select $1, $2, u from unnest($3::uuid[]) u on conflict do nothing",
        tx.org_id(),
        message_id,
        users
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Mention {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub body: String,
    pub author_name: Option<String>,
    pub contact_name: String,
    pub contact_phone: Option<String>,
    pub created_at: OffsetDateTime,
}

/// The newest notes mentioning `user`, in conversations they may see.
pub async fn of_user(
    tx: &mut TenantTx,
    user: Uuid,
    visibility: Visibility,
    limit: i64,
) -> sqlx::Result<Vec<Mention>> {
    // The viewer is the member mentioned: `$2` in both.
    sqlx::query_as!(
        Mention,
        r#"select m.id as message_id, m.conversation_id, m.body, u.name as "author_name?",
         ct.name as contact_name, ct.phone as contact_phone, m.created_at
         from note_mentions nm
         join messages m on m.org_id = nm.org_id and m.id = nm.message_id
         join conversations c on c.org_id = m.org_id and c.id = m.conversation_id
         join contacts ct on ct.org_id = c.org_id and ct.id = c.contact_id
         left join users u on u.id = m.sender_user_id
         where nm.org_id = $1 and nm.user_id = $2
         and (not $4::bool or c.assignee_id = $2 or c.assignee_id is null)
         order by m.created_at desc, m.id desc limit $3"#,
        tx.org_id(),
        user,
        limit,
        visibility.restricted()
    )
    .fetch_all(tx.conn())
    .await
}

/// Marks `user`'s mentions as seen (they opened their mentions): the
/// sidebar stops counting them.
pub async fn mark_seen(tx: &mut TenantTx, user: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update note_mentions set seen_at = now() \
         where org_id = $1 and user_id = $2 and seen_at is null",
        tx.org_id(),
        user
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
