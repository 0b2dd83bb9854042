//! What a file is, decided from its bytes (its magic number), never from
//! what the sender claimed: a customer chooses the claimed type, so it is
//! only a hint for types without a signature (plain text). Only an exact
//! list of types browsers cannot execute is ever shown inline.

/// The first bytes kept to decide a file's type.
pub const HEAD_BYTES: usize = 8 * 1024;

/// Types shown in the page (pictures, sound, video): browsers decode them,
/// they never run them.
const INLINE: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "audio/mpeg",
    "audio/ogg",
    "audio/mp4",
    "audio/aac",
    "audio/amr",
    "audio/wav",
    "video/mp4",
    "video/3gpp",
    "video/webm",
    "video/quicktime",
];

/// Types without a signature that a claim may name (all downloaded): the
/// documents WhatsApp delivers besides PDF.
pub const CLAIMABLE: &[&str] = &[
    "text/plain",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

/// What anything else is stored and served as.
pub const OPAQUE: &str = "application/octet-stream";

/// Markup that has no business in the first bytes of a picture or a
/// recording: a file starting like an image but carrying a page is
/// downloaded, not shown.
const MARKUP: &[&[u8]] = &[
    b"<html",
    b"<!doctype",
    b"<script",
    b"<svg",
    b"<body",
    b"<iframe",
    b"<?xml",
];

/// The type to store for a file that starts with `head`; `claimed` (what
/// the sender said) counts only for signature-less document types.
pub fn detect(head: &[u8], claimed: Option<&str>) -> String {
    if let Some(found) = infer::get(head) {
        return normalize(found.mime_type()).to_owned();
    }
    let claimed = claimed.map(essence).unwrap_or_default();
    if CLAIMABLE.contains(&claimed.as_str()) && !has_markup(head) {
        claimed
    } else {
        OPAQUE.to_owned()
    }
}

/// Whether a stored file of `content_type` starting with `head` may be
/// shown in the page; every other file is an attachment.
pub fn shown_inline(content_type: &str, head: &[u8]) -> bool {
    let confirmed = infer::get(head).is_some_and(|t| normalize(t.mime_type()) == content_type);
    INLINE.contains(&content_type) && confirmed && !has_markup(head)
}

/// The image's content type, if the bytes are a PNG, JPEG, GIF or WebP
/// picture (what the sandbox customer may send).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    let found = infer::get(bytes)?;
    let mime = normalize(found.mime_type());
    ["image/png", "image/jpeg", "image/gif", "image/webp"]
        .into_iter()
        .find(|t| *t == mime && !has_markup(bytes))
}

/// A file name safe in a `Content-Disposition` header: printable ASCII
/// letters, digits, `.`, `-` and `_` (others become `_`), no leading dot,
/// 100 characters at most; `file` when nothing is left.
pub fn safe_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.chars().all(|c| c == '_' || c == '.') {
        "file".to_owned()
    } else {
        cleaned
    }
}

/// `image/JPEG; x=y` → `image/jpeg`; anything that is not `type/subtype`
/// in token characters becomes empty.
fn essence(claimed: &str) -> String {
    let essence = claimed
        .split([';', ','])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => essence,
        _ => String::new(),
    }
}

/// The names WhatsApp and browsers use for what the crate calls otherwise.
fn normalize(mime: &str) -> &str {
    match mime {
        "audio/m4a" | "audio/x-m4a" => "audio/mp4",
        "audio/x-wav" | "audio/wave" => "audio/wav",
        "video/x-m4v" => "video/mp4",
        other => other,
    }
}

fn has_markup(head: &[u8]) -> bool {
    let head = &head[..head.len().min(HEAD_BYTES)];
    let lower = head.to_ascii_lowercase();
    MARKUP
        .iter()
        .any(|tag| lower.windows(tag.len()).any(|w| w == *tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn the_bytes_decide_the_type_not_the_claim() {
        assert_eq!(detect(JPEG, Some("text/html")), "image/jpeg");
        assert_eq!(detect(PNG, None), "image/png");
        assert_eq!(detect(b"%PDF-1.7\n", Some("image/png")), "application/pdf");
        assert_eq!(
            detect(b"OggS\0\x02\0\0", Some("audio/ogg; codecs=opus")),
            "audio/ogg"
        );
        assert_eq!(
            detect(
                b"<html><script>alert(1)</script>",
                Some("image/jpeg,text/html")
            ),
            "text/html"
        );
        assert_eq!(
            detect(b"<svg onload=alert(1)>", Some("image/svg+xml")),
            OPAQUE
        );
        assert_eq!(
            detect(b"just words", Some("image/jpeg")),
            OPAQUE,
            "a lying claim"
        );
        assert_eq!(
            detect(b"just words", Some("Text/Plain; charset=utf-8")),
            "text/plain"
        );
        assert_eq!(detect(b"hi <script>x</script>", Some("text/plain")), OPAQUE);
        assert_eq!(detect(b"<!DOCTYPE html>", Some("text/plain")), "text/html");
        assert_eq!(detect(b"\0\x01", Some("text/plain\r\nx: y")), OPAQUE);
        assert_eq!(detect(b"", None), OPAQUE);
    }

    #[test]
    fn only_confirmed_pictures_and_recordings_are_shown_inline() {
        assert!(shown_inline("image/jpeg", JPEG));
        assert!(shown_inline("image/png", PNG));
        assert!(!shown_inline("image/png", JPEG), "type and bytes disagree");
        let mut polyglot = JPEG.to_vec();
        polyglot.extend_from_slice(b"<HTML><script>fetch('/team')</script>");
        assert_eq!(detect(&polyglot, Some("image/jpeg")), "image/jpeg");
        assert!(
            !shown_inline("image/jpeg", &polyglot),
            "an image carrying a page"
        );
        assert!(!shown_inline("text/html", b"<html>"));
        assert!(!shown_inline("image/svg+xml", b"<svg>"));
        assert!(!shown_inline("application/pdf", b"%PDF-1.7"));
        assert!(!shown_inline("image/jpeg,text/html", JPEG));
    }

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(sniff_image(PNG), Some("image/png"));
        assert_eq!(sniff_image(JPEG), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a\x01\0\x01\0"), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff_image(b"%PDF-1.7"), None);
        assert_eq!(sniff_image(b""), None);
    }

    #[test]
    fn file_names_in_headers_are_plain() {
        assert_eq!(safe_filename("report 2026.pdf"), "report_2026.pdf");
        assert_eq!(
            safe_filename("a\"; filename=evil.html"),
            "a___filename_evil.html"
        );
        assert_eq!(safe_filename("\r\nSet-Cookie: x"), "__Set-Cookie__x");
        assert_eq!(safe_filename("..\\..\\.htaccess"), "_.._.htaccess");
        assert_eq!(safe_filename(""), "file");
        assert_eq!(safe_filename("ação"), "a__o");
        assert_eq!(safe_filename(&"x".repeat(500)).len(), 100);
    }
}
