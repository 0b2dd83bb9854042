//! What a message of the protocol library says, as wacrm stores it: its
//! kind, text and the message it quotes or reacts to, and where its file
//! waits on WhatsApp's servers. Shared by live messages
//! ([`super::client`]) and the phone's history ([`super::history`]).

use base64::Engine;
use whatsapp_rust::prelude::*;

use super::link::{MEDIA_REF_KEY, WebMediaRef};
use crate::domain::MessageKind;

/// A received file's direct path, key, digests and length, as the
/// protocol message holds them.
type CdnFields<'a> = (
    Option<&'a String>,
    Option<&'a Vec<u8>>,
    Option<&'a Vec<u8>>,
    Option<&'a Vec<u8>>,
    Option<u64>,
);

/// Where a received file waits, with its type and name for wacrm.
fn media_ref(
    media_type: &str,
    fields: CdnFields<'_>,
    mime_type: Option<&String>,
    filename: Option<&String>,
) -> Option<serde_json::Value> {
    let (direct_path, media_key, file_sha256, file_enc_sha256, file_length) = fields;
    let encode = |bytes: &Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let reference = WebMediaRef {
        media_type: media_type.to_owned(),
        direct_path: direct_path?.clone(),
        media_key: encode(media_key?),
        file_sha256: encode(file_sha256?),
        file_enc_sha256: encode(file_enc_sha256?),
        file_length: file_length.unwrap_or_default(),
    };
    let mut media = serde_json::json!({
        "mime_type": mime_type.cloned().unwrap_or_else(|| "application/octet-stream".to_owned()),
        "filename": filename.cloned().unwrap_or_default(),
    });
    media[MEDIA_REF_KEY] = serde_json::to_value(reference).ok()?;
    Some(media)
}

/// A received file message's media, if it has one.
pub(super) fn received_media(message: &wa::Message) -> Option<serde_json::Value> {
    macro_rules! fields {
        ($m:expr) => {
            (
                $m.direct_path.as_ref(),
                $m.media_key.as_ref(),
                $m.file_sha256.as_ref(),
                $m.file_enc_sha256.as_ref(),
                $m.file_length,
            )
        };
    }
    if let Some(m) = message.image_message.as_option() {
        return media_ref("image", fields!(m), m.mimetype.as_ref(), None);
    }
    if let Some(m) = message.video_message.as_option() {
        return media_ref("video", fields!(m), m.mimetype.as_ref(), None);
    }
    if let Some(m) = message.audio_message.as_option() {
        return media_ref("audio", fields!(m), m.mimetype.as_ref(), None);
    }
    if let Some(m) = message.document_message.as_option() {
        return media_ref(
            "document",
            fields!(m),
            m.mimetype.as_ref(),
            m.file_name.as_ref(),
        );
    }
    if let Some(m) = message.sticker_message.as_option() {
        return media_ref("sticker", fields!(m), m.mimetype.as_ref(), None);
    }
    None
}

/// Kind, text and quoted/reacted-to id of a message.
pub(super) fn content(message: &wa::Message) -> (MessageKind, String, Option<String>) {
    let quoted = |context: Option<&wa::ContextInfo>| context.and_then(|c| c.stanza_id.clone());
    if let Some(text) = message.conversation.as_deref() {
        return (MessageKind::Text, text.to_owned(), None);
    }
    if let Some(text) = message.extended_text_message.as_option() {
        return (
            MessageKind::Text,
            text.text.clone().unwrap_or_default(),
            quoted(text.context_info.as_option()),
        );
    }
    if let Some(image) = message.image_message.as_option() {
        return (
            MessageKind::Image,
            image.caption.clone().unwrap_or_default(),
            quoted(image.context_info.as_option()),
        );
    }
    if let Some(video) = message.video_message.as_option() {
        return (
            MessageKind::Video,
            video.caption.clone().unwrap_or_default(),
            quoted(video.context_info.as_option()),
        );
    }
    if let Some(audio) = message.audio_message.as_option() {
        return (
            MessageKind::Audio,
            String::new(),
            quoted(audio.context_info.as_option()),
        );
    }
    if let Some(document) = message.document_message.as_option() {
        let body = document
            .caption
            .clone()
            .or_else(|| document.file_name.clone())
            .unwrap_or_default();
        return (
            MessageKind::Document,
            body,
            quoted(document.context_info.as_option()),
        );
    }
    if message.sticker_message.is_set() {
        return (MessageKind::Sticker, String::new(), None);
    }
    if let Some(location) = message.location_message.as_option() {
        let place = [location.name.clone(), location.address.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        return (MessageKind::Location, place, None);
    }
    if let Some(contact) = message.contact_message.as_option() {
        return (
            MessageKind::Contacts,
            contact.display_name.clone().unwrap_or_default(),
            None,
        );
    }
    if let Some(reaction) = message.reaction_message.as_option() {
        return (
            MessageKind::Reaction,
            reaction.text.clone().unwrap_or_default(),
            reaction.key.as_option().and_then(|k| k.id.clone()),
        );
    }
    (MessageKind::Unknown, String::new(), None)
}
