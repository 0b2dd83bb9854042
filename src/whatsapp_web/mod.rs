//! WhatsApp Web (linked device) channels: the session runs inside wacrm,
//! through the `whatsapp-rust` implementation of the multi-device protocol.

pub mod store;
