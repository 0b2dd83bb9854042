//! WhatsApp Web (linked device) channels: the session runs inside wacrm,
//! through the `whatsapp-rust` implementation of the multi-device protocol,
//! behind [`link`]'s interface. Unofficial: WhatsApp may change the
//! protocol at any time, and automated or bulk sending can get a number
//! banned, so these channels send slowly (`WHATSAPP_WEB_SEND_RATE`).

pub mod client;
pub mod events;
pub mod history;
pub mod link;
pub mod media;
mod message_content;
pub mod running;
pub mod sender;
pub mod store;
pub mod supervisor;
