//! The arithmetic of quotes and invoices: exact decimals (never floats),
//! rounded the way a commercial document is, so that the figures on the page
//! always add up.
//!
//! # Inputs (one [`LineInput`] per line)
//! - quantity: more than zero, at most 3 decimal places, at most 1,000,000
//!   (fits `numeric(10, 3)`);
//! - unit price: zero or more, at most **4** decimal places (fits
//!   `numeric(16, 4)`): cheap units (per message, per litre) are priced below
//!   the cent, and `3 × 0.335` must be 1.01, not `3 × 0.34`;
//! - discount percent and tax rate percent: 0 to 100, at most 2 decimal
//!   places (fits `numeric(5, 2)`).
//!
//! Every computed amount has exactly 2 decimal places (`numeric(14, 2)`).
//!
//! # Rules
//! `round2` is commercial rounding to the cent, half away from zero
//! ([`RoundingStrategy::MidpointAwayFromZero`]): 2.665 → 2.67 and
//! 1.005 → 1.01 (not banker's rounding, which would give 2.66 and 1.00). It is
//! also what Postgres does when it rounds into a `numeric(14, 2)` column.
//!
//! Per line:
//! - gross = round2(quantity × unit price)
//! - discount = round2(gross × discount% / 100)
//! - net = gross − discount
//! - tax = round2(net × tax rate% / 100) (tax is charged after the discount)
//! - line total = net + tax
//!
//! Per document:
//! - subtotal = Σ gross; discount = Σ line discounts; net = Σ net
//!   (= subtotal − discount);
//! - tax = Σ line taxes; total = net + tax (= Σ line totals);
//! - a tax breakdown with one band per distinct rate, ordered by rate: the
//!   net base (Σ net of the lines at that rate) and the tax (Σ of their line
//!   taxes).
//!
//! Tax is the sum of the rounded line taxes, not the tax of the summed base:
//! the two can differ by a cent per line (three lines of 0.05 at 10 % give
//! 3 × 0.01 = 0.03, while 10 % of 0.15 is 0.02). Rounding per line is
//! chosen so that every line total printed on the document is exact and the
//! line totals add up to the document total; the breakdown follows the same
//! rule, so its bands add up to the tax shown.
//!
//! No line amount and no document amount may exceed 999,999,999,999.99
//! (`numeric(14, 2)`): [`DocumentTotals::compute`] refuses such a document.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

/// The largest quantity on a line.
const MAX_QUANTITY: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
/// The largest unit price (the largest `numeric(14, 2)` amount).
const MAX_UNIT_PRICE: Decimal = Decimal::from_parts(276_447_231, 23_283, 0, false, 2);
/// The largest computed amount a `numeric(14, 2)` column holds.
pub const MAX_AMOUNT: Decimal = MAX_UNIT_PRICE;
const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

const QUANTITY_PLACES: u32 = 3;
const UNIT_PRICE_PLACES: u32 = 4;
const PERCENT_PLACES: u32 = 2;

/// Rounds to the cent, half away from zero (commercial rounding), and
/// always with two decimals (20.00, not 20), so that sums print as amounts.
pub fn round2(value: Decimal) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// Zero as an amount: 0.00.
const ZERO_AMOUNT: Decimal = Decimal::from_parts(0, 0, 0, false, 2);

/// One line of a quote or invoice, checked against the rules in the module
/// documentation. Build it with [`LineInput::new`] (values from the database
/// or the API) or from the `parse_*` helpers (values typed in a form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    quantity: Decimal,
    unit_price: Decimal,
    discount_percent: Decimal,
    tax_rate_percent: Decimal,
}

impl LineInput {
    /// A line, or the reason it is refused (a sentence for the user).
    pub fn new(
        quantity: Decimal,
        unit_price: Decimal,
        discount_percent: Decimal,
        tax_rate_percent: Decimal,
    ) -> Result<Self, String> {
        check_quantity(quantity)?;
        check_unit_price(unit_price)?;
        check_percent("Discount", discount_percent)?;
        check_percent("Tax rate", tax_rate_percent)?;
        // Trailing zeros (1.500 from a numeric(10, 3) column) carry no meaning.
        Ok(Self {
            quantity: quantity.normalize(),
            unit_price: unit_price.normalize(),
            discount_percent: discount_percent.normalize(),
            tax_rate_percent: tax_rate_percent.normalize(),
        })
    }

