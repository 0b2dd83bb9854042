//! The Graph API as wacrm calls it: base URL and version from the
//! configuration (`WHATSAPP_GRAPH_URL`, `WHATSAPP_GRAPH_VERSION`), bearer
//! token per channel, errors in Graph's envelope turned into words. Every
//! request names itself ([`USER_AGENT`]): Meta's media host fails requests
//! without one, and reqwest sends none by default. The token goes only to
//! Meta: the Graph base URL, and media on `fbsbx.com` or `fbcdn.net`
//! (protocols-field 1.6); a media URL elsewhere is not fetched.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: Url,
    version: String,
    /// The longest an API call may take; see [`GraphClient::transfer_timeout`]
    /// for media.
    timeout: Duration,
}

/// What wacrm calls itself on every request to Graph and the media host.
pub const USER_AGENT: &str = concat!("wacrm/", env!("CARGO_PKG_VERSION"));

/// The domains Meta serves customers' media from (any subdomain): the media
/// URL changes host, so the domain is checked, not one host.
const MEDIA_DOMAINS: [&str; 2] = ["fbsbx.com", "fbcdn.net"];

/// The slowest link a media transfer is given time for: a 100 MB video
/// gets about six and a half minutes more than an API call, so a big file
/// is not cut off on a slow line, while a small one still gives up soon.
const SLOWEST_TRANSFER_BYTES_PER_SEC: f64 = 256.0 * 1024.0;

/// A failed Graph call, as an agent or owner should read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Graph answered with its error envelope.
    #[error("{message} (Graph error {code})")]
    Api {
        status: u16,
        code: i64,
        message: String,
    },
    /// Graph answered this status without its envelope (a proxy's page).
    #[error("WhatsApp answered HTTP {0}.")]
    Status(u16),
    /// A download larger than wacrm keeps.
    #[error("The file is larger than wacrm keeps.")]
    TooLarge,
    /// A media URL outside Meta's servers: not fetched, so that the token
    /// never reaches a third party.
    #[error("WhatsApp gave a media URL outside Meta's servers ({0}); it was not fetched.")]
    ForeignHost(String),
    /// No usable answer: whether Graph took the request is unknown.
    #[error("{0}")]
    Transport(String),
}

impl GraphError {
    /// Whether Graph may have taken the request anyway (no answer came).
    pub fn is_uncertain(&self) -> bool {
        matches!(self, GraphError::Transport(_))
    }

    /// Worth trying again later: throttling, Meta's own failures, timeouts.
    pub fn is_transient(&self) -> bool {
        match self {
            GraphError::Transport(_) => true,
            GraphError::Status(status) => *status == 429 || *status >= 500,
            GraphError::TooLarge | GraphError::ForeignHost(_) => false,
            GraphError::Api { status, code, .. } => {
                *status == 429 || *status >= 500 || matches!(code, 130429 | 131056 | 80007 | 1 | 2)
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Debug, Deserialize)]
struct EnvelopeError {
    message: Option<String>,
    /// Meta's words for the person (template reviews give them).
    error_user_msg: Option<String>,
    code: Option<i64>,
    error_data: Option<EnvelopeDetails>,
}

#[derive(Debug, Deserialize)]
struct EnvelopeDetails {
    details: Option<String>,
}

/// What "check connection" shows about a number.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PhoneNumber {
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
}

impl GraphClient {
    /// `timeout`: the longest a call may hold a request or a worker.
    pub fn new(base: Url, version: &str, timeout: Duration) -> anyhow::Result<GraphClient> {
        // reqwest's TLS needs the process-wide provider (ring); installing
        // it again is harmless.
        crate::infra::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(GraphClient {
            http,
            base,
            version: version.trim_matches('/').to_owned(),
            timeout,
        })
    }

    /// The longest an upload or download of `bytes` may take: an API
    /// call's time plus the bytes at [`SLOWEST_TRANSFER_BYTES_PER_SEC`].
    pub fn transfer_timeout(&self, bytes: usize) -> Duration {
        self.timeout + Duration::from_secs_f64(bytes as f64 / SLOWEST_TRANSFER_BYTES_PER_SEC)
    }

