//! Message search within one workspace: full text (the `simple`
//! configuration, so any language) or, for three characters or more, the
//! text anywhere in a word (trigram index). Both indexes lead with
//! `org_id`, so a search costs what the workspace's own messages cost.

use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::db::conversations::Visibility;
use crate::infra::db::keyset::like_escape;
use crate::infra::tenancy::TenantTx;

/// Shorter entries only match whole words (a trigram index cannot help).
const MIN_SUBSTRING_CHARS: usize = 3;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageHit {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub body: String,
    pub private: bool,
    pub direction: String,
    pub created_at: OffsetDateTime,
    pub contact_name: String,
    pub contact_phone: Option<String>,
}

/// The newest `limit` messages matching `query` in conversations the
/// viewer may see.
pub async fn messages(
    tx: &mut TenantTx,
    query: &str,
    visibility: Visibility,
    limit: i64,
) -> sqlx::Result<Vec<MessageHit>> {
    let query = query.trim();
    let org_id = tx.org_id();
    // The newest matches first, limited before the joins that name them.
    // runtime SQL: the substring match is there only for longer entries and
    // the visibility filter only for agents (`QueryBuilder`).
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select m.id, m.conversation_id, m.body, m.private, m.direction, m.created_at, \
         ct.name as contact_name, ct.phone as contact_phone from (\
         select m.id, m.conversation_id, m.body, m.private, m.direction, m.created_at \
         from messages m where m.org_id = ",
    );
    sql.push_bind(org_id);
    sql.push(" and (m.search_tsv @@ plainto_tsquery('simple', ")
        .push_bind(query)
        .push(")");
    if query.chars().count() >= MIN_SUBSTRING_CHARS {
        sql.push(" or lower(m.body) like ")
            .push_bind(like_escape(&query.to_lowercase()));
    }
    sql.push(")");
    if let Visibility::AssignedTo(me) = visibility {
        sql.push(
            " and exists (select 1 from conversations c where c.org_id = m.org_id \
             and c.id = m.conversation_id and (c.assignee_id = ",
        )
        .push_bind(me)
        .push(" or c.assignee_id is null))");
    }
    sql.push(" order by m.created_at desc, m.id desc limit ")
        .push_bind(limit)
        .push(") m join conversations c on c.org_id = ")
        .push_bind(org_id)
        .push(
            " and c.id = m.conversation_id \
             join contacts ct on ct.org_id = c.org_id and ct.id = c.contact_id \
             order by m.created_at desc, m.id desc",
        );
    // Planned for these values each time (see `conversations::list`).
    sql.build_query_as()
        .persistent(false)
        .fetch_all(tx.conn())
        .await
}
