//! Laying the document out: pages of drawing operations, from the header
//! to the footers ("Page 1 of N").

use crate::domain::money;
use crate::features::documents::figures;

use super::measure::Faces;
use super::*;

/// The texts of one table row.
struct RowCells {
    description: Vec<String>,
    numbers: [String; 5],
}

const HEADINGS: [&str; 6] = ["Description", "Qty", "Unit price", "Disc.", "Tax", "Total"];

/// Where each column is: the description's left edge and width, then the
/// right edges of the five numeric columns.
struct Columns {
    description_width: f32,
    number_rights: [f32; 5],
}

/// Pages of drawing operations, filled from the top down.
struct Pages<'a> {
    faces: &'a Faces,
    document: &'a PrintableDocument,
    pages: Vec<Vec<Op>>,
    /// The top of the free space on the last page.
    y: f32,
}

impl Pages<'_> {
    fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, ink: Ink, text: &str) {
        if text.is_empty() {
            return;
        }
        let op = Op::Text {
            x,
            y,
            size,
            weight,
            ink,
            text: text.to_owned(),
        };
        self.push(op);
    }

    fn text_right(&mut self, right: f32, y: f32, size: f32, weight: Weight, ink: Ink, text: &str) {
        let x = right - self.faces.width(weight, text, size);
        self.text(x, y, size, weight, ink, text);
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32, ink: Ink) {
        self.push(Op::Rule {
            x1,
            x2,
            y,
            width,
            ink,
        });
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// Starts a page with a reminder of which document it belongs to.
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        let heading = format!(
            "{} {} ({})",
            self.document.title, self.document.number, self.document.customer.name
        );
        self.text(
            LEFT,
            TOP + 8.0,
            SMALL_SIZE,
            Weight::Regular,
            Ink::Grey,
            &heading,
        );
        self.y = CONTINUED_TOP;
    }

    /// Makes room for `height`, on a new page if this one lacks it.
    fn make_room(&mut self, height: f32) -> bool {
        if self.y + height > BOTTOM {
            self.new_page();
            true
        } else {
            false
        }
    }
}

pub(super) fn lay_out(document: &PrintableDocument, faces: &Faces) -> Vec<Vec<Op>> {
    let mut pages = Pages {
        faces,
        document,
        pages: vec![Vec::new()],
        y: TOP,
    };
    header(&mut pages);
    parties(&mut pages);
    table(&mut pages);
    totals(&mut pages);
    tax_breakdown(&mut pages);
    notes(&mut pages);
    let mut laid_out = pages.pages;
    footers(document, faces, &mut laid_out);
    laid_out
}

fn header(pages: &mut Pages) {
    let document = pages.document;
    pages.text(
        LEFT,
        TOP + 20.0,
        22.0,
        Weight::Bold,
        Ink::Black,
        &document.title,
    );
    pages.text(
        LEFT,
        TOP + 38.0,
        11.0,
        Weight::Regular,
        Ink::Black,
        &document.number,
    );
    let mut dates = vec![("Issued".to_owned(), document.issue_date)];
    if let Some(second) = &document.second_date {
        dates.push((second.label.clone(), second.date));
    }
    let mut y = TOP + 12.0;
    for (label, date) in dates {
        let value = date.to_string();
        let value_width = pages.faces.width(Weight::Bold, &value, BODY_SIZE);
        pages.text_right(RIGHT, y, BODY_SIZE, Weight::Bold, Ink::Black, &value);
        pages.text_right(
            RIGHT - value_width - 6.0,
            y,
            BODY_SIZE,
            Weight::Regular,
            Ink::Grey,
            &label,
        );
        y += BODY_LEADING;
    }
    pages.y = TOP + 52.0;
    pages.rule(LEFT, RIGHT, pages.y, 0.8, Ink::Black);
    pages.y += 20.0;
}

/// Seller on the left, customer on the right, each wrapped to its half.
fn parties(pages: &mut Pages) {
    let document = pages.document;
    let half = (RIGHT - LEFT) / 2.0;
    let width = half - COLUMN_GAP;
    let mut customer_lines = Vec::new();
    customer_lines.extend(document.customer.phone.iter().cloned());
    customer_lines.extend(document.customer.email.iter().cloned());
    let blocks = [
        (LEFT, "From", &document.seller.name, &document.seller.lines),
        (LEFT + half, "To", &document.customer.name, &customer_lines),
    ];
    let top = pages.y;
    let mut bottom = top;
    for (x, label, name, lines) in blocks {
        let mut y = top;
        pages.text(
            x,
            y,
            SMALL_SIZE,
            Weight::Bold,
            Ink::Grey,
            &label.to_uppercase(),
        );
        y += BODY_LEADING + 2.0;
        for wrapped in pages.faces.wrap(Weight::Bold, name, 10.0, width) {
            pages.text(x, y, 10.0, Weight::Bold, Ink::Black, &wrapped);
            y += BODY_LEADING + 1.0;
        }
        for line in lines.iter() {
            for wrapped in pages.faces.wrap(Weight::Regular, line, BODY_SIZE, width) {
                pages.text(x, y, BODY_SIZE, Weight::Regular, Ink::Black, &wrapped);
                y += BODY_LEADING;
            }
        }
        bottom = bottom.max(y);
    }
    pages.y = bottom + 16.0;
}

