//! Tax rates as typed: an exact percentage from 0 to 100 with at most two
//! decimal places, written like amounts in [`super::money`] (`12.5` or
//! `12,5`, no thousands separators), a trailing `%` allowed.

use rust_decimal::Decimal;

/// A rate typed as `12`, `12.5`, `12,50` or `12.5 %`; empty means 0.
pub fn parse_tax_rate(typed: &str) -> Result<Decimal, String> {
    let typed = typed.trim();
    let number = typed.strip_suffix('%').unwrap_or(typed).trim_end();
    if number.is_empty() {
        return if typed.is_empty() {
            Ok(Decimal::ZERO)
        } else {
            Err(format!("\"{typed}\" is not a percentage."))
        };
    }
    let normalized = number.replace(',', ".");
    let well_formed = normalized.matches('.').count() <= 1
        && normalized.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && normalized.bytes().any(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(format!(
            "\"{typed}\" is not a percentage (a number from 0 to 100, such as 12.5)."
        ));
    }
    if normalized
        .split('.')
        .nth(1)
        .is_some_and(|decimals| decimals.len() > 2)
    {
        return Err(format!("\"{typed}\" has more than two decimal places."));
    }
    let rate: Decimal = normalized
        .parse()
        .map_err(|_| format!("\"{typed}\" is not a percentage."))?;
    if rate > Decimal::ONE_HUNDRED {
        return Err(format!("\"{typed}\" is more than 100%."));
    }
    Ok(rate)
}

/// A rate shown without trailing zeros: `12.5%`, `0%`, `100%`.
pub fn shown_rate(rate: Decimal) -> String {
    format!("{}%", rate.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn rates_are_exact_percentages_from_0_to_100() {
        assert_eq!(parse_tax_rate("12,5").unwrap(), rate("12.5"));
        assert_eq!(parse_tax_rate(" 7.25 % ").unwrap(), rate("7.25"));
        assert_eq!(parse_tax_rate("").unwrap(), Decimal::ZERO);
        assert_eq!(parse_tax_rate("100").unwrap(), Decimal::ONE_HUNDRED);
        assert_eq!(parse_tax_rate("0.01").unwrap(), rate("0.01"));
        for bad in ["-5", "100.01", "101", "12.345", "1,2.3", "abc", "%", "1e2"] {
            assert!(parse_tax_rate(bad).is_err(), "{bad}");
        }
        assert!(
            parse_tax_rate("150")
                .unwrap_err()
                .contains("more than 100%")
        );
    }

    #[test]
    fn rates_are_shown_without_trailing_zeros() {
        assert_eq!(shown_rate(rate("12.50")), "12.5%");
        assert_eq!(shown_rate(rate("0.00")), "0%");
        assert_eq!(shown_rate(rate("100.00")), "100%");
    }
}
