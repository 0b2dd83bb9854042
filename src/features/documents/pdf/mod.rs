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

use time::Date;

use crate::domain::document_totals::{DocumentTotals, LineInput};

mod layout;
mod measure;
mod write;

use layout::lay_out;
use measure::Faces;
use write::write_pdf;

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

#[cfg(test)]
mod tests {
    use super::measure::Faces;
    use super::*;
    use crate::domain::money;
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
