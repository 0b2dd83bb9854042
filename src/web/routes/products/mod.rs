//! Products: the catalogue list (search by name or SKU, archived ones on
//! request), a product's page, and creating, editing, archiving and
//! restoring (owners and admins; everyone may view).

mod edit;
mod list;

use axum::Router;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::{money, tax};
use crate::infra::db::products::{Product, ProductFields};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list::index).post(edit::create))
        .route("/products/new", get(edit::new))
        .route("/products/{id}", get(edit::show).post(edit::update))
        .route("/products/{id}/active", post(edit::set_active))
}

const NAME_MAX: usize = 200;
const SKU_MAX: usize = 64;
const DESCRIPTION_MAX: usize = 2000;

/// The product form as typed (shown back with the errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductForm {
    pub name: String,
    pub sku: String,
    pub description: String,
    pub price: String,
    pub tax_rate: String,
    pub currency: String,
}

impl ProductForm {
    pub fn from_product(product: &Product) -> ProductForm {
        ProductForm {
            name: product.name.clone(),
            sku: product.sku.clone().unwrap_or_default(),
            description: product.description.clone(),
            price: product.price.to_string(),
            tax_rate: product.tax_rate.normalize().to_string(),
            currency: product.currency.clone(),
        }
    }

    /// Every problem at once, each naming its field.
    pub fn parse(&self) -> Result<ProductFields, Vec<String>> {
        let mut errors = vec![];
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push("Name: enter the product's name.".to_owned());
        } else if name.chars().count() > NAME_MAX {
            errors.push(format!("Name is too long ({NAME_MAX} characters at most)."));
        }
        let sku = parse_sku(&self.sku)
            .map_err(|e| errors.push(format!("SKU: {e}")))
            .unwrap_or_default();
        // Trailing blank lines are noise; the text itself is kept as typed.
        let description = self.description.trim_end().to_owned();
        if description.chars().count() > DESCRIPTION_MAX {
            errors.push(format!(
                "Description is too long ({DESCRIPTION_MAX} characters at most)."
            ));
        }
        // An empty price is more likely forgotten than free: 0 must be typed.
        let price = if self.price.trim().is_empty() {
            errors.push("Price: enter the price (0 for a free product).".to_owned());
            Decimal::ZERO
        } else {
            money::parse_amount(&self.price)
                .map_err(|e| errors.push(format!("Price: {e}")))
                .unwrap_or_default()
        };
        let tax_rate = tax::parse_tax_rate(&self.tax_rate)
            .map_err(|e| errors.push(format!("Tax rate: {e}")))
            .unwrap_or_default();
        let currency = money::parse_currency(&self.currency)
            .map_err(|e| errors.push(format!("Currency: {e}")))
            .unwrap_or_default();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ProductFields {
            name,
            sku,
            description,
            price,
            tax_rate,
            currency,
        })
    }
}

/// A SKU as typed: trimmed, empty for none. It is matched exactly against
/// WhatsApp's `product_retailer_id`, so its case is kept.
pub fn parse_sku(typed: &str) -> Result<Option<String>, String> {
    let sku = typed.trim();
    if sku.is_empty() {
        return Ok(None);
    }
    if sku.chars().count() > SKU_MAX {
        return Err(format!("it is too long ({SKU_MAX} characters at most)."));
    }
    if sku.chars().any(char::is_control) {
        return Err("it cannot hold line breaks, tabs or other control characters.".to_owned());
    }
    Ok(Some(sku.to_owned()))
}

/// The form error for a SKU another product already has.
pub fn sku_taken(sku: &str) -> String {
    format!(
        "SKU: \"{sku}\" is already used by another product of this workspace (archived ones included)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> ProductForm {
        let mut form = ProductForm {
            name: "Tea".into(),
            price: "4,50".into(),
            currency: "eur".into(),
            ..ProductForm::default()
        };
        for (field, value) in fields {
            let value = (*value).to_owned();
            match *field {
                "name" => form.name = value,
                "sku" => form.sku = value,
                "description" => form.description = value,
                "price" => form.price = value,
                "tax_rate" => form.tax_rate = value,
                "currency" => form.currency = value,
                other => panic!("no field {other}"),
            }
        }
        form
    }

    #[test]
    fn a_good_form_gives_exact_fields() {
        let fields = form(&[("sku", "  Tea-01 "), ("tax_rate", "7,5")])
            .parse()
            .unwrap();
        assert_eq!(fields.price, "4.5".parse::<Decimal>().unwrap());
        assert_eq!(fields.tax_rate, "7.5".parse::<Decimal>().unwrap());
        assert_eq!(fields.currency, "EUR");
        assert_eq!(fields.sku.as_deref(), Some("Tea-01"), "trimmed, case kept");
        assert_eq!(form(&[("sku", "  ")]).parse().unwrap().sku, None);
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let errors = form(&[
            ("name", " "),
            ("sku", &"x".repeat(65)),
            ("description", &"d".repeat(2001)),
            ("price", "-1"),
            ("tax_rate", "101"),
            ("currency", "euro"),
        ])
        .parse()
        .unwrap_err();
        let prefixes = [
            "Name:",
            "SKU:",
            "Description",
            "Price:",
            "Tax rate:",
            "Currency:",
        ];
        assert_eq!(errors.len(), prefixes.len(), "{errors:?}");
        for (error, prefix) in errors.iter().zip(prefixes) {
            assert!(error.starts_with(prefix), "{error}");
        }
        let errors = form(&[("price", ""), ("sku", "a\tb")]).parse().unwrap_err();
        assert!(errors[0].contains("control characters"), "{errors:?}");
        assert!(errors[1].contains("0 for a free product"), "{errors:?}");
    }
}
