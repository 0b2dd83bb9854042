//! A tiny local SMTP server for integration tests: it accepts every mail the
//! app sends (plaintext, no auth, no STARTTLS) and keeps it in memory so that
//! tests can inspect headers, decoded bodies and links.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest accepted line (command or DATA line), terminator included.
const MAX_LINE: u64 = 4 * 1024 * 1024;
/// Largest accepted message.
const MAX_DATA: usize = 64 * 1024 * 1024;

/// Standard alphabet, padding optional (encoded-words and bodies in the wild
/// are not always padded).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// One mail as received over SMTP.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Raw DATA, dot-unstuffed, line endings as sent (CRLF).
    pub data: String,
}

impl ReceivedMail {
    /// Decoded text body (quoted-printable, base64, 7bit/8bit). For a
    /// multipart message, the first text/plain part (else the first part).
    pub fn body_text(&self) -> String {
        let (head, body) = split_entity(&self.data);
        decode_entity(&parse_headers(head), body, 0)
    }

    /// Value of the first header called `name` (case-insensitive), unfolded,
    /// trimmed, with RFC 2047 encoded-words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_entity(&self.data);
        header_value(&parse_headers(head), name).map(|v| decode_rfc2047(v.trim()))
    }

    /// First http(s) URL in the decoded body containing `path_fragment`.
    pub fn link_containing(&self, path_fragment: &str) -> Option<String> {
        find_links(&self.body_text())
            .into_iter()
            .find(|url| url.contains(path_fragment))
    }
}

