//! A file a member attaches to a reply: what kind of WhatsApp message it
//! becomes, by its content (never by its name alone), within WhatsApp's
//! size limits per kind.

use crate::domain::MessageKind;
// Document types WhatsApp delivers that have no signature to recognise them
// by (PDF is recognised by its content).
use crate::domain::media::CLAIMABLE as DOCUMENT_TYPES;

pub const MB: usize = 1024 * 1024;

/// The largest file of any kind (documents): what an upload may carry.
pub const MAX_BYTES: usize = 100 * MB;

/// WhatsApp's rules for a caption of this kind of file, as the reason it
/// breaks one.
pub fn check_caption(kind: MessageKind, caption: &str) -> Result<(), String> {
    if caption.chars().count() > 1024 {
        return Err("The caption is too long (1024 characters at most).".into());
    }
    if kind == MessageKind::Audio && !caption.is_empty() {
        return Err(
            "WhatsApp sends audio without a caption: send the text as its own message.".into(),
        );
    }
    Ok(())
}

/// What an attached file is sent as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub kind: MessageKind,
    pub mime_type: String,
}

/// Classifies a file by its first bytes, falling back to the type the
/// browser declared for documents; the error says why it cannot be sent.
pub fn classify(declared: Option<&str>, head: &[u8], size: u64) -> Result<Attachment, String> {
    if size == 0 {
        return Err("The file is empty.".into());
    }
    let sniffed = sniff(head);
    let (kind, mime_type) = match sniffed {
        Some(found) => found,
        None => {
            let declared = declared
                .map(|t| {
                    t.split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase()
                })
                .unwrap_or_default();
            match DOCUMENT_TYPES.iter().find(|t| **t == declared) {
                Some(t) => (MessageKind::Document, *t),
                None => {
                    return Err(
                        "WhatsApp does not take this kind of file: send a JPEG or PNG image, an \
                         MP4 video, an audio file (AAC, AMR, MP3, M4A, OGG), or a PDF, text or \
                         Office document."
                            .into(),
                    );
                }
            }
        }
    };
    let limit = match kind {
        MessageKind::Image => 5 * MB,
        MessageKind::Video | MessageKind::Audio => 16 * MB,
        _ => MAX_BYTES,
    };
    if size > limit as u64 {
        return Err(format!(
            "The file is too large: WhatsApp takes {} of {} MB at most.",
            kind_words(kind),
            limit / MB
        ));
    }
    Ok(Attachment {
        kind,
        mime_type: mime_type.to_owned(),
    })
}

/// The kind of message a stored file of this type is sent as.
pub fn kind_of(mime_type: &str) -> MessageKind {
    match mime_type {
        "image/jpeg" | "image/png" => MessageKind::Image,
        t if t.starts_with("video/") => MessageKind::Video,
        t if t.starts_with("audio/") => MessageKind::Audio,
        _ => MessageKind::Document,
    }
}

fn kind_words(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Image => "images",
        MessageKind::Video => "videos",
        MessageKind::Audio => "audio files",
        _ => "documents",
    }
}

/// The kinds WhatsApp shows inline, recognised by their signatures.
fn sniff(bytes: &[u8]) -> Option<(MessageKind, &'static str)> {
    let starts = |prefix: &[u8]| bytes.starts_with(prefix);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some((MessageKind::Image, "image/jpeg"));
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some((MessageKind::Image, "image/png"));
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return Some(match bytes.get(8..11) {
            Some(b"3gp") => (MessageKind::Video, "video/3gpp"),
            Some(b"M4A") => (MessageKind::Audio, "audio/mp4"),
            _ => (MessageKind::Video, "video/mp4"),
        });
    }
    if starts(b"OggS") {
        return Some((MessageKind::Audio, "audio/ogg"));
    }
    if starts(b"#!AMR") {
        return Some((MessageKind::Audio, "audio/amr"));
    }
    if starts(b"ID3") {
        return Some((MessageKind::Audio, "audio/mpeg"));
    }
    if let [0xFF, second, ..] = bytes {
        // ADTS (AAC) frames, then MPEG audio frames.
        if second & 0xF6 == 0xF0 {
            return Some((MessageKind::Audio, "audio/aac"));
        }
        if second & 0xE0 == 0xE0 {
            return Some((MessageKind::Audio, "audio/mpeg"));
        }
    }
    if starts(b"%PDF-") {
        return Some((MessageKind::Document, "application/pdf"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(declared: Option<&str>, bytes: &[u8]) -> Result<Attachment, String> {
        super::classify(declared, bytes, bytes.len() as u64)
    }

    #[test]
    fn files_are_classified_by_content_within_whatsapps_limits() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
        assert_eq!(
            classify(Some("application/pdf"), &jpeg),
            Ok(Attachment {
                kind: MessageKind::Image,
                mime_type: "image/jpeg".into()
            }),
            "the content wins over the declared type"
        );
        let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0";
        assert_eq!(classify(None, mp4).map(|a| a.kind), Ok(MessageKind::Video));
        let m4a = b"\0\0\0\x18ftypM4A \0\0\0\0";
        assert_eq!(
            classify(None, m4a).map(|a| a.mime_type),
            Ok("audio/mp4".into())
        );
        assert_eq!(
            classify(None, b"OggS\0\x02").map(|a| a.kind),
            Ok(MessageKind::Audio)
        );
        assert_eq!(
            classify(None, b"%PDF-1.7\n").map(|a| a.kind),
            Ok(MessageKind::Document)
        );
        assert_eq!(
            classify(Some("text/plain; charset=utf-8"), b"hello").map(|a| a.mime_type),
            Ok("text/plain".into())
        );
        assert!(classify(Some("application/x-msdownload"), b"MZ\x90\0").is_err());
        assert!(classify(None, b"").is_err());
        let mut big_png = b"\x89PNG\r\n\x1a\n".to_vec();
        big_png.resize(5 * MB + 1, 0);
        let refused = classify(None, &big_png).unwrap_err();
        assert!(refused.contains("5 MB"), "{refused}");
    }
}
