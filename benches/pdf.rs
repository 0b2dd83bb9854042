//! PDF benchmark: how long a quote or invoice takes to render, and how large
//! the file is. For 1, 10, 200 and 1,000 lines (every seventh description
//! long enough to wrap, Portuguese accents throughout) it prints the pages,
//! the time per document (median of several runs, after one warm-up) and
//! the size of the PDF.
//!
//! `cargo bench --bench pdf` (release build; no database, a few seconds).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use time::macros::date;
use wacrm::domain::document_totals::{DocumentTotals, LineInput};
use wacrm::features::documents::{
    Customer, LabelledDate, PrintableDocument, PrintableLine, Seller, render,
};

fn document(lines: usize) -> PrintableDocument {
    let printable: Vec<PrintableLine> = (1..=lines)
        .map(|n| {
            let description = if n % 7 == 0 {
                format!(
                    "Item {n}: serviço de manutenção preventiva com deslocamento até São Paulo, \
                     peças e mão de obra incluídas; garantia de 90 dias"
                )
            } else {
                format!("Item {n}: pão de queijo (dúzia)")
            };
            let input = LineInput::new(
                Decimal::from(n as u64 % 5 + 1),
                Decimal::new(1999 + n as i64, 2),
                Decimal::from(n as u64 % 3 * 5),
                Decimal::new(125, 1),
            )
            .unwrap();
            PrintableLine { description, input }
        })
        .collect();
    let inputs: Vec<LineInput> = printable.iter().map(|l| l.input.clone()).collect();
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
            ],
        },
        customer: Customer {
            name: "Conceição Araújo".to_owned(),
            phone: Some("+55 11 91234-5678".to_owned()),
            email: None,
        },
        currency: "BRL".to_owned(),
        totals: DocumentTotals::compute(&inputs).unwrap(),
        lines: printable,
        notes: "Pagamento por PIX ou boleto.\nObrigado pela preferência!".to_owned(),
        stamp: None,
    }
}

fn main() {
    println!("lines  pages  ms/document  PDF size");
    for lines in [1, 10, 200, 1_000] {
        let document = document(lines);
        let pdf = render(&document).unwrap();
        let runs = if lines >= 1_000 { 5 } else { 21 };
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let started = Instant::now();
                let pdf = render(&document).unwrap();
                let elapsed = started.elapsed();
                assert!(!pdf.is_empty());
                elapsed
            })
            .collect();
        times.sort();
        let pages = lopdf::Document::load_mem(&pdf).unwrap().get_pages().len();
        println!(
            "{lines:>5}  {pages:>5}  {:>11.1}  {:>6.1} KB",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            pdf.len() as f64 / 1024.0
        );
    }
}
