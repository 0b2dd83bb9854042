//! What an export holds: each table, the rows of it a workspace export
//! takes, and the rows a one-contact export takes. Columns are read from
//! the catalog, so a column added later is exported without a change here
//! (search vectors, generated columns and inline file bytes are left out:
//! the files are in `media/`).

use sqlx::PgConnection;

/// Which rows of a table an export takes (`$1` is the workspace; `$2` the
/// contact, in a one-contact export).
pub struct Table {
    pub name: &'static str,
    /// A one-contact export's rows of it, if it has any.
    pub of_contact: Option<&'static str>,
    pub order_by: &'static str,
}

/// The contact's conversations.
macro_rules! contact_conversations {
    () => {
        "(select id from conversations where org_id = $1 and contact_id = $2::uuid)"
    };
}

pub const TABLES: &[Table] = &[
    Table {
        name: "contacts",
        of_contact: Some("id = $2::uuid"),
        order_by: "created_at, id",
    },
    Table {
        name: "companies",
        of_contact: None,
        order_by: "created_at, id",
    },
    Table {
        name: "labels",
        of_contact: Some(
            "id in (select label_id from contact_labels where org_id = $1 and contact_id = $2::uuid)",
        ),
        order_by: "created_at, id",
    },
    Table {
        name: "contact_labels",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "contact_id, label_id",
    },
    Table {
        name: "attribute_definitions",
        of_contact: None,
        order_by: "entity, key",
    },
    Table {
        name: "conversations",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
    },
    Table {
        name: "conversation_labels",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "conversation_id, label_id",
    },
    Table {
        name: "messages",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "created_at, id",
    },
    Table {
        name: "notes",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
    },
    Table {
        name: "pipelines",
        of_contact: None,
        order_by: "position, id",
    },
    Table {
        name: "pipeline_stages",
        of_contact: None,
        order_by: "pipeline_id, position, id",
    },
    Table {
        name: "deals",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
    },
    Table {
        name: "tasks",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
    },
    Table {
        name: "services",
        of_contact: None,
        order_by: "created_at, id",
    },
    Table {
        name: "staff_hours",
        of_contact: None,
        order_by: "user_id, weekday",
    },
    Table {
        name: "bookings",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "starts_at, id",
    },
    Table {
        name: "products",
        of_contact: None,
        order_by: "created_at, id",
    },
    Table {
        name: "orders",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "number",
    },
    Table {
        name: "order_lines",
        of_contact: Some(
            "order_id in (select id from orders where org_id = $1 and contact_id = $2::uuid)",
        ),
        order_by: "order_id, position",
    },
    Table {
        name: "sales_documents",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
    },
    Table {
        name: "sales_document_lines",
        of_contact: Some(
            "document_id in (select id from sales_documents \
             where org_id = $1 and contact_id = $2::uuid)",
        ),
        order_by: "document_id, position",
    },
    Table {
        name: "scheduled_messages",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "created_at, id",
    },
    Table {
        name: "campaign_recipients",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "campaign_id, position",
    },
    Table {
        name: "media",
        of_contact: Some(MEDIA_OF_CONTACT),
        order_by: "created_at, id",
    },
];

/// Media rows a contact's messages point at (`/media/{id}`).
pub const MEDIA_OF_CONTACT: &str = concat!(
    "'/media/' || id::text in (select media->>'url' from messages \
     where org_id = $1 and media is not null and conversation_id in ",
    contact_conversations!(),
    ")"
);

/// The exported columns of `table`, in their order.
pub async fn columns(conn: &mut PgConnection, table: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select column_name::text from information_schema.columns \
         where table_schema = current_schema() and table_name = $1 \
           and column_name <> 'org_id' and data_type not in ('tsvector', 'bytea') \
           and is_generated = 'NEVER' \
         order by ordinal_position",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// The rows' filter for this export (`None`: the table is not in it).
pub fn filter(table: &Table, of_contact: bool) -> Option<String> {
    if of_contact {
        table.of_contact.map(|f| format!("org_id = $1 and {f}"))
    } else {
        Some("org_id = $1".to_owned())
    }
}

/// Each row as one JSON object, columns in order.
pub fn select_rows(table: &Table, columns: &[String], filter: &str) -> String {
    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "select row_to_json(t)::text from (select {list} from {} where {filter} order by {}) t",
        table.name, table.order_by
    )
}

pub fn count_rows(table: &Table, filter: &str) -> String {
    format!("select count(*) from {} where {filter}", table.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_export_leaves_out_workspace_wide_tables() {
        let companies = TABLES.iter().find(|t| t.name == "companies").unwrap();
        assert_eq!(filter(companies, true), None);
        assert_eq!(filter(companies, false).as_deref(), Some("org_id = $1"));
        let messages = TABLES.iter().find(|t| t.name == "messages").unwrap();
        let only_theirs = filter(messages, true).unwrap();
        assert!(
            only_theirs.contains("contact_id = $2::uuid"),
            "{only_theirs}"
        );
        let sql = select_rows(messages, &["id".into(), "body".into()], &only_theirs);
        assert!(sql.starts_with("select row_to_json(t)::text from (select \"id\", \"body\" from messages where org_id = $1 and"), "{sql}");
    }
}
