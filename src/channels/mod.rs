//! The WhatsApp channels, each from its wire format to the shared inbox:
//! Meta's Cloud API ([`cloud_api`]), a linked phone run in-process
//! ([`whatsapp_web`]) and a WAHA server ([`waha`]).

pub mod cloud_api;
pub mod media;
pub mod outbound;
pub mod send_slot;
pub mod waha;
pub mod whatsapp_web;
