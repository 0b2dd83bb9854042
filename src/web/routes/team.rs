//! Members and invitations of the current workspace.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{EmailAddress, Role};
use crate::error::{AppError, Result};
use crate::features::audit;
use crate::features::billing::limits::{self, Counted};
use crate::infra::db;
use crate::infra::db::invitations::Invitation;
use crate::infra::db::memberships::Member as MemberRow;
use crate::infra::jobs;
use crate::infra::mail::Email;
use crate::infra::rate_limit::{self, INVITE_PER_INVITER, INVITE_PER_WORKSPACE};
use crate::infra::tenancy::bootstrap::INVITATION_PREFIX;
use crate::infra::tenancy::capability::{ManageTeam, OwnWorkspace};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tokens::TenantToken;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/team", get(index))
        .route("/team/invitations", post(invite))
        .route("/team/invitations/{id}/revoke", post(revoke_invitation))
        .route("/team/members/{user_id}/role", post(change_role))
        .route("/team/members/{user_id}/remove", post(remove_member))
        .route("/team/transfer-ownership", post(transfer_ownership))
}

#[derive(Template, WebTemplate)]
#[template(path = "team/index.html")]
struct TeamPage {
    page: Page,
    members: Vec<MemberRow>,
    invitations: Vec<Invitation>,
    me: Uuid,
    is_owner: bool,
    errors: Vec<String>,
    email: String,
    role: String,
}

async fn render(
    mut tenant: Tenant<ManageTeam>,
    errors: Vec<String>,
    email: String,
    role: String,
) -> Result<Response> {
    let members = db::memberships::list(&mut tenant.tx).await?;
    let invitations = db::invitations::list_open(&mut tenant.tx).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        TeamPage {
            members,
            invitations,
            me: tenant.member.user_id,
            is_owner: tenant.member.role == Role::Owner,
            errors,
            email,
            role,
            page: tenant.page,
        },
    )
        .into_response())
}

async fn index(tenant: Tenant<ManageTeam>) -> Result<Response> {
    render(tenant, vec![], String::new(), "agent".into()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invite(
    State(state): State<AppState>,
    mut tenant: Tenant<ManageTeam>,
    HtmlForm(form): HtmlForm<InviteForm>,
) -> Result<Response> {
    // Counted before anything else, so refused attempts count too.
    rate_limit::check(
        &state.pool,
        INVITE_PER_INVITER,
        &tenant.member.user_id.to_string(),
    )
    .await?;
    rate_limit::check(
        &state.pool,
        INVITE_PER_WORKSPACE,
        &tenant.member.org_id.to_string(),
    )
    .await?;
    if !tenant.page.email_verified {
        return render(
            tenant,
            vec![UNVERIFIED.into()],
            form.email.trim().to_owned(),
            form.role,
        )
        .await
        .map(|page| (StatusCode::FORBIDDEN, page).into_response());
    }
    let mut errors = vec![];
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.push(e))
        .ok();
    let role = match Role::parse(form.role.trim()) {
        Ok(role) if role.invitable() => Some(role),
        _ => {
            errors.push("Choose the role to invite as: admin or agent.".into());
            None
        }
    };
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return render(tenant, errors, form.email.trim().to_owned(), form.role).await;
    };
    let already_member = db::memberships::list(&mut tenant.tx)
        .await?
        .iter()
        .any(|m| m.email.eq_ignore_ascii_case(email.as_str()));
    if already_member {
        let message = format!("{email} is already a member of this workspace.");
        return render(tenant, vec![message], email.to_string(), role.to_string()).await;
    }
    limits::check_one(&state.config, &mut tenant.tx, Counted::Members).await??;
    let token = TenantToken::generate(tenant.member.org_id)?;
    let link = state.url(&format!("/invitations/{}", token.encode(INVITATION_PREFIX)));
    // The only words of the inviter's that reach the invitee are the
    // workspace's name, made inert: an invitation must not carry spam.
    let workspace = mail_safe(&tenant.member.org_name);
    let mail = Email {
        to: email.to_string(),
        subject: format!("You are invited to join \"{workspace}\" on wacrm"),
        body: format!(
            "Hello,\n\nYou are invited to join the workspace \"{workspace}\" on wacrm as {role}.\n\n\
             Open this link within 7 days to accept (it works once):\n\n{link}\n\n\
             If you did not expect this, ignore this mail.\n"
        ),
    };
    db::invitations::insert(
        &mut tenant.tx,
        &email,
        role,
        &token.hash(),
        tenant.member.user_id,
    )
    .await?;
    jobs::enqueue(
        tenant.tx.conn(),
        &state.secrets,
        &jobs::SendEmail::from(mail),
    )
    .await?;
    let role_name = role.to_string();
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "member.invited",
        email.as_str(),
        &[("role", &role_name)],
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("Invitation sent to {email} as {role}."),
        )
        .await?;
    Ok(Redirect::to("/team").into_response())
}

