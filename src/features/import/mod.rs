//! CSV import of contacts: reading the upload, mapping its columns to
//! contact fields, and the background job that applies it in batches.

pub mod csv_file;
pub mod mapping;
pub mod run;