/// Column positions from the widest text in each numeric column (heading
/// included); the description takes what is left.
fn columns(pages: &Pages, cells: &[[String; 5]]) -> Columns {
    let faces = pages.faces;
    let mut number_rights = [RIGHT; 5];
    let mut right = RIGHT;
    for column in (0..5).rev() {
        let heading = faces.width(Weight::Bold, HEADINGS[column + 1], SMALL_SIZE);
        let widest = cells
            .iter()
            .map(|row| faces.width(Weight::Regular, &row[column], BODY_SIZE))
            .fold(heading, f32::max);
        number_rights[column] = right;
        right -= widest + COLUMN_GAP;
    }
    Columns {
        description_width: (right - LEFT).max(MIN_DESCRIPTION_WIDTH),
        number_rights,
    }
}

fn table_header(pages: &mut Pages, columns: &Columns) {
    let y = pages.y + SMALL_SIZE;
    pages.text(LEFT, y, SMALL_SIZE, Weight::Bold, Ink::Grey, HEADINGS[0]);
    for (heading, right) in HEADINGS[1..].iter().zip(columns.number_rights) {
        pages.text_right(right, y, SMALL_SIZE, Weight::Bold, Ink::Grey, heading);
    }
    pages.y = y + 5.0;
    pages.rule(LEFT, RIGHT, pages.y, 0.6, Ink::Black);
    pages.y += TABLE_HEADER_HEIGHT - SMALL_SIZE - 5.0;
}

fn table(pages: &mut Pages) {
    let document = pages.document;
    let currency_note = format!("Amounts in {}", document.currency);
    pages.text_right(
        RIGHT,
        pages.y,
        SMALL_SIZE,
        Weight::Regular,
        Ink::Grey,
        &currency_note,
    );
    pages.y += 6.0;

    let numbers: Vec<[String; 5]> = document
        .lines
        .iter()
        .zip(&document.totals.lines)
        .map(|(line, amounts)| {
            let input = &line.input;
            let discount = if input.discount_percent().is_zero() {
                String::new()
            } else {
                figures::percent(input.discount_percent())
            };
            [
                figures::quantity(input.quantity()),
                figures::unit_price(input.unit_price()),
                discount,
                figures::percent(input.tax_rate_percent()),
                figures::amount(amounts.total),
            ]
        })
        .collect();
    let columns = columns(pages, &numbers);
    let faces = pages.faces;
    let rows: Vec<RowCells> = document
        .lines
        .iter()
        .zip(numbers)
        .map(|(line, numbers)| RowCells {
            description: faces.wrap(
                Weight::Regular,
                &line.description,
                BODY_SIZE,
                columns.description_width,
            ),
            numbers,
        })
        .collect();

    // The header does not stay alone at the foot of a page.
    pages.make_room(TABLE_HEADER_HEIGHT + BODY_LEADING * 2.0);
    table_header(pages, &columns);
    let room_on_a_new_page = BOTTOM - CONTINUED_TOP - TABLE_HEADER_HEIGHT;
    for row in rows {
        let height = BODY_LEADING * row.description.len() as f32 + 4.0;
        // A row stays on one page; one taller than a whole page is split
        // line by line below instead.
        if height <= room_on_a_new_page && pages.make_room(height) {
            table_header(pages, &columns);
        }
        for (index, text) in row.description.iter().enumerate() {
            if pages.make_room(BODY_LEADING) {
                table_header(pages, &columns);
            }
            let baseline = pages.y + BODY_SIZE + 1.0;
            pages.text(LEFT, baseline, BODY_SIZE, Weight::Regular, Ink::Black, text);
            if index == 0 {
                for (number, right) in row.numbers.iter().zip(columns.number_rights) {
                    pages.text_right(
                        right,
                        baseline,
                        BODY_SIZE,
                        Weight::Regular,
                        Ink::Black,
                        number,
                    );
                }
            }
            pages.y += BODY_LEADING;
        }
        pages.y += 2.0;
        pages.rule(LEFT, RIGHT, pages.y, 0.3, Ink::Grey);
        pages.y += 2.0;
    }
}

