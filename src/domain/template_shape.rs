//! A WhatsApp template's values as wacrm fills them: which values its
//! components take (header, body, buttons; numbered or named), each one
//! checked, the Graph request that sends them, and the text they make.
//! Pure: the Cloud API channel, the database layer and the inbox share it.

use serde_json::{Value, json};

pub fn placeholders(text: &str) -> i32 {
    placeholder_names(text)
        .iter()
        .filter_map(|p| p.parse::<i32>().ok())
        .max()
        .unwrap_or(0)
        .min(100)
}

/// The placeholders of `text` (`{{1}}`, `{{ name }}`), trimmed, in order
/// of first appearance, each once.
pub(crate) fn placeholder_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        let name = rest[..end].trim();
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        rest = &rest[end + 2..];
    }
    names
}

pub(crate) fn kind_of(component: &Value) -> &str {
    component
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A header's media, sent by link or by media id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Image,
    Video,
    Document,
}

impl Media {
    fn as_str(self) -> &'static str {
        match self {
            Media::Image => "image",
            Media::Video => "video",
            Media::Document => "document",
        }
    }
}

/// Where a value goes in the send request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A text variable of the body.
    Body,
    /// The text header's one variable.
    HeaderText,
    /// The header's image, video or document: an https link or a media id.
    HeaderMedia(Media),
    HeaderLatitude,
    HeaderLongitude,
    HeaderLocationName,
    HeaderLocationAddress,
    /// The variable end of a URL button (the suffix, percent-encoded here).
    UrlSuffix {
        index: usize,
    },
    /// The payload a quick-reply button sends back (optional).
    QuickReply {
        index: usize,
    },
    /// The code a copy-code button copies.
    CopyCode {
        index: usize,
    },
}

/// One value a template takes when sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub slot: Slot,
    /// The variable's name in a named template (`customer_name`), or its
    /// number (`1`) in a positional one; empty for values without a name.
    pub name: String,
    /// What the form calls it.
    pub label: String,
    pub required: bool,
    /// The longest value Meta takes, in characters.
    pub max_chars: usize,
}

impl Param {
    fn new(slot: Slot, name: &str, label: String, required: bool, max_chars: usize) -> Param {
        Param {
            slot,
            name: name.to_owned(),
            label,
            required,
            max_chars,
        }
    }

    /// `{{name}}` or `{{1}}`, as the template's text writes it.
    fn placeholder(&self) -> String {
        format!("{{{{{}}}}}", self.name)
    }

    /// A value of the body (the inbox fills `{{1}}` with the first name).
    pub fn is_body(&self) -> bool {
        self.slot == Slot::Body
    }

    /// The `<input>` type the form gives it.
    pub fn input_type(&self) -> &'static str {
        match self.slot {
            Slot::HeaderMedia(_) => "url",
            Slot::HeaderLatitude | Slot::HeaderLongitude => "number",
            _ => "text",
        }
    }
}

/// What sending a template needs: its texts and its values, in the order
/// the form asks for them (header, body, buttons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub named: bool,
    pub header_text: Option<String>,
    pub body: String,
    pub params: Vec<Param>,
}

/// Body values: Meta's limit.
const BODY_VALUE_MAX: usize = 1024;
/// A text header, whole: Meta's limit.
const HEADER_TEXT_MAX: usize = 60;

