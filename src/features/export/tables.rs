//! What an export holds: each table, the rows of it a workspace export
//! takes, and the rows a one-contact export takes. Columns are read from
//! the catalog, so a column added later is exported without a change here
//! (search vectors, generated columns and bytes are left out: the files
//! are in `media/`, and sealed secrets and token hashes are bytes too).
//! Every tenant table (one with `org_id`) is either in [`TABLES`] or in
//! [`LEFT_OUT`] with its reason; a test of the schema holds them to that.

use sqlx::PgConnection;

/// Which rows of a table an export takes (`$1` is the workspace; `$2` the
/// contact, in a one-contact export).
pub struct Table {
    pub name: &'static str,
    /// A one-contact export's rows of it, if it has any.
    pub of_contact: Option<&'static str>,
    pub order_by: &'static str,
    /// The column naming the workspace (`id` for the workspace's own row).
    pub workspace_column: &'static str,
    /// Columns kept readable in the table that are secrets all the same.
    pub secret_columns: &'static [&'static str],
    /// Columns added from elsewhere: (name, SQL expression over the row).
    pub added_columns: &'static [(&'static str, &'static str)],
}

/// What most tables are: the workspace's rows, no contact's, no secrets.
const PLAIN: Table = Table {
    name: "",
    of_contact: None,
    order_by: "created_at, id",
    workspace_column: "org_id",
    secret_columns: &[],
    added_columns: &[],
};

/// The contact's conversations.
macro_rules! contact_conversations {
    () => {
        "(select id from conversations where org_id = $1 and contact_id = $2::uuid)"
    };
}

pub const TABLES: &[Table] = &[
    // The workspace's own row: its settings (hours, opt-out words, retention).
    Table {
        name: "organizations",
        workspace_column: "id",
        order_by: "id",
        ..PLAIN
    },
    // The team, with each member's name and email (accounts are not a
    // workspace's rows, but whom ids in deals, tasks and messages name is).
    Table {
        name: "memberships",
        order_by: "created_at, user_id",
        added_columns: &[
            (
                "name",
                "(select u.name from users u where u.id = memberships.user_id)",
            ),
            (
                "email",
                "(select u.email from users u where u.id = memberships.user_id)",
            ),
        ],
        ..PLAIN
    },
    Table {
        name: "contacts",
        of_contact: Some("id = $2::uuid"),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "companies",
        of_contact: None,
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "labels",
        of_contact: Some(
            "id in (select label_id from contact_labels where org_id = $1 and contact_id = $2::uuid)",
        ),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "contact_labels",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "contact_id, label_id",
        ..PLAIN
    },
    Table {
        name: "attribute_definitions",
        of_contact: None,
        order_by: "entity, key",
        ..PLAIN
    },
    // Sealed credentials are bytes (left out); the webhook's verify token is
    // kept readable for the owner to paste into Meta, and is a secret too.
    Table {
        name: "channels",
        secret_columns: &["verify_token"],
        ..PLAIN
    },
    Table {
        name: "whatsapp_templates",
        order_by: "channel_id, name, language",
        ..PLAIN
    },
    Table {
        name: "conversations",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "conversation_labels",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "conversation_id, label_id",
        ..PLAIN
    },
    Table {
        name: "messages",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "notes",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "note_mentions",
        order_by: "message_id, user_id",
        ..PLAIN
    },
    Table {
        name: "canned_replies",
        order_by: "shortcode",
        ..PLAIN
    },
    Table {
        name: "pipelines",
        of_contact: None,
        order_by: "position, id",
        ..PLAIN
    },
    Table {
        name: "pipeline_stages",
        of_contact: None,
        order_by: "pipeline_id, position, id",
        ..PLAIN
    },
    Table {
        name: "deals",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "tasks",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "services",
        of_contact: None,
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "staff_hours",
        of_contact: None,
        order_by: "user_id, weekday",
        ..PLAIN
    },
    Table {
        name: "bookings",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "starts_at, id",
        ..PLAIN
    },
    Table {
        name: "products",
        of_contact: None,
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "orders",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "number",
        ..PLAIN
    },
    Table {
        name: "order_lines",
        of_contact: Some(
            "order_id in (select id from orders where org_id = $1 and contact_id = $2::uuid)",
        ),
        order_by: "order_id, position",
        ..PLAIN
    },
    Table {
        name: "sales_documents",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "sales_document_lines",
        of_contact: Some(
            "document_id in (select id from sales_documents \
             where org_id = $1 and contact_id = $2::uuid)",
        ),
        order_by: "document_id, position",
        ..PLAIN
    },
    Table {
        name: "scheduled_messages",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "created_at, id",
        ..PLAIN
    },
    Table {
        name: "kb_articles",
        ..PLAIN
    },
    Table {
        name: "bot_settings",
        order_by: "channel_id",
        ..PLAIN
    },
    Table {
        name: "bot_runs",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "created_at, message_id",
        ..PLAIN
    },
    // The workspace's own provider key is sealed (bytes, left out).
    Table {
        name: "ai_settings",
        order_by: "org_id",
        ..PLAIN
    },
    Table {
        name: "automation_rules",
        ..PLAIN
    },
    Table {
        name: "automation_runs",
        of_contact: Some(concat!("conversation_id in ", contact_conversations!())),
        order_by: "created_at, rule_id, occasion",
        ..PLAIN
    },
    Table {
        name: "campaigns",
        of_contact: Some(
            "id in (select campaign_id from campaign_recipients \
             where org_id = $1 and contact_id = $2::uuid)",
        ),
        ..PLAIN
    },
    Table {
        name: "campaign_recipients",
        of_contact: Some("contact_id = $2::uuid"),
        order_by: "campaign_id, position",
        ..PLAIN
    },
    // Stripe's invoices for the workspace's subscription.
    Table {
        name: "invoices",
        order_by: "created_at, stripe_invoice_id",
        ..PLAIN
    },
    Table {
        name: "audit_log",
        order_by: "seq",
        ..PLAIN
    },
    Table {
        name: "media",
        of_contact: Some(MEDIA_OF_CONTACT),
        order_by: "created_at, id",
        ..PLAIN
    },
];

