//! Numbers as printed on a quote or invoice (the PDF, and pages that show the
//! same table): a `.` before the decimals and `,` between thousands, as
//! [`crate::domain::money::shown`] writes amounts.

use rust_decimal::Decimal;

/// An amount without its currency, to the cent: `1,234.50`. Equal to
/// [`crate::domain::money::shown`] without the currency code.
pub fn amount(value: Decimal) -> String {
    grouped(value.round_dp(2), 2)
}

/// A unit price: at least 2 decimals, up to the 4 a price may have:
/// `12.50`, `0.0125`.
pub fn unit_price(value: Decimal) -> String {
    grouped(value, 2)
}

/// A quantity with only the decimals it has: `3`, `1.5`, `1,000`.
pub fn quantity(value: Decimal) -> String {
    grouped(value, 0)
}

/// A percentage with only the decimals it has: `12.5%`, `0%`.
pub fn percent(value: Decimal) -> String {
    format!("{}%", value.normalize())
}

/// `value` with its integer digits grouped by three and at least
/// `min_places` decimals (more if it has them).
fn grouped(value: Decimal, min_places: u32) -> String {
    let value = value.normalize();
    let places = value.scale().max(min_places) as usize;
    let fixed = format!("{value:.places$}");
    let (units, decimals) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let (sign, digits) = units.strip_prefix('-').map_or(("", units), |d| ("-", d));
    let mut text = String::with_capacity(fixed.len() + digits.len() / 3 + 1);
    text.push_str(sign);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    if !decimals.is_empty() {
        text.push('.');
        text.push_str(decimals);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::shown;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn amounts_read_as_money_shown_does_without_the_currency() {
        for value in [
            "0",
            "0.5",
            "12.3",
            "999",
            "1000",
            "1234567.5",
            "-1234.56",
            "999999999999.99",
        ] {
            let expected = shown(d(value), "BRL");
            assert_eq!(format!("BRL {}", amount(d(value))), expected, "{value}");
        }
        assert_eq!(amount(d("1234567.5")), "1,234,567.50");
    }

    #[test]
    fn prices_keep_their_sub_cent_decimals() {
        assert_eq!(unit_price(d("0.0125")), "0.0125");
        assert_eq!(unit_price(d("0.335")), "0.335");
        assert_eq!(unit_price(d("1250")), "1,250.00");
        assert_eq!(unit_price(d("12.5000")), "12.50");
    }

    #[test]
    fn quantities_and_percentages_show_only_their_decimals() {
        assert_eq!(quantity(d("3")), "3");
        assert_eq!(quantity(d("1.500")), "1.5");
        assert_eq!(quantity(d("1000000")), "1,000,000");
        assert_eq!(quantity(d("0.335")), "0.335");
        assert_eq!(percent(d("12.50")), "12.5%");
        assert_eq!(percent(d("0.00")), "0%");
        assert_eq!(percent(d("100")), "100%");
    }
}
