//! What a person does through the app that several test files need as a
//! first step: a team, a customer writing in, a contact, a label, an import.

mod api;
mod attributes;
mod billing;
mod bookings;
mod contacts;
mod import;
mod inbox;
mod labels;
mod reports;
mod team;
mod two_factor;

pub use api::*;
pub use attributes::*;
pub use billing::*;
pub use bookings::*;
pub use contacts::*;
pub use import::*;
pub use inbox::*;
pub use labels::*;
pub use reports::*;
pub use team::*;
pub use two_factor::*;
