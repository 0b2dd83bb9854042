//! The send budget of a number linked as a phone, whether the session
//! runs in wacrm (`whatsapp_web`) or on a WAHA server (`waha`): both send
//! as a person's phone, which WhatsApp watches for bursts.

use std::time::Duration;

use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::jobs::RetryLater;
use crate::infra::tenancy::TenantTx;

/// Takes a slot of the linked number's send budget
/// (`WHATSAPP_WEB_SEND_RATE` a second, across instances), or waits for the
/// next second.
pub async fn take_send_slot(
    env: &Environment,
    tx: &mut TenantTx,
    channel_id: uuid::Uuid,
) -> anyhow::Result<()> {
    let rate = env.config.whatsapp_web_send_rate;
    if db::channels::take_send_slot(tx, channel_id, rate).await? {
        return Ok(());
    }
    Err(RetryLater {
        after: Duration::from_millis(1000),
        reason: "the linked number's send rate is reached".into(),
        waiting: true,
    }
    .into())
}