/// A running SMTP sink; the server task stops when this is dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Bind 127.0.0.1:0 and serve in a tokio task on the current runtime.
    pub async fn start() -> SmtpSink {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("smtp sink: cannot bind 127.0.0.1:0: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("smtp sink: no local address: {e}"),
        };
        let mails: Arc<Mutex<Vec<ReceivedMail>>> = Arc::default();
        let store = Arc::clone(&mails);
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let store = Arc::clone(&store);
                        tokio::spawn(async move {
                            // Errors only mean the client went away or misbehaved.
                            let _ = serve_connection(stream, store).await;
                        });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
        SmtpSink { addr, mails, task }
    }

    /// `smtp://127.0.0.1:PORT`, suitable for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.addr.port())
    }

    /// Every mail received so far, in arrival order.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        lock(&self.mails).clone()
    }

    /// Wait (polling every 20 ms, up to `timeout`) for a mail to `rcpt`
    /// (case-insensitive) whose decoded body contains `needle`.
    pub async fn wait_for(&self, rcpt: &str, needle: &str, timeout: Duration) -> ReceivedMail {
        let want = rcpt.trim().to_lowercase();
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            let found = mails.iter().find(|m| {
                m.rcpt_to.iter().any(|r| r.trim().to_lowercase() == want)
                    && m.body_text().contains(needle)
            });
            if let Some(mail) = found {
                return mail.clone();
            }
            if Instant::now() >= deadline {
                let mut report = String::new();
                for (i, m) in mails.iter().enumerate() {
                    let body: String = m.body_text().chars().take(300).collect();
                    report.push_str(&format!(
                        "\n  #{i}: from <{}> to {:?}, subject {:?}, body: {:?}",
                        m.mail_from,
                        m.rcpt_to,
                        m.header("Subject").unwrap_or_default(),
                        body
                    ));
                }
                if mails.is_empty() {
                    report.push_str(" (none)");
                }
                panic!(
                    "smtp sink: no mail to {rcpt:?} containing {needle:?} within {timeout:?}; received:{report}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn lock(mails: &Mutex<Vec<ReceivedMail>>) -> std::sync::MutexGuard<'_, Vec<ReceivedMail>> {
    mails
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------
// Protocol
// ---------------------------------------------------------------------------

enum Line {
    /// A complete line, terminator included.
    Complete,
    /// End of stream, a partial last line, or a line over `MAX_LINE`.
    Stop,
}

async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Line> {
    buf.clear();
    (&mut *reader).take(MAX_LINE).read_until(b'\n', buf).await?;
    Ok(if buf.ends_with(b"\n") {
        Line::Complete
    } else {
        Line::Stop
    })
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The address inside `<...>` (or the first word), after a `FROM:`/`TO:` prefix.
fn envelope_arg(args: &str, prefix: &str) -> Option<String> {
    let head = args.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = args.get(prefix.len()..)?.trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>').unwrap_or(inner.len());
        Some(inner[..end].trim().to_string())
    } else {
        Some(rest.split_whitespace().next().unwrap_or("").to_string())
    }
}

async fn serve_connection(
    stream: TcpStream,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
) -> std::io::Result<()> {
    let (read_half, mut writer) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    writer.write_all(b"220 sink ESMTP\r\n").await?;

    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    let mut buf = Vec::new();

    loop {
        if let Line::Stop = read_line(&mut reader, &mut buf).await? {
            return Ok(());
        }
        let line = String::from_utf8_lossy(strip_eol(&buf)).into_owned();
        let line = line.trim();
        let (verb, args) = match line.find(' ') {
            Some(i) => (&line[..i], line[i + 1..].trim()),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 OK\r\n",
            "HELO" => b"250 sink\r\n",
            "MAIL" => match envelope_arg(args, "FROM:") {
                Some(from) => {
                    mail_from = Some(from);
                    rcpt_to.clear();
                    b"250 OK\r\n"
                }
                None => b"501 syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" => match envelope_arg(args, "TO:") {
                Some(to) => {
                    rcpt_to.push(to);
                    b"250 OK\r\n"
                }
                None => b"501 syntax: RCPT TO:<address>\r\n",
            },
            "DATA" => {
                writer.write_all(b"354 go ahead\r\n").await?;
                let mut data: Vec<u8> = Vec::new();
                loop {
                    if let Line::Stop = read_line(&mut reader, &mut buf).await? {
                        return Ok(());
                    }
                    let content = strip_eol(&buf);
                    if content == b"." {
                        break;
                    }
                    let unstuffed = if buf.starts_with(b"..") {
                        &buf[1..]
                    } else {
                        &buf[..]
                    };
                    if data.len() + unstuffed.len() > MAX_DATA {
                        return Ok(());
                    }
                    data.extend_from_slice(unstuffed);
                }
                let mail = ReceivedMail {
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data: String::from_utf8_lossy(&data).into_owned(),
                };
                lock(&store).push(mail);
                b"250 queued\r\n"
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                writer.write_all(b"221 bye\r\n").await?;
                let _ = writer.shutdown().await;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
}

// ---------------------------------------------------------------------------
// MIME parsing
// ---------------------------------------------------------------------------

/// Split a message (or MIME part) into its header block and body.
fn split_entity(data: &str) -> (&str, &str) {
    if let Some(body) = data.strip_prefix("\r\n") {
        return ("", body);
    }
    if let Some(body) = data.strip_prefix('\n') {
        return ("", body);
    }
    let crlf = data.find("\r\n\r\n").map(|i| (i, i + 4));
    let lf = data.find("\n\n").map(|i| (i, i + 2));
    let split = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match split {
        Some((end, start)) => (&data[..end], &data[start..]),
        None => (data, ""),
    }
}

/// Header fields as (name, unfolded raw value).
fn parse_headers(block: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in block.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.to_string()));
        }
    }
    headers
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A parameter such as `boundary` or `charset` of a structured header value.
fn header_param(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|part| {
        let (key, val) = part.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case(param) {
            return None;
        }
        let val = val.trim();
        let val = val
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(val);
        Some(val.to_string())
    })
}

fn decode_entity(headers: &[(String, String)], body: &str, depth: usize) -> String {
    let content_type = header_value(headers, "Content-Type")
        .unwrap_or("text/plain")
        .trim();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();

    if mime.starts_with("multipart/")
        && depth < 16
        && let Some(boundary) = header_param(content_type, "boundary")
    {
        let parts = split_multipart(body, &boundary);
        let parsed: Vec<(Vec<(String, String)>, &str)> = parts
            .iter()
            .map(|p| {
                let (h, b) = split_entity(p);
                (parse_headers(h), b)
            })
            .collect();
        let is_plain = |h: &[(String, String)]| {
            header_value(h, "Content-Type")
                .map(|ct| ct.trim().to_ascii_lowercase().starts_with("text/plain"))
                .unwrap_or(true)
        };
        let chosen = parsed
            .iter()
            .find(|(h, _)| is_plain(h))
            .or_else(|| parsed.first());
        if let Some((h, b)) = chosen {
            return decode_entity(h, b, depth + 1);
        }
    }

    let charset = header_param(content_type, "charset").unwrap_or_else(|| "utf-8".to_string());
    let encoding = header_value(headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "quoted-printable" => decode_charset(&decode_quoted_printable(body.as_bytes()), &charset),
        "base64" => {
            let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            match B64.decode(&compact) {
                Ok(bytes) => decode_charset(&bytes, &charset),
                Err(_) => body.to_string(),
            }
        }
        _ => body.to_string(),
    }
}

/// The raw parts of a multipart body (each still with its own headers).
fn split_multipart(body: &str, boundary: &str) -> Vec<String> {
    let delimiter = format!("--{boundary}");
    let closing = format!("--{boundary}--");
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == closing {
            if let Some(part) = current.take() {
                parts.push(part);
            }
            break;
        }
        if bare == delimiter {
            if let Some(part) = current.take() {
                parts.push(part);
            }
            current = Some(String::new());
            continue;
        }
        if let Some(part) = current.as_mut() {
            part.push_str(line);
        }
    }
    if let Some(part) = current.take() {
        parts.push(part);
    }
    // The line break before a delimiter belongs to the delimiter.
    parts
        .into_iter()
        .map(|mut p| {
            if p.ends_with("\r\n") {
                p.truncate(p.len() - 2);
            } else if p.ends_with('\n') {
                p.truncate(p.len() - 1);
            }
            p
        })
        .collect()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = &input[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3; // soft line break
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let (Some(h), Some(l)) = (
            rest.first().copied().and_then(hex_val),
            rest.get(1).copied().and_then(hex_val),
        ) {
            out.push(h * 16 + l);
            i += 3;
        } else {
            // Soft break with trailing whitespace, or a stray '='.
            let ws = rest
                .iter()
                .take_while(|c| **c == b' ' || **c == b'\t')
                .count();
            let after = &rest[ws..];
            if ws > 0 && after.starts_with(b"\r\n") {
                i += 1 + ws + 2;
            } else if ws > 0 && after.starts_with(b"\n") {
                i += 1 + ws + 1;
            } else {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

fn decode_charset(bytes: &[u8], charset: &str) -> String {
    let cs = charset.trim().to_ascii_lowercase();
    match cs.as_str() {
        "iso-8859-1" | "latin1" | "latin-1" | "iso8859-1" => {
            bytes.iter().map(|&b| b as char).collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decode RFC 2047 encoded-words; whitespace between adjacent encoded-words
/// is dropped, and their bytes are joined before charset decoding so that a
/// character split across two words survives.
fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    // Pending encoded bytes (and their charset) not yet flushed to `out`.
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut rest = value;

    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        match parse_encoded_word(&rest[start..]) {
            Some((charset, bytes, used)) => {
                let only_ws = before.chars().all(char::is_whitespace);
                match pending.as_mut() {
                    Some((cs, buf)) if only_ws && cs.eq_ignore_ascii_case(&charset) => {
                        buf.extend_from_slice(&bytes);
                    }
                    Some(_) if only_ws => {
                        if let Some((cs, buf)) = pending.take() {
                            out.push_str(&decode_charset(&buf, &cs));
                        }
                        pending = Some((charset, bytes));
                    }
                    _ => {
                        if let Some((cs, buf)) = pending.take() {
                            out.push_str(&decode_charset(&buf, &cs));
                        }
                        out.push_str(before);
                        pending = Some((charset, bytes));
                    }
                }
                rest = &rest[start + used..];
            }
            None => {
                if let Some((cs, buf)) = pending.take() {
                    out.push_str(&decode_charset(&buf, &cs));
                }
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    if let Some((cs, buf)) = pending.take() {
        out.push_str(&decode_charset(&buf, &cs));
    }
    out.push_str(rest);
    out
}

/// Parse `=?charset?B|Q?text?=` at the start of `s`: (charset, bytes, length).
fn parse_encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, after_cs) = inner.split_once('?')?;
    let (enc, after_enc) = after_cs.split_once('?')?;
    let end = after_enc.find("?=")?;
    let text = &after_enc[..end];
    if charset.is_empty()
        || charset.contains(char::is_whitespace)
        || text.contains(char::is_whitespace)
    {
        return None;
    }
    let bytes = match enc {
        "b" | "B" => B64.decode(text.as_bytes()).ok()?,
        "q" | "Q" => {
            let replaced: Vec<u8> = text
                .bytes()
                .map(|b| if b == b'_' { b' ' } else { b })
                .collect();
            decode_quoted_printable(&replaced)
        }
        _ => return None,
    };
    // Drop an RFC 2231 language suffix ("utf-8*en").
    let charset = charset.split('*').next().unwrap_or(charset).to_string();
    let used = s.len() - after_enc[end + 2..].len();
    Some((charset, bytes, used))
}

/// All http(s) URLs in `text`, in order, trimmed of trailing punctuation.
fn find_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("http") {
        let candidate = &rest[i..];
        if !(candidate.starts_with("http://") || candidate.starts_with("https://")) {
            rest = &candidate[4..];
            continue;
        }
        let end = candidate
            .find(|c: char| {
                c.is_whitespace()
                    || matches!(
                        c,
                        '<' | '>'
                            | '"'
                            | '\''
                            | '`'
                            | '\u{201c}'
                            | '\u{201d}'
                            | '\u{2018}'
                            | '\u{2019}'
                    )
            })
            .unwrap_or(candidate.len());
        let url = candidate[..end]
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '*'])
            .replace("&amp;", "&");
        if url.len() > "https://".len() {
            links.push(url);
        }
        rest = &candidate[end.max(4)..];
    }
    links
}