    pub fn quantity(&self) -> Decimal {
        self.quantity
    }

    pub fn unit_price(&self) -> Decimal {
        self.unit_price
    }

    pub fn discount_percent(&self) -> Decimal {
        self.discount_percent
    }

    pub fn tax_rate_percent(&self) -> Decimal {
        self.tax_rate_percent
    }

    /// This line's amounts, by the rules in the module documentation.
    pub fn amounts(&self) -> LineAmounts {
        // Bounded inputs keep every product far below Decimal's 28 digits:
        // at most 10^6 × 10^12 = 10^18.
        let gross = round2(self.quantity * self.unit_price);
        let discount = round2(gross * self.discount_percent / HUNDRED);
        let net = gross - discount;
        let tax = round2(net * self.tax_rate_percent / HUNDRED);
        LineAmounts {
            gross,
            discount,
            net,
            tax,
            total: net + tax,
        }
    }
}

/// The computed amounts of one line, each to the cent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    /// round2(quantity × unit price).
    pub gross: Decimal,
    /// round2(gross × discount% / 100).
    pub discount: Decimal,
    /// gross − discount: the base the tax is charged on.
    pub net: Decimal,
    /// round2(net × tax rate% / 100).
    pub tax: Decimal,
    /// net + tax.
    pub total: Decimal,
}

/// The net base and the tax of the lines taxed at one rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxBand {
    pub rate_percent: Decimal,
    pub net_base: Decimal,
    pub tax: Decimal,
}

/// A document's amounts: each line's, the sums, and the tax per rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentTotals {
    /// One entry per input line, in the same order.
    pub lines: Vec<LineAmounts>,
    /// Σ gross.
    pub subtotal: Decimal,
    /// Σ line discounts.
    pub discount: Decimal,
    /// Σ net (= subtotal − discount).
    pub net: Decimal,
    /// Σ line taxes.
    pub tax: Decimal,
    /// net + tax (= Σ line totals).
    pub total: Decimal,
    /// One band per distinct tax rate (0 % included), lowest rate first.
    pub tax_breakdown: Vec<TaxBand>,
}

impl DocumentTotals {
    /// The amounts of a document with these lines (no lines: all zero), or
    /// the reason it is refused: an amount too large to store.
    pub fn compute(lines: &[LineInput]) -> Result<Self, String> {
        let mut totals = Self {
            lines: Vec::with_capacity(lines.len()),
            subtotal: ZERO_AMOUNT,
            discount: ZERO_AMOUNT,
            net: ZERO_AMOUNT,
            tax: ZERO_AMOUNT,
            total: ZERO_AMOUNT,
            tax_breakdown: Vec::new(),
        };
        let mut bands: BTreeMap<Decimal, TaxBand> = BTreeMap::new();
        for (index, line) in lines.iter().enumerate() {
            let amounts = line.amounts();
            if amounts.gross > MAX_AMOUNT || amounts.total > MAX_AMOUNT {
                return Err(format!(
                    "Line {} comes to more than 999,999,999,999.99: lower its quantity or price.",
                    index + 1
                ));
            }
            // Each addend is at most 2 × MAX_AMOUNT and the sums are checked
            // after every line, so none of these additions can overflow.
            totals.subtotal += amounts.gross;
            totals.discount += amounts.discount;
            totals.net += amounts.net;
            totals.tax += amounts.tax;
            totals.total += amounts.total;
            if totals.subtotal > MAX_AMOUNT || totals.total > MAX_AMOUNT {
                return Err(
                    "The document comes to more than 999,999,999,999.99: split it into several."
                        .to_owned(),
                );
            }
            let band = bands.entry(line.tax_rate_percent).or_insert(TaxBand {
                rate_percent: line.tax_rate_percent,
                net_base: ZERO_AMOUNT,
                tax: ZERO_AMOUNT,
            });
            band.net_base += amounts.net;
            band.tax += amounts.tax;
            totals.lines.push(amounts);
        }
        totals.tax_breakdown = bands.into_values().collect();
        Ok(totals)
    }
}

