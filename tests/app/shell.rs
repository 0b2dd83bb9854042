//! The app shell every signed-in page shares: the sidebar grouped by what
//! people do, its inbox counts (mine, unassigned, new mentions), the current
//! place marked, the workspace switcher, and the phone's bottom bar.

use crate::support::*;

/// Whether the sidebar has a group headed `heading`.
fn has_group(page: &str, heading: &str) -> bool {
    page.match_indices("<h2 class=\"nav-heading\"")
        .any(|(at, _)| {
            let tag = &page[at..];
            tag.find('>')
                .is_some_and(|end| tag[end + 1..].starts_with(&format!("{heading}</h2>")))
        })
}

/// The text of the sidebar count in the link with `id`, if it shows one.
fn count_in(page: &str, id: &str) -> Option<String> {
    let start = page.find(&format!("id=\"{id}\""))?;
    let link = &page[start..start + page[start..].find("</a>")?];
    let at = link.find("class=\"nav-count\"")?;
    let text = &link[at..];
    let open = text.find('>')? + 1;
    let close = text.find("</span>")?;
    Some(text[open..close].to_owned())
}

#[tokio::test]
async fn the_sidebar_groups_places_and_shows_admin_places_only_to_admins() {
    let app = spawn_app().await;
    let team = team(&app).await;

    let (status, page) = team.owner.page("/contacts").await;
    assert_eq!(status, 200);
    for heading in [
        "Inbox",
        "Customers",
        "Sales",
        "Outreach",
        "Knowledge &amp; automations",
    ] {
        assert!(has_group(&page, heading), "the {heading} group");
    }
    for place in [
        "/deals",
        "/tasks",
        "/documents",
        "/orders",
        "/bookings",
        "/products",
        "/reports",
        "/scheduled",
    ] {
        assert!(
            page.contains(&format!("href=\"{place}\"")),
            "{place} in the sidebar"
        );
    }
    for admin_place in [
        "/settings",
        "/team",
        "/campaigns",
        "/automations",
        "/labels",
    ] {
        assert!(
            page.contains(&format!("href=\"{admin_place}\"")),
            "{admin_place} for the owner"
        );
    }
    // The page's own place is marked, and only it.
    assert!(
        page.contains("class=\"nav-item\" href=\"/contacts\" aria-current=page"),
        "{page}"
    );
    let sidebar = &page[..page.find("class=\"bottombar\"").unwrap()];
    assert_eq!(
        sidebar.matches("aria-current=page").count(),
        1,
        "one current place in the sidebar"
    );
    assert!(
        page.contains("<a href=\"/contacts\" aria-current=page>"),
        "and in the bottom bar"
    );
    // Icons come from the one inline sprite.
    assert!(page.contains("<symbol id=\"i-inbox\""));
    assert!(page.contains("<use href=\"#i-contact\"/>"));

    let (_, agents) = team.agent.page("/contacts").await;
    for admin_place in [
        "/settings",
        "/team",
        "/campaigns",
        "/automations",
        "/labels",
    ] {
        assert!(
            !agents.contains(&format!("href=\"{admin_place}\"")),
            "{admin_place} hidden from agents"
        );
    }
    assert!(agents.contains("href=\"/deals\""));
    // The phone's bottom bar: four places, the last opens the full menu.
    assert!(agents.contains("class=\"bottombar\""));
    assert!(agents.contains("href=\"#sidebar\" aria-controls=\"sidebar\""));
}

