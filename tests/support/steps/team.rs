use super::super::*;

/// The invitation link mailed to `email`, as a path.
pub async fn invitation_path(app: &TestApp, email: &str) -> String {
    let mail = app.mail_to(email, "/invitations/").await;
    let link = mail
        .link_containing("/invitations/")
        .expect("invitation link");
    link.trim_start_matches(&app.base).to_owned()
}

/// `owner` invites `email` as `role`; the new person creates an account.
pub async fn invite_new_member(
    app: &TestApp,
    owner: &Browser,
    name: &str,
    email: &str,
    role: &str,
) -> Browser {
    let response = owner
        .post_form("/team/invitations", &[("email", email), ("role", role)])
        .await;
    assert_eq!(response.status(), 303, "inviting {email}");
    let path = invitation_path(app, email).await;
    let invitee = app.browser();
    let (status, body) = invitee.page(&path).await;
    assert_eq!(status, 200);
    assert!(body.contains(email), "{body}");
    let response = invitee
        .post_form(&path, &[("name", name), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), 303, "accepting as {email}");
    assert_eq!(location(&response), "/dashboard");
    invitee
}

/// A workspace "Acme" with an owner, an admin and an agent.
pub struct Team {
    pub owner: Browser,
    pub admin: Browser,
    pub agent: Browser,
}

pub async fn team(app: &TestApp) -> Team {
    let owner = app.sign_up("Olga Owner", "owner@acme.test", "Acme").await;
    let admin = invite_new_member(app, &owner, "Adam Admin", "admin@acme.test", "admin").await;
    let agent = invite_new_member(app, &owner, "Aga Agent", "agent@acme.test", "agent").await;
    Team {
        owner,
        admin,
        agent,
    }
}

/// The workspace setting: agents see only their conversations and the unassigned.
pub async fn agents_see_only_theirs(owner: &Browser) {
    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "UTC"),
                ("agents_see", "assigned"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
}