    /// `{base}/{version}/{segments...}`; each segment is escaped.
    fn url(&self, segments: &[&str]) -> Result<Url, GraphError> {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                GraphError::Transport("The Graph base URL cannot take a path.".into())
            })?;
            path.pop_if_empty().push(&self.version);
            path.extend(segments);
        }
        Ok(url)
    }

    /// The number's display name and phone (the "check connection" button).
    pub async fn phone_number(
        &self,
        phone_number_id: &str,
        token: &str,
    ) -> Result<PhoneNumber, GraphError> {
        let mut url = self.url(&[phone_number_id])?;
        url.query_pairs_mut()
            .append_pair("fields", "display_phone_number,verified_name");
        self.get_json(url, token).await
    }

    /// A Graph GET with the token, its JSON answer as `T`.
    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: Url,
        token: &str,
    ) -> Result<T, GraphError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(transport)?;
        read_json(response).await
    }
}

#[derive(Debug, Deserialize)]
struct Sent {
    messages: Vec<SentId>,
}

#[derive(Debug, Deserialize)]
struct SentId {
    id: String,
}

impl GraphClient {
    /// Sends one message (`body` as the Cloud API takes it); the provider id
    /// (`wamid...`) it was given.
    pub async fn send_message(
        &self,
        phone_number_id: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> Result<String, GraphError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        let response = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let sent: Sent = read_json(response).await?;
        sent.messages
            .into_iter()
            .next()
            .map(|m| m.id)
            .ok_or_else(|| {
                GraphError::Transport("WhatsApp accepted the message but gave no id.".into())
            })
    }
}

impl GraphClient {
    /// Marks a received message read, and the earlier ones of its chat
    /// with it: `POST /{phone-number-id}/messages {"messaging_product":
    /// "whatsapp","status":"read","message_id":wamid}` → `{"success":true}`.
    /// [S: developers.facebook.com …/whatsapp/messages/mark-message-as-read]
    pub async fn mark_read(
        &self,
        phone_number_id: &str,
        token: &str,
        wamid: &str,
    ) -> Result<(), GraphError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        let body = serde_json::json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        });
        let response = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        let _: serde_json::Value = read_json(response).await?;
        Ok(())
    }
}

/// Where a customer's media can be downloaded (for five minutes).
#[derive(Debug, Clone, Deserialize)]
pub struct MediaInfo {
    pub url: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    /// Bytes, as Graph gives it (a decimal string).
    #[serde(default)]
    pub file_size: Option<String>,
}

impl MediaInfo {
    /// The announced size, if Graph gave a readable one.
    pub fn size(&self) -> Option<usize> {
        self.file_size.as_deref()?.trim().parse().ok()
    }
}

impl GraphClient {
    /// Step one of a media download: the short-lived URL of a media id.
    pub async fn media_info(&self, media_id: &str, token: &str) -> Result<MediaInfo, GraphError> {
        self.get_json(self.url(&[media_id])?, token).await
    }

    /// Whether `url` is Meta's, so the channel's token may go with a request
    /// to it: the Graph base URL's origin, or HTTPS on a media domain.
    pub fn token_may_go_to(&self, url: &Url) -> bool {
        if url.origin() == self.base.origin() {
            return true;
        }
        let Some(host) = url.domain() else {
            return false;
        };
        url.scheme() == "https"
            && MEDIA_DOMAINS.iter().any(|domain| {
                host == *domain
                    || host
                        .strip_suffix(domain)
                        .is_some_and(|sub| sub.ends_with('.'))
            })
    }

