//! Amounts of money as typed: exact decimals (never floats), at most two
//! places, in a three-letter ISO 4217 currency.

use rust_decimal::Decimal;

/// The largest amount a `numeric(14, 2)` column holds.
const MAX_AMOUNT: &str = "999999999999.99";

/// An amount typed as `1234`, `1234.5` or `1234,50` (one decimal separator,
/// no thousands separators: "1.234" would be ambiguous).
pub fn parse_amount(typed: &str) -> Result<Decimal, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let normalized = typed.replace(',', ".");
    let well_formed = normalized.matches('.').count() <= 1
        && normalized.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && normalized.bytes().any(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(format!(
            "\"{typed}\" is not an amount (digits, and one . or , before the cents; no thousands separators)."
        ));
    }
    if normalized
        .split('.')
        .nth(1)
        .is_some_and(|cents| cents.len() > 2)
    {
        return Err(format!("\"{typed}\" has more than two decimal places."));
    }
    let amount: Decimal = normalized
        .parse()
        .map_err(|_| format!("\"{typed}\" is not an amount."))?;
    let max: Decimal = MAX_AMOUNT.parse().map_err(|_| "limit".to_owned())?;
    if amount > max {
        return Err(format!("\"{typed}\" is too large."));
    }
    Ok(amount.round_dp(2))
}

/// A currency code as typed (`brl` → `BRL`).
pub fn parse_currency(typed: &str) -> Result<String, String> {
    let code = typed.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(format!(
            "\"{}\" is not a currency code (three letters, such as BRL, EUR, USD).",
            typed.trim()
        ))
    }
}

/// An amount shown with two decimals and its currency: `BRL 1,234.50`.
pub fn shown(amount: Decimal, currency: &str) -> String {
    let fixed = format!("{:.2}", amount.round_dp(2));
    let (units, cents) = fixed.split_once('.').unwrap_or((&fixed, "00"));
    let (sign, digits) = units.strip_prefix('-').map_or(("", units), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{currency} {sign}{grouped}.{cents}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_refused_with_the_reason() {
        assert_eq!(parse_amount("1234,5").unwrap().to_string(), "1234.5");
        assert_eq!(
            parse_amount(" 0.10 ").unwrap(),
            "0.1".parse::<Decimal>().unwrap()
        );
        assert_eq!(parse_amount("").unwrap(), Decimal::ZERO);
        assert_eq!(
            parse_amount("999999999999.99").unwrap().to_string(),
            "999999999999.99"
        );
        for bad in [
            "1.234,56",
            "12a",
            "-5",
            "1.005",
            ".",
            "1e3",
            "9999999999999",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_currency(" brl").unwrap(), "BRL");
        assert!(parse_currency("R$").is_err());
        assert_eq!(
            shown("1234567.5".parse().unwrap(), "BRL"),
            "BRL 1,234,567.50"
        );
        assert_eq!(shown(Decimal::ZERO, "EUR"), "EUR 0.00");
        assert_eq!(shown("999".parse().unwrap(), "USD"), "USD 999.00");
    }
}
