//! Extractors for signed-in people: [`CurrentUser`] (no workspace needed) and
//! [`Tenant`] (a member of the current workspace, with an open tenant context).

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use sqlx::PgPool;
use uuid::Uuid;

use super::TenantTx;
use super::capability::{AnyMember, Capability};
use super::session_state::FlashKind;
use super::session_state::{AuthSession, Flash};
use crate::domain::Role;
use crate::error::{AppError, Result};
use crate::infra::client_ip::ClientIp;
use crate::infra::clock::Clock;
use crate::infra::config::Config;
use crate::infra::db;

/// What every signed-in page shows in the layout.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub csrf_token: String,
    pub flash: Option<Flash>,
    pub user_name: Option<String>,
    pub org_name: Option<String>,
    pub role: Option<Role>,
    pub email_verified: bool,
    /// A linked phone of the workspace was logged out or needs an update
    /// (shown to owners and admins, who can link it again).
    pub phones_need_attention: bool,
    /// The workspace's payment failed or it was canceled: what to do.
    pub billing_banner: Option<String>,
    /// In-app notifications the member has not read.
    pub unread_notifications: i64,
    /// The sidebar's counts (zero outside a workspace).
    pub nav: NavCounts,
    /// The request's path and query, to mark the sidebar's current place.
    pub location: String,
}

/// The counts beside the sidebar's inbox views.
#[derive(Debug, Clone, Copy, Default)]
pub struct NavCounts {
    pub inbox_mine: i64,
    pub inbox_unassigned: i64,
    pub new_mentions: i64,
}

/// A sidebar count as shown: nothing for none, "99+" from the cap on.
pub fn count_badge(count: &i64) -> String {
    match *count {
        ..=0 => String::new(),
        n if n >= db::memberships::SIDEBAR_COUNT_CAP => "99+".into(),
        n => n.to_string(),
    }
}

impl Page {
    /// For pages seen before signing in.
    pub async fn anonymous(session: &AuthSession) -> Result<Page> {
        Ok(Page {
            csrf_token: session.csrf_token().await?,
            flash: session.take_flash().await?,
            ..Page::default()
        })
    }

    pub fn can_manage_team(&self) -> bool {
        self.role.is_some_and(super::capability::ManageTeam::allows)
    }

    pub fn can_manage_settings(&self) -> bool {
        self.role
            .is_some_and(super::capability::ManageSettings::allows)
    }

    fn path_and_query(&self) -> (&str, &str) {
        self.location
            .split_once('?')
            .unwrap_or((self.location.as_str(), ""))
    }

    /// Whether the page is `section` or under it (`/deals` for `/deals/…`).
    pub fn in_section(&self, section: &str) -> bool {
        let (path, _) = self.path_and_query();
        path == section
            || path
                .strip_prefix(section)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Which inbox view the page is (`mine`, `unassigned` or `all`); none
    /// outside the inbox.
    pub fn inbox_view(&self) -> &str {
        if !self.in_section("/inbox") {
            return "";
        }
        let (_, query) = self.path_and_query();
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "assignee")
            .map(|(_, value)| match value.as_ref() {
                "mine" => "mine",
                "unassigned" => "unassigned",
                _ => "all",
            })
            .unwrap_or("all")
    }

    /// `aria-current="page"` where `current` holds, else nothing.
    pub fn current_if(&self, current: bool) -> &'static str {
        if current { "aria-current=page" } else { "" }
    }

    /// The workspace's initial, for its badge in the switcher.
    pub fn org_initial(&self) -> String {
        self.org_name
            .as_deref()
            .and_then(|name| name.trim().chars().next())
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default()
    }
}

/// The request's path and query (bounded: it is only compared, never shown).
fn location_of(parts: &Parts) -> String {
    let location = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    location.chars().take(2048).collect()
}

/// A signed-in user, whatever workspace (or none) is selected.
pub struct CurrentUser {
    pub user: db::users::User,
    pub session: AuthSession,
    pub page: Page,
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    PgPool: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let session = AuthSession::from_request_parts(parts, state).await?;
        let Some(user_id) = session.user_id().await? else {
            return Err(AppError::Unauthorized);
        };
        let mut conn = PgPool::from_ref(state).acquire().await?;
        let Some(user) = db::users::find(&mut conn, user_id).await? else {
            session.sign_out().await?;
            return Err(AppError::Unauthorized);
        };
        let page = Page {
            csrf_token: session.csrf_token().await?,
            flash: session.take_flash().await?,
            user_name: Some(user.name.clone()),
            email_verified: user.email_verified_at.is_some(),
            location: location_of(parts),
            ..Page::default()
        };
        Ok(CurrentUser {
            user,
            session,
            page,
        })
    }
}

/// Signed in or not.
pub struct MaybeUser(pub Option<CurrentUser>);

impl<S> FromRequestParts<S> for MaybeUser
where
    S: Send + Sync,
    PgPool: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(MaybeUser(Some(user))),
            Err(AppError::Unauthorized) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}

/// The member behind a request.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub user_name: String,
    pub user_email: String,
    pub org_id: Uuid,
    pub org_name: String,
    pub role: Role,
    /// Agents of this workspace see only their and unassigned conversations.
    pub agents_see_assigned_only: bool,
    /// Whether the workspace's payments let it send and import.
    pub standing: super::standing::Standing,
    /// Where the request came from (for the audit log).
    pub ip: std::net::IpAddr,
}

impl Member {
    /// This member, from this request's address, for the audit log.
    pub fn actor(&self) -> crate::infra::audit_log::Actor {
        crate::infra::audit_log::Actor {
            user_id: Some(self.user_id),
            email: Some(self.user_email.clone()),
            ip: Some(self.ip),
        }
    }

