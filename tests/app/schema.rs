//! The schema, read from the Postgres catalogue, against what the code says
//! of it: every workspace table is exported or left out with a reason, no
//! exported column is a secret, and every table without row-level security
//! is no workspace's and says why it is safe. A new table cannot slip by.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, PgConnection};
use wacrm::features::export::tables::{self, LEFT_OUT, TABLES};

use crate::support::fresh_database;

/// A superuser connection to a freshly migrated database.
async fn catalogue() -> PgConnection {
    PgConnection::connect_with(&fresh_database().await)
        .await
        .expect("connecting to a fresh database")
}

/// The public schema's tables that have an `org_id`: the workspaces' own.
async fn tenant_tables(conn: &mut PgConnection) -> BTreeSet<String> {
    sqlx::query_scalar(
        "select c.relname::text from pg_class c \
         where c.relkind in ('r', 'p') and c.relnamespace = 'public'::regnamespace \
           and exists (select 1 from pg_attribute a \
                       where a.attrelid = c.oid and a.attname = 'org_id' \
                         and a.attnum > 0 and not a.attisdropped)",
    )
    .fetch_all(conn)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

#[tokio::test]
async fn every_workspace_table_is_exported_or_left_out_with_a_reason() {
    let mut conn = catalogue().await;
    let tenant = tenant_tables(&mut conn).await;
    assert!(tenant.contains("contacts") && tenant.contains("messages"));
    let exported: BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
    let left_out: BTreeMap<&str, &str> = LEFT_OUT.iter().copied().collect();

    let forgotten: Vec<&str> = tenant
        .iter()
        .map(String::as_str)
        .filter(|t| !exported.contains(t) && !left_out.contains_key(t))
        .collect();
    assert!(
        forgotten.is_empty(),
        "workspace tables neither exported nor left out: {forgotten:?}; \
         add each to TABLES in src/features/export/tables.rs, or to LEFT_OUT with why"
    );
    for (table, why) in &left_out {
        assert!(
            tenant.contains(*table),
            "LEFT_OUT names {table}, which is no workspace table (gone or renamed?)"
        );
        assert!(
            !exported.contains(table),
            "{table} is exported and left out"
        );
        assert!(why.len() > 10, "{table}: say why it is left out");
    }
    for table in &exported {
        let exists: bool = sqlx::query_scalar("select to_regclass('public.' || $1) is not null")
            .bind(table)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(exists, "TABLES names {table}, which does not exist");
    }
}

/// Whether a column's name says it holds a secret.
fn looks_secret(column: &str) -> bool {
    column.split('_').any(|word| {
        matches!(
            word,
            "secret" | "secrets" | "sealed" | "password" | "token" | "totp"
        )
    }) || column.ends_with("api_key")
}

#[tokio::test]
async fn no_exported_column_holds_a_secret_and_every_one_can_be_read() {
    let mut conn = catalogue().await;
    let org = uuid::Uuid::new_v4();
    for table in TABLES {
        let columns = tables::columns(&mut conn, table).await.unwrap();
        assert!(!columns.is_empty(), "{}", table.name);
        let unique: BTreeSet<&String> = columns.iter().collect();
        assert_eq!(unique.len(), columns.len(), "{}: {columns:?}", table.name);
        for column in &columns {
            assert!(
                !looks_secret(column),
                "{}.{column} would be exported in clear: list it in the table's \
                 secret_columns",
                table.name
            );
        }
        // The very queries the export runs are valid SQL.
        for of_contact in [false, true] {
            let Some(filter) = tables::filter(table, of_contact) else {
                continue;
            };
            let sql = tables::select_rows(table, &columns, &filter);
            let query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(org);
            let query = if of_contact {
                query.bind(uuid::Uuid::new_v4())
            } else {
                query
            };
            let rows = query.fetch_all(&mut conn).await;
            assert!(rows.is_ok(), "{} ({of_contact}): {rows:?}", table.name);
        }
    }
    let channels = TABLES.iter().find(|t| t.name == "channels").unwrap();
    let exported = tables::columns(&mut conn, channels).await.unwrap();
    assert!(exported.contains(&"phone_number_id".to_owned()));
    assert!(
        !exported
            .iter()
            .any(|c| c.contains("token") || c.contains("sealed"))
    );
}

#[tokio::test]
async fn every_table_without_row_level_security_says_why() {
    let mut conn = catalogue().await;
    let without: Vec<(String, bool, Option<String>)> = sqlx::query_as(
        "select c.relname::text, \
           exists (select 1 from pg_attribute a where a.attrelid = c.oid \
                   and a.attname = 'org_id' and a.attnum > 0 and not a.attisdropped), \
           obj_description(c.oid, 'pg_class') \
         from pg_class c \
         where c.relkind in ('r', 'p') and c.relnamespace = 'public'::regnamespace \
           and not c.relrowsecurity \
         order by 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(without.iter().any(|(name, _, _)| name == "users"));
    let mut unexplained = Vec::new();
    for (table, tenant_owned, comment) in &without {
        assert!(
            !tenant_owned,
            "{table} has an org_id but no row-level security: add its policy"
        );
        let why = comment
            .as_deref()
            .and_then(|c| c.strip_prefix("no row-level security:"))
            .map(str::trim)
            .unwrap_or_default();
        if why.is_empty() {
            unexplained.push(table.as_str());
        }
    }
    assert!(
        unexplained.is_empty(),
        "tables without row-level security and no \
         `comment on table ... is 'no row-level security: <why it is safe>'`: {unexplained:?}"
    );
}
