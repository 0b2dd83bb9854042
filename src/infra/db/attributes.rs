//! Attribute definitions: the custom fields of a workspace's contacts and
//! companies. Values live in each row's `attributes` JSON.

use uuid::Uuid;

use crate::domain::{AttributeDef, AttributeKind};
use crate::infra::tenancy::TenantTx;

/// Which records an attribute belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Contact,
    Company,
}

impl Entity {
    pub fn parse(input: &str) -> Option<Entity> {
        match input {
            "contact" => Some(Entity::Contact),
            "company" => Some(Entity::Company),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Contact => "contact",
            Entity::Company => "company",
        }
    }

    /// The table holding the values (a name from code, never from input).
    fn table(self) -> &'static str {
        match self {
            Entity::Contact => "contacts",
            Entity::Company => "companies",
        }
    }
}

/// The unique index a second attribute with the same key hits.
pub const KEY_KEY: &str = "attribute_definitions_org_id_entity_key_key";

/// The entity's attributes in display order.
pub async fn list(tx: &mut TenantTx, entity: Entity) -> sqlx::Result<Vec<AttributeDef>> {
    let org_id = tx.org_id();
    let rows: Vec<(Uuid, String, String, String, Vec<String>)> = sqlx::query_as(
        "select id, key, label, kind, options from attribute_definitions \
         where org_id = $1 and entity = $2 order by position, created_at, id",
    )
    .bind(org_id)
    .bind(entity.as_str())
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, key, label, kind, options)| {
            Some(AttributeDef {
                id,
                key,
                label,
                // The table's check allows only known kinds.
                kind: AttributeKind::parse(&kind)?,
                options,
            })
        })
        .collect())
}

pub async fn key_in_use(tx: &mut TenantTx, entity: Entity, key: &str) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar(
        "select exists (select 1 from attribute_definitions \
         where org_id = $1 and entity = $2 and key = $3)",
    )
    .bind(org_id)
    .bind(entity.as_str())
    .bind(key)
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
    sqlx::query(
        "insert into attribute_definitions (org_id, id, entity, key, label, kind, options, position) \
         values ($1, $2, $3, $4, $5, $6, $7, \
           (select coalesce(max(position), 0) + 1 from attribute_definitions \
            where org_id = $1 and entity = $3))",
    )
    .bind(org_id)
    .bind(id)
    .bind(entity.as_str())
    .bind(key)
    .bind(label)
    .bind(kind.as_str())
    .bind(options)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Deletes the definition and its value on every record.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let found: Option<(String, String)> = sqlx::query_as(
        "delete from attribute_definitions where org_id = $1 and id = $2 returning entity, key",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let Some((entity, key)) = found else {
        return Ok(false);
    };
    let entity = Entity::parse(&entity).unwrap_or(Entity::Contact);
    let sql = format!(
        "update {} set attributes = attributes - $2 where org_id = $1 and attributes ? $2",
        entity.table()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .bind(key)
        .execute(tx.conn())
        .await?;
    Ok(true)
}
