//! The role matrix, in one place: each capability is a type naming the roles
//! that have it. Handlers state what they need in their extractor
//! (`Tenant<ManageTeam>`), and the extractor answers 403 for anyone else.

use crate::domain::Role;

/// Something a member may be allowed to do.
pub trait Capability: Send + Sync + 'static {
    /// Shown on the 403 page: "Your role does not allow this: {WHAT}."
    const WHAT: &'static str;
    const ROLES: &'static [Role];

    fn allows(role: Role) -> bool {
        Self::ROLES.contains(&role)
    }
}

macro_rules! capabilities {
    ($($(#[$doc:meta])* $name:ident: $what:literal => [$($role:ident),+];)+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Capability for $name {
                const WHAT: &'static str = $what;
                const ROLES: &'static [Role] = &[$(Role::$role),+];
            }
        )+
        /// Every capability with its roles (for docs and tests).
        pub const MATRIX: &[(&str, &[Role])] = &[$((stringify!($name), &[$(Role::$role),+])),+];
    };
}

capabilities! {
    /// Inbox, contacts, companies: every member.
    AnyMember: "use this workspace" => [Owner, Admin, Agent];
    /// Deleting contacts and companies (their history goes with them).
    DeleteRecords: "delete contacts and companies" => [Owner, Admin];
    /// Members (except owners) and invitations.
    ManageTeam: "manage the team" => [Owner, Admin];
    /// Workspace settings, API tokens, channels.
    ManageSettings: "change workspace settings" => [Owner, Admin];
    /// Billing, ownership transfer, deleting the workspace.
    OwnWorkspace: "manage billing, ownership or deletion of the workspace" => [Owner];
    /// Campaigns: messages to many contacts at once, and opt-out words.
    RunCampaigns: "send campaigns" => [Owner, Admin];
    /// Products: creating, editing, archiving (everyone may view them).
    ManageCatalogue: "manage the product catalogue" => [Owner, Admin];
    /// Turning AI on (it sends conversations to a provider) and its key.
    ControlAi: "turn AI on or off or change its key" => [Owner];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_only_use_the_workspace_and_owners_do_everything() {
        for (name, roles) in MATRIX {
            assert!(roles.contains(&Role::Owner), "{name} must include owners");
        }
        assert!(AnyMember::allows(Role::Agent));
        assert!(!ManageTeam::allows(Role::Agent));
        assert!(!DeleteRecords::allows(Role::Agent));
        assert!(ManageSettings::allows(Role::Admin));
        assert!(!OwnWorkspace::allows(Role::Admin));
        assert!(ManageCatalogue::allows(Role::Admin));
        assert!(!ManageCatalogue::allows(Role::Agent));
    }
}
