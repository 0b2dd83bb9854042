//! Connecting a Cloud API number to a workspace (Settings and the JSON API):
//! the settings checked field by field, the access token and app secret
//! sealed, a verify token generated, the webhook route stored, and its
//! templates read at once (a job queued with the channel).

use serde::Deserialize;
use uuid::Uuid;

use crate::channels::cloud_api::template_sync::SyncTemplates;
use crate::channels::cloud_api::{ACCESS_TOKEN_PURPOSE, APP_SECRET_PURPOSE};
use crate::infra::db;
use crate::infra::db::cloud_channels::{NUMBER_KEY, NewCloudChannel};
use crate::infra::jobs;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;
use crate::infra::tokens::random_secret;

/// What an owner gives to connect a number (as typed).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NumberSettings {
    pub name: String,
    pub phone_number_id: String,
    pub waba_id: String,
    pub access_token: String,
    pub app_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Each message names its field.
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    #[error("{NUMBER_TAKEN}")]
    NumberTaken,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

pub const NUMBER_TAKEN: &str =
    "Phone number ID: this workspace already has a channel for that number.";

/// The new channel: its id and the verify token to paste into Meta's dashboard.
pub struct Connected {
    pub id: Uuid,
    pub verify_token: String,
}

fn graph_id(value: &str, what: &str, errors: &mut Vec<String>) -> String {
    let value = value.trim();
    if value.is_empty() || value.len() > 32 || !value.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(format!(
            "{what}: the number from Meta's WhatsApp API setup page (digits only)."
        ));
    }
    value.to_owned()
}

impl NumberSettings {
    /// Every problem, each naming its field.
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push("Name: between 1 and 100 characters, e.g. “Sales line”.".to_owned());
        }
        graph_id(&self.phone_number_id, "Phone number ID", &mut errors);
        graph_id(&self.waba_id, "WhatsApp Business Account ID", &mut errors);
        let token = self.access_token.trim();
        if token.len() < 20 || token.len() > 4096 || token.contains(char::is_whitespace) {
            errors.push(
                "Access token: paste the whole token (a long string without spaces).".to_owned(),
            );
        }
        let secret = self.app_secret.trim();
        if secret.len() < 16 || secret.len() > 256 || secret.contains(char::is_whitespace) {
            errors.push(
                "App secret: paste it from the app's Basic settings in Meta's dashboard."
                    .to_owned(),
            );
        }
        errors
    }

    /// Shown back after a refusal: never the secrets.
    pub fn without_secrets(mut self) -> NumberSettings {
        self.access_token.clear();
        self.app_secret.clear();
        self
    }
}

/// Connects the number in `tx`'s workspace.
pub async fn connect(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    settings: &NumberSettings,
) -> Result<Connected, ConnectError> {
    let problems = settings.problems();
    if !problems.is_empty() {
        return Err(ConnectError::Invalid(problems));
    }
    let phone_number_id = settings.phone_number_id.trim();
    if db::cloud_channels::find_by_number(tx, phone_number_id)
        .await
        .map_err(anyhow::Error::from)?
        .is_some()
    {
        return Err(ConnectError::NumberTaken);
    }
    let org_id = tx.org_id();
    // Made first: the secrets are sealed for this channel's row.
    let id = Uuid::now_v7();
    let seal = |purpose: &str, plain: &str| {
        secrets
            .seal(org_id, purpose, id, plain.trim().as_bytes())
            .map_err(anyhow::Error::from)
    };
    let access_token_sealed = seal(ACCESS_TOKEN_PURPOSE, &settings.access_token)?;
    let app_secret_sealed = seal(APP_SECRET_PURPOSE, &settings.app_secret)?;
    let verify_token = random_secret()?;
    let inserted = db::cloud_channels::insert(
        tx,
        &NewCloudChannel {
            id,
            name: settings.name.trim(),
            phone_number_id,
            waba_id: settings.waba_id.trim(),
            access_token_sealed: &access_token_sealed,
            app_secret_sealed: &app_secret_sealed,
            verify_token: &verify_token,
        },
    )
    .await;
    match inserted {
        Ok(()) => {
            // Queued in the same transaction: the templates are there
            // within moments instead of at the next periodic sweep.
            let sync = SyncTemplates {
                org_id,
                channel_id: Some(id),
            };
            jobs::enqueue(tx.conn(), secrets, &sync).await?;
            Ok(Connected { id, verify_token })
        }
        // Connected concurrently.
        Err(e) if crate::infra::db::violates(&e, NUMBER_KEY) => Err(ConnectError::NumberTaken),
        Err(e) => Err(ConnectError::Failed(e.into())),
    }
}
