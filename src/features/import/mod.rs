//! CSV import of contacts: mapping the upload's columns to contact fields
//! and the background job that applies it in batches (the upload itself is
//! read by `domain::csv_file`).

pub mod mapping;
pub mod run;