    /// Refuses sending and importing in a read-only workspace.
    pub fn must_be_writable(&self) -> Result<()> {
        super::standing::must_be_writable(&self.standing)
    }

    /// The conversations this member may see.
    pub fn visibility(&self) -> crate::infra::db::conversations::Visibility {
        use crate::infra::db::conversations::Visibility;
        if self.role == Role::Agent && self.agents_see_assigned_only {
            Visibility::AssignedTo(self.user_id)
        } else {
            Visibility::All
        }
    }
}

/// Where a member of a workspace that requires a second factor, without
/// one, is sent (it needs no workspace, so it is reachable).
const ENROL_TWO_FACTOR: &str = "/profile/two-factor";

/// A member of the session's current workspace who has capability `C`, with
/// a transaction scoped to that workspace. The only door to tenant data for
/// browser requests.
pub struct Tenant<C: Capability = AnyMember> {
    pub member: Member,
    pub tx: TenantTx,
    pub session: AuthSession,
    pub page: Page,
    _capability: PhantomData<C>,
}

impl<C: Capability> Tenant<C> {
    /// Commits the request's transaction, awaits `work` (a call to a
    /// provider that may take long: a session idle in a transaction is
    /// ended after 60 s, and it would hold a pooled connection), then opens
    /// the workspace's context again, the member still one of it.
    pub async fn outside_transaction<T>(
        self,
        pool: &PgPool,
        work: impl std::future::Future<Output = T>,
    ) -> Result<(Self, T)> {
        let Tenant {
            member,
            tx,
            session,
            page,
            _capability,
        } = self;
        tx.commit().await?;
        let done = work.await;
        let mut tx = TenantTx::open(pool, member.org_id).await?;
        if db::memberships::load_member(&mut tx, member.user_id)
            .await?
            .is_none()
        {
            return Err(AppError::Redirect("/workspaces".into()));
        }
        let tenant = Tenant {
            member,
            tx,
            session,
            page,
            _capability,
        };
        Ok((tenant, done))
    }
}

impl<C: Capability, S> FromRequestParts<S> for Tenant<C>
where
    S: Send + Sync,
    PgPool: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Clock: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let session = AuthSession::from_request_parts(parts, state).await?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let Some(user_id) = session.user_id().await? else {
            return Err(AppError::Unauthorized);
        };
        let Some(org_id) = session.org_id().await? else {
            return Err(AppError::Redirect("/workspaces".into()));
        };
        let mut tx = TenantTx::open(&PgPool::from_ref(state), org_id).await?;
        let Some(row) = db::memberships::load_member(&mut tx, user_id).await? else {
            session.set_org_id(None).await?;
            session
                .flash(
                    FlashKind::Error,
                    "You are no longer a member of that workspace.",
                )
                .await?;
            return Err(AppError::Redirect("/workspaces".into()));
        };
        let role = row.role;
        if row.must_enrol_two_factor {
            session
                .flash(
                    FlashKind::Error,
                    format!(
                        "{} requires two-factor sign-in. Set it up to go on.",
                        row.org_name
                    ),
                )
                .await?;
            return Err(AppError::Redirect(ENROL_TWO_FACTOR.into()));
        }
        if !C::allows(role) {
            return Err(AppError::Forbidden(C::WHAT));
        }
        let standing = super::standing::of_workspace(
            &Arc::<Config>::from_ref(state),
            &Clock::from_ref(state),
            &mut tx,
        )
        .await?;
        let page = Page {
            csrf_token: session.csrf_token().await?,
            flash: session.take_flash().await?,
            user_name: Some(row.user_name.clone()),
            org_name: Some(row.org_name.clone()),
            role: Some(role),
            email_verified: row.email_verified,
            phones_need_attention: row.phones_need_attention
                && matches!(role, Role::Owner | Role::Admin),
            billing_banner: standing.banner(),
            unread_notifications: row.unread_notifications,
            nav: NavCounts {
                inbox_mine: row.inbox_mine,
                inbox_unassigned: row.inbox_unassigned,
                new_mentions: row.new_mentions,
            },
            location: location_of(parts),
        };
        Ok(Tenant {
            member: Member {
                user_id,
                user_name: row.user_name,
                user_email: row.user_email,
                org_id,
                org_name: row.org_name,
                role,
                agents_see_assigned_only: row.agents_see.assigned_only(),
                standing,
                ip,
            },
            tx,
            session,
            page,
            _capability: PhantomData,
        })
    }
}

impl CurrentUser {
    /// This user, from this request's address, for the audit log.
    pub fn actor(&self, ip: std::net::IpAddr) -> crate::infra::audit_log::Actor {
        crate::infra::audit_log::Actor {
            user_id: Some(self.user.id),
            email: Some(self.user.email.clone()),
            ip: Some(ip),
        }
    }

    /// The user's own workspaces, across tenants (the switcher).
    pub async fn workspaces(&self, pool: &sqlx::PgPool) -> Result<Vec<db::orgs::UserWorkspace>> {
        workspaces_of(pool, self.user.id).await
    }
}

/// A user's workspaces (user scope: their own memberships only). Used by
/// the switcher and by login, which has just proved who the user is.
pub async fn workspaces_of(
    pool: &sqlx::PgPool,
    user_id: Uuid,
) -> Result<Vec<db::orgs::UserWorkspace>> {
    let mut scope = super::UserScopeTx::open(pool, user_id).await?;
    let list = db::orgs::list_for_user(&mut scope).await?;
    scope.commit().await?;
    Ok(list)
}
