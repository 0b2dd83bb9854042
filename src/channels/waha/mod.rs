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
pub mod groups;
pub mod lids;
pub mod media;
pub mod network;
pub mod sender;
pub mod signature;
pub mod webhook;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long WhatsApp keeps a pairing code valid.
pub const PAIR_CODE_VALID: std::time::Duration = std::time::Duration::from_secs(180);

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
/// numbers (`@lid`, see [`chat_lid`]).
pub fn chat_phone(chat_id: &str) -> Option<&str> {
    let (user, server) = chat_id.split_once('@')?;
    let user = user.split(':').next()?;
    let ok = matches!(server, "c.us" | "s.whatsapp.net")
        && (6..=15).contains(&user.len())
        && user.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(user)
}

/// The LID (digits) of a one-to-one chat addressed by the customer's
/// WhatsApp LID (`<digits>@lid`, a person whose number is hidden; a
/// device suffix `:N` is dropped); `None` for any other address.
/// [S: devlikeapro/waha-docs content/docs/how-to/contacts/index.md
/// "@lid and @c.us"]
pub fn chat_lid(chat_id: &str) -> Option<&str> {
    let (user, server) = chat_id.split_once('@')?;
    let user = user.split(':').next()?;
    let ok = server == "lid"
        && (1..=30).contains(&user.len())
        && user.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(user)
}

/// A one-to-one chat's customer: their number's digits, or their LID's
/// when WAHA names the chat by LID; `None` for groups and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer<'a> {
    Phone(&'a str),
    Lid(&'a str),
}

impl<'a> Peer<'a> {
    pub fn of(chat_id: &'a str) -> Option<Peer<'a>> {
        chat_phone(chat_id)
            .map(Peer::Phone)
            .or_else(|| chat_lid(chat_id).map(Peer::Lid))
    }
}

/// A time in unix seconds as WAHA gives it: an integer, or a float (NOWEB
/// and GOWS give reactions' times with a fraction, `1733400000.123`), or
/// digits in a string; `None` for anything else, which leaves the event
/// undated rather than dropping it.
pub fn unix_seconds(value: &Value) -> Option<OffsetDateTime> {
    let seconds = match value {
        Value::Number(n) => n.as_i64().or_else(|| finite(n.as_f64()?))?,
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| finite(s.trim().parse().ok()?))?,
        _ => return None,
    };
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

/// A time in unix milliseconds (a webhook envelope's `timestamp`): an
/// integer or a float; not text (see the webhook route on replays).
pub fn unix_millis(value: &Value) -> Option<OffsetDateTime> {
    let Value::Number(n) = value else {
        return None;
    };
    let ms = n.as_i64().or_else(|| finite(n.as_f64()?))?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// A float's whole part, if it is a number in range.
#[allow(clippy::cast_possible_truncation)]
fn finite(f: f64) -> Option<i64> {
    // The bounds keep the cast exact (no saturation to i64::MAX).
    (f.is_finite() && f.abs() < 1e17).then_some(f.trunc() as i64)
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
    fn times_may_be_integers_floats_or_digits() {
        use serde_json::json;
        let at = |v: Value| unix_seconds(&v).map(OffsetDateTime::unix_timestamp);
        assert_eq!(at(json!(1_733_400_000)), Some(1_733_400_000));
        assert_eq!(at(json!(1_733_400_000.123)), Some(1_733_400_000));
        assert_eq!(at(json!("1733400000")), Some(1_733_400_000));
        assert_eq!(at(json!("1733400000.5")), Some(1_733_400_000));
        assert_eq!(at(json!("now")), None);
        assert_eq!(at(json!(null)), None);
        assert_eq!(at(json!(f64::MAX)), None);
        let ms = |v: Value| unix_millis(&v).map(OffsetDateTime::unix_timestamp);
        assert_eq!(ms(json!(1_733_400_000_123_i64)), Some(1_733_400_000));
        assert_eq!(ms(json!(1_733_400_000_123.5)), Some(1_733_400_000));
        assert_eq!(ms(json!("1733400000123")), None);
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

    #[test]
    fn hidden_numbers_are_named_by_their_lid() {
        assert_eq!(chat_lid("100000012345678@lid"), Some("100000012345678"));
        assert_eq!(chat_lid("100000012345678:12@lid"), Some("100000012345678"));
        assert_eq!(chat_lid("16505550100@c.us"), None);
        assert_eq!(chat_lid("abc@lid"), None);
        assert_eq!(chat_lid("@lid"), None);
        assert_eq!(
            Peer::of("100000012345678@lid"),
            Some(Peer::Lid("100000012345678"))
        );
        assert_eq!(
            Peer::of("16505550100@c.us"),
            Some(Peer::Phone("16505550100"))
        );
        assert_eq!(Peer::of("120363@g.us"), None);
    }
}
