//! Who may do what in the portal: organisation roles × portal actions, default deny.
//!
//! | action                       | owner | developer | viewer | admin (any application) |
//! |------------------------------|:-----:|:---------:|:------:|:-----------------------:|
//! | ViewApplications             |   ✓   |     ✓     |   ✓    |            ✓            |
//! | ViewLogs                     |   ✓   |     ✓     |   ✓    |            ✓            |
//! | ViewMembers                  |   ✓   |     ✓     |   ✓    |            ✓            |
//! | RegisterApplication          |   ✓   |     ✓     |        |                         |
//! | ManageCredentials            |   ✓   |     ✓     |        |                         |
//! | RequestScopes                |   ✓   |     ✓     |        |                         |
//! | EditApplicationSettings      |   ✓   |     ✓     |        |                         |
//! | SuspendOrDeleteApplication   |   ✓   |           |        |            ✓            |
//! | ResetSandbox                 |   ✓   |     ✓     |        |                         |
//! | InviteMembers                |   ✓   |           |        |                         |
//! | ManageMembers                |   ✓   |           |        |                         |
//! | ManageIdentityProvider       |   ✓   |           |        |                         |
//!
//! Admins act on any application only for viewing and suspending or deleting it; everything
//! an admin decides (organisations, scopes, production access) goes through the admin
//! functions of [`crate::orgs::organisations`] and [`crate::apps::scope_requests`], which require
//! `users.role = admin`. An admin never gets partner secrets by being an admin.

use crate::{CoreError, CoreResult};

/// A member's role in their organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberRole {
    Owner,
    Developer,
    Viewer,
}

impl MemberRole {
    pub const ALL: [MemberRole; 3] = [MemberRole::Owner, MemberRole::Developer, MemberRole::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Owner => "owner",
            MemberRole::Developer => "developer",
            MemberRole::Viewer => "viewer",
        }
    }

    /// Parses `owner`, `developer` or `viewer` (what forms send).
    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "owner" => Ok(MemberRole::Owner),
            "developer" => Ok(MemberRole::Developer),
            "viewer" => Ok(MemberRole::Viewer),
            other => Err(CoreError::Invalid(format!(
                "{other:?} is not a role: choose owner, developer or viewer"
            ))),
        }
    }
}

impl std::fmt::Display for MemberRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a member does in the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortalAction {
    /// See the organisation's applications and their details (never secrets: those are shown
    /// once, at creation).
    ViewApplications,
    /// Read request logs, usage and the organisation's activity.
    ViewLogs,
    /// See the organisation's members and invitations.
    ViewMembers,
    RegisterApplication,
    /// Add, promote and revoke client secrets and API keys.
    ManageCredentials,
    RequestScopes,
    /// IP allowlist, provider preferences, description.
    EditApplicationSettings,
    SuspendOrDeleteApplication,
    /// Restore the organisation's sandbox data to its seed (drops created orders etc.).
    ResetSandbox,
    InviteMembers,
    /// Change roles and remove members.
    ManageMembers,
    /// Register the organisation's identity provider (federation), its application mappings
    /// and direct acceptance: whoever controls the IdP can act as the mapped applications.
    ManageIdentityProvider,
}

impl PortalAction {
    pub const ALL: [PortalAction; 12] = [
        PortalAction::ViewApplications,
        PortalAction::ViewLogs,
        PortalAction::ViewMembers,
        PortalAction::RegisterApplication,
        PortalAction::ManageCredentials,
        PortalAction::RequestScopes,
        PortalAction::EditApplicationSettings,
        PortalAction::SuspendOrDeleteApplication,
        PortalAction::ResetSandbox,
        PortalAction::InviteMembers,
        PortalAction::ManageMembers,
        PortalAction::ManageIdentityProvider,
    ];

    /// Read-only actions.
    pub fn is_view(self) -> bool {
        matches!(
            self,
            PortalAction::ViewApplications | PortalAction::ViewLogs | PortalAction::ViewMembers
        )
    }