async fn revoke_invitation(mut tenant: Tenant<ManageTeam>, PathId(id): PathId) -> Result<Redirect> {
    if !db::invitations::revoke(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "member.invitation_revoked",
        &id.to_string(),
        &[],
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Invitation revoked.")
        .await?;
    Ok(Redirect::to("/team"))
}

/// The member a path names, in this workspace only (404 otherwise).
async fn target(tenant: &mut Tenant<ManageTeam>, user_id: Uuid) -> Result<MemberRow> {
    db::memberships::lock_org(&mut tenant.tx).await?;
    db::memberships::list(&mut tenant.tx)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RoleForm {
    role: String,
}

async fn change_role(
    mut tenant: Tenant<ManageTeam>,
    PathId(user_id): PathId,
    HtmlForm(form): HtmlForm<RoleForm>,
) -> Result<Redirect> {
    let member = target(&mut tenant, user_id).await?;
    let new_role = Role::parse(form.role.trim()).map_err(AppError::BadRequest)?;
    let current = member.role;
    let acting = tenant.member.role;
    if acting != Role::Owner && (current == Role::Owner || new_role == Role::Owner) {
        return Err(AppError::Forbidden(
            "change an owner's role or make someone an owner (owners only)",
        ));
    }
    if current == Role::Owner
        && new_role != Role::Owner
        && db::memberships::count_owners(&mut tenant.tx).await? <= 1
    {
        return Err(AppError::Conflict(
            "The last owner cannot be demoted. Make someone else an owner first, or transfer ownership.".into(),
        ));
    }
    db::memberships::set_role(&mut tenant.tx, member.user_id, new_role).await?;
    let to = new_role.to_string();
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "member.role_changed",
        &member.email,
        &[("from", member.role.as_str()), ("to", &to)],
    )
    .await?;
    // Roles are read on every request, so the change applies at once.
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("{} is now {new_role}.", member.name),
        )
        .await?;
    Ok(Redirect::to("/team"))
}

async fn remove_member(
    mut tenant: Tenant<ManageTeam>,
    PathId(user_id): PathId,
) -> Result<Redirect> {
    let member = target(&mut tenant, user_id).await?;
    let current = member.role;
    if current == Role::Owner && tenant.member.role != Role::Owner {
        return Err(AppError::Forbidden("remove an owner (owners only)"));
    }
    if current == Role::Owner && db::memberships::count_owners(&mut tenant.tx).await? <= 1 {
        return Err(AppError::Conflict(
            "The last owner cannot be removed. Transfer ownership first, or delete the workspace."
                .into(),
        ));
    }
    db::memberships::remove(&mut tenant.tx, member.user_id).await?;
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "member.removed",
        &member.email,
        &[("role", member.role.as_str())],
    )
    .await?;
    tenant.tx.commit().await?;
    if member.user_id == tenant.member.user_id {
        tenant.session.set_org_id(None).await?;
        tenant
            .session
            .flash(
                FlashKind::Success,
                format!("You left {}.", tenant.member.org_name),
            )
            .await?;
        return Ok(Redirect::to("/workspaces"));
    }
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("{} was removed from the workspace.", member.name),
        )
        .await?;
    Ok(Redirect::to("/team"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TransferForm {
    user_id: String,
}

/// The chosen member becomes owner; the current owner becomes admin.
async fn transfer_ownership(
    mut owner: Tenant<OwnWorkspace>,
    HtmlForm(form): HtmlForm<TransferForm>,
) -> Result<Redirect> {
    let user_id = Uuid::try_parse(form.user_id.trim()).map_err(|_| AppError::NotFound)?;
    db::memberships::lock_org(&mut owner.tx).await?;
    let members = db::memberships::list(&mut owner.tx).await?;
    let Some(member) = members.iter().find(|m| m.user_id == user_id) else {
        return Err(AppError::NotFound);
    };
    if member.user_id == owner.member.user_id {
        return Err(AppError::BadRequest(
            "Choose another member to transfer ownership to.".into(),
        ));
    }
    db::memberships::set_role(&mut owner.tx, member.user_id, Role::Owner).await?;
    db::memberships::set_role(&mut owner.tx, owner.member.user_id, Role::Admin).await?;
    audit::record(
        &mut owner.tx,
        &owner.member.actor(),
        "member.ownership_transferred",
        &member.email,
        &[],
    )
    .await?;
    owner.tx.commit().await?;
    owner
        .session
        .flash(
            FlashKind::Success,
            format!("{} is now the owner; you are an admin.", member.name),
        )
        .await?;
    Ok(Redirect::to("/team"))
}

const UNVERIFIED: &str = "Verify your email address before inviting anyone: open the link we \
                          mailed you (the banner above sends it again).";

/// A name typed by a customer of ours, fit for the text of a mail to
/// someone else: one line, 80 characters at most, and nothing a mail
/// program would turn into a link (dots between letters become one-dot
/// leaders, slashes division slashes, `@` a full-width at).
fn mail_safe(name: &str) -> String {
    let one_line: String = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    let chars: Vec<char> = one_line.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            '.' if i > 0
                && i + 1 < chars.len()
                && chars[i - 1].is_alphanumeric()
                && chars[i + 1].is_alphanumeric() =>
            {
                '\u{2024}'
            }
            '/' => '\u{2215}',
            '@' => '\u{ff20}',
            '<' => '\u{2039}',
            '>' => '\u{203a}',
            other => *other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mail_safe;

    #[test]
    fn names_in_mails_are_one_inert_line() {
        assert_eq!(mail_safe("Acme Co."), "Acme Co.");
        assert_eq!(mail_safe("Ana's Shop"), "Ana's Shop");
        assert_eq!(
            mail_safe("Win\r\nBcc: x@evil.example http://evil.example/a"),
            "Win Bcc: x\u{ff20}evil\u{2024}example http:\u{2215}\u{2215}evil\u{2024}example\u{2215}a"
        );
        assert_eq!(mail_safe("<a href=x>"), "\u{2039}a href=x\u{203a}");
        assert_eq!(mail_safe(&"a".repeat(300)).chars().count(), 80);
    }
}