/// Label and amount pairs, right-aligned under the table.
fn totals(pages: &mut Pages) {
    let document = pages.document;
    let totals = &document.totals;
    let currency = document.currency.as_str();
    let mut rows = vec![("Subtotal", money::shown(totals.subtotal, currency))];
    if !totals.discount.is_zero() {
        rows.push(("Discount", money::shown(-totals.discount, currency)));
        rows.push(("Net", money::shown(totals.net, currency)));
    }
    rows.push(("Tax", money::shown(totals.tax, currency)));
    let total = money::shown(totals.total, currency);

    let leading = BODY_LEADING + 2.0;
    pages.make_room(leading * (rows.len() as f32 + 1.0) + 16.0);
    pages.y += 8.0;
    let label_right = RIGHT - 150.0;
    for (label, value) in rows {
        let baseline = pages.y + BODY_SIZE;
        pages.text_right(
            label_right,
            baseline,
            BODY_SIZE,
            Weight::Regular,
            Ink::Grey,
            label,
        );
        pages.text_right(
            RIGHT,
            baseline,
            BODY_SIZE,
            Weight::Regular,
            Ink::Black,
            &value,
        );
        pages.y += leading;
    }
    pages.rule(label_right - 60.0, RIGHT, pages.y, 0.8, Ink::Black);
    pages.y += 4.0;
    let baseline = pages.y + 11.0;
    pages.text_right(
        label_right,
        baseline,
        11.0,
        Weight::Bold,
        Ink::Black,
        "Total",
    );
    pages.text_right(RIGHT, baseline, 11.0, Weight::Bold, Ink::Black, &total);
    pages.y = baseline + 16.0;
}

/// Base and tax per rate, when anything is taxed.
fn tax_breakdown(pages: &mut Pages) {
    let document = pages.document;
    let bands = &document.totals.tax_breakdown;
    if bands.iter().all(|band| band.rate_percent.is_zero()) {
        return;
    }
    let currency = document.currency.as_str();
    let rows: Vec<[String; 3]> = bands
        .iter()
        .map(|band| {
            [
                figures::percent(band.rate_percent),
                money::shown(band.net_base, currency),
                money::shown(band.tax, currency),
            ]
        })
        .collect();
    let faces = pages.faces;
    let headings = ["Tax rate", "Taxed amount", "Tax"];
    let mut rights = [RIGHT; 3];
    let mut right = RIGHT;
    for column in (0..3).rev() {
        rights[column] = right;
        let widest = rows
            .iter()
            .map(|row| faces.width(Weight::Regular, &row[column], SMALL_SIZE))
            .fold(
                faces.width(Weight::Bold, headings[column], SMALL_SIZE),
                f32::max,
            );
        right -= widest + COLUMN_GAP;
    }

    pages.make_room(BODY_LEADING * (rows.len() as f32 + 1.0) + 12.0);
    let baseline = pages.y + SMALL_SIZE;
    for (heading, right) in headings.iter().zip(rights) {
        pages.text_right(
            right,
            baseline,
            SMALL_SIZE,
            Weight::Bold,
            Ink::Grey,
            heading,
        );
    }
    pages.y = baseline + 4.0;
    pages.rule(right + COLUMN_GAP, RIGHT, pages.y, 0.3, Ink::Grey);
    pages.y += 2.0;
    for row in rows {
        let baseline = pages.y + SMALL_SIZE + 1.0;
        for (text, right) in row.iter().zip(rights) {
            pages.text_right(
                right,
                baseline,
                SMALL_SIZE,
                Weight::Regular,
                Ink::Black,
                text,
            );
        }
        pages.y += BODY_LEADING - 1.0;
    }
    pages.y += 12.0;
}

/// Notes and terms, flowing onto further pages if they must.
fn notes(pages: &mut Pages) {
    let document = pages.document;
    if document.notes.trim().is_empty() {
        return;
    }
    let lines = pages.faces.wrap(
        Weight::Regular,
        document.notes.trim_end(),
        BODY_SIZE,
        RIGHT - LEFT,
    );
    // The heading does not stay alone at the foot of a page.
    pages.make_room(BODY_LEADING * 3.0);
    pages.y += 6.0;
    pages.text(
        LEFT,
        pages.y + SMALL_SIZE,
        SMALL_SIZE,
        Weight::Bold,
        Ink::Grey,
        "NOTES",
    );
    pages.y += BODY_LEADING + 2.0;
    for line in lines {
        pages.make_room(BODY_LEADING);
        pages.text(
            LEFT,
            pages.y + BODY_SIZE,
            BODY_SIZE,
            Weight::Regular,
            Ink::Black,
            &line,
        );
        pages.y += BODY_LEADING;
    }
}

fn footers(document: &PrintableDocument, faces: &Faces, pages: &mut [Vec<Op>]) {
    let count = pages.len();
    let reference = format!("{} {}", document.title, document.number);
    for (index, page) in pages.iter_mut().enumerate() {
        let page_number = format!("Page {} of {count}", index + 1);
        let width = faces.width(Weight::Regular, &page_number, SMALL_SIZE);
        page.push(Op::Rule {
            x1: LEFT,
            x2: RIGHT,
            y: FOOTER_BASELINE - 12.0,
            width: 0.3,
            ink: Ink::Grey,
        });
        for (x, text) in [(LEFT, reference.clone()), (RIGHT - width, page_number)] {
            page.push(Op::Text {
                x,
                y: FOOTER_BASELINE,
                size: SMALL_SIZE,
                weight: Weight::Regular,
                ink: Ink::Grey,
                text,
            });
        }
    }
}