#[tokio::test]
async fn inbox_counts_follow_assignments_resolutions_and_mentions() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let first = customer_writes(&team.owner, "Maria", "+4930901820", "hi").await;
    customer_writes(&team.owner, "Jonas", "+4930901821", "hello").await;
    customer_writes(&team.owner, "Petra", "+4930901822", "hey").await;

    let (_, page) = team.agent.page("/dashboard").await;
    assert_eq!(count_in(&page, "nav-unassigned").as_deref(), Some("3"));
    assert_eq!(
        count_in(&page, "nav-mine"),
        None,
        "nothing is the agent's yet"
    );

    let assigned = team
        .agent
        .post_form(&format!("/inbox/{first}/assign"), &[("assignee", "me")])
        .await;
    assert_eq!(assigned.status(), 303);
    let (_, page) = team.agent.page("/dashboard").await;
    assert_eq!(count_in(&page, "nav-mine").as_deref(), Some("1"));
    assert_eq!(count_in(&page, "nav-unassigned").as_deref(), Some("2"));
    // Another member's assignment is not the owner's "mine".
    let (_, owners) = team.owner.page("/dashboard").await;
    assert_eq!(count_in(&owners, "nav-mine"), None);

    let resolved = team
        .agent
        .post_form(&format!("/inbox/{first}/status"), &[("status", "resolved")])
        .await;
    assert_eq!(resolved.status(), 303);
    let (_, page) = team.agent.page("/dashboard").await;
    assert_eq!(
        count_in(&page, "nav-mine"),
        None,
        "a resolved conversation is not open"
    );

    let note = team
        .owner
        .post_form(
            &format!("/inbox/{first}/notes"),
            &[("text", "@aga agent look")],
        )
        .await;
    assert_eq!(note.status(), 303);
    let (_, page) = team.agent.page("/tasks").await;
    assert_eq!(count_in(&page, "nav-mentions").as_deref(), Some("1"));
    // Opening the mentions page sees them: the count goes, there and after.
    let (_, mentions) = team.agent.page("/mentions").await;
    assert!(mentions.contains("look"));
    assert_eq!(count_in(&mentions, "nav-mentions"), None);
    let (_, page) = team.agent.page("/tasks").await;
    assert_eq!(count_in(&page, "nav-mentions"), None);
}

#[tokio::test]
async fn another_workspaces_conversations_are_not_counted() {
    let app = spawn_app().await;
    let acme = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    customer_writes(&acme, "Maria", "+4930901820", "hi").await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;

    let (_, acmes) = acme.page("/dashboard").await;
    assert_eq!(count_in(&acmes, "nav-unassigned").as_deref(), Some("1"));
    let (_, others) = other.page("/dashboard").await;
    assert_eq!(count_in(&others, "nav-unassigned"), None);
    assert!(!others.contains("Acme"));
}

#[tokio::test]
async fn the_inbox_views_are_marked_where_they_are() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let (_, mine) = owner.page("/inbox?assignee=mine").await;
    assert!(mine.contains("id=\"nav-mine\" aria-current=page"));
    assert!(!mine.contains("class=\"nav-item\" href=\"/inbox\" aria-current=page"));
    let (_, all) = owner.page("/inbox?status=pending").await;
    assert!(all.contains("class=\"nav-item\" href=\"/inbox\" aria-current=page"));
    // A hostile query is only compared, never echoed into the sidebar.
    let (status, odd) = owner.page("/inbox?assignee=%22%3E%3Cscript%3E").await;
    assert_eq!(status, 400, "a bad filter is refused with the reason");
    assert!(!odd.contains("\"><script>"));
}

#[tokio::test]
async fn the_workspace_menu_lists_only_the_users_own_workspaces() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let created = owner
        .post_form("/workspaces", &[("org_name", "Acme Brazil")])
        .await;
    assert_eq!(created.status(), 303);
    app.sign_up("Otto", "otto@other.test", "Other Co").await;

    let (status, menu) = owner.page("/workspaces/menu").await;
    assert_eq!(status, 200);
    assert!(menu.contains("Acme Brazil"));
    assert!(menu.contains(">Acme</button>") || menu.contains("</svg> Acme</span>"));
    assert!(!menu.contains("Other Co"), "another user's workspace");
    assert_eq!(menu.matches("aria-current=\"true\"").count(), 1, "{menu}");
    assert!(menu.contains("action=\"/workspaces/switch\""));
    assert!(menu.contains("name=\"csrf_token\""));

    let anonymous = Browser::new(&app.base);
    let response = anonymous.get("/workspaces/menu").await;
    assert_ne!(response.status(), 200, "signed-in users only");
}
