//! The WhatsApp Cloud API channel: Meta's webhook deliveries in
//! ([`webhook`], checked by [`signature`]), and the Graph API out
//! ([`graph`]). Everything past the wire format goes through the shared
//! inbox paths (`crate::inbox`).

pub mod graph;
pub mod signature;
pub mod webhook;
