//! System entry points: the few flows that start before a tenant context
//! exists (sign-up, new workspace, invitations). Each opens the context of
//! exactly one workspace, which it creates or proves access to by a token.

use uuid::Uuid;

use super::TenantTx;
use crate::domain::{EmailAddress, Role};
use crate::infra::db;
use crate::infra::db::invitations::Invitation;
use crate::infra::db::users::InsertUserError;
use crate::infra::tokens::TenantToken;

/// Prefix of invitation tokens in links.
pub const INVITATION_PREFIX: &str = "inv";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("this invitation is no longer valid")]
    InvitationGone,
    #[error("this invitation was sent to another email address")]
    WrongInvitee,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<InsertUserError> for BootstrapError {
    fn from(e: InsertUserError) -> Self {
        match e {
            InsertUserError::EmailTaken => BootstrapError::EmailTaken,
            InsertUserError::Database(e) => BootstrapError::Database(e),
        }
    }
}

/// Sign-up: the user, their workspace and the owner membership, atomically.
pub async fn sign_up(
    pool: &sqlx::PgPool,
    name: &str,
    email: &EmailAddress,
    password_hash: &str,
    org_name: &str,
) -> Result<(Uuid, Uuid), BootstrapError> {
    let org_id = Uuid::new_v4();
    let mut tx = TenantTx::open(pool, org_id).await?;
    let user_id = db::users::insert(tx.conn(), name, email, password_hash, false).await?;
    db::orgs::insert(&mut tx, org_name).await?;
    db::memberships::insert(&mut tx, user_id, Role::Owner).await?;
    tx.commit().await?;
    Ok((user_id, org_id))
}

/// Another workspace for an existing user, who becomes its owner.
pub async fn create_workspace(
    pool: &sqlx::PgPool,
    user_id: Uuid,
    org_name: &str,
) -> Result<Uuid, BootstrapError> {
    let org_id = Uuid::new_v4();
    let mut tx = TenantTx::open(pool, org_id).await?;
    db::orgs::insert(&mut tx, org_name).await?;
    db::memberships::insert(&mut tx, user_id, Role::Owner).await?;
    tx.commit().await?;
    Ok(org_id)
}

/// An open invitation and the name of its workspace.
pub struct InvitationView {
    pub org_id: Uuid,
    pub org_name: String,
    pub invitation: Invitation,
}

/// Look up the invitation a link carries; `None` when unknown, used, revoked
/// or expired (never told apart, so links can't be probed).
pub async fn find_invitation(
    pool: &sqlx::PgPool,
    token: &TenantToken,
) -> Result<Option<InvitationView>, BootstrapError> {
    let mut tx = TenantTx::open(pool, token.org_id).await?;
    let Some(invitation) = db::invitations::find_by_token(&mut tx, &token.hash()).await? else {
        return Ok(None);
    };
    if !invitation.is_open() {
        return Ok(None);
    }
    let org_name = db::orgs::get(&mut tx)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Some(InvitationView {
        org_id: token.org_id,
        org_name,
        invitation,
    }))
}

/// An existing user (signed in as the invited address) joins the workspace.
pub async fn accept_as_existing_user(
    pool: &sqlx::PgPool,
    token: &TenantToken,
    user_id: Uuid,
    user_email: &str,
) -> Result<Uuid, BootstrapError> {
    let mut tx = TenantTx::open(pool, token.org_id).await?;
    let invitation = open_invitation(&mut tx, token).await?;
    if !invitation.email.eq_ignore_ascii_case(user_email) {
        return Err(BootstrapError::WrongInvitee);
    }
    accept(&mut tx, &invitation, user_id).await?;
    // The link reached this mailbox: the address is verified.
    db::users::mark_email_verified(tx.conn(), user_id).await?;
    tx.commit().await?;
    Ok(token.org_id)
}

/// A new person creates their account from the invitation and joins.
pub async fn accept_as_new_user(
    pool: &sqlx::PgPool,
    token: &TenantToken,
    name: &str,
    password_hash: &str,
) -> Result<(Uuid, Uuid), BootstrapError> {
    let mut tx = TenantTx::open(pool, token.org_id).await?;
    let invitation = open_invitation(&mut tx, token).await?;
    let email =
        EmailAddress::parse(&invitation.email).map_err(|_| BootstrapError::InvitationGone)?;
    let user_id = db::users::insert(tx.conn(), name, &email, password_hash, true).await?;
    accept(&mut tx, &invitation, user_id).await?;
    tx.commit().await?;
    Ok((user_id, token.org_id))
}

async fn open_invitation(
    tx: &mut TenantTx,
    token: &TenantToken,
) -> Result<Invitation, BootstrapError> {
    match db::invitations::find_by_token(tx, &token.hash()).await? {
        Some(invitation) if invitation.is_open() => Ok(invitation),
        _ => Err(BootstrapError::InvitationGone),
    }
}

async fn accept(
    tx: &mut TenantTx,
    invitation: &Invitation,
    user_id: Uuid,
) -> Result<(), BootstrapError> {
    if !db::invitations::mark_accepted(tx, invitation.id, user_id).await? {
        return Err(BootstrapError::InvitationGone);
    }
    let role = invitation.role;
    // Already a member: keep the existing role rather than demote anyone.
    db::memberships::insert(tx, user_id, role).await?;
    let actor = crate::infra::audit_log::Actor {
        user_id: Some(user_id),
        email: Some(invitation.email.clone()),
        ip: None,
    };
    let role_name = role.to_string();
    crate::infra::audit_log::record(
        tx,
        &actor,
        "member.joined",
        &invitation.email,
        &[("role", &role_name)],
    )
    .await?;
    Ok(())
}

/// The workspace context of a queued job, which names its workspace. Jobs
/// are enqueued only by code already inside that workspace's context.
pub async fn for_job(pool: &sqlx::PgPool, org_id: Uuid) -> sqlx::Result<TenantTx> {
    TenantTx::open(pool, org_id).await
}

/// The context of one workspace for an operator's command that visits
/// every workspace in turn (`wacrm secrets rotate`).
pub async fn for_maintenance(pool: &sqlx::PgPool, org_id: Uuid) -> sqlx::Result<TenantTx> {
    TenantTx::open(pool, org_id).await
}

/// The workspace context of a webhook delivery for a channel, found by the
/// channel's route; `None` for an unknown channel. The caller must then
/// prove the delivery with that channel's own secret before trusting it.
pub async fn for_webhook(pool: &sqlx::PgPool, channel_id: Uuid) -> sqlx::Result<Option<TenantTx>> {
    TenantTx::for_channel(pool, channel_id).await
}

/// The context of the workspace a link's token names (`TenantToken` carries
/// it in clear). The caller proves the token by finding its hash inside
/// this context before it reads anything else.
pub async fn for_token(pool: &sqlx::PgPool, token: &TenantToken) -> sqlx::Result<TenantTx> {
    TenantTx::open(pool, token.org_id).await
}
