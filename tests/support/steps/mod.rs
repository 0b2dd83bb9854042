//! What a person does through the app that several test files need as a
//! first step: a team, a customer writing in, a contact, a label, an import.
//! Steps with generic names (`campaigns::create`) are used through their
//! module.

mod api;
mod attributes;
mod billing;
mod bookings;
pub mod campaigns;
mod contacts;
pub mod exports;
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
