//! Ids in the path are read by one extractor: a segment that is not a UUID
//! names nothing, so pages, forms and the API answer it like a missing
//! record (404), never 400 or 500, and nothing changes.

use serde_json::json;

use crate::api::Api;
use crate::support::*;

const NOT_FOUND_TEXT: &str = "There is nothing here";

#[tokio::test]
async fn malformed_ids_in_pages_forms_and_the_api_are_not_found() {
    let app = spawn_app().await;
    let acme = team(&app).await;
    let ana = create_contact(&acme.owner, &[("name", "Ana")]).await;

    // Pages: the app's 404 page, for one id and for garbage of every kind.
    for path in [
        "/contacts/not-a-uuid",
        "/deals/42",
        "/inbox/x",
        "/campaigns/%FF",
        "/settings/channels/not-a-uuid",
        "/contacts/import/nope",
    ] {
        let (status, body) = acme.owner.page(path).await;
        assert_eq!(status, 404, "GET {path}");
        assert!(body.contains("<html"), "a page: {path}");
        assert!(body.contains(NOT_FOUND_TEXT), "the not-found page: {path}");
    }
    // The well-formed id of the same route is served: the 404 above is the id.
    let (status, _) = acme.owner.page(&format!("/contacts/{ana}")).await;
    assert_eq!(status, 200);

    // Forms, with a valid CSRF token: one id, and the second of two ids.
    let notes_before = app.count("select count(*) from notes").await;
    for (path, fields) in [
        ("/contacts/not-a-uuid/delete".to_owned(), vec![]),
        ("/tasks/12/done".to_owned(), vec![("done", "1")]),
        (
            "/contacts/not-a-uuid/notes".to_owned(),
            vec![("body", "Hello")],
        ),
        (format!("/contacts/{ana}/notes/garbage/delete"), vec![]),
        (format!("/contacts/garbage/notes/{ana}/delete"), vec![]),
    ] {
        let response = acme.owner.post_form(&path, &fields).await;
        assert_eq!(response.status(), 404, "POST {path}");
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains(NOT_FOUND_TEXT), "the not-found page: {path}");
    }
    assert_eq!(app.count("select count(*) from notes").await, notes_before);
    assert_eq!(app.count("select count(*) from contacts").await, 1);

    // The API keeps its JSON error shape.
    let api = Api::new(&app, &acme.owner).await;
    let (status, body) = api.get("/contacts/not-a-uuid").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    let (status, body) = api.patch("/companies/42", json!({"name": "Renamed"})).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    let (status, body) = api.delete("/contacts/%20").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert_eq!(app.count("select count(*) from contacts").await, 1);
}
