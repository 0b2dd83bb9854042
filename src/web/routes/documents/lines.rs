//! The editor's line rows as typed, checked into lines with the reason for
//! each refusal ("Line 2: …").

use serde::Deserialize;
use uuid::Uuid;

use crate::domain::document_totals::{LineInput, parse_percent, parse_quantity, parse_unit_price};
use crate::infra::db::products::Product;
use crate::infra::db::sales_documents::{NewLine, SalesLine};

/// Rows the editor shows besides the lines there are.
pub const BLANK_ROWS: usize = 3;

/// One row of the editor as typed.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub product: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount: String,
    pub tax_rate: String,
}

impl Row {
    fn is_blank(&self) -> bool {
        [
            &self.product,
            &self.description,
            &self.quantity,
            &self.unit_price,
            &self.discount,
            &self.tax_rate,
        ]
        .iter()
        .all(|f| f.trim().is_empty())
    }

    pub fn of(line: &SalesLine) -> Row {
        Row {
            product: line.product_id.map(|p| p.to_string()).unwrap_or_default(),
            description: line.description.clone(),
            quantity: line.quantity.normalize().to_string(),
            unit_price: line.unit_price.normalize().to_string(),
            // Plain numbers in the fields (the form adds no % sign).
            discount: line.discount_percent.normalize().to_string(),
            tax_rate: line.tax_rate.normalize().to_string(),
        }
    }
}

/// The editor's form: the head, and the rows as parallel lists (a field
/// per column, repeated per row).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EditorForm {
    pub currency: String,
    pub second_date: String,
    pub notes: String,
    pub product: Vec<String>,
    pub description: Vec<String>,
    pub quantity: Vec<String>,
    pub unit_price: Vec<String>,
    pub discount: Vec<String>,
    pub tax_rate: Vec<String>,
}

impl EditorForm {
    pub fn rows(&self) -> Vec<Row> {
        let at = |column: &[String], i: usize| column.get(i).cloned().unwrap_or_default();
        let count = [
            self.product.len(),
            self.description.len(),
            self.quantity.len(),
            self.unit_price.len(),
            self.discount.len(),
            self.tax_rate.len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        (0..count)
            .map(|i| Row {
                product: at(&self.product, i),
                description: at(&self.description, i),
                quantity: at(&self.quantity, i),
                unit_price: at(&self.unit_price, i),
                discount: at(&self.discount, i),
                tax_rate: at(&self.tax_rate, i),
            })
            .filter(|row| !row.is_blank())
            .collect()
    }
}

/// The rows checked: a product's name, price and tax fill what the row
/// leaves empty; every problem named with its line.
pub fn check(
    rows: &[Row],
    products: &[Product],
    currency: &str,
) -> Result<Vec<NewLine>, Vec<String>> {
    let mut lines = vec![];
    let mut errors = vec![];
    for (n, row) in rows.iter().enumerate() {
        let n = n + 1;
        let product = match row.product.trim() {
            "" => None,
            typed => {
                let found = Uuid::try_parse(typed)
                    .ok()
                    .and_then(|id| products.iter().find(|p| p.id == id && p.active));
                if found.is_none() {
                    errors.push(format!("Line {n}: choose a product of the catalogue (that one is unknown or archived)."));
                    continue;
                }
                found
            }
        };
        if let Some(p) = product
            && p.currency != currency
            && row.unit_price.trim().is_empty()
        {
            errors.push(format!(
                "Line {n}: {} is priced in {}, this document is in {currency}: type the price.",
                p.name, p.currency
            ));
            continue;
        }
        let description = match (row.description.trim(), product) {
            ("", Some(p)) => p.name.clone(),
            ("", None) => {
                errors.push(format!("Line {n}: describe it or choose a product."));
                continue;
            }
            (typed, _) => typed.to_owned(),
        };
        if description.chars().count() > 500 {
            errors.push(format!(
                "Line {n}: the description is too long (500 characters at most)."
            ));
            continue;
        }
        let quantity = if row.quantity.trim().is_empty() {
            "1"
        } else {
            row.quantity.as_str()
        };
        let parsed = (|| {
            let quantity = parse_quantity(quantity)?;
            let unit_price = match (row.unit_price.trim(), product) {
                ("", Some(p)) => p.price,
                (typed, _) => parse_unit_price(typed)?,
            };
            let discount = parse_percent("Discount", &row.discount)?;
            let tax_rate = match (row.tax_rate.trim(), product) {
                ("", Some(p)) => p.tax_rate,
                (typed, _) => parse_percent("Tax rate", typed)?,
            };
            LineInput::new(quantity, unit_price, discount, tax_rate)
        })();
        match parsed {
            Ok(input) => lines.push(NewLine {
                product_id: product.map(|p| p.id),
                description,
                input,
            }),
            Err(e) => errors.push(format!("Line {n}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}
