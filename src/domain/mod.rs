//! Values with rules, parsed once at the edge.

pub mod attributes;
pub mod campaign_state;
pub mod canned;
pub mod cart;
pub mod contact;
pub mod csv_cell;
pub mod document_totals;
mod email;
pub mod highlight;
pub mod hours;
pub mod local_time;
pub mod media;
pub mod mention;
mod message;
pub mod money;
mod password;
mod phone;
pub mod retention;
mod role;
pub mod slots;
pub mod tax;
pub mod text;

pub use attributes::{AttributeDef, AttributeKind};
pub use email::EmailAddress;
pub use message::{DeliveryStatus, MessageKind};
pub use password::NewPassword;
pub use phone::{Country, PhoneE164};
pub use retention::RetentionDays;
pub use role::Role;
