//! A user deleting their own account.
//!
//! In each of their workspaces they leave: the API tokens they created are
//! revoked (an integration must not run on the word of someone who left),
//! the invitations they sent and nobody accepted are revoked, their
//! membership goes, and the audit log records it. A workspace they are the
//! only member of is deleted with them, as an owner deletes one (read-only
//! at once, erased after 30 days). Then their sessions on every device end
//! and the user row is deleted, which takes what is only theirs with it
//! (one-time links, two-factor secret and recovery codes, remembered
//! devices, notifications, reads) and leaves what the workspaces keep —
//! messages, notes, tasks, audit entries — without their name: it shows
//! "former member". The email address is free to sign up again.
//!
//! Refused while they are the only owner of a workspace with other members
//! (someone must be able to run it: they transfer ownership first), or the
//! only member of one that still pays a subscription (nobody could cancel
//! it after them).

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Role, SubscriptionStatus};
use crate::features::audit::{self, Actor};
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::users::User;
use crate::infra::jobs;
use crate::infra::mail::Email;
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::departure::DepartureTx;
use crate::infra::tenancy::standing::RETENTION;

/// What deleting the account does to one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// They leave it; the others carry on.
    Leaves,
    /// They are its only member: it is deleted with the account, gone for
    /// good at `purge_at` (already being deleted if `already`).
    DeletedWithIt {
        purge_at: OffsetDateTime,
        already: bool,
    },
    /// Blocks: they are its only owner and it has `others` other members.
    NeedsNewOwner { others: i64 },
    /// Blocks: they are its only member and it still pays a subscription.
    SubscriptionLive,
}

/// One of the user's workspaces and what happens to it.
#[derive(Debug, Clone)]
pub struct WorkspaceFate {
    pub org_id: Uuid,
    pub name: String,
    pub role: Role,
    pub fate: Fate,
}

impl WorkspaceFate {
    /// Whether this workspace stops the deletion.
    pub fn blocks(&self) -> bool {
        matches!(
            self.fate,
            Fate::NeedsNewOwner { .. } | Fate::SubscriptionLive
        )
    }

    /// Why it stops the deletion and what to do, in a sentence.
    pub fn reason(&self) -> Option<String> {
        match &self.fate {
            Fate::NeedsNewOwner { others } => Some(format!(
                "You are the only owner of {}, which has {others} other member{}. \
                 Make one of them the owner first (Team → Transfer ownership); \
                 then you can delete your account.",
                self.name,
                if *others == 1 { "" } else { "s" }
            )),
            Fate::SubscriptionLive => Some(format!(
                "{} still has a paid subscription, and nobody could cancel it after you. \
                 Cancel it first in Settings → Billing; then you can delete your account.",
                self.name
            )),
            Fate::Leaves | Fate::DeletedWithIt { .. } => None,
        }
    }

    /// Where the user fixes what blocks: the workspace's Team or Billing
    /// page (after switching to it).
    pub fn fix_at(&self) -> &'static str {
        match self.fate {
            Fate::SubscriptionLive => "/settings/billing",
            _ => "/team",
        }
    }

    /// Deleted with the account (whether or not already being deleted).
    pub fn deleted_with_it(&self) -> bool {
        matches!(self.fate, Fate::DeletedWithIt { .. })
    }

    /// When a workspace deleted with the account is gone for good, as a day.
    pub fn purge_day(&self) -> String {
        match &self.fate {
            Fate::DeletedWithIt { purge_at, .. } => crate::infra::tenancy::standing::date(purge_at),
            _ => String::new(),
        }
    }
}

