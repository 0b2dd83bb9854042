//! One AI request of a member, in two steps: [`prepare`] inside the
//! request's transaction (AI on, a key to use, the plan's allowance; the
//! call is counted), then, after that transaction is committed so no
//! connection waits on the provider, [`run`] makes the call and records its
//! tokens, or gives the count back if it failed.

use time::Date;
use uuid::Uuid;

use super::provider::{AiError, Completion, Provider, Turn};
use crate::error::{AppError, Result};
use crate::features::billing::limits::{self, Counted};
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::tenancy::{TenantTx, bootstrap};

const AI_OFF: &str = "AI is off for this workspace: an owner can turn it on in Settings → AI.";
const NO_PROVIDER: &str =
    "No AI provider is set up for this workspace: an owner can add an API key in Settings → AI.";

/// A call that may be made: the provider, and the month it is counted in.
pub struct Prepared {
    org_id: Uuid,
    provider: Provider,
    month: Date,
}

/// The workspace's provider, if AI is on and there is a key to use.
pub async fn provider(env: &Environment, tx: &mut TenantTx) -> Result<Provider> {
    let settings = db::ai::settings(tx).await?;
    if !settings.enabled {
        return Err(AppError::Conflict(AI_OFF.into()));
    }
    let own_key = match &settings.api_key_sealed {
        Some(sealed) => {
            let key = env
                .secrets
                .open(tx.org_id(), db::ai::KEY_PURPOSE, tx.org_id(), sealed)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("AI key: {e}")))?;
            Some(String::from_utf8(key).map_err(|e| AppError::Internal(e.into()))?)
        }
        None => None,
    };
    env.ai
        .for_workspace(own_key.as_deref(), settings.model.as_deref())
        .ok_or_else(|| AppError::Conflict(NO_PROVIDER.into()))
}

/// Checks and counts one call; the caller commits `tx` before [`run`].
pub async fn prepare(env: &Environment, tx: &mut TenantTx) -> Result<Prepared> {
    let provider = provider(env, tx).await?;
    limits::check_one(&env.config, tx, Counted::AiRequests).await??;
    let month = db::ai::count_call(tx).await?;
    Ok(Prepared {
        org_id: tx.org_id(),
        provider,
        month,
    })
}

/// Makes the call and records what it cost (or uncounts it).
pub async fn run(
    env: &Environment,
    prepared: Prepared,
    turns: &[Turn],
    max_tokens: u32,
) -> Result<std::result::Result<Completion, AiError>> {
    let answer = prepared.provider.complete(turns, max_tokens).await;
    let mut tx = bootstrap::for_job(&env.pool, prepared.org_id).await?;
    match &answer {
        Ok(c) => {
            db::ai::add_tokens(
                &mut tx,
                prepared.month,
                c.prompt_tokens,
                c.completion_tokens,
            )
            .await?
        }
        Err(_) => db::ai::uncount_call(&mut tx, prepared.month).await?,
    }
    tx.commit().await?;
    Ok(answer)
}