    /// Step two: the bytes, with the same token; refused above `limit`,
    /// and not fetched at all outside Meta's servers. It may take as long
    /// as `expected` bytes (else `limit`) take on a slow line. (A redirect
    /// to another host loses the token: reqwest drops `Authorization`.)
    pub async fn download(
        &self,
        url: &str,
        token: &str,
        limit: usize,
        expected: Option<usize>,
    ) -> Result<Vec<u8>, GraphError> {
        let url = Url::parse(url)
            .map_err(|_| GraphError::Transport("WhatsApp gave an invalid media URL.".into()))?;
        if !self.token_may_go_to(&url) {
            let host = url.host_str().unwrap_or("no host").to_owned();
            tracing::warn!(
                host,
                "media URL outside Meta's servers: not fetched, the token stays here"
            );
            return Err(GraphError::ForeignHost(host));
        }
        let mut response = self
            .http
            .get(url)
            .bearer_auth(token)
            .timeout(self.transfer_timeout(expected.unwrap_or(limit).min(limit)))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.map_err(transport)?;
            return Err(api_error(status.as_u16(), &body));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > limit {
                return Err(GraphError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

#[derive(Debug, Deserialize)]
struct Uploaded {
    id: String,
}

impl GraphClient {
    /// Uploads a file for sending (`POST /{phone_number_id}/media`); the
    /// media id a message then names. Uploading again is harmless (an
    /// unused media id expires).
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        token: &str,
        (mime_type, filename): (&str, &str),
        bytes: Vec<u8>,
    ) -> Result<String, GraphError> {
        let url = self.url(&[phone_number_id, "media"])?;
        let timeout = self.transfer_timeout(bytes.len());
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(mime_type)
            .map_err(|_| GraphError::Transport(format!("{mime_type} is not a media type.")))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type.to_owned())
            .part("file", file);
        let response = self
            .http
            .post(url)
            .bearer_auth(token)
            .multipart(form)
            .timeout(timeout)
            .send()
            .await
            .map_err(transport)?;
        let uploaded: Uploaded = read_json(response).await?;
        Ok(uploaded.id)
    }
}

#[derive(Debug, Deserialize)]
struct TemplatePage {
    #[serde(default)]
    data: Vec<crate::channels::cloud_api::templates::GraphTemplate>,
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    next: Option<String>,
}

/// Enough for any real account; a loop in Graph's paging stops here.
const MAX_TEMPLATE_PAGES: usize = 100;

impl GraphClient {
    /// Every template of a business account, following Graph's paging.
    pub async fn templates(
        &self,
        waba_id: &str,
        token: &str,
    ) -> Result<Vec<crate::channels::cloud_api::templates::GraphTemplate>, GraphError> {
        // Graph's default page size; `paging.next` carries the rest (with
        // these fields: the format and id are not listed by default).
        let mut url = self.url(&[waba_id, "message_templates"])?;
        url.query_pairs_mut().append_pair(
            "fields",
            "id,name,status,category,language,parameter_format,components",
        );
        let mut all = Vec::new();
        for _ in 0..MAX_TEMPLATE_PAGES {
            let page: TemplatePage = self.get_json(url.clone(), token).await?;
            all.extend(page.data);
            match page.paging.and_then(|p| p.next) {
                Some(next) => {
                    let next = Url::parse(&next).map_err(|_| {
                        GraphError::Transport("WhatsApp gave an invalid next page.".into())
                    })?;
                    // The token goes to Graph only.
                    if next.origin() != self.base.origin() {
                        return Err(GraphError::Transport(
                            "WhatsApp's next page is on another server.".into(),
                        ));
                    }
                    url = next;
                }
                None => break,
            }
        }
        Ok(all)
    }
}

/// Graph's answer to a template creation.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedTemplate {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
}

impl GraphClient {
    /// Submits a new template for review (`POST /{WABA_ID}/message_templates`
    /// with `body` as [`crate::channels::cloud_api::template_create`] makes
    /// it): its id, and its status (`PENDING`, sometimes `APPROVED` at once).
    pub async fn create_template(
        &self,
        waba_id: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> Result<CreatedTemplate, GraphError> {
        let url = self.url(&[waba_id, "message_templates"])?;
        let response = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        read_json(response).await
    }

    /// Deletes one language of a template (`DELETE /{WABA_ID}/
    /// message_templates?name=X&hsm_id=ID`; without the id every language
    /// of the name goes).
    pub async fn delete_template(
        &self,
        waba_id: &str,
        token: &str,
        name: &str,
        hsm_id: Option<&str>,
    ) -> Result<(), GraphError> {
        let mut url = self.url(&[waba_id, "message_templates"])?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("name", name);
            if let Some(id) = hsm_id {
                query.append_pair("hsm_id", id);
            }
        }
        let response = self
            .http
            .delete(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(transport)?;
        let _: serde_json::Value = read_json(response).await?;
        Ok(())
    }
}

fn transport(e: reqwest::Error) -> GraphError {
    let what = if e.is_timeout() {
        "WhatsApp did not answer in time."
    } else if e.is_connect() {
        "Could not reach WhatsApp's servers."
    } else {
        "The connection to WhatsApp failed."
    };
    GraphError::Transport(what.to_owned())
}

/// A success body as `T`, or Graph's error envelope in words.
async fn read_json<T: for<'de> Deserialize<'de>>(
    response: reqwest::Response,
) -> Result<T, GraphError> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| {
            GraphError::Transport("WhatsApp answered in a form wacrm does not understand.".into())
        });
    }
    Err(api_error(status.as_u16(), &bytes))
}

