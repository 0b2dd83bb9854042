//! Where a conversation came from (`conversations.referral`): the
//! click-to-WhatsApp ad and the catalogue product a customer's message
//! named. Each part is kept from the first message that had it.

use serde_json::Value;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// Adds the parts of `referral` (`{"ad": {...}, "product": {...}}`) that
/// the conversation does not have yet; a part it has stays as it is.
pub async fn keep(tx: &mut TenantTx, conversation_id: Uuid, referral: &Value) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    // `a || b` keeps b's value of a key both have: the stored one.
    sqlx::query!(
        "update conversations set referral = $3::jsonb || coalesce(referral, '{}'::jsonb) \
         where org_id = $1 and id = $2",
        org_id,
        conversation_id,
        referral
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The conversation's referral, as the conversation page shows it.
pub async fn of(tx: &mut TenantTx, conversation_id: Uuid) -> sqlx::Result<Option<Referral>> {
    let org_id = tx.org_id();
    let stored = sqlx::query_scalar!(
        "select referral from conversations where org_id = $1 and id = $2",
        org_id,
        conversation_id
    )
    .fetch_optional(tx.conn())
    .await?
    .flatten();
    Ok(stored.as_ref().and_then(Referral::of_json))
}

/// What the conversation page says of a referral. The texts are the
/// sender's: the template escapes them, and only an http(s) URL is a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// The ad's headline (or its body, or "an ad"), when it came from one.
    pub ad: Option<String>,
    /// The ad's `source_url`, only when it is http or https.
    pub ad_link: Option<String>,
    /// The product's retailer id, when the customer asked about one.
    pub product: Option<String>,
}

impl Referral {
    /// The stored JSON read for the page; `None` when it says nothing.
    pub fn of_json(stored: &Value) -> Option<Referral> {
        let text = |part: &str, key: &str| {
            stored
                .get(part)
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let ad = stored.get("ad").filter(|ad| ad.is_object()).map(|_| {
            text("ad", "headline")
                .or_else(|| text("ad", "body"))
                .unwrap_or_else(|| "an ad".to_owned())
        });
        let ad_link = text("ad", "source_url").filter(|url| web_link(url));
        let product = text("product", "product_retailer_id");
        (ad.is_some() || product.is_some()).then_some(Referral {
            ad,
            ad_link,
            product,
        })
    }
}

/// An absolute http(s) URL: anything else (`javascript:`, `data:`,
/// relative) is never made a link.
fn web_link(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_http_links_and_something_to_say() {
        let read = |v: Value| Referral::of_json(&v);
        assert_eq!(read(json!({})), None);
        assert_eq!(read(json!({"ad": "x"})), None);
        let ad = read(json!({"ad": {"headline": "Summer sale", "source_url": "https://fb.me/x"}}))
            .expect("an ad");
        assert_eq!(ad.ad.as_deref(), Some("Summer sale"));
        assert_eq!(ad.ad_link.as_deref(), Some("https://fb.me/x"));
        for hostile in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//evil.test/x",
            "/relative",
            "vbscript:msgbox",
        ] {
            let ad = read(json!({"ad": {"body": "b", "source_url": hostile}})).expect("an ad");
            assert_eq!(ad.ad_link, None, "{hostile}");
            assert_eq!(ad.ad.as_deref(), Some("b"));
        }
        let product = read(json!({"product": {"product_retailer_id": "SKU-1"}})).expect("one");
        assert_eq!(
            (product.ad, product.product.as_deref()),
            (None, Some("SKU-1"))
        );
        assert_eq!(
            read(json!({"ad": {}})).and_then(|r| r.ad).as_deref(),
            Some("an ad")
        );
    }
}
