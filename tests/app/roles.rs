//! The role matrix, over every workspace route: each role gets what it may,
//! and a 403 page for what it may not. Requests are harmless (invalid or
//! unknown ids), so "allowed" means anything but 403.

use crate::support::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Min {
    Agent,
    Admin,
    Owner,
}

const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// Method, path, form fields, the least role allowed.
type Route = (&'static str, String, Vec<(&'static str, &'static str)>, Min);

fn routes() -> Vec<Route> {
    vec![
        ("GET", "/dashboard".into(), vec![], Min::Agent),
        ("GET", "/profile".into(), vec![], Min::Agent),
        ("GET", "/profile/sessions".into(), vec![], Min::Agent),
        ("GET", "/profile/two-factor".into(), vec![], Min::Agent),
        ("GET", "/workspaces".into(), vec![], Min::Agent),
        ("GET", "/workspaces/menu".into(), vec![], Min::Agent),
        ("GET", "/contacts".into(), vec![], Min::Agent),
        ("GET", "/deals".into(), vec![], Min::Agent),
        ("GET", "/deals/new".into(), vec![], Min::Agent),
        ("POST", "/deals".into(), vec![("title", "")], Min::Agent),
        ("GET", format!("/deals/{NIL}"), vec![], Min::Agent),
        ("POST", format!("/deals/{NIL}/stage"), vec![], Min::Agent),
        ("GET", "/deals/list".into(), vec![], Min::Agent),
        ("GET", "/tasks".into(), vec![], Min::Agent),
        ("GET", "/orders".into(), vec![], Min::Agent),
        ("GET", "/documents".into(), vec![], Min::Agent),
        (
            "GET",
            format!("/documents/new?contact={NIL}"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            "/documents".into(),
            vec![("contact", NIL)],
            Min::Agent,
        ),
        ("GET", format!("/documents/{NIL}"), vec![], Min::Agent),
        ("POST", format!("/documents/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/documents/{NIL}/issue"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            format!("/documents/{NIL}/state"),
            vec![("state", "void")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/documents/{NIL}/delete"),
            vec![],
            Min::Agent,
        ),
        ("GET", format!("/documents/{NIL}/pdf"), vec![], Min::Agent),
        ("POST", format!("/documents/{NIL}/send"), vec![], Min::Agent),
        (
            "POST",
            format!("/documents/{NIL}/share"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            format!("/documents/{NIL}/unshare"),
            vec![],
            Min::Agent,
        ),
        ("GET", format!("/orders/{NIL}"), vec![], Min::Agent),
        (
            "GET",
            format!("/orders/from-message/{NIL}"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            format!("/orders/{NIL}/status"),
            vec![("status", "new")],
            Min::Agent,
        ),
        ("GET", "/reports".into(), vec![], Min::Agent),
        ("GET", "/reports/pipeline.csv".into(), vec![], Min::Agent),
        ("GET", "/reports/won.csv".into(), vec![], Min::Agent),
        ("GET", "/reports/orders.csv".into(), vec![], Min::Agent),
        ("GET", "/reports/invoices.csv".into(), vec![], Min::Agent),
        ("GET", "/settings/orders".into(), vec![], Min::Admin),
        ("POST", "/settings/orders".into(), vec![], Min::Admin),
        ("GET", "/bookings".into(), vec![], Min::Agent),
        (
            "GET",
            format!("/bookings/new?contact={NIL}"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            "/bookings".into(),
            vec![("contact", NIL)],
            Min::Agent,
        ),
        ("GET", format!("/bookings/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/bookings/{NIL}/cancel"),
            vec![],
            Min::Agent,
        ),
        ("GET", "/settings/bookings".into(), vec![], Min::Admin),
        (
            "POST",
            "/settings/bookings/services".into(),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/bookings/services/{NIL}"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/bookings/hours/{NIL}"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/tasks/new".into(), vec![], Min::Agent),
        ("POST", "/tasks".into(), vec![("title", "")], Min::Agent),
        ("GET", "/tasks/calls".into(), vec![], Min::Agent),
        ("GET", format!("/tasks/{NIL}"), vec![], Min::Agent),
        ("POST", format!("/tasks/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/tasks/{NIL}/done"),
            vec![("done", "yes")],
            Min::Agent,
        ),
        ("POST", format!("/tasks/{NIL}/delete"), vec![], Min::Agent),
        ("GET", "/notifications".into(), vec![], Min::Agent),
        ("POST", "/notifications/read".into(), vec![], Min::Agent),
        ("POST", format!("/deals/{NIL}"), vec![], Min::Agent),
        ("POST", format!("/deals/{NIL}/notes"), vec![], Min::Agent),
        ("POST", format!("/deals/{NIL}/delete"), vec![], Min::Admin),
        ("GET", "/settings/pipelines".into(), vec![], Min::Admin),
        (
            "POST",
            "/settings/pipelines".into(),
            vec![("name", "")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/pipelines/{NIL}"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/pipelines/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/pipelines/{NIL}/stages"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/stages/{NIL}"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/stages/{NIL}/move"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/stages/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/products".into(), vec![], Min::Agent),
        ("GET", "/products?q=x&archived=1".into(), vec![], Min::Agent),
        ("GET", "/products/new".into(), vec![], Min::Admin),
        ("POST", "/products".into(), vec![("name", "")], Min::Admin),
        ("GET", format!("/products/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/products/{NIL}"),
            vec![("name", "x")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/products/{NIL}/active"),
            vec![("active", "false")],
            Min::Admin,
        ),
        ("GET", "/contacts/new".into(), vec![], Min::Agent),
        ("POST", "/contacts".into(), vec![("name", "")], Min::Agent),
        ("GET", format!("/contacts/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/contacts/{NIL}"),
            vec![("name", "x")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/contacts/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/contacts/{NIL}/notes"),
            vec![("body", "x")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/contacts/{NIL}/notes/{NIL}/delete"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            format!("/companies/{NIL}/notes"),
            vec![("body", "x")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/companies/{NIL}/notes/{NIL}/delete"),
            vec![],
            Min::Agent,
        ),
        ("GET", format!("/contacts/{NIL}/merge"), vec![], Min::Admin),
        (
            "POST",
            format!("/contacts/{NIL}/merge"),
            vec![("other", NIL)],
            Min::Admin,
        ),
        ("GET", "/inbox".into(), vec![], Min::Agent),
        ("GET", "/inbox/new".into(), vec![], Min::Agent),
        (
            "POST",
            "/inbox/new".into(),
            vec![("phone", "1")],
            Min::Agent,
        ),
        (
            "POST",
            "/inbox/bulk".into(),
            vec![("ids", NIL), ("action", "resolve")],
            Min::Agent,
        ),
        ("GET", "/search?q=x".into(), vec![], Min::Agent),
        ("GET", "/mentions".into(), vec![], Min::Agent),
        ("GET", format!("/media/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/inbox/{NIL}/priority"),
            vec![("priority", "low")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/labels"),
            vec![("labels", NIL)],
            Min::Agent,
        ),
        (
            "GET",
            format!("/inbox/{NIL}/suggestions?text=%2F"),
            vec![],
            Min::Agent,
        ),
        ("GET", "/canned".into(), vec![], Min::Admin),
        ("GET", "/contacts/import".into(), vec![], Min::Admin),
        ("GET", format!("/contacts/import/{NIL}"), vec![], Min::Admin),
        (
            "POST",
            format!("/contacts/import/{NIL}"),
            vec![("map", "name")],
            Min::Admin,
        ),
        (
            "GET",
            format!("/contacts/import/{NIL}/failed.csv"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/contacts/export.csv".into(), vec![], Min::Admin),
        ("GET", "/companies/export.csv".into(), vec![], Min::Admin),
        (
            "POST",
            "/canned".into(),
            vec![("shortcode", "x"), ("body", "y")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/canned/{NIL}"),
            vec![("shortcode", "x"), ("body", "y")],
            Min::Admin,
        ),
        ("POST", format!("/canned/{NIL}/delete"), vec![], Min::Admin),
        ("GET", format!("/inbox/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/inbox/{NIL}/messages"),
            vec![("text", "x")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/notes"),
            vec![("text", "x")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/reactions"),
            vec![("message_id", NIL), ("emoji", "👍")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/attachments"),
            vec![("text", "x")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/template"),
            vec![("name", "x"), ("language", "en_US")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/template/preview"),
            vec![("name", "x"), ("language", "en_US")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/status"),
            vec![("status", "open")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/assign"),
            vec![("assignee", "")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/schedule"),
            vec![("text", "x"), ("send_at", "2099-01-01T09:00")],
            Min::Agent,
        ),
        ("GET", "/scheduled".into(), vec![], Min::Agent),
        ("GET", format!("/scheduled/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/scheduled/{NIL}"),
            vec![("text", "x"), ("send_at", "2099-01-01T09:00")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/scheduled/{NIL}/cancel"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            format!("/scheduled/{NIL}/send-now"),
            vec![],
            Min::Agent,
        ),
        ("GET", "/sandbox".into(), vec![], Min::Agent),
        (
            "POST",
            "/sandbox/messages".into(),
            vec![("phone", "")],
            Min::Agent,
        ),
        (
            "POST",
            "/sandbox/read".into(),
            vec![("phone", "")],
            Min::Agent,
        ),
        ("GET", "/attributes".into(), vec![], Min::Admin),
        (
            "POST",
            "/attributes".into(),
            vec![("label", "")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/attributes/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/labels".into(), vec![], Min::Admin),
        ("POST", "/labels".into(), vec![("name", "")], Min::Admin),
        (
            "POST",
            format!("/labels/{NIL}"),
            vec![("name", "x")],
            Min::Admin,
        ),
        ("POST", format!("/labels/{NIL}/delete"), vec![], Min::Admin),
        ("GET", "/companies".into(), vec![], Min::Agent),
        ("GET", "/companies/new".into(), vec![], Min::Agent),
        ("POST", "/companies".into(), vec![("name", "")], Min::Agent),
        ("GET", format!("/companies/{NIL}"), vec![], Min::Agent),
        (
            "POST",
            format!("/companies/{NIL}"),
            vec![("name", "x")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/companies/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/team".into(), vec![], Min::Admin),
        (
            "POST",
            "/team/invitations".into(),
            vec![("email", "")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/team/invitations/{NIL}/revoke"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/team/members/{NIL}/role"),
            vec![("role", "agent")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/team/members/{NIL}/remove"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/settings".into(), vec![], Min::Admin),
        ("POST", "/settings".into(), vec![("name", "")], Min::Admin),
        ("GET", "/settings/api-tokens".into(), vec![], Min::Admin),
        ("GET", "/settings/channels".into(), vec![], Min::Admin),
        (
            "POST",
            "/settings/channels".into(),
            vec![("name", "")],
            Min::Admin,
        ),
        (
            "GET",
            format!("/settings/channels/{NIL}"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/channels/{NIL}/check"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/channels/{NIL}/templates"),
            vec![],
            Min::Admin,
        ),
        (
            "GET",
            format!("/settings/channels/{NIL}/templates/new"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/channels/{NIL}/templates/new"),
            vec![("name", "x")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/channels/{NIL}/templates/delete"),
            vec![("name", "x"), ("language", "en_US")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/channels/{NIL}/enabled"),
            vec![("enabled", "false")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/channels/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/settings/linked-devices".into(), vec![], Min::Admin),
        (
            "POST",
            "/settings/linked-devices".into(),
            vec![("name", "")],
            Min::Admin,
        ),
        (
            "GET",
            format!("/settings/linked-devices/{NIL}"),
            vec![],
            Min::Admin,
        ),
        (
            "GET",
            format!("/settings/linked-devices/{NIL}/status"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/linked-devices/{NIL}/unlink"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/linked-devices/{NIL}/relink"),
            vec![("phone", "")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/linked-devices/{NIL}/groups"),
            vec![("groups", "on")],
            Min::Admin,
        ),
        (
            "POST",
            "/settings/api-tokens".into(),
            vec![("name", "")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/settings/api-tokens/{NIL}/revoke"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            "/team/transfer-ownership".into(),
            vec![("user_id", NIL)],
            Min::Owner,
        ),
        (
            "POST",
            "/settings/delete-workspace".into(),
            vec![("confirm_name", "not the name")],
            Min::Owner,
        ),
        (
            "POST",
            "/settings/restore-workspace".into(),
            vec![],
            Min::Owner,
        ),
        ("GET", "/automations".into(), vec![], Min::Admin),
        (
            "POST",
            "/automations".into(),
            vec![("name", "")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/automations/{NIL}"),
            vec![("name", "")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/automations/{NIL}/enabled"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/automations/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            "/availability".into(),
            vec![("available", "maybe")],
            Min::Agent,
        ),
        ("GET", "/settings/bot".into(), vec![], Min::Admin),
        (
            "POST",
            format!("/settings/bot/{NIL}"),
            vec![("mode", "off")],
            Min::Admin,
        ),
        ("GET", "/knowledge".into(), vec![], Min::Admin),
        ("POST", "/knowledge".into(), vec![("title", "")], Min::Admin),
        (
            "POST",
            format!("/knowledge/{NIL}"),
            vec![("title", "x"), ("body", "y")],
            Min::Admin,
        ),
        (
            "POST",
            format!("/knowledge/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/campaigns".into(), vec![], Min::Admin),
        ("GET", "/campaigns/new".into(), vec![], Min::Admin),
        ("POST", "/campaigns".into(), vec![("name", "")], Min::Admin),
        ("GET", "/campaigns/opt-out".into(), vec![], Min::Admin),
        (
            "POST",
            "/campaigns/opt-out".into(),
            vec![("opt_out_words", "")],
            Min::Admin,
        ),
        ("GET", format!("/campaigns/{NIL}"), vec![], Min::Admin),
        ("POST", format!("/campaigns/{NIL}"), vec![], Min::Admin),
        (
            "GET",
            format!("/campaigns/{NIL}/progress"),
            vec![],
            Min::Admin,
        ),
        (
            "GET",
            format!("/campaigns/{NIL}/events"),
            vec![],
            Min::Admin,
        ),
        (
            "GET",
            format!("/campaigns/{NIL}/recipients.csv"),
            vec![],
            Min::Admin,
        ),
        ("POST", format!("/campaigns/{NIL}/test"), vec![], Min::Admin),
        (
            "POST",
            format!("/campaigns/{NIL}/start"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/campaigns/{NIL}/schedule"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/campaigns/{NIL}/unschedule"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/campaigns/{NIL}/pause"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/campaigns/{NIL}/resume"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/campaigns/{NIL}/cancel"),
            vec![],
            Min::Admin,
        ),
        (
            "POST",
            format!("/campaigns/{NIL}/delete"),
            vec![],
            Min::Admin,
        ),
        ("GET", "/settings/audit".into(), vec![], Min::Owner),
        ("POST", "/settings/audit/verify".into(), vec![], Min::Owner),
        ("GET", "/settings/security".into(), vec![], Min::Owner),
        ("GET", "/settings/exports".into(), vec![], Min::Owner),
        (
            "GET",
            format!("/settings/exports/{NIL}"),
            vec![],
            Min::Owner,
        ),
        (
            "GET",
            format!("/settings/exports/{NIL}/download"),
            vec![],
            Min::Owner,
        ),
        (
            "POST",
            format!("/contacts/{NIL}/export"),
            vec![],
            Min::Owner,
        ),
        ("POST", "/settings/security".into(), vec![], Min::Owner),
        // No choice made: refused (422), nothing changes.
        ("POST", "/settings/retention".into(), vec![], Min::Owner),
        ("GET", "/settings/ai".into(), vec![], Min::Owner),
        (
            "POST",
            "/settings/ai".into(),
            vec![("model", "not a model")],
            Min::Owner,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/ai/draft"),
            vec![("action", "suggest")],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/ai/summary"),
            vec![],
            Min::Agent,
        ),
        (
            "POST",
            format!("/inbox/{NIL}/ai/translate"),
            vec![("message_id", NIL)],
            Min::Agent,
        ),
        (
            "POST",
            "/profile/language".into(),
            vec![("language", "xx")],
            Min::Agent,
        ),
        ("GET", "/settings/billing".into(), vec![], Min::Owner),
        (
            "GET",
            "/settings/billing/success".into(),
            vec![],
            Min::Owner,
        ),
        (
            "POST",
            "/settings/billing/checkout".into(),
            vec![("plan", "pro")],
            Min::Owner,
        ),
        (
            "POST",
            "/settings/billing/portal".into(),
            vec![],
            Min::Owner,
        ),
    ]
}

#[tokio::test]
async fn every_route_enforces_the_role_matrix() {
    let app = spawn_app().await;
    let team = team(&app).await;
    for (role, browser, rank) in [
        ("owner", &team.owner, Min::Owner),
        ("admin", &team.admin, Min::Admin),
        ("agent", &team.agent, Min::Agent),
    ] {
        for (method, path, fields, min) in routes() {
            let allowed = match min {
                Min::Agent => true,
                Min::Admin => rank != Min::Agent,
                Min::Owner => rank == Min::Owner,
            };
            let (status, body) = if method == "GET" {
                browser.page(&path).await
            } else {
                let response = browser.post_form(&path, &fields).await;
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            };
            if allowed {
                assert_ne!(status, 403, "{role} must be allowed {method} {path}");
                assert!(status < 500, "{role} {method} {path}: {status}");
            } else {
                assert_eq!(status, 403, "{role} must be refused {method} {path}");
                assert!(
                    body.contains("Your role does not allow this"),
                    "{role} {path}: a readable 403 page"
                );
            }
        }
    }
    // The workspace still exists (the owner's delete had the wrong name).
    let (_, body) = team.owner.page("/dashboard").await;
    assert!(body.contains("Acme"));
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_log_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (_, path, _, _) in routes().into_iter().filter(|r| r.0 == "GET") {
        let response = browser.get(&path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/login", "{path}");
    }
}
