//! Linked phones whose session runs on the operator's own WAHA server
//! (devlikeapro/waha) instead of inside wacrm: set up and steered over its
//! HTTP API, heard through its HMAC-signed webhooks. Its events become the
//! same [`crate::channels::whatsapp_web::link::SessionEvent`]s as a session run
//! here, so the inbox, receipts and status page are shared.
//!
//! Message ids are kept bare (`3EB0…`, without WAHA's
//! `true_<chat>_` prefix): quotes and revokes name messages that way, and
//! so do sessions run inside wacrm.

pub mod client;
pub mod media;
pub mod network;
pub mod sender;
pub mod signature;
pub mod webhook;

use uuid::Uuid;

/// Sealing purposes of a bridge's keys.
pub const API_KEY_PURPOSE: &str = "waha-api-key";
pub const WEBHOOK_KEY_PURPOSE: &str = "waha-webhook-key";

/// A message id without WAHA's `<fromMe>_<chat>_` prefix.
pub fn bare_id(id: &str) -> &str {
    match id.split('_').collect::<Vec<_>>().as_slice() {
        [from_me, _chat, bare, ..] if matches!(*from_me, "true" | "false") => bare,
        _ => id,
    }
}

/// The digits of a one-to-one chat's address (`<digits>@c.us` or
/// `@s.whatsapp.net`); `None` for groups, broadcasts, channels and hidden
/// numbers (`@lid`), which are left out.
pub fn chat_phone(chat_id: &str) -> Option<&str> {
    let (user, server) = chat_id.split_once('@')?;
    let user = user.split(':').next()?;
    let ok = matches!(server, "c.us" | "s.whatsapp.net")
        && (6..=15).contains(&user.len())
        && user.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(user)
}

/// The path WAHA posts a channel's events to.
pub fn webhook_path(channel_id: Uuid) -> String {
    format!("/webhooks/waha/{channel_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_bare() {
        assert_eq!(bare_id("true_16505550100@c.us_3EB0ABC"), "3EB0ABC");
        assert_eq!(bare_id("false_16505550100@c.us_AAAA"), "AAAA");
        assert_eq!(bare_id("AAAA"), "AAAA");
        assert_eq!(bare_id("false_1203@g.us_AAAA_16505550100@c.us"), "AAAA");
    }

    #[test]
    fn only_one_to_one_chats_have_a_phone() {
        assert_eq!(chat_phone("16505550100@c.us"), Some("16505550100"));
        assert_eq!(
            chat_phone("16505550100@s.whatsapp.net"),
            Some("16505550100")
        );
        assert_eq!(chat_phone("120363@g.us"), None);
        assert_eq!(chat_phone("status@broadcast"), None);
        assert_eq!(chat_phone("12345678901234@lid"), None);
        assert_eq!(chat_phone("nonsense"), None);
    }
}