/// A quantity as typed in a form: `2`, `1.5` or `1,5`, up to 3 decimal
/// places, more than zero.
pub fn parse_quantity(typed: &str) -> Result<Decimal, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err("Enter a quantity.".to_owned());
    }
    if typed.starts_with('-') {
        return Err("Quantity must be more than zero.".to_owned());
    }
    let quantity = parse_decimal(typed, "a quantity")?;
    check_quantity(quantity)?;
    Ok(quantity.normalize())
}

/// A unit price as typed in a form: `12`, `12.5`, `12,50` or `0,0125`, up to
/// 4 decimal places, zero (a free item) or more.
pub fn parse_unit_price(typed: &str) -> Result<Decimal, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err("Enter a unit price (0 for a free item).".to_owned());
    }
    if typed.starts_with('-') {
        return Err("Unit price cannot be negative: use a discount instead.".to_owned());
    }
    let price = parse_decimal(typed, "a price")?;
    check_unit_price(price)?;
    Ok(price.normalize())
}

/// A percentage as typed in a form (`what` names it in messages: "Discount",
/// "Tax rate"): `10`, `12.5`, `12,5` or `12.5%`, 0 to 100, up to 2 decimal
/// places. Empty means 0.
pub fn parse_percent(what: &str, typed: &str) -> Result<Decimal, String> {
    let typed = typed.trim();
    let typed = typed.strip_suffix('%').unwrap_or(typed).trim_end();
    if typed.is_empty() {
        return Ok(Decimal::ZERO);
    }
    if typed.starts_with('-') {
        return Err(format!("{what} cannot be negative."));
    }
    let percent = parse_decimal(typed, "a percentage")?;
    check_percent(what, percent)?;
    Ok(percent.normalize())
}

/// Digits with at most one `.` or `,` before the decimals; no sign, no
/// exponent, no thousands separators ("1.234" would be ambiguous), as in
/// [`crate::domain::money::parse_amount`]. `what` names the kind of value in
/// the message.
fn parse_decimal(typed: &str, what: &str) -> Result<Decimal, String> {
    let normalized = typed.replace(',', ".");
    let well_formed = normalized.matches('.').count() <= 1
        && normalized.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && normalized.bytes().any(|b| b.is_ascii_digit());
    // More than 20 digits cannot be in range; refusing them early also keeps
    // them away from Decimal's 28-digit limit.
    if !well_formed || normalized.len() > 20 {
        return Err(format!(
            "\"{typed}\" is not {what} (digits, and one . or , before the decimals; no thousands separators)."
        ));
    }
    normalized
        .parse()
        .map_err(|_| format!("\"{typed}\" is not {what}."))
}

fn places(value: Decimal) -> u32 {
    value.normalize().scale()
}

fn check_quantity(quantity: Decimal) -> Result<(), String> {
    if quantity <= Decimal::ZERO {
        return Err("Quantity must be more than zero.".to_owned());
    }
    if places(quantity) > QUANTITY_PLACES {
        return Err("Quantity has more than 3 decimal places.".to_owned());
    }
    if quantity > MAX_QUANTITY {
        return Err("Quantity must be at most 1,000,000.".to_owned());
    }
    Ok(())
}

fn check_unit_price(price: Decimal) -> Result<(), String> {
    if price < Decimal::ZERO {
        return Err("Unit price cannot be negative: use a discount instead.".to_owned());
    }
    if places(price) > UNIT_PRICE_PLACES {
        return Err("Unit price has more than 4 decimal places.".to_owned());
    }
    if price > MAX_UNIT_PRICE {
        return Err("Unit price must be at most 999,999,999,999.99.".to_owned());
    }
    Ok(())
}

