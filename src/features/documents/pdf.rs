//! A quote or invoice as an A4 PDF.
//!
//! [`render`] lays the document out in two passes: first into pages of
//! drawing operations (so that every footer can say "Page 1 of N"), then
//! into the PDF with krilla. Text is DejaVu Sans (regular and bold, embedded
//! and subset), which covers Portuguese and the other Latin scripts, Greek,
//! Cyrillic and signs such as €. Widths are measured with skrifa from the
//! same font files, to right-align numbers and wrap long descriptions.
//!
//! Layout: a header (title, number, dates), the seller and customer side by
//! side, the table of lines (its header repeated on every page the table
//! continues on), the totals, the tax per rate, then the notes. An optional
//! stamp ("VOID", "PAID") is printed across every page.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};
use time::Date;

use super::figures;
use crate::domain::document_totals::{DocumentTotals, LineInput};
use crate::domain::money;

/// Everything printed on a quote or invoice. The amounts are not computed
/// here: `totals` must be [`DocumentTotals::compute`] of the lines' inputs,
/// in the same order.
#[derive(Debug, Clone)]
pub struct PrintableDocument {
    /// "Quote", "Invoice".
    pub title: String,
    /// "INV-0042".
    pub number: String,
    pub issue_date: Date,
    /// "Valid until" for a quote, "Due" for an invoice; none if not set.
    pub second_date: Option<LabelledDate>,
    pub seller: Seller,
    pub customer: Customer,
    /// ISO 4217 code, as [`money::parse_currency`] returns it.
    pub currency: String,
    pub lines: Vec<PrintableLine>,
    pub totals: DocumentTotals,
    /// Notes or terms; may hold several lines. Empty: no notes section.
    pub notes: String,
    /// Printed large across every page ("VOID", "PAID"); none for a document
    /// in force.
    pub stamp: Option<String>,
}

/// A date with what it means on this document.
#[derive(Debug, Clone)]
pub struct LabelledDate {
    pub label: String,
    pub date: Date,
}

/// Who issues the document.
#[derive(Debug, Clone)]
pub struct Seller {
    /// The workspace's name.
    pub name: String,
    /// Free text printed under the name: address, tax id, contact.
    pub lines: Vec<String>,
}

/// Who the document is for.
#[derive(Debug, Clone)]
pub struct Customer {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// One line of the table: what is sold and the figures it was computed from.
#[derive(Debug, Clone)]
pub struct PrintableLine {
    /// Wrapped to the column; may hold line breaks.
    pub description: String,
    pub input: LineInput,
}

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error(
        "the document has {lines} lines but its totals have {totals}: compute them from these lines"
    )]
    TotalsDoNotMatchLines { lines: usize, totals: usize },
    #[error("the embedded font {0} could not be read")]
    Font(&'static str),
    #[error("a page or a rule had an impossible size")]
    Geometry,
    #[error("writing the PDF failed: {0}")]
    Write(#[from] krilla::error::KrillaError),
}

/// The document as a PDF file.
pub fn render(document: &PrintableDocument) -> Result<Vec<u8>, PdfError> {
    if document.lines.len() != document.totals.lines.len() {
        return Err(PdfError::TotalsDoNotMatchLines {
            lines: document.lines.len(),
            totals: document.totals.lines.len(),
        });
    }
    let faces = Faces::load()?;
    let pages = lay_out(document, &faces);
    write_pdf(document, &faces, &pages)
}

// A4 in points, and the printable area inside it.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_WIDTH - 50.0;
const TOP: f32 = 50.0;
/// Nothing but the footer goes below this.
const BOTTOM: f32 = PAGE_HEIGHT - 72.0;
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 40.0;
/// Where content starts on a page after the first, under its reminder line.
const CONTINUED_TOP: f32 = TOP + 24.0;
const TABLE_HEADER_HEIGHT: f32 = SMALL_SIZE + 9.0;

const BODY_SIZE: f32 = 9.0;
const BODY_LEADING: f32 = 12.0;
const SMALL_SIZE: f32 = 8.0;
const COLUMN_GAP: f32 = 12.0;
/// A description column narrower than this would wrap into a ribbon.
const MIN_DESCRIPTION_WIDTH: f32 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ink {
    Black,
    Grey,
}

/// One thing to draw on a page; `y` grows downwards from the top edge, and a
/// text's `y` is its baseline.
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        ink: Ink,
        text: String,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
        width: f32,
        ink: Ink,
    },
}