impl Shape {
    /// Reads a template's stored components (as Graph lists them).
    /// `parameter_format` is `NAMED` or `POSITIONAL`; a body written with
    /// names is named whatever the format says. A component or button
    /// wacrm cannot fill (carousel, flow, OTP, catalog ...) is an error
    /// saying which.
    pub fn parse(components: &Value, parameter_format: &str) -> Result<Shape, String> {
        let components = components.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let text_of = |c: &Value| {
            c.get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let body = components
            .iter()
            .find(|c| kind_of(c).eq_ignore_ascii_case("BODY"))
            .map(text_of)
            .unwrap_or_default();
        let body_names = placeholder_names(&body);
        let named = parameter_format.eq_ignore_ascii_case("NAMED")
            || body_names.iter().any(|n| n.parse::<u32>().is_err());
        let mut header_params = Vec::new();
        let mut body_params = Vec::new();
        let mut button_params = Vec::new();
        let mut header_text = None;
        for component in components {
            let kind = kind_of(component).to_ascii_uppercase();
            match kind.as_str() {
                "HEADER" => {
                    let format = component
                        .get("format")
                        .and_then(Value::as_str)
                        .unwrap_or("TEXT")
                        .to_ascii_uppercase();
                    match format.as_str() {
                        "TEXT" => {
                            let text = text_of(component);
                            for name in placeholder_names(&text) {
                                header_params.push(Param::new(
                                    Slot::HeaderText,
                                    &name,
                                    format!("Header {{{{{name}}}}}"),
                                    true,
                                    HEADER_TEXT_MAX,
                                ));
                            }
                            header_text = Some(text);
                        }
                        "IMAGE" | "VIDEO" | "DOCUMENT" => {
                            let media = match format.as_str() {
                                "IMAGE" => Media::Image,
                                "VIDEO" => Media::Video,
                                _ => Media::Document,
                            };
                            header_params.push(Param::new(
                                Slot::HeaderMedia(media),
                                "",
                                format!("Header {} (https link)", media.as_str()),
                                true,
                                2000,
                            ));
                        }
                        "LOCATION" => {
                            for (slot, label, required) in [
                                (Slot::HeaderLatitude, "Location latitude", true),
                                (Slot::HeaderLongitude, "Location longitude", true),
                                (Slot::HeaderLocationName, "Location name", false),
                                (Slot::HeaderLocationAddress, "Location address", false),
                            ] {
                                header_params.push(Param::new(
                                    slot,
                                    "",
                                    label.to_owned(),
                                    required,
                                    1000,
                                ));
                            }
                        }
                        other => return Err(format!("a {other} header")),
                    }
                }
                "BODY" => {
                    for name in &body_names {
                        if !named && name.parse::<u32>().is_err() {
                            return Err(format!("the variable {{{{{name}}}}}"));
                        }
                        body_params.push(Param::new(
                            Slot::Body,
                            name,
                            format!("{{{{{name}}}}}"),
                            true,
                            BODY_VALUE_MAX,
                        ));
                    }
                }
                "FOOTER" => {}
                "BUTTONS" => {
                    let buttons = component
                        .get("buttons")
                        .and_then(Value::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    for (index, button) in buttons.iter().enumerate() {
                        let kind = kind_of(button).to_ascii_uppercase();
                        let text = text_of(button);
                        match kind.as_str() {
                            "URL" => {
                                let url = button
                                    .get("url")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default();
                                if url.contains("{{") {
                                    button_params.push(Param::new(
                                        Slot::UrlSuffix { index },
                                        "",
                                        format!("Button “{text}”: end of the link"),
                                        true,
                                        2000,
                                    ));
                                }
                            }
                            "QUICK_REPLY" => button_params.push(Param::new(
                                Slot::QuickReply { index },
                                "",
                                format!("Button “{text}”: reply payload (optional)"),
                                false,
                                128,
                            )),
                            "COPY_CODE" => button_params.push(Param::new(
                                Slot::CopyCode { index },
                                "",
                                "Copy code button: the code".to_owned(),
                                true,
                                15,
                            )),
                            "PHONE_NUMBER" | "VOICE_CALL" => {}
                            other => return Err(format!("a {other} button")),
                        }
                    }
                }
                other => return Err(format!("a {other} component")),
            }
        }
        if !named {
            // Positional values go in number order, whatever order the
            // text uses them in.
            body_params.sort_by_key(|p| p.name.parse::<u32>().unwrap_or(u32::MAX));
        }
        let mut params = header_params;
        params.extend(body_params);
        params.extend(button_params);
        Ok(Shape {
            named,
            header_text,
            body,
            params,
        })
    }

    /// Values in the body only (what campaigns and scheduled messages fill).
    pub fn body_only(&self) -> bool {
        self.params.iter().all(|p| p.slot == Slot::Body)
    }

    /// The header text and body with `values` (in [`Shape::params`] order)
    /// filled in; a missing value stays a placeholder.
    pub fn preview(&self, values: &[String]) -> (Option<String>, String) {
        let fill = |text: &str, slot: &Slot| {
            let mut text = text.to_owned();
            for (param, value) in self.params.iter().zip(values) {
                let value = value.trim();
                if &param.slot == slot && !value.is_empty() {
                    text = text.replace(&param.placeholder(), value);
                    if let Some(spaced) = spaced_placeholder(&param.name) {
                        text = text.replace(&spaced, value);
                    }
                }
            }
            text
        };
        (
            self.header_text
                .as_deref()
                .map(|h| fill(h, &Slot::HeaderText)),
            fill(&self.body, &Slot::Body),
        )
    }

    /// The Cloud API `template` object and the text the conversation shows,
    /// or every reason the values do not fit (one line each, by label).
    pub fn build(
        &self,
        name: &str,
        language: &str,
        values: &[String],
    ) -> Result<(Value, String), Vec<String>> {
        let mut errors = Vec::new();
        if values.len() > self.params.len() {
            errors.push(format!(
                "{name} takes {} value(s), {} were given.",
                self.params.len(),
                values.len()
            ));
        }
        let mut header = Vec::new();
        let mut body = Vec::new();
        let mut buttons: Vec<Value> = Vec::new();
        let mut location = serde_json::Map::new();
        for (i, param) in self.params.iter().enumerate() {
            let value = values.get(i).map(|v| v.trim()).unwrap_or_default();
            if value.is_empty() {
                if param.required {
                    errors.push(format!("{}: a value is required.", param.label));
                }
                continue;
            }
            if value.chars().count() > param.max_chars {
                errors.push(format!(
                    "{}: at most {} characters.",
                    param.label, param.max_chars
                ));
                continue;
            }
            let text_param = |value: &str| {
                let mut p = json!({"type": "text", "text": value});
                if self.named {
                    p["parameter_name"] = json!(param.name);
                }
                p
            };
            match &param.slot {
                Slot::Body => {
                    // Graph refuses these in a body value (error 132018).
                    if value.contains(['\n', '\t']) || value.contains("     ") {
                        errors.push(format!(
                            "{}: no line breaks, tabs or more than four spaces in a row.",
                            param.label
                        ));
                        continue;
                    }
                    body.push(text_param(value));
                }
                Slot::HeaderText => {
                    if value.contains(['\n', '\t']) {
                        errors.push(format!("{}: one line only.", param.label));
                        continue;
                    }
                    header.push(text_param(value));
                }
                Slot::HeaderMedia(media) => {
                    let object = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                        json!({"id": value})
                    } else {
                        match url::Url::parse(value) {
                            Ok(link) if link.scheme() == "https" && link.host().is_some() => {
                                json!({"link": link.as_str()})
                            }
                            _ => {
                                errors.push(format!(
                                    "{}: an https:// link (or a media id).",
                                    param.label
                                ));
                                continue;
                            }
                        }
                    };
                    header.push(json!({"type": media.as_str(), media.as_str(): object}));
                }
                Slot::HeaderLatitude | Slot::HeaderLongitude => {
                    let (key, limit) = if param.slot == Slot::HeaderLatitude {
                        ("latitude", 90.0)
                    } else {
                        ("longitude", 180.0)
                    };
                    match value.parse::<f64>() {
                        Ok(n) if n.is_finite() && n.abs() <= limit => {
                            location.insert(key.into(), json!(n));
                        }
                        _ => errors.push(format!(
                            "{}: a number from -{limit} to {limit}.",
                            param.label
                        )),
                    }
                }
                Slot::HeaderLocationName => {
                    location.insert("name".into(), json!(value));
                }
                Slot::HeaderLocationAddress => {
                    location.insert("address".into(), json!(value));
                }
                Slot::UrlSuffix { index } => {
                    let suffix = percent_encode(value);
                    if suffix.len() > 2000 {
                        errors.push(format!("{}: too long once encoded.", param.label));
                        continue;
                    }
                    buttons.push(
                        json!({"type": "button", "sub_type": "url", "index": index.to_string(),
                        "parameters": [{"type": "text", "text": suffix}]}),
                    );
                }
                Slot::QuickReply { index } => {
                    buttons.push(json!({"type": "button", "sub_type": "quick_reply", "index": index.to_string(),
                        "parameters": [{"type": "payload", "payload": value}]}));
                }
                Slot::CopyCode { index } => {
                    buttons.push(json!({"type": "button", "sub_type": "copy_code", "index": index.to_string(),
                        "parameters": [{"type": "coupon_code", "coupon_code": value}]}));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if !location.is_empty() {
            header.push(json!({"type": "location", "location": location}));
        }
        let mut components = Vec::new();
        if !header.is_empty() {
            components.push(json!({"type": "header", "parameters": header}));
        }
        if !body.is_empty() {
            components.push(json!({"type": "body", "parameters": body}));
        }
        components.extend(buttons);
        let mut template = json!({"name": name, "language": {"code": language}});
        if !components.is_empty() {
            template["components"] = Value::from(components);
        }
        let (header_text, body_text) = self.preview(values);
        let shown = match header_text.filter(|h| !h.trim().is_empty()) {
            Some(header) => format!("{header}\n\n{body_text}"),
            None => body_text,
        };
        Ok((template, shown))
    }
}

/// `{{ name }}` as some templates space it.
pub(crate) fn spaced_placeholder(name: &str) -> Option<String> {
    (!name.is_empty()).then(|| format!("{{{{ {name} }}}}"))
}

/// A URL button's suffix as Graph wants it: everything but the unreserved
/// characters (RFC 3986) percent-encoded; Graph does not encode it itself.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The body with its positional placeholders filled (what the conversation
/// shows).
pub fn render(body: &str, values: &[String]) -> String {
    let mut text = body.to_owned();
    for (i, value) in values.iter().enumerate() {
        text = text.replace(&format!("{{{{{}}}}}", i + 1), value);
    }
    text
}
