//! Horizontal bar charts as inline SVG, drawn on the server: this module
//! works out the geometry (numbers only) and `templates/reports/
//! bar_chart.html` renders the elements, so askama escapes every label.
//! Shapes are sized with SVG attributes and coloured by CSS classes: the
//! CSP allows neither inline styles nor scripts.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The drawing's width in SVG units (it scales to the page with CSS).
const WIDTH: u32 = 640;
/// Room for the labels, left of the bars.
const LABEL_WIDTH: u32 = 120;
/// The longest bar: the rest of the width is left for the amount after it.
const BAR_SPAN: u32 = 340;
const ROW_HEIGHT: u32 = 26;
const BAR_HEIGHT: u32 = 18;
/// Space between a bar's end and its amount, and between a label and the bars.
const GAP: u32 = 6;
/// Text sits on a baseline: this far below the row's top centres it on the bar.
const BASELINE: u32 = 17;

/// One bar: its label, its amount as shown, and where it is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub amount: String,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub text_y: u32,
    pub amount_x: u32,
}

/// A chart ready for the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    /// Unique on the page (the title's element id derives from it).
    pub id: String,
    /// What the chart shows, read out by screen readers.
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub bar_x: u32,
    pub label_x: u32,
    pub bars: Vec<Bar>,
}

/// One value to draw: its label, the value (never negative) and how the
/// amount reads (`money::shown`).
pub struct Item {
    pub label: String,
    pub value: Decimal,
    pub amount: String,
}

/// The bars scaled to the largest value (which spans [`BAR_SPAN`]); a value
/// above zero is always at least one unit wide, so it never looks like none.
pub fn horizontal(id: &str, title: &str, items: Vec<Item>) -> BarChart {
    let largest = items
        .iter()
        .map(|i| i.value)
        .fold(Decimal::ZERO, Decimal::max);
    let bars: Vec<Bar> = items
        .into_iter()
        .zip(0u32..)
        .map(|(item, row)| {
            let width = scaled(item.value, largest);
            Bar {
                label: item.label,
                amount: item.amount,
                y: row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                width,
                height: BAR_HEIGHT,
                text_y: row * ROW_HEIGHT + BASELINE,
                amount_x: LABEL_WIDTH + width + GAP,
            }
        })
        .collect();
    let rows = u32::try_from(bars.len()).unwrap_or(u32::MAX).max(1);
    BarChart {
        id: id.to_owned(),
        title: title.to_owned(),
        width: WIDTH,
        height: rows.saturating_mul(ROW_HEIGHT),
        bar_x: LABEL_WIDTH,
        label_x: LABEL_WIDTH - GAP,
        bars,
    }
}

/// `value`'s share of `largest`, in units of [`BAR_SPAN`] (exact until the
/// final rounding to a whole unit).
fn scaled(value: Decimal, largest: Decimal) -> u32 {
    if value <= Decimal::ZERO || largest <= Decimal::ZERO {
        return 0;
    }
    let units = (value * Decimal::from(BAR_SPAN) / largest).round();
    units.to_u32().unwrap_or(BAR_SPAN).clamp(1, BAR_SPAN)
}

#[cfg(test)]
mod tests {
    use askama::Template;

    use super::*;

    fn item(label: &str, value: &str) -> Item {
        let value: Decimal = value.parse().unwrap();
        Item {
            label: label.to_owned(),
            value,
            amount: crate::domain::money::shown(value, "BRL"),
        }
    }

    fn widths(chart: &BarChart) -> Vec<u32> {
        chart.bars.iter().map(|b| b.width).collect()
    }

    #[test]
    fn bars_are_scaled_to_the_largest_value() {
        let chart = horizontal(
            "c",
            "Revenue",
            vec![
                item("Jan", "1000.00"),
                item("Feb", "500.00"),
                item("Mar", "250.50"),
                item("Apr", "0.01"),
            ],
        );
        assert_eq!(widths(&chart), [BAR_SPAN, BAR_SPAN / 2, 85, 1]);
        assert_eq!(chart.bars[1].amount, "BRL 500.00");
        assert_eq!(chart.bars[1].y, ROW_HEIGHT + 4);
        assert_eq!(chart.bars[1].amount_x, LABEL_WIDTH + BAR_SPAN / 2 + GAP);
        assert_eq!(chart.height, 4 * ROW_HEIGHT);
    }

    #[test]
    fn zero_and_empty_data_draw_no_bars_and_do_not_divide_by_zero() {
        let zeros = horizontal("z", "Nothing", vec![item("Jan", "0"), item("Feb", "0.00")]);
        assert_eq!(widths(&zeros), [0, 0]);
        assert_eq!(zeros.bars[0].amount, "BRL 0.00");
        let empty = horizontal("e", "Empty", vec![]);
        assert!(empty.bars.is_empty());
        assert_eq!(empty.height, ROW_HEIGHT, "an empty chart still has a size");
    }

    #[test]
    fn huge_values_stay_exact_and_in_bounds() {
        let chart = horizontal(
            "h",
            "Big",
            vec![item("a", "999999999999.99"), item("b", "999999999999.98")],
        );
        assert_eq!(widths(&chart), [BAR_SPAN, BAR_SPAN]);
    }

    #[derive(Template)]
    #[template(path = "reports/bar_chart.html")]
    struct ChartOnly<'a> {
        chart: &'a BarChart,
    }

    #[test]
    fn labels_and_titles_are_escaped_in_the_svg() {
        let chart = horizontal(
            "stage-chart",
            "Deals <b>& co</b>",
            vec![item("<script>alert(1)</script>", "10")],
        );
        let svg = ChartOnly { chart: &chart }.render().unwrap();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(
            svg.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{svg}"
        );
        assert!(
            svg.contains("Deals &#60;b&#62;&#38; co&#60;/b&#62;"),
            "{svg}"
        );
        assert!(svg.contains("role=\"img\""), "{svg}");
        assert!(
            svg.contains(&format!("width=\"{BAR_SPAN}\"")),
            "the only bar is the longest: {svg}"
        );
        assert!(!svg.contains("style="), "no inline styles (CSP): {svg}");
    }
}