    /// Words for refusal messages: "Your role (viewer) does not allow {describe}."
    pub fn describe(self) -> &'static str {
        match self {
            PortalAction::ViewApplications => "viewing applications",
            PortalAction::ViewLogs => "viewing logs",
            PortalAction::ViewMembers => "viewing members",
            PortalAction::RegisterApplication => "registering applications",
            PortalAction::ManageCredentials => "managing client secrets and API keys",
            PortalAction::RequestScopes => "requesting scopes",
            PortalAction::EditApplicationSettings => "changing application settings",
            PortalAction::SuspendOrDeleteApplication => "suspending or deleting applications",
            PortalAction::ResetSandbox => "resetting the sandbox data",
            PortalAction::InviteMembers => "inviting members",
            PortalAction::ManageMembers => "managing members",
            PortalAction::ManageIdentityProvider => "managing the identity provider",
        }
    }
}

/// Whether a member with `role` may do `action` in their own organisation.
pub fn permits(role: MemberRole, action: PortalAction) -> bool {
    match role {
        MemberRole::Owner => true,
        MemberRole::Developer => !matches!(
            action,
            PortalAction::InviteMembers
                | PortalAction::ManageMembers
                | PortalAction::SuspendOrDeleteApplication
                | PortalAction::ManageIdentityProvider
        ),
        MemberRole::Viewer => action.is_view(),
    }
}

/// Whether a platform admin may do `action` on any organisation's application.
pub fn admin_permits(action: PortalAction) -> bool {
    action.is_view() || action == PortalAction::SuspendOrDeleteApplication
}

/// `Ok` when `role` permits `action`, else [`CoreError::Forbidden`] naming both.
pub fn require(role: MemberRole, action: PortalAction) -> CoreResult<()> {
    if permits(role, action) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(format!(
            "Your role in this organisation ({role}) does not allow {}.",
            action.describe()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PortalAction as A;

    /// The full matrix, cell by cell: (action, owner, developer, viewer, admin).
    const MATRIX: [(PortalAction, bool, bool, bool, bool); 12] = [
        (A::ViewApplications, true, true, true, true),
        (A::ViewLogs, true, true, true, true),
        (A::ViewMembers, true, true, true, true),
        (A::RegisterApplication, true, true, false, false),
        (A::ManageCredentials, true, true, false, false),
        (A::RequestScopes, true, true, false, false),
        (A::EditApplicationSettings, true, true, false, false),
        (A::SuspendOrDeleteApplication, true, false, false, true),
        (A::ResetSandbox, true, true, false, false),
        (A::InviteMembers, true, false, false, false),
        (A::ManageMembers, true, false, false, false),
        (A::ManageIdentityProvider, true, false, false, false),
    ];

    #[test]
    fn every_role_action_cell_matches_the_matrix() {
        assert_eq!(MATRIX.len(), PortalAction::ALL.len());
        for action in PortalAction::ALL {
            let (_, owner, developer, viewer, admin) =
                MATRIX.iter().find(|row| row.0 == action).copied().unwrap();
            assert_eq!(
                permits(MemberRole::Owner, action),
                owner,
                "owner {action:?}"
            );
            assert_eq!(
                permits(MemberRole::Developer, action),
                developer,
                "developer {action:?}"
            );
            assert_eq!(
                permits(MemberRole::Viewer, action),
                viewer,
                "viewer {action:?}"
            );
            assert_eq!(admin_permits(action), admin, "admin {action:?}");
            assert_eq!(require(MemberRole::Viewer, action).is_ok(), viewer);
        }
    }

    #[test]
    fn refusals_name_the_role_and_the_action() {
        let err = require(MemberRole::Viewer, A::ManageCredentials).unwrap_err();
        assert!(matches!(&err, CoreError::Forbidden(m)
            if m.contains("viewer") && m.contains("client secrets")));
    }

    #[test]
    fn roles_round_trip() {
        for role in MemberRole::ALL {
            assert_eq!(MemberRole::parse(role.as_str()).unwrap(), role);
        }
        assert!(MemberRole::parse("admin").is_err());
    }
}