/// The fate of the workspace `tx` is scoped to, for the user.
async fn fate_in(env: &Environment, tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Fate> {
    let members = db::memberships::count(tx).await?;
    if members <= 1 {
        let account = db::billing::account(tx).await?;
        let paying = account.subscription_id.is_some()
            && !account.cancel_at_period_end
            && account
                .status
                .as_ref()
                .is_some_and(|s| *s != SubscriptionStatus::Canceled);
        if paying {
            return Ok(Fate::SubscriptionLive);
        }
        let requested = db::orgs::deletion_requested_at(tx).await?;
        return Ok(Fate::DeletedWithIt {
            purge_at: requested.unwrap_or_else(|| env.clock.now()) + RETENTION,
            already: requested.is_some(),
        });
    }
    let is_owner = db::memberships::role_of(tx, user_id).await? == Some(Role::Owner);
    if is_owner && db::memberships::count_owners(tx).await? <= 1 {
        return Ok(Fate::NeedsNewOwner {
            others: members - 1,
        });
    }
    Ok(Fate::Leaves)
}

/// What deleting the account would do in each of the user's workspaces
/// now; nothing is changed.
pub async fn assess(env: &Environment, user_id: Uuid) -> sqlx::Result<Vec<WorkspaceFate>> {
    let mut departure = DepartureTx::begin(&env.pool, user_id).await?;
    let fates = fates(env, &mut departure, user_id, false).await?;
    // Dropped: rolled back, nothing was written.
    Ok(fates)
}

async fn fates(
    env: &Environment,
    departure: &mut DepartureTx,
    user_id: Uuid,
    lock: bool,
) -> sqlx::Result<Vec<WorkspaceFate>> {
    let memberships = departure.memberships().to_vec();
    let mut fates = Vec::with_capacity(memberships.len());
    for membership in memberships {
        let Some(tx) = departure.enter(membership.org_id).await? else {
            continue;
        };
        if lock {
            // Member and owner counts hold until the commit.
            db::memberships::lock_org(tx).await?;
        }
        fates.push(WorkspaceFate {
            org_id: membership.org_id,
            name: membership.org_name,
            role: membership.role,
            fate: fate_in(env, tx, user_id).await?,
        });
    }
    Ok(fates)
}

/// What the deletion did.
#[derive(Debug, Default)]
pub struct Deleted {
    /// Workspaces left (the others carry on).
    pub left: Vec<String>,
    /// Workspaces deleted with the account, and the day each is gone.
    pub deleted: Vec<(String, String)>,
    pub api_tokens_revoked: u64,
    pub invitations_revoked: u64,
    /// The sessions ended (to drop from the session caches after the
    /// commit).
    pub sessions: Vec<String>,
}

/// The deletion, or the workspaces that stop it.
#[derive(Debug)]
pub enum Outcome {
    Deleted(Deleted),
    Blocked(Vec<WorkspaceFate>),
}

/// Deletes the user's account, in one transaction. The caller has checked
/// who they are (password, second factor); `actor` is them, from where
/// they asked.
pub async fn delete_account(
    env: &Environment,
    user: &User,
    actor: &Actor,
) -> anyhow::Result<Outcome> {
    let mut departure = DepartureTx::begin(&env.pool, user.id).await?;
    let fates = fates(env, &mut departure, user.id, true).await?;
    let blocking: Vec<WorkspaceFate> = fates.iter().filter(|f| f.blocks()).cloned().collect();
    if !blocking.is_empty() {
        return Ok(Outcome::Blocked(blocking));
    }
    let now = env.clock.now();
    let mut done = Deleted::default();
    for workspace in &fates {
        let Some(tx) = departure.enter(workspace.org_id).await? else {
            continue;
        };
        let tokens = db::api_tokens::revoke_created_by(tx, user.id).await?;
        let invitations = db::invitations::revoke_sent_by(tx, user.id).await?;
        match workspace.fate {
            Fate::DeletedWithIt { already, .. } => {
                if !already {
                    db::orgs::request_deletion(tx, Some(now)).await?;
                    audit::record(
                        tx,
                        actor,
                        "workspace.deletion_requested",
                        &workspace.name,
                        &[("reason", "its only member deleted their account")],
                    )
                    .await?;
                }
                done.deleted
                    .push((workspace.name.clone(), workspace.purge_day()));
            }
            _ => done.left.push(workspace.name.clone()),
        }
        let (tokens_text, invitations_text) = (tokens.to_string(), invitations.to_string());
        audit::record(
            tx,
            actor,
            "member.account_deleted",
            "",
            &[
                ("role", workspace.role.as_str()),
                ("api_tokens_revoked", &tokens_text),
                ("invitations_revoked", &invitations_text),
            ],
        )
        .await?;
        db::memberships::remove(tx, user.id).await?;
        done.api_tokens_revoked += tokens;
        done.invitations_revoked += invitations;
    }
    let conn = departure.account().await?;
    done.sessions = db::users::end_other_sessions(conn, user.id, None).await?;
    jobs::enqueue(
        conn,
        &env.secrets,
        &jobs::SendEmail::from(goodbye(user, &done)),
    )
    .await?;
    db::users::delete(conn, user.id).await?;
    departure.commit().await?;
    Ok(Outcome::Deleted(done))
}

/// The mail that confirms it (and warns them if it was not them).
fn goodbye(user: &User, done: &Deleted) -> Email {
    let mut body = format!(
        "Hello {},\n\nYour wacrm account ({}) was deleted, as you asked. \
         You were signed out everywhere and can no longer sign in.\n",
        user.name, user.email
    );
    if !done.left.is_empty() {
        body.push_str(&format!(
            "\nYou left: {}. Messages and notes you wrote there stay, shown as by a former member.\n",
            done.left.join(", ")
        ));
    }
    for (name, day) in &done.deleted {
        body.push_str(&format!(
            "\nThe workspace {name} had no other members, so it was deleted with your account; \
             its data is erased for good on {day}.\n"
        ));
    }
    body.push_str(
        "\nYou can sign up again with this address at any time; it starts a new, empty account.\n\
         If it was not you, someone had your password: tell the owners of your workspaces.\n",
    );
    Email {
        to: user.email.clone(),
        subject: "Your wacrm account was deleted".into(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(fate: Fate) -> WorkspaceFate {
        WorkspaceFate {
            org_id: Uuid::nil(),
            name: "Acme".into(),
            role: Role::Owner,
            fate,
        }
    }

    #[test]
    fn only_a_team_without_another_owner_or_a_paying_workspace_blocks() {
        let purge_at = OffsetDateTime::UNIX_EPOCH + RETENTION;
        let leaves = workspace(Fate::Leaves);
        let alone = workspace(Fate::DeletedWithIt {
            purge_at,
            already: false,
        });
        let team = workspace(Fate::NeedsNewOwner { others: 1 });
        let paying = workspace(Fate::SubscriptionLive);
        assert!(!leaves.blocks() && leaves.reason().is_none());
        assert!(!alone.blocks() && alone.deleted_with_it());
        assert_eq!(alone.purge_day(), "1970-01-31");
        assert!(team.blocks() && team.fix_at() == "/team");
        assert!(
            team.reason()
                .is_some_and(|r| r.contains("only owner of Acme, which has 1 other member."))
        );
        assert!(paying.blocks() && paying.fix_at() == "/settings/billing");
    }
}
