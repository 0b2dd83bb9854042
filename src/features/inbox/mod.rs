//! The inbox's two paths, shared by every channel: a message arriving
//! ([`ingest`]) and a reply leaving ([`outbound`]). A channel kind only
//! delivers into the first and carries out the second.

pub mod attachment;
pub mod delivery;
pub mod ingest;
pub mod outbound;
pub mod read_receipts;
pub mod scheduled;
pub mod snooze;
pub mod start;