/// A font both for krilla (drawing) and skrifa (measuring).
struct Face {
    font: Font,
    charmap: Charmap<'static>,
    advances: GlyphMetrics<'static>,
    units_per_em: f32,
}

impl Face {
    fn load(data: &'static [u8], name: &'static str) -> Result<Self, PdfError> {
        let font = Font::new(data.into(), 0).ok_or(PdfError::Font(name))?;
        let font_ref = FontRef::new(data).map_err(|_| PdfError::Font(name))?;
        let units_per_em = font_ref
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        if units_per_em == 0 {
            return Err(PdfError::Font(name));
        }
        Ok(Self {
            font,
            charmap: font_ref.charmap(),
            advances: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(units_per_em),
        })
    }

    /// The advance width of `text` at `size` points. Kerning, which krilla
    /// applies when shaping, is left out: it moves a line by well under a
    /// point, and DejaVu's digits, the right-aligned text, are not kerned.
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: f32 = text
            .chars()
            .map(|c| {
                let glyph = self.charmap.map(c).unwrap_or_default();
                self.advances.advance_width(glyph).unwrap_or(0.0)
            })
            .sum();
        units * size / self.units_per_em
    }
}

struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    fn load() -> Result<Self, PdfError> {
        Ok(Self {
            regular: Face::load(dejavu::sans::regular(), "DejaVu Sans")?,
            bold: Face::load(dejavu::sans::bold(), "DejaVu Sans Bold")?,
        })
    }

    fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    fn width(&self, weight: Weight, text: &str, size: f32) -> f32 {
        self.face(weight).width(text, size)
    }

    /// `text` broken into lines no wider than `width`: at spaces where it
    /// can, inside a word too long for a line, and at its own line breaks.
    fn wrap(&self, weight: Weight, text: &str, size: f32, width: f32) -> Vec<String> {
        let face = self.face(weight);
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if face.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the column is cut where it reaches the edge.
                for c in word.chars() {
                    line.push(c);
                    if face.width(&line, size) > width && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::replace(&mut line, c.to_string()));
                    }
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }
}

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

fn lay_out(document: &PrintableDocument, faces: &Faces) -> Vec<Vec<Op>> {
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

fn fill(ink: Ink) -> Fill {
    let colour = match ink {
        Ink::Black => rgb::Color::black(),
        Ink::Grey => rgb::Color::new(96, 96, 96),
    };
    Fill {
        paint: colour.into(),
        ..Fill::default()
    }
}

fn write_pdf(
    document: &PrintableDocument,
    faces: &Faces,
    pages: &[Vec<Op>],
) -> Result<Vec<u8>, PdfError> {
    let mut pdf = Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(format!("{} {}", document.title, document.number))
            .authors(vec![document.seller.name.clone()])
            .creator("wacrm".to_owned()),
    );
    for ops in pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or(PdfError::Geometry)?;
        let mut page = pdf.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, faces, op)?;
        }
        if let Some(stamp) = &document.stamp {
            draw_stamp(&mut surface, faces, stamp)?;
        }
        surface.finish();
        page.finish();
    }
    Ok(pdf.finish()?)
}

fn draw(surface: &mut Surface, faces: &Faces, op: &Op) -> Result<(), PdfError> {
    match op {
        Op::Text {
            x,
            y,
            size,
            weight,
            ink,
            text,
        } => {
            surface.set_fill(Some(fill(*ink)));
            surface.draw_text(
                Point::from_xy(*x, *y),
                faces.face(*weight).font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Rule {
            x1,
            x2,
            y,
            width,
            ink,
        } => {
            let mut builder = PathBuilder::new();
            builder.move_to(*x1, *y);
            builder.line_to(*x2, *y);
            let path = builder.finish().ok_or(PdfError::Geometry)?;
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                paint: fill(*ink).paint,
                width: *width,
                ..Stroke::default()
            }));
            surface.draw_path(&path);
            surface.set_stroke(None);
        }
    }
    Ok(())
}