fn check_percent(what: &str, percent: Decimal) -> Result<(), String> {
    if percent < Decimal::ZERO {
        return Err(format!("{what} cannot be negative."));
    }
    if percent > HUNDRED {
        return Err(format!("{what} must be at most 100%."));
    }
    if places(percent) > PERCENT_PLACES {
        return Err(format!("{what} has more than 2 decimal places."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn line(quantity: &str, price: &str, discount: &str, tax: &str) -> LineInput {
        LineInput::new(d(quantity), d(price), d(discount), d(tax)).unwrap()
    }

    /// Compares as text so that the scale is checked too (1.01, not 1.010).
    fn cents(value: Decimal) -> String {
        value.to_string()
    }

    #[test]
    fn constants_are_what_their_names_say() {
        assert_eq!(MAX_AMOUNT, d("999999999999.99"));
        assert_eq!(MAX_QUANTITY, d("1000000"));
        assert_eq!(HUNDRED, d("100"));
    }

    #[test]
    fn midpoints_round_half_up_not_to_even() {
        assert_eq!(cents(round2(d("2.665"))), "2.67");
        assert_eq!(cents(round2(d("2.675"))), "2.68");
        assert_eq!(cents(round2(d("2.685"))), "2.69");
        assert_eq!(cents(round2(d("1.005"))), "1.01");
        assert_eq!(cents(round2(d("1.00499"))), "1.00");
        assert_eq!(cents(round2(d("-2.665"))), "-2.67");
        assert_eq!(cents(round2(d("20"))), "20.00");
    }

    #[test]
    fn three_at_a_sub_cent_price_rounds_the_product_once() {
        let amounts = line("3", "0.335", "0", "0").amounts();
        assert_eq!(cents(amounts.gross), "1.01");
        assert_eq!(cents(amounts.total), "1.01");
    }

    #[test]
    fn twelve_and_a_half_percent_tax_on_19_99_is_2_50() {
        let amounts = line("1", "19.99", "0", "12.5").amounts();
        assert_eq!(cents(amounts.tax), "2.50");
        assert_eq!(cents(amounts.total), "22.49");
    }

    #[test]
    fn a_midpoint_gross_goes_up() {
        // 1.3325 × 2 = 2.665 exactly.
        assert_eq!(cents(line("2", "1.3325", "0", "0").amounts().gross), "2.67");
    }

    #[test]
    fn discount_comes_off_before_tax() {
        // gross 100.00, 15 % off = 15.00, net 85.00, 10 % tax on 85.00 = 8.50.
        let amounts = line("4", "25", "15", "10").amounts();
        assert_eq!(
            amounts,
            LineAmounts {
                gross: d("100.00"),
                discount: d("15.00"),
                net: d("85.00"),
                tax: d("8.50"),
                total: d("93.50"),
            }
        );
        // Each step rounds: 33.33 × 1 with 33.33 % off = 11.108889 → 11.11,
        // net 22.22, 7.5 % tax = 1.6665 → 1.67.
        let amounts = line("1", "33.33", "33.33", "7.5").amounts();
        assert_eq!(cents(amounts.discount), "11.11");
        assert_eq!(cents(amounts.net), "22.22");
        assert_eq!(cents(amounts.tax), "1.67");
        assert_eq!(cents(amounts.total), "23.89");
    }

    #[test]
    fn several_rates_sum_and_break_down_by_rate() {
        let lines = [
            line("2", "100", "10", "20"),   // gross 200, disc 20, net 180, tax 36
            line("1.5", "9.99", "0", "5"),  // gross 14.985 → 14.99, tax 0.7495 → 0.75
            line("3", "10", "0", "0"),      // gross 30, no tax
            line("1", "50", "50", "20.00"), // gross 50, disc 25, net 25, tax 5
        ];
        let totals = DocumentTotals::compute(&lines).unwrap();
        assert_eq!(cents(totals.subtotal), "294.99");
        assert_eq!(cents(totals.discount), "45.00");
        assert_eq!(cents(totals.net), "249.99");
        assert_eq!(cents(totals.tax), "41.75");
        assert_eq!(cents(totals.total), "291.74");
        assert_eq!(
            totals.tax_breakdown,
            vec![
                TaxBand {
                    rate_percent: d("0"),
                    net_base: d("30"),
                    tax: d("0")
                },
                TaxBand {
                    rate_percent: d("5"),
                    net_base: d("14.99"),
                    tax: d("0.75")
                },
                TaxBand {
                    rate_percent: d("20"),
                    net_base: d("205"),
                    tax: d("41")
                },
            ]
        );
        let line_totals: Decimal = totals.lines.iter().map(|l| l.total).sum();
        assert_eq!(line_totals, totals.total);
        let band_taxes: Decimal = totals.tax_breakdown.iter().map(|b| b.tax).sum();
        assert_eq!(band_taxes, totals.tax);
        assert_eq!(totals.net, totals.subtotal - totals.discount);
    }

    #[test]
    fn tax_is_the_sum_of_rounded_line_taxes_not_the_tax_of_the_sum() {
        let lines = [
            line("1", "0.05", "0", "10"),
            line("1", "0.05", "0", "10"),
            line("1", "0.05", "0", "10"),
        ];
        let totals = DocumentTotals::compute(&lines).unwrap();
        assert_eq!(cents(totals.tax), "0.03");
        assert_eq!(cents(round2(totals.net * d("10") / d("100"))), "0.02");
        assert_eq!(cents(totals.total), "0.18");
        assert_eq!(totals.tax_breakdown.len(), 1);
        assert_eq!(cents(totals.tax_breakdown[0].tax), "0.03");
    }

    #[test]
    fn no_lines_is_all_zero() {
        let totals = DocumentTotals::compute(&[]).unwrap();
        for amount in [
            totals.subtotal,
            totals.discount,
            totals.net,
            totals.tax,
            totals.total,
        ] {
            assert_eq!(cents(amount), "0.00");
        }
        assert!(totals.lines.is_empty());
        assert!(totals.tax_breakdown.is_empty());
    }

    #[test]
    fn big_values_stay_exact_up_to_the_column_limit() {
        let totals = DocumentTotals::compute(&[line("1", "999999999999.99", "0", "0")]).unwrap();
        assert_eq!(cents(totals.total), "999999999999.99");
        let totals = DocumentTotals::compute(&[line("1000000", "123456.7891", "0", "10")]).unwrap();
        assert_eq!(cents(totals.subtotal), "123456789100.00");
        assert_eq!(cents(totals.total), "135802468010.00");

        let too_big_line = DocumentTotals::compute(&[line("2", "999999999999.99", "0", "0")]);
        assert!(too_big_line.unwrap_err().contains("Line 1"));
        let taxed_over = DocumentTotals::compute(&[line("1", "999999999999.99", "0", "1")]);
        assert!(taxed_over.is_err());
        let half = line("1", "600000000000", "0", "0");
        let too_big_sum = DocumentTotals::compute(&[half.clone(), half]);
        assert!(too_big_sum.unwrap_err().contains("document"));
    }

    #[test]
    fn equal_rates_written_differently_share_a_band() {
        let totals =
            DocumentTotals::compute(&[line("1", "10", "0", "12.5"), line("1", "10", "0", "12.50")])
                .unwrap();
        assert_eq!(totals.tax_breakdown.len(), 1);
        assert_eq!(cents(totals.tax_breakdown[0].tax), "2.50");
    }

    #[test]
    fn lines_out_of_range_are_refused_with_the_reason() {
        let refused = |q: &str, p: &str, disc: &str, tax: &str| {
            LineInput::new(d(q), d(p), d(disc), d(tax)).unwrap_err()
        };
        assert_eq!(
            refused("-1", "10", "0", "0"),
            "Quantity must be more than zero."
        );
        assert_eq!(
            refused("0", "10", "0", "0"),
            "Quantity must be more than zero."
        );
        assert!(refused("1.0001", "10", "0", "0").contains("3 decimal places"));
        assert!(refused("0.0005", "10", "0", "0").contains("3 decimal places"));
        assert!(refused("1000001", "10", "0", "0").contains("at most 1,000,000"));
        assert!(refused("1", "-0.01", "0", "0").contains("negative"));
        assert!(refused("1", "0.00001", "0", "0").contains("4 decimal places"));
        assert!(refused("1", "1000000000000", "0", "0").contains("at most"));
        assert!(refused("1", "1", "100.01", "0").starts_with("Discount must be at most 100%"));
        assert!(refused("1", "1", "-1", "0").starts_with("Discount cannot be negative"));
        assert!(refused("1", "1", "0", "0.001").starts_with("Tax rate has more than 2"));
        // Trailing zeros from a numeric column are not extra places.
        let stored = LineInput::new(d("1.500"), d("2.5000"), d("10.00"), d("0.00")).unwrap();
        assert_eq!(stored.quantity().to_string(), "1.5");
        assert_eq!(stored.unit_price().to_string(), "2.5");
        // 100 % discount is allowed: a free line.
        assert_eq!(line("1", "10", "100", "20").amounts().total, Decimal::ZERO);
    }

    #[test]
    fn quantities_as_typed() {
        assert_eq!(parse_quantity(" 2 ").unwrap(), d("2"));
        assert_eq!(parse_quantity("1,5").unwrap().to_string(), "1.5");
        assert_eq!(parse_quantity("0.335").unwrap(), d("0.335"));
        assert_eq!(parse_quantity("1.000").unwrap().to_string(), "1");
        assert_eq!(
            parse_quantity("-3").unwrap_err(),
            "Quantity must be more than zero."
        );
        assert_eq!(
            parse_quantity("0").unwrap_err(),
            "Quantity must be more than zero."
        );
        assert_eq!(
            parse_quantity("0,000").unwrap_err(),
            "Quantity must be more than zero."
        );
        assert_eq!(parse_quantity("").unwrap_err(), "Enter a quantity.");
        assert!(
            parse_quantity("1.2345")
                .unwrap_err()
                .contains("3 decimal places")
        );
        assert!(
            parse_quantity("99999999")
                .unwrap_err()
                .contains("at most 1,000,000")
        );
        let absurd = parse_quantity("123456789012345678901234567890").unwrap_err();
        assert!(absurd.contains("is not a quantity"), "{absurd}");
        for bad in ["1.234,5", "2x", "1e3", ".", "+1", "1 000"] {
            assert!(
                parse_quantity(bad)
                    .unwrap_err()
                    .contains("is not a quantity"),
                "{bad}"
            );
        }
    }

    #[test]
    fn unit_prices_as_typed() {
        assert_eq!(parse_unit_price("12,50").unwrap().to_string(), "12.5");
        assert_eq!(parse_unit_price("0,0125").unwrap(), d("0.0125"));
        assert_eq!(parse_unit_price("0").unwrap(), Decimal::ZERO);
        assert_eq!(parse_unit_price("999999999999.99").unwrap(), MAX_AMOUNT);
        assert!(
            parse_unit_price("")
                .unwrap_err()
                .contains("Enter a unit price")
        );
        assert!(
            parse_unit_price("-5")
                .unwrap_err()
                .contains("cannot be negative")
        );
        assert!(
            parse_unit_price("0.00001")
                .unwrap_err()
                .contains("4 decimal places")
        );
        assert!(
            parse_unit_price("1000000000000")
                .unwrap_err()
                .contains("at most")
        );
        assert!(
            parse_unit_price("R$ 10")
                .unwrap_err()
                .contains("is not a price")
        );
    }

    #[test]
    fn percentages_as_typed() {
        assert_eq!(parse_percent("Discount", "").unwrap(), Decimal::ZERO);
        assert_eq!(parse_percent("Tax rate", "12,5").unwrap(), d("12.5"));
        assert_eq!(parse_percent("Tax rate", " 12.5 % ").unwrap(), d("12.5"));
        assert_eq!(parse_percent("Discount", "100").unwrap(), d("100"));
        assert_eq!(
            parse_percent("Discount", "100.5").unwrap_err(),
            "Discount must be at most 100%."
        );
        assert_eq!(
            parse_percent("Discount", "-5").unwrap_err(),
            "Discount cannot be negative."
        );
        assert_eq!(
            parse_percent("Tax rate", "7.125").unwrap_err(),
            "Tax rate has more than 2 decimal places."
        );
        assert!(
            parse_percent("Tax rate", "ten")
                .unwrap_err()
                .contains("is not a percentage")
        );
    }
}
