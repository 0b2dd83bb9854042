//! The WhatsApp Cloud API channel: Meta's webhook deliveries in
//! ([`webhook`], checked by [`signature`]), and the Graph API out
//! ([`graph`], used by [`sender`]). Everything past the wire format goes through the shared
//! inbox paths (`crate::features::inbox`).

pub mod connect;
pub mod graph;
pub mod media;
pub mod sender;
pub mod signature;
pub mod template_create;
pub mod template_sync;
pub mod templates;
pub mod webhook;
pub mod window;

/// Sealing purposes of a channel's secrets (bound into the ciphertext).
pub const ACCESS_TOKEN_PURPOSE: &str = "whatsapp-access-token";
pub const APP_SECRET_PURPOSE: &str = "whatsapp-app-secret";

/// A channel's Graph access token, opened.
pub fn access_token(
    secrets: &crate::infra::secrets::SecretBox,
    org_id: uuid::Uuid,
    channel: &crate::infra::db::cloud_channels::CloudChannel,
) -> anyhow::Result<String> {
    let token = secrets.open(
        org_id,
        ACCESS_TOKEN_PURPOSE,
        channel.id,
        &channel.access_token_sealed,
    )?;
    Ok(String::from_utf8(token)?)
}
