//! Keyset paging shared by the lists: sort orders, opaque cursors, and the
//! `LIKE` patterns of a search box. A list's table has `name`, `created_at`
//! and `id`, with an index `(org_id, key, id)` for each order.

use base64::Engine;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

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
    /// The cursor after a row with this name, creation time and id.
    pub fn after(sort: Sort, name: &str, created_at: OffsetDateTime, id: Uuid) -> Cursor {
        let key = match sort {
            Sort::NameAsc | Sort::NameDesc => name.to_lowercase(),
            Sort::NewestFirst | Sort::OldestFirst => created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        };
        Cursor { sort, key, id }
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

/// A `sort` or `after` query parameter this code did not make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadPageParam {
    Sort,
    Cursor,
}

impl std::fmt::Display for BadPageParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadPageParam::Sort => "That sort order is not one of the list's; pick one from the list.",
            BadPageParam::Cursor => {
                "That page link is not valid (it may be from another list); start again from the first page."
            }
        })
    }
}

impl Sort {
    /// The `sort` query parameter; empty means the default.
    pub fn from_param(param: &str) -> Result<Sort, BadPageParam> {
        match param.trim() {
            "" => Ok(Sort::default()),
            typed => Sort::parse(typed).ok_or(BadPageParam::Sort),
        }
    }
}

impl Cursor {
    /// The `after` query parameter; empty means the first page.
    pub fn from_param(param: &str, sort: Sort) -> Result<Option<Cursor>, BadPageParam> {
        match param.trim() {
            "" => Ok(None),
            typed => Cursor::decode(typed, sort)
                .map(Some)
                .ok_or(BadPageParam::Cursor),
        }
    }

    /// The query string of the page after this cursor, keeping the
    /// filters (`(name, value)`, empty values left out).
    pub fn next_page_query(&self, filters: &[(&str, &str)]) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in filters {
            if !value.is_empty() {
                url.append_pair(name, value);
            }
        }
        url.append_pair("sort", self.sort.as_str());
        url.append_pair("after", &self.encode());
        url.finish()
    }
}

/// Appends the after-cursor condition, the order and the limit (one row
/// more than a page, to know whether there is a next one).
// runtime SQL: the sort key and direction are the user's choice, and the
// cursor condition is there only after the first page.
pub fn push_page(sql: &mut QueryBuilder<Postgres>, sort: Sort, after: Option<&Cursor>, limit: i64) {
    let (key_sql, cast) = match sort {
        Sort::NameAsc | Sort::NameDesc => ("lower(name)", "::text"),
        Sort::NewestFirst | Sort::OldestFirst => ("created_at", "::timestamptz"),
    };
    let (cmp, dir) = if sort.descending() {
        ("<", "desc")
    } else {
        (">", "asc")
    };
    if let Some(after) = after {
        sql.push(format!(" and ({key_sql}, id) {cmp} ("))
            .push_bind(after.key.clone())
            .push(cast)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    sql.push(format!(" order by {key_sql} {dir}, id {dir} limit "))
        .push_bind(limit + 1);
}

/// `%` and `_` typed by a user match themselves.
pub fn like_escape(input: &str) -> String {
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
