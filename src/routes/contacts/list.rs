use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use serde::Deserialize;

use crate::db;
use crate::db::contacts::{Contact, Cursor, ListQuery, Sort};
use crate::domain::PhoneE164;
use crate::error::Result;
use crate::tenancy::member::{Page, Tenant};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    q: String,
    sort: String,
    after: String,
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
}

/// What a search box entry matches: the text itself, and for something
/// that looks like a phone number its digits and its E.164 form.
fn search_patterns(q: &str, country: Option<crate::domain::Country>) -> Vec<String> {
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

pub async fn index(mut tenant: Tenant, Query(params): Query<ListParams>) -> Result<ContactsPage> {
    let sort = Sort::from_param(&params.sort)?;
    let after = Cursor::from_param(&params.after, sort)?;
    let country = db::orgs::default_country(&mut tenant.tx).await?;
    let query = ListQuery {
        patterns: search_patterns(&params.q, country),
        sort,
        after,
        limit: PAGE_SIZE,
    };
    let page = db::contacts::list(&mut tenant.tx, &query).await?;
    Ok(ContactsPage {
        contacts: page.contacts,
        q: params.q.trim().to_owned(),
        sort,
        sorts: Sort::ALL,
        next: page
            .next
            .map(|cursor| cursor.next_page_query(params.q.trim())),
        paged: query.after.is_some(),
        page: tenant.page,
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
