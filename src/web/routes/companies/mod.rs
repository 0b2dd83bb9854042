//! Companies: the list (search, sort, keyset pages) and one company's page
//! with its contacts.

mod edit;
mod export;
mod list;

use axum::Router;
use axum::routing::{get, post};
use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::AttributeDef;
use crate::domain::attributes;
use crate::infra::db::companies::{Company, CompanyFields};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/companies", get(list::index).post(edit::create))
        .route("/companies/new", get(edit::new))
        .route("/companies/export.csv", get(export::export))
        .route("/companies/{id}", get(edit::show).post(edit::update))
        .route("/companies/{id}/delete", post(edit::delete))
}

/// The company form as typed (kept to show it back with the errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompanyForm {
    pub name: String,
    pub domain: String,
    pub address: String,
    /// Everything else; custom attributes are the `attr.*` fields.
    #[serde(flatten)]
    pub attributes: HashMap<String, String>,
}

impl CompanyForm {
    /// A custom attribute's field as typed (or stored).
    pub fn attr(&self, def: &AttributeDef) -> &str {
        self.attributes.get(&def.field()).map_or("", String::as_str)
    }

    pub fn from_company(company: &Company, defs: &[AttributeDef]) -> CompanyForm {
        CompanyForm {
            name: company.name.clone(),
            domain: company.domain.clone().unwrap_or_default(),
            address: company.address.clone().unwrap_or_default(),
            attributes: attributes::form_values(defs, &company.attributes),
        }
    }

    /// Every problem at once, each naming its field.
    pub fn parse(&self, defs: &[AttributeDef]) -> Result<CompanyFields, Vec<String>> {
        let mut errors = vec![];
        let attributes = attributes::parse_form(defs, &self.attributes, &mut errors);
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push("Name: enter the company's name.".to_owned());
        } else if name.chars().count() > 200 {
            errors.push("Name is too long (200 characters at most).".to_owned());
        }
        let domain = match self.domain.trim() {
            "" => None,
            typed => normalize_domain(typed)
                .map_err(|e| errors.push(format!("Domain: {e}")))
                .ok(),
        };
        let address = self.address.trim();
        if address.chars().count() > 1000 {
            errors.push("Address is too long (1,000 characters at most).".to_owned());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CompanyFields {
            name,
            domain,
            address: Some(address.to_owned()).filter(|a| !a.is_empty()),
            attributes,
        })
    }
}

/// `https://www.Example.com/about` → `example.com`: a bare lowercase host
/// name, so one company's domain is written one way.
pub fn normalize_domain(typed: &str) -> Result<String, &'static str> {
    let lower = typed.trim().to_lowercase();
    let without_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if host.len() > 253 || !host.contains('.') || !labels_ok {
        return Err("that is not a domain name like example.com");
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::normalize_domain;

    #[test]
    fn domains_are_written_one_way() {
        assert_eq!(
            normalize_domain("https://www.Example.com/about").as_deref(),
            Ok("example.com")
        );
        assert_eq!(
            normalize_domain("shop.example.co.uk.").as_deref(),
            Ok("shop.example.co.uk")
        );
        for bad in [
            "example",
            "exa mple.com",
            "-x.com",
            "a..com",
            "http://",
            "ünï.com",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
