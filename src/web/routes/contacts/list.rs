use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::AttributeDef;
use crate::domain::PhoneE164;
use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::contacts::{Contact, Cursor, ListQuery, Sort};
use crate::infra::db::labels::Label;
use crate::infra::tenancy::member::{Page, Tenant};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub(super) q: String,
    pub(super) sort: String,
    pub(super) after: String,
    pub(super) label: String,
    /// A custom attribute's key, and the value it must have.
    pub(super) attr: String,
    pub(super) value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/index.html")]
pub struct ContactsPage {
    page: Page,
    contacts: Vec<Contact>,
    q: String,
    sort: Sort,
    sorts: [(Sort, &'static str); 4],
    /// Query string of the next page, if there is one.
    next: Option<String>,
    paged: bool,
    labels: Vec<Label>,
    /// The label filtered by (its id as given), or empty.
    label: String,
    attribute_defs: Vec<AttributeDef>,
    /// The attribute filter as given.
    attr: String,
    value: String,
}

/// What a search box entry matches: the text itself, and for something
/// that looks like a phone number its digits and its E.164 form.
pub(crate) fn search_patterns(q: &str, country: Option<crate::domain::Country>) -> Vec<String> {
    let q = q.trim();
    if q.is_empty() {
        return vec![];
    }
    let mut patterns = vec![q.to_lowercase()];
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    if phone_like && digits.len() >= 3 {
        patterns.push(digits);
        if let Ok(phone) = PhoneE164::parse(q, country) {
            patterns.push(phone.to_string());
        }
    }
    patterns.dedup();
    patterns
}

/// The list's query from its parameters (also what an export applies), and
/// the workspace's attribute definitions.
pub(super) async fn list_query(
    tx: &mut crate::infra::tenancy::TenantTx,
    params: &ListParams,
    limit: i64,
) -> Result<(ListQuery, Vec<AttributeDef>)> {
    let sort = Sort::from_param(&params.sort)?;
    let after = Cursor::from_param(&params.after, sort)?;
    let label = match params.label.trim() {
        "" => None,
        typed => Some(Uuid::try_parse(typed).map_err(|_| {
            AppError::BadRequest(
                "That label filter is not valid; pick a label from the list.".into(),
            )
        })?),
    };
    let attribute_defs = db::attributes::list(tx, Entity::Contact).await?;
    let attr = params.attr.trim();
    let attribute = match attribute_defs.iter().find(|d| d.key == attr) {
        _ if attr.is_empty() => None,
        None => {
            return Err(AppError::BadRequest(
                "That attribute filter is not one of this workspace's attributes.".into(),
            ));
        }
        Some(def) => match def.parse_value(&params.value) {
            Ok(Some(value)) => Some(serde_json::Map::from_iter([(def.key.clone(), value)])),
            Ok(None) => None,
            Err(e) => return Err(AppError::BadRequest(e)),
        },
    };
    let country = db::orgs::default_country(tx).await?;
    let query = ListQuery {
        attribute,
        patterns: search_patterns(&params.q, country),
        sort,
        after,
        label,
        limit,
    };
    Ok((query, attribute_defs))
}

pub async fn index(mut tenant: Tenant, Query(params): Query<ListParams>) -> Result<ContactsPage> {
    let (query, attribute_defs) = list_query(&mut tenant.tx, &params, PAGE_SIZE).await?;
    let sort = query.sort;
    let attr = params.attr.trim();
    let label = query.label;
    let mut page = db::contacts::list(&mut tenant.tx, &query).await?;
    db::contacts::with_labels(&mut tenant.tx, &mut page.contacts).await?;
    let labels = db::labels::list(&mut tenant.tx).await?;
    let q = params.q.trim();
    let label = label.map(|l| l.to_string()).unwrap_or_default();
    Ok(ContactsPage {
        contacts: page.contacts,
        next: page.next.map(|cursor| {
            cursor.next_page_query(&[
                ("q", q),
                ("label", &label),
                ("attr", attr),
                ("value", params.value.trim()),
            ])
        }),
        q: q.to_owned(),
        sort,
        sorts: Sort::ALL,
        paged: query.after.is_some(),
        page: tenant.page,
        labels,
        label,
        attribute_defs,
        attr: attr.to_owned(),
        value: params.value.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Country;

    #[test]
    fn phone_like_searches_also_match_digits_and_e164() {
        let de = Country::parse("DE").ok();
        assert_eq!(
            search_patterns(" 030 901820 ", de),
            vec!["030 901820", "030901820", "+4930901820"]
        );
        assert_eq!(search_patterns("Ana", de), vec!["ana"]);
        assert!(search_patterns("  ", de).is_empty());
    }
}