/// Media rows a contact's messages point at (`/media/{id}`).
const MEDIA_OF_CONTACT: &str = concat!(
    "'/media/' || id::text in (select media->>'url' from messages \
     where org_id = $1 and media is not null and conversation_id in ",
    contact_conversations!(),
    ")"
);

/// Tenant tables an export leaves out on purpose, each with why (shown in
/// the archive's manifest): secrets, session and queue state, counters.
pub const LEFT_OUT: &[(&str, &str)] = &[
    (
        "invitations",
        "secrets: each pending invitation is a one-time sign-up link (its token hash); invite again",
    ),
    (
        "api_tokens",
        "secrets: API keys (their hashes); make new keys",
    ),
    (
        "waha_bridges",
        "secrets: the WAHA server's API and webhook keys (sealed); connect it again",
    ),
    (
        "whatsapp_web_state",
        "secrets: a linked phone's sealed encryption keys and sessions; link the phone again",
    ),
    (
        "whatsapp_web_sessions",
        "session state: a linked phone's QR code, pairing code and connection status",
    ),
    (
        "whatsapp_web_leases",
        "process bookkeeping: which wacrm instance runs a linked phone's session",
    ),
    (
        "channel_routes",
        "routing index: which workspace a channel's webhooks belong to (the channels are exported)",
    ),
    (
        "billing_customer_routes",
        "routing index: which workspace a Stripe customer's events belong to",
    ),
    (
        "billing_accounts",
        "this deployment's Stripe subscription state and customer id (the invoices are exported)",
    ),
    (
        "pending_statuses",
        "queue state: delivery reports waiting for their message's provider id",
    ),
    (
        "channel_send_rate",
        "rate limit: messages sent per channel in the current second",
    ),
    (
        "ai_usage",
        "metering: AI calls and tokens counted against the plan's monthly allowance",
    ),
    (
        "contact_imports",
        "job bookkeeping: CSV imports and their progress (the contacts they made are exported)",
    ),
    (
        "contact_import_failures",
        "job bookkeeping: the rows an import rejected, with why (they are in the uploaded file)",
    ),
    (
        "data_exports",
        "job bookkeeping: the exports themselves (requests, progress, archive hashes)",
    ),
    (
        "number_sequences",
        "counters handing out order, quote and invoice numbers (the numbers are on the rows)",
    ),
    (
        "conversation_reads",
        "inbox state: how far each member has read each conversation",
    ),
    (
        "user_notifications",
        "inbox state: a member's in-app notices, read once (the tasks they remind of are exported)",
    ),
    (
        "bot_slot_offers",
        "conversation state: booking times the bot offered, valid for minutes",
    ),
];

/// The exported columns of `table`, in their order: the catalog's (less
/// the workspace id, search vectors, generated columns, bytes and the
/// table's secrets), then the added ones.
pub async fn columns(conn: &mut PgConnection, table: &Table) -> sqlx::Result<Vec<String>> {
    let mut columns: Vec<String> = sqlx::query_scalar!(
        r#"select column_name::text as "name!" from information_schema.columns
           where table_schema = current_schema() and table_name = $1
             and column_name <> 'org_id' and data_type not in ('tsvector', 'bytea')
             and is_generated = 'NEVER' and column_name <> all($2)
           order by ordinal_position"#,
        table.name,
        // `&[&str]` binds as `text[]` as well as the `&[String]` the macro
        // expects.
        table.secret_columns as _
    )
    .fetch_all(conn)
    .await?;
    columns.extend(
        table
            .added_columns
            .iter()
            .map(|(name, _)| (*name).to_owned()),
    );
    Ok(columns)
}

/// The rows' filter for this export (`None`: the table is not in it).
pub fn filter(table: &Table, of_contact: bool) -> Option<String> {
    let workspace = format!("{} = $1", table.workspace_column);
    if of_contact {
        table.of_contact.map(|f| format!("{workspace} and {f}"))
    } else {
        Some(workspace)
    }
}

/// Each row as one JSON object, columns in order.
pub fn select_rows(table: &Table, columns: &[String], filter: &str) -> String {
    let list = columns
        .iter()
        .map(|c| {
            let name = format!("\"{}\"", c.replace('"', "\"\""));
            match table.added_columns.iter().find(|(added, _)| added == c) {
                Some((_, expression)) => format!("{expression} as {name}"),
                None => name,
            }
        })
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

    #[test]
    fn the_workspace_row_is_found_by_its_id_and_members_get_their_names() {
        let workspace = TABLES.iter().find(|t| t.name == "organizations").unwrap();
        assert_eq!(filter(workspace, false).as_deref(), Some("id = $1"));
        assert_eq!(filter(workspace, true), None);
        let members = TABLES.iter().find(|t| t.name == "memberships").unwrap();
        let sql = select_rows(members, &["role".into(), "name".into()], "org_id = $1");
        assert!(
            sql.contains("\"role\", (select u.name from users u where u.id = memberships.user_id) as \"name\""),
            "{sql}"
        );
    }

    #[test]
    fn no_table_is_both_exported_and_left_out() {
        let mut names: Vec<&str> = TABLES
            .iter()
            .map(|t| t.name)
            .chain(LEFT_OUT.iter().map(|(name, _)| *name))
            .collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all, "a table is listed twice");
        assert!(LEFT_OUT.iter().all(|(_, why)| !why.trim().is_empty()));
    }
}