/// The stamp in translucent red, diagonally across the middle of the page,
/// over the content so that it cannot be hidden by it.
fn draw_stamp(surface: &mut Surface, faces: &Faces, stamp: &str) -> Result<(), PdfError> {
    let text = stamp.trim();
    if text.is_empty() {
        return Ok(());
    }
    let natural_width = faces.width(Weight::Bold, text, 100.0);
    // 100 pt letters, smaller if the word would not fit across the page.
    let size = if natural_width > 420.0 {
        100.0 * 420.0 / natural_width
    } else {
        100.0
    };
    let width = natural_width * size / 100.0;
    let (centre_x, centre_y) = (PAGE_WIDTH / 2.0, PAGE_HEIGHT / 2.0);
    let opacity = NormalizedF32::new(0.25).ok_or(PdfError::Geometry)?;
    surface.push_transform(&Transform::from_rotate_at(-35.0, centre_x, centre_y));
    surface.set_fill(Some(Fill {
        paint: rgb::Color::new(200, 0, 0).into(),
        opacity,
        ..Fill::default()
    }));
    surface.draw_text(
        Point::from_xy(centre_x - width / 2.0, centre_y + size * 0.36),
        faces.bold.font.clone(),
        size,
        text,
        false,
        TextDirection::Auto,
    );
    surface.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::Document as ParsedPdf;
    use rust_decimal::Decimal;
    use time::macros::date;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn line(
        description: &str,
        quantity: &str,
        price: &str,
        discount: &str,
        tax: &str,
    ) -> PrintableLine {
        PrintableLine {
            description: description.to_owned(),
            input: LineInput::new(d(quantity), d(price), d(discount), d(tax)).unwrap(),
        }
    }

    fn invoice(lines: Vec<PrintableLine>) -> PrintableDocument {
        let inputs: Vec<LineInput> = lines.iter().map(|l| l.input.clone()).collect();
        PrintableDocument {
            title: "Invoice".to_owned(),
            number: "INV-0042".to_owned(),
            issue_date: date!(2026 - 11 - 27),
            second_date: Some(LabelledDate {
                label: "Due".to_owned(),
                date: date!(2026 - 12 - 27),
            }),
            seller: Seller {
                name: "Padaria Ação Ltda".to_owned(),
                lines: vec![
                    "Rua das Flores, 123".to_owned(),
                    "São Paulo – SP".to_owned(),
                    "CNPJ 12.345.678/0001-90".to_owned(),
                ],
            },
            customer: Customer {
                name: "Conceição Araújo".to_owned(),
                phone: Some("+55 11 91234-5678".to_owned()),
                email: Some("conceicao@example.com".to_owned()),
            },
            currency: "BRL".to_owned(),
            totals: DocumentTotals::compute(&inputs).unwrap(),
            lines,
            notes: "Pagamento por PIX ou boleto.\nObrigado pela preferência!\n\nPrices in € on request."
                .to_owned(),
            stamp: None,
        }
    }

    fn short_invoice() -> PrintableDocument {
        invoice(vec![
            line(
                "Consultoria — implantação do CRM",
                "3",
                "1250",
                "10",
                "12.5",
            ),
            line(
                "Pão de queijo (dúzia), entrega em São Paulo",
                "2",
                "19.99",
                "0",
                "12.5",
            ),
            line("Licença anual", "1", "0.335", "0", "0"),
        ])
    }

    fn long_invoice(count: usize) -> PrintableDocument {
        let lines = (1..=count)
            .map(|n| {
                let description = if n % 7 == 0 {
                    format!(
                        "Item {n}: a long description that must wrap over several lines of the \
                         description column, with accents (ação, coração, pão) and a price in €"
                    )
                } else {
                    format!("Item {n}: café especial")
                };
                line(
                    &description,
                    "1.5",
                    "19.99",
                    if n % 3 == 0 { "5" } else { "0" },
                    "10",
                )
            })
            .collect();
        invoice(lines)
    }

    /// Text of every page, with the page count.
    fn read_back(pdf: &[u8]) -> (usize, String) {
        assert!(pdf.starts_with(b"%PDF-"));
        let parsed = ParsedPdf::load_mem(pdf).unwrap();
        let pages: Vec<u32> = parsed.get_pages().keys().copied().collect();
        let text = parsed.extract_text(&pages).unwrap();
        (pages.len(), text)
    }

    #[test]
    fn a_short_invoice_is_one_page_with_its_number_customer_and_total() {
        let document = short_invoice();
        let (pages, text) = read_back(&render(&document).unwrap());
        assert_eq!(pages, 1);
        // 3375.00 + 421.88 (12.5 % of 3375 = 421.875, rounded up), 39.98 + 5.00
        // (4.9975), and 0.34 (0.335 rounded half up).
        assert_eq!(document.totals.total.to_string(), "3842.20");
        for expected in [
            "INV-0042",
            "Conceição Araújo",
            "implantação",
            "São Paulo",
            "BRL 3,842.20",
            "Page 1 of 1",
            "Due",
            "2026-12-27",
            "€",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(!text.contains("VOID"));
    }

    #[test]
    fn eighty_lines_run_over_several_numbered_pages_with_the_header_repeated() {
        let document = long_invoice(80);
        let (pages, text) = read_back(&render(&document).unwrap());
        assert!(pages > 1, "{pages} page(s)");
        assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
        assert!(text.contains("Item 80: café especial"));
        assert_eq!(
            text.matches("Unit price").count(),
            pages,
            "one table header per page"
        );
        assert!(text.contains(&money::shown(document.totals.total, "BRL")));
    }

    #[test]
    fn a_void_stamp_is_printed_on_every_page() {
        let mut document = long_invoice(80);
        document.stamp = Some("VOID".to_owned());
        let (pages, text) = read_back(&render(&document).unwrap());
        assert!(pages > 1);
        assert_eq!(text.matches("VOID").count(), pages);
    }

    #[test]
    fn nothing_is_lost_at_a_page_break() {
        let document = long_invoice(200);
        let (_, text) = read_back(&render(&document).unwrap());
        for n in (1..=200).filter(|n| n % 7 != 0) {
            assert!(
                text.contains(&format!("Item {n}: café especial")),
                "item {n}"
            );
        }
        assert!(text.contains("Obrigado pela preferência!"));
    }

    #[test]
    fn long_words_and_long_descriptions_wrap_within_the_column() {
        let faces = Faces::load().unwrap();
        let text = "Ação ".repeat(40) + &"x".repeat(300);
        let lines = faces.wrap(Weight::Regular, &text, BODY_SIZE, 150.0);
        assert!(lines.len() > 5);
        for wrapped in &lines {
            assert!(
                faces.width(Weight::Regular, wrapped, BODY_SIZE) <= 150.0,
                "{wrapped}"
            );
        }
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        assert_eq!(
            faces.wrap(Weight::Regular, "a\n\nb", BODY_SIZE, 150.0),
            ["a", "", "b"]
        );
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_rather_than_lost() {
        let description = (1..=120)
            .map(|n| format!("part {n}"))
            .collect::<Vec<_>>()
            .join("\n");
        let document = invoice(vec![line(&description, "1", "10", "0", "0")]);
        let (pages, text) = read_back(&render(&document).unwrap());
        assert!(pages > 1);
        assert!(text.contains("part 120"));
    }

    #[test]
    fn measured_widths_grow_with_text_and_size() {
        let faces = Faces::load().unwrap();
        let narrow = faces.width(Weight::Regular, "1", 10.0);
        assert!(narrow > 4.0 && narrow < 8.0, "{narrow}");
        assert!(faces.width(Weight::Regular, "11", 10.0) > 1.9 * narrow);
        assert!(faces.width(Weight::Regular, "1", 20.0) > 1.9 * narrow);
        assert!(
            faces.width(Weight::Bold, "Total", 10.0) > faces.width(Weight::Regular, "Total", 10.0)
        );
    }

    #[test]
    fn no_lines_still_renders_zero_totals() {
        let document = invoice(Vec::new());
        let (pages, text) = read_back(&render(&document).unwrap());
        assert_eq!(pages, 1);
        assert!(text.contains("BRL 0.00"));
    }

    #[test]
    fn totals_from_other_lines_are_refused() {
        let mut document = short_invoice();
        document.lines.pop();
        let refused = render(&document).unwrap_err();
        assert!(matches!(
            refused,
            PdfError::TotalsDoNotMatchLines {
                lines: 2,
                totals: 3
            }
        ));
    }
}
