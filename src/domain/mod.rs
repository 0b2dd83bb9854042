//! Values with rules, parsed once at the edge.

#[macro_use]
mod text_enum;

pub mod attributes;
mod booking;
pub mod campaign_state;
pub mod canned;
pub mod cart;
mod channel;
pub mod contact;
mod conversation_state;
pub mod csv_cell;
pub mod csv_file;
pub mod document_totals;
mod email;
mod export_state;
pub mod highlight;
pub mod hours;
mod import;
pub mod local_time;
pub mod media;
pub mod mention;
mod message;
pub mod money;
mod password;
mod phone;
mod plan;
pub mod retention;
mod role;
mod sales_state;
mod scheduled_state;
pub mod slots;
mod task;
pub mod tax;
pub mod text;
mod token_purpose;
pub mod transcript;

pub use attributes::{AttributeDef, AttributeEntity, AttributeKind};
pub use booking::BookingStatus;
pub use channel::ChannelKind;
pub use conversation_state::{ConversationStatus, Priority};
pub use email::EmailAddress;
pub use export_state::ExportState;
pub use import::{ImportStatus, OnDuplicate};
pub use message::{DeliveryStatus, Direction, MessageKind, SenderKind};
pub use password::NewPassword;
pub use phone::{Country, PhoneE164};
pub use plan::{Counted, Limits, OverLimit, Plan, Prices};
pub use retention::RetentionDays;
pub use role::Role;
pub use sales_state::{DocumentKind, DocumentState, OrderSource, OrderStatus};
pub use scheduled_state::ScheduledState;
pub use task::TaskKind;
pub use token_purpose::TokenPurpose;
