//! Attribute definitions: the custom fields of a workspace's contacts and
//! companies. Values live in each row's `attributes` JSON.

use uuid::Uuid;

use crate::domain::{AttributeDef, AttributeKind};
use crate::infra::tenancy::TenantTx;

/// Which records an attribute belongs to.
pub use crate::domain::AttributeEntity as Entity;

/// The unique index a second attribute with the same key hits.
pub const KEY_KEY: &str = "attribute_definitions_org_id_entity_key_key";

/// The entity's attributes in display order.
pub async fn list(tx: &mut TenantTx, entity: Entity) -> sqlx::Result<Vec<AttributeDef>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        AttributeDef,
        r#"select id, key, label, kind as "kind: AttributeKind", options
           from attribute_definitions
           where org_id = $1 and entity = $2 order by position, created_at, id"#,
        org_id,
        entity.as_str()
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn key_in_use(tx: &mut TenantTx, entity: Entity, key: &str) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from attribute_definitions
           where org_id = $1 and entity = $2 and key = $3) as "in_use!""#,
        org_id,
        entity.as_str(),
        key
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn insert(
    tx: &mut TenantTx,
    entity: Entity,
    key: &str,
    label: &str,
    kind: AttributeKind,
    options: &[String],
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into attribute_definitions (org_id, id, entity, key, label, kind, options, position) \
         values ($1, $2, $3, $4, $5, $6, $7, \
           (select coalesce(max(position), 0) + 1 from attribute_definitions \
            where org_id = $1 and entity = $3))",
        org_id,
        id,
        entity.as_str(),
        key,
        label,
        kind.as_str(),
        options
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Deletes the definition and its value on every record.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let found = sqlx::query!(
        r#"delete from attribute_definitions where org_id = $1 and id = $2
           returning entity as "entity: Entity", key"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(found) = found else {
        return Ok(false);
    };
    let key = found.key;
    // One static statement per table holding the values.
    let conn = tx.conn();
    match found.entity {
        Entity::Contact => {
            sqlx::query!(
                "update contacts set attributes = attributes - $2 \
                 where org_id = $1 and attributes ? $2",
                org_id,
                key
            )
            .execute(conn)
            .await?
        }
        Entity::Company => {
            sqlx::query!(
                "update companies set attributes = attributes - $2 \
                 where org_id = $1 and attributes ? $2",
                org_id,
                key
            )
            .execute(conn)
            .await?
        }
    };
    Ok(true)
}