/// Graph's error envelope; anything else keeps the HTTP status.
pub fn api_error(status: u16, body: &[u8]) -> GraphError {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error }) => {
            let message = error
                .error_data
                .and_then(|d| d.details)
                .or(error.error_user_msg)
                .or(error.message)
                .unwrap_or_else(|| "WhatsApp refused the request.".to_owned());
            GraphError::Api {
                status,
                code: error.code.unwrap_or(0),
                message: plain_words(error.code, message),
            }
        }
        Err(_) => GraphError::Status(status),
    }
}

/// The few errors an owner meets while connecting, said plainly.
fn plain_words(code: Option<i64>, message: String) -> String {
    match code {
        Some(190) => "The access token is invalid or has expired: paste a new one.".to_owned(),
        Some(100) => format!("WhatsApp did not accept the request: {message}"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_transfers_get_time_for_their_size() {
        let client = GraphClient::new(
            Url::parse("http://127.0.0.1:9/").unwrap(),
            "v21.0",
            Duration::from_secs(15),
        )
        .unwrap();
        assert_eq!(client.transfer_timeout(0), Duration::from_secs(15));
        let video = client.transfer_timeout(100 * 1024 * 1024);
        assert!(video > Duration::from_secs(6 * 60) && video < Duration::from_secs(8 * 60));
    }

    #[test]
    fn the_token_goes_only_to_graph_and_metas_media_domains() {
        let client = GraphClient::new(
            Url::parse("http://127.0.0.1:9/").unwrap(),
            "v21.0",
            Duration::from_secs(1),
        )
        .unwrap();
        let may = |url: &str| client.token_may_go_to(&Url::parse(url).unwrap());
        for meta in [
            "http://127.0.0.1:9/media-bytes/1",
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2",
            "https://fbsbx.com/x",
            "https://scontent.xx.fbcdn.net/v/t1/1.jpg",
            "https://LOOKASIDE.FBSBX.COM/x",
        ] {
            assert!(may(meta), "{meta}");
        }
        for other in [
            "http://127.0.0.1:10/media-bytes/1",
            "https://127.0.0.1:9/media-bytes/1",
            "http://lookaside.fbsbx.com/x",
            "https://lookaside.fbsbx.com.evil.test/x",
            "https://evilfbsbx.com/x",
            "https://fbcdn.net.example/x",
            "https://example.com/?u=lookaside.fbsbx.com",
            "ftp://lookaside.fbsbx.com/x",
        ] {
            assert!(!may(other), "{other}");
        }
        assert!(!GraphError::ForeignHost("x".into()).is_transient());
    }

    #[test]
    fn urls_keep_the_base_path_and_escape_segments() {
        let client = GraphClient::new(
            Url::parse("http://127.0.0.1:9/graph/").unwrap(),
            "/v21.0/",
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            client.url(&["123", "messages"]).unwrap().as_str(),
            "http://127.0.0.1:9/graph/v21.0/123/messages"
        );
        assert_eq!(
            client.url(&["a/b?c"]).unwrap().as_str(),
            "http://127.0.0.1:9/graph/v21.0/a%2Fb%3Fc"
        );
    }

    #[test]
    fn graph_errors_read_as_words_and_know_what_to_retry() {
        let expired = api_error(
            401,
            br#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"fbtrace_id":"x"}}"#,
        );
        assert!(
            expired.to_string().contains("access token is invalid"),
            "{expired}"
        );
        assert!(!expired.is_transient());
        let window = api_error(
            400,
            br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}"#,
        );
        assert!(window.to_string().contains("more than 24 hours"));
        assert!(!window.is_transient());
        let throttled = api_error(
            400,
            br#"{"error":{"message":"Rate limit hit","code":130429}}"#,
        );
        assert!(throttled.is_transient());
        let gateway = api_error(502, b"<html>Bad gateway</html>");
        assert_eq!(gateway, GraphError::Status(502));
        assert_eq!(gateway.to_string(), "WhatsApp answered HTTP 502.");
        assert!(gateway.is_transient() && !gateway.is_uncertain());
    }
}
