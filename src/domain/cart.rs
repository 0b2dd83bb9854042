//! A WhatsApp catalogue cart (a Cloud API `order` message): the items the
//! customer sent, read exactly (quantities and prices as decimals; Meta
//! sends them as numbers or strings).

use rust_decimal::Decimal;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartItem {
    /// The catalogue's id of the product: our SKU.
    pub retailer_id: String,
    pub quantity: Decimal,
    pub item_price: Decimal,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub catalog_id: String,
    /// What the customer wrote with the order.
    pub note: String,
    pub items: Vec<CartItem>,
}

fn decimal(value: Option<&Value>) -> Option<Decimal> {
    match value? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// The cart in a message's raw JSON (`{"type": "order", "order": {…}}`);
/// `Err` says what is wrong with it. Items without a product id, or with a
/// quantity that is not a positive whole number, make the cart unreadable
/// rather than silently smaller.
pub fn parse(message: &Value) -> Result<Cart, String> {
    let order = message
        .get("order")
        .and_then(Value::as_object)
        .ok_or("the message holds no order")?;
    let items = order
        .get("product_items")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or("the order has no products")?;
    let mut cart = Cart {
        catalog_id: order
            .get("catalog_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        note: order
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        items: Vec::with_capacity(items.len()),
    };
    for (n, item) in items.iter().enumerate() {
        let retailer_id = item
            .get("product_retailer_id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("item {} has no product id", n + 1))?;
        let quantity = decimal(item.get("quantity"))
            .filter(|q| *q > Decimal::ZERO && q.fract().is_zero())
            .ok_or_else(|| format!("item {} has no positive whole quantity", n + 1))?;
        let item_price = decimal(item.get("item_price"))
            .filter(|p| *p >= Decimal::ZERO)
            .ok_or_else(|| format!("item {} has no price", n + 1))?;
        let currency = item
            .get("currency")
            .and_then(Value::as_str)
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
            .ok_or_else(|| format!("item {} has no currency", n + 1))?;
        cart.items.push(CartItem {
            retailer_id: retailer_id.to_owned(),
            quantity,
            item_price,
            currency,
        });
    }
    if cart
        .items
        .iter()
        .any(|i| i.currency != cart.items[0].currency)
    {
        return Err("the order mixes currencies".to_owned());
    }
    Ok(cart)
}

/// "2 items: 2 × SKU-1, 1 × SKU-2" for the conversation.
pub fn summary(cart: &Cart) -> String {
    let lines: Vec<String> = cart
        .items
        .iter()
        .map(|i| format!("{} × {}", i.quantity, i.retailer_id))
        .collect();
    let count = cart.items.len();
    format!(
        "Order, {count} item{}: {}",
        if count == 1 { "" } else { "s" },
        lines.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cart_is_read_with_numbers_or_strings() {
        let message = json!({"type": "order", "order": {"catalog_id": "cat-1", "text": "Before noon please",
        "product_items": [
            {"product_retailer_id": "TSHIRT-M", "quantity": 2, "item_price": 19.9, "currency": "BRL"},
            {"product_retailer_id": "CAP", "quantity": "1", "item_price": "35.00", "currency": "brl"}
        ]}});
        let cart = parse(&message).unwrap();
        assert_eq!(cart.catalog_id, "cat-1");
        assert_eq!(cart.note, "Before noon please");
        assert_eq!(cart.items[0].quantity, Decimal::from(2));
        assert_eq!(cart.items[0].item_price, "19.9".parse::<Decimal>().unwrap());
        assert_eq!(cart.items[1].currency, "BRL");
        assert_eq!(summary(&cart), "Order, 2 items: 2 × TSHIRT-M, 1 × CAP");
    }

    #[test]
    fn a_bad_cart_says_what_is_wrong() {
        let item = |quantity: Value| {
            json!({"order": {"product_items": [
            {"product_retailer_id": "A", "quantity": quantity, "item_price": 1, "currency": "USD"}]}})
        };
        assert!(
            parse(&item(json!(-1)))
                .unwrap_err()
                .contains("positive whole quantity")
        );
        assert!(
            parse(&item(json!(1.5)))
                .unwrap_err()
                .contains("positive whole quantity")
        );
        assert!(
            parse(&json!({"order": {"product_items": []}}))
                .unwrap_err()
                .contains("no products")
        );
        assert!(
            parse(&json!({"text": {}}))
                .unwrap_err()
                .contains("no order")
        );
        let mixed = json!({"order": {"product_items": [
            {"product_retailer_id": "A", "quantity": 1, "item_price": 1, "currency": "USD"},
            {"product_retailer_id": "B", "quantity": 1, "item_price": 1, "currency": "EUR"}]}});
        assert!(parse(&mixed).unwrap_err().contains("mixes currencies"));
    }
}
