//! Quotes and invoices as documents a customer receives. Database-free: the
//! caller loads a document, computes its amounts with
//! [`crate::domain::document_totals`] and hands both to [`pdf::render`].

pub mod figures;
pub mod pdf;

pub use pdf::{Customer, LabelledDate, PdfError, PrintableDocument, PrintableLine, Seller, render};
