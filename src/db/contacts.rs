//! Contacts: one workspace's customers, listed by keyset (never OFFSET).

use base64::Engine;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{EmailAddress, PhoneE164};
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub company_id: Option<Uuid>,
    pub opted_out: bool,
    pub blocked: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str =
    "id, name, phone, email, company_id, opted_out, blocked, created_at, updated_at";

/// What a form or the API may set.
#[derive(Debug, Clone)]
pub struct ContactFields {
    pub name: String,
    pub phone: Option<PhoneE164>,
    pub email: Option<EmailAddress>,
    pub opted_out: bool,
    pub blocked: bool,
}

/// Which unique value another contact already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Phone(Uuid),
    Email(Uuid),
}

/// The contact (other than `except`) that already has this phone or email.
pub async fn find_taken(
    tx: &mut TenantTx,
    fields: &ContactFields,
    except: Option<Uuid>,
) -> sqlx::Result<Option<Taken>> {
    let org_id = tx.org_id();
    let row: Option<(Uuid, bool)> = sqlx::query_as(
        "select id, phone is not distinct from $2 from contacts \
         where org_id = $1 and (phone = $2 or lower(email) = lower($3)) \
         and id is distinct from $4 \
         order by phone is not distinct from $2 desc limit 1",
    )
    .bind(org_id)
    .bind(fields.phone.as_ref().map(PhoneE164::as_str))
    .bind(fields.email.as_ref().map(EmailAddress::as_str))
    .bind(except)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|(id, by_phone)| {
        if by_phone {
            Taken::Phone(id)
        } else {
            Taken::Email(id)
        }
    }))
}

pub async fn insert(tx: &mut TenantTx, fields: &ContactFields) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let org_id = tx.org_id();
    sqlx::query(
        "insert into contacts (org_id, id, name, phone, email, opted_out, blocked) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org_id)
    .bind(id)
    .bind(&fields.name)
    .bind(fields.phone.as_ref().map(PhoneE164::as_str))
    .bind(fields.email.as_ref().map(EmailAddress::as_str))
    .bind(fields.opted_out)
    .bind(fields.blocked)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn update(tx: &mut TenantTx, id: Uuid, fields: &ContactFields) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query(
        "update contacts set name = $3, phone = $4, email = $5, opted_out = $6, blocked = $7, \
         updated_at = now() where org_id = $1 and id = $2",
    )
    .bind(org_id)
    .bind(id)
    .bind(&fields.name)
    .bind(fields.phone.as_ref().map(PhoneE164::as_str))
    .bind(fields.email.as_ref().map(EmailAddress::as_str))
    .bind(fields.opted_out)
    .bind(fields.blocked)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Contact>> {
    let org_id = tx.org_id();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from contacts where org_id = $1 and id = $2"
    )))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query("delete from contacts where org_id = $1 and id = $2")
        .bind(org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// List orders; each has an index `(org_id, key, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    NameAsc,
    NameDesc,
    NewestFirst,
    OldestFirst,
}

impl Sort {
    pub const ALL: [(Sort, &'static str); 4] = [
        (Sort::NameAsc, "Name A–Z"),
        (Sort::NameDesc, "Name Z–A"),
        (Sort::NewestFirst, "Newest first"),
        (Sort::OldestFirst, "Oldest first"),
    ];

    pub fn parse(input: &str) -> Option<Sort> {
        serde_json::from_value(serde_json::Value::String(input.to_owned())).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::NameAsc => "name_asc",
            Sort::NameDesc => "name_desc",
            Sort::NewestFirst => "newest_first",
            Sort::OldestFirst => "oldest_first",
        }
    }

    fn descending(self) -> bool {
        matches!(self, Sort::NameDesc | Sort::NewestFirst)
    }
}

/// Where the next page starts: the last row's sort key and id. Opaque to
/// clients (base64 of JSON), and checked against the sort it was made for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    sort: Sort,
    /// `lower(name)`, or `created_at` as RFC 3339.
    key: String,
    id: Uuid,
}

impl Cursor {
    fn after(contact: &Contact, sort: Sort) -> Cursor {
        let key = match sort {
            Sort::NameAsc | Sort::NameDesc => contact.name.to_lowercase(),
            Sort::NewestFirst | Sort::OldestFirst => contact
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        };
        Cursor {
            sort,
            key,
            id: contact.id,
        }
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// `None` for anything this code did not make for `sort`.
    pub fn decode(input: &str, sort: Sort) -> Option<Cursor> {
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(input.trim())
            .ok()?;
        let cursor: Cursor = serde_json::from_slice(&json).ok()?;
        if cursor.sort != sort {
            return None;
        }
        if matches!(sort, Sort::NewestFirst | Sort::OldestFirst)
            && OffsetDateTime::parse(&cursor.key, &time::format_description::well_known::Rfc3339)
                .is_err()
        {
            return None;
        }
        Some(cursor)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Lowercased patterns; a contact matches if its name, phone or email
    /// contains any of them.
    pub patterns: Vec<String>,
    pub sort: Sort,
    pub after: Option<Cursor>,
    pub limit: i64,
}

pub struct Page {
    pub contacts: Vec<Contact>,
    pub next: Option<Cursor>,
}

/// `%` and `_` typed by a user match themselves.
fn like_escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 2);
    out.push('%');
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

pub async fn list(tx: &mut TenantTx, query: &ListQuery) -> sqlx::Result<Page> {
    let org_id = tx.org_id();
    let sort = query.sort;
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("select {COLUMNS} from contacts where org_id = "));
    sql.push_bind(org_id);
    if !query.patterns.is_empty() {
        let patterns: Vec<String> = query.patterns.iter().map(|p| like_escape(p)).collect();
        sql.push(" and search_text like any(")
            .push_bind(patterns)
            .push(")");
    }
    let (key_sql, cast) = match sort {
        Sort::NameAsc | Sort::NameDesc => ("lower(name)", "::text"),
        Sort::NewestFirst | Sort::OldestFirst => ("created_at", "::timestamptz"),
    };
    let (cmp, dir) = if sort.descending() {
        ("<", "desc")
    } else {
        (">", "asc")
    };
    if let Some(after) = &query.after {
        sql.push(format!(" and ({key_sql}, id) {cmp} ("))
            .push_bind(after.key.clone())
            .push(cast)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    sql.push(format!(" order by {key_sql} {dir}, id {dir} limit "))
        .push_bind(query.limit + 1);
    let mut contacts: Vec<Contact> = sql.build_query_as().fetch_all(tx.conn()).await?;
    let more = contacts.len() as i64 > query.limit;
    contacts.truncate(usize::try_from(query.limit).unwrap_or(0));
    let next = match (more, contacts.last()) {
        (true, Some(last)) => Some(Cursor::after(last, sort)),
        _ => None,
    };
    Ok(Page { contacts, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let cursor = Cursor {
            sort: Sort::NameAsc,
            key: "ana".into(),
            id: Uuid::nil(),
        };
        let encoded = cursor.encode();
        assert_eq!(Cursor::decode(&encoded, Sort::NameAsc), Some(cursor));
        assert_eq!(
            Cursor::decode(&encoded, Sort::NewestFirst),
            None,
            "other sort"
        );
        assert_eq!(Cursor::decode("garbage!", Sort::NameAsc), None);
        let bad_time = Cursor {
            sort: Sort::NewestFirst,
            key: "yesterday".into(),
            id: Uuid::nil(),
        }
        .encode();
        assert_eq!(Cursor::decode(&bad_time, Sort::NewestFirst), None);
    }

    #[test]
    fn like_wildcards_typed_by_users_are_literal() {
        assert_eq!(like_escape("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
