//! The JSON API (`/api/v1`) as an integration uses it: a workspace token,
//! contacts, companies, conversations and messages, bad input answered in
//! JSON, and another workspace's ids answered 404 with nothing changed.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// A client calling the API with one token.
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub async fn new(app: &TestApp, owner: &Browser) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: format!("{}/api/v1", app.base),
            token: api_token(owner, "integration").await,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.bearer_auth(&self.token).send().await.expect("send");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, body)
    }

    /// POST a multipart form.
    pub async fn post_multipart(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> (StatusCode, Value) {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form);
        self.send(request).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.client
                .patch(format!("{}{path}", self.base))
                .json(&body),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)))
            .await
    }

    /// Every page of a list, following `next_cursor`; the items in order.
    pub async fn all_pages(&self, path: &str) -> (Vec<Value>, usize) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = vec![];
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let (status, page) = self.get(&url).await;
            assert_eq!(status, 200, "{url}: {page}");
            pages += 1;
            items.extend(page["data"].as_array().expect("data").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return (items, pages),
            }
            assert!(pages < 100, "paging does not end");
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

fn assert_error(status: StatusCode, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

async fn set_country(owner: &Browser, country: &str) {
    let response = owner
        .post_form(
            "/settings",
            &[
                ("name", "Acme"),
                ("time_zone", "Europe/Berlin"),
                ("default_country", country),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
}

async fn create_label(owner: &Browser, name: &str) {
    let response = owner
        .post_form("/labels", &[("name", name), ("color", "#2563eb")])
        .await;
    assert_eq!(response.status(), 303, "creating label {name}");
}

async fn define_attribute(owner: &Browser, entity: &str, label: &str, kind: &str, options: &str) {
    let response = owner
        .post_form(
            "/attributes",
            &[
                ("entity", entity),
                ("label", label),
                ("kind", kind),
                ("options", options),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "defining {label}");
}

#[tokio::test]
async fn contacts_are_created_read_searched_updated_and_deleted() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    set_country(&owner, "DE").await;
    create_label(&owner, "VIP").await;
    create_label(&owner, "Lead").await;
    define_attribute(&owner, "contact", "Plan", "select", "Gold\nSilver").await;
    define_attribute(&owner, "contact", "Seats", "number", "").await;
    define_attribute(&owner, "contact", "Newsletter", "checkbox", "").await;
    let api = Api::new(&app, &owner).await;

    let response = api
        .client
        .post(format!("{}/contacts", api.base))
        .bearer_auth(&api.token)
        .json(&json!({
            "name": "Ana Lima",
            "phone": "030 901820",
            "email": "ana@example.test",
            "company": "Lima GmbH",
            "labels": ["vip"],
            "attributes": {"plan": "Gold", "seats": 12, "newsletter": true},
            "unknown_field": "ignored",
        }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let ana: Value = response.json().await.expect("json");
    let id = ana["id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("/api/v1/contacts/{id}"));
    assert_eq!(ana["name"], "Ana Lima");
    assert_eq!(
        ana["phone"], "+4930901820",
        "E.164 with the workspace's country"
    );
    assert_eq!(ana["email"], "ana@example.test");
    assert_eq!(ana["company"], "Lima GmbH");
    assert!(ana["company_id"].is_string());
    assert_eq!(ana["labels"], json!(["VIP"]));
    assert_eq!(
        ana["attributes"],
        json!({"plan": "Gold", "seats": 12, "newsletter": true})
    );
    assert_eq!(ana["opted_out"], false);
    assert_eq!(ana["blocked"], false);
    let created_at = ana["created_at"].as_str().expect("created_at");
    assert!(
        created_at.ends_with('Z') && created_at.contains('T'),
        "{created_at}"
    );

    let (status, got) = api.get(&format!("/contacts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, ana);
    // The pages show what the API saved.
    let (_, page) = owner.page(&format!("/contacts/{id}")).await;
    assert!(page.contains("Ana Lima") && page.contains("Lima GmbH"));

    let (status, _) = api
        .post(
            "/contacts",
            json!({"name": "Bruno Costa", "phone": "+55 11 91234 5678"}),
        )
        .await;
    assert_eq!(status, 201);
    for (q, expected) in [
        ("lima", vec!["Ana Lima"]),
        ("901820", vec!["Ana Lima"]),
        ("030%20901820", vec!["Ana Lima"]),
        ("EXAMPLE.test", vec!["Ana Lima"]),
        ("bruno", vec!["Bruno Costa"]),
        ("nobody", vec![]),
    ] {
        let (status, list) = api.get(&format!("/contacts?q={q}")).await;
        assert_eq!(status, 200);
        let names: Vec<&str> = list["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, expected, "q={q}");
        assert_eq!(list["next_cursor"], Value::Null);
    }
    let (_, all) = api.get("/contacts").await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(2));

    // Only the fields given change.
    let (status, updated) = api
        .patch(
            &format!("/contacts/{id}"),
            json!({"email": "ana@lima.test", "attributes": {"seats": 15}}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["email"], "ana@lima.test");
    assert_eq!(updated["name"], "Ana Lima");
    assert_eq!(updated["phone"], "+4930901820");
    assert_eq!(updated["company"], "Lima GmbH");
    assert_eq!(updated["labels"], json!(["VIP"]));
    assert_eq!(
        updated["attributes"],
        json!({"plan": "Gold", "seats": 15, "newsletter": true})
    );
    let (status, updated) = api
        .patch(
            &format!("/contacts/{id}"),
            json!({
                "labels": ["Lead", "VIP"],
                "company": null,
                "opted_out": true,
                "attributes": {"plan": null, "newsletter": false},
            }),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["labels"], json!(["Lead", "VIP"]));
    assert_eq!(updated["company"], Value::Null);
    assert_eq!(updated["opted_out"], true);
    assert_eq!(
        updated["attributes"],
        json!({"seats": 15, "newsletter": false})
    );
    assert_eq!(updated["email"], "ana@lima.test");
    let (_, got) = api.get(&format!("/contacts/{id}")).await;
    assert_eq!(got, updated);

    let (status, body) = api.delete(&format!("/contacts/{id}")).await;
    assert_eq!(status, 204);
    assert_eq!(body, Value::Null);
    let (status, body) = api.get(&format!("/contacts/{id}")).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = api.delete(&format!("/contacts/{id}")).await;
    assert_error(status, &body, 404, "not_found");
    assert_eq!(app.count("select count(*) from contacts").await, 1);
}

#[tokio::test]
async fn duplicate_and_invalid_contacts_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    set_country(&owner, "DE").await;
    create_label(&owner, "VIP").await;
    define_attribute(&owner, "contact", "Plan", "select", "Gold\nSilver").await;
    define_attribute(&owner, "contact", "Seats", "number", "").await;
    let api = Api::new(&app, &owner).await;
    let (_, ana) = api
        .post(
            "/contacts",
            json!({"name": "Ana", "phone": "+49 30 901820", "email": "ana@example.test"}),
        )
        .await;
    let ana_id = ana["id"].as_str().expect("id").to_owned();

    // The same number in another form, and the same email in another case.
    for duplicate in [
        json!({"name": "Ana 2", "phone": "030 901820"}),
        json!({"name": "Ana 3", "email": "ANA@example.test"}),
    ] {
        let (status, body) = api.post("/contacts", duplicate.clone()).await;
        assert_error(status, &body, 409, "conflict");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&ana_id),
            "names the existing contact: {message}"
        );
    }

    for (input, field) in [
        (json!({"name": "Bo", "phone": "12"}), "phone:"),
        (json!({"name": "Bo", "phone": "hello"}), "phone:"),
        (json!({"name": "Bo", "email": "not-an-email"}), "email:"),
        (json!({"name": "x".repeat(201)}), "name is too long"),
        (
            json!({"name": "Bo", "labels": ["VIP", "Gold members"]}),
            "labels:",
        ),
        (
            json!({"name": "Bo", "attributes": {"plan": "Bronze"}}),
            "attributes.plan:",
        ),
        (
            json!({"name": "Bo", "attributes": {"seats": "many"}}),
            "attributes.seats:",
        ),
        (
            json!({"name": "Bo", "attributes": {"shoe_size": 42}}),
            "attributes:",
        ),
        (json!({}), "Enter at least a name"),
        (json!({"name": "Bo", "phone": 4930901820u64}), "phone"),
    ] {
        let (status, body) = api.post("/contacts", input.clone()).await;
        assert_error(status, &body, 422, "invalid");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{input}: {message}");
    }
    let (_, body) = api
        .post(
            "/contacts",
            json!({"name": "Bo", "phone": "12", "labels": ["Gold members"]}),
        )
        .await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Gold members"),
        "names the unknown label: {body}"
    );
    assert!(message.contains("phone:"), "every problem at once: {body}");

    // Updating into a duplicate is refused too, and changes nothing.
    let (_, bo) = api
        .post("/contacts", json!({"name": "Bo", "phone": "+4930901821"}))
        .await;
    let bo_id = bo["id"].as_str().expect("id");
    let (status, body) = api
        .patch(
            &format!("/contacts/{bo_id}"),
            json!({"name": "Bo B", "phone": "+4930901820"}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    let (status, body) = api
        .patch(&format!("/contacts/{bo_id}"), json!({"email": "nope"}))
        .await;
    assert_error(status, &body, 422, "invalid");
    let (_, after) = api.get(&format!("/contacts/{bo_id}")).await;
    assert_eq!(after, bo);
    assert_eq!(app.count("select count(*) from contacts").await, 2);
}

#[tokio::test]
async fn contact_pages_follow_the_cursor_without_duplicates_or_gaps() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let api = Api::new(&app, &owner).await;
    let mut created = HashSet::new();
    for n in 0..23 {
        // Some names repeat: ties are broken by id.
        let (status, contact) = api
            .post("/contacts", json!({"name": format!("Person {}", n % 7)}))
            .await;
        assert_eq!(status, 201);
        created.insert(contact["id"].as_str().expect("id").to_owned());
    }
    for sort in ["name_asc", "name_desc", "newest_first", "oldest_first"] {
        let (items, pages) = api
            .all_pages(&format!("/contacts?limit=5&sort={sort}"))
            .await;
        assert_eq!(pages, 5, "{sort}");
        let listed = ids(&items);
        let unique: HashSet<String> = listed.iter().cloned().collect();
        assert_eq!(listed.len(), 23, "{sort}: no duplicates");
        assert_eq!(unique, created, "{sort}: no gaps");
    }
    let (_, first) = api.get("/contacts?limit=5").await;
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let (status, body) = api
        .get(&format!(
            "/contacts?limit=5&sort=newest_first&cursor={cursor}"
        ))
        .await;
    assert_error(status, &body, 400, "bad_request");
    for bad in ["cursor=garbage", "limit=0", "limit=ten", "sort=shoe_size"] {
        let (status, body) = api.get(&format!("/contacts?{bad}")).await;
        assert_error(status, &body, 400, "bad_request");
    }
    let (status, big) = api.get("/contacts?limit=1000").await;
    assert_eq!(status, 200);
    assert_eq!(big["data"].as_array().map(Vec::len), Some(23));
    let (_, default) = api.get("/contacts").await;
    assert_eq!(default["data"].as_array().map(Vec::len), Some(23));
}

#[tokio::test]
async fn companies_are_created_read_listed_updated_and_deleted_keeping_contacts() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    define_attribute(&owner, "company", "Industry", "text", "").await;
    let api = Api::new(&app, &owner).await;

    let (status, lima) = api
        .post(
            "/companies",
            json!({
                "name": "Lima GmbH",
                "domain": "https://www.Lima.example/about",
                "address": "Hauptstr. 1, Berlin",
                "attributes": {"industry": "Retail"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{lima}");
    let id = lima["id"].as_str().expect("id").to_owned();
    assert_eq!(lima["domain"], "lima.example");
    assert_eq!(lima["attributes"], json!({"industry": "Retail"}));
    assert_eq!(lima["contact_count"], 0);
    let (status, got) = api.get(&format!("/companies/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, lima);

    for (input, field) in [
        (json!({"domain": "lima.example"}), "name:"),
        (json!({"name": "  "}), "name:"),
        (json!({"name": "X", "domain": "not a domain"}), "domain:"),
        (
            json!({"name": "X", "attributes": {"industry": 7}}),
            "attributes.industry:",
        ),
    ] {
        let (status, body) = api.post("/companies", input.clone()).await;
        assert_error(status, &body, 422, "invalid");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{input}: {message}");
    }
    let (status, _) = api.post("/companies", json!({"name": "Globo"})).await;
    assert_eq!(status, 201);
    let (_, found) = api.get("/companies?q=lima").await;
    assert_eq!(
        ids(found["data"].as_array().expect("data")),
        vec![id.clone()]
    );
    let (items, _) = api.all_pages("/companies?limit=1").await;
    assert_eq!(items.len(), 2);

    let (status, updated) = api
        .patch(&format!("/companies/{id}"), json!({"address": null}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["address"], Value::Null);
    assert_eq!(updated["name"], "Lima GmbH");
    assert_eq!(updated["domain"], "lima.example");
    assert_eq!(updated["attributes"], json!({"industry": "Retail"}));

    // A contact naming the company is linked to it; deleting the company
    // keeps the contact.
    let (_, ana) = api
        .post("/contacts", json!({"name": "Ana", "company": "lima gmbh"}))
        .await;
    assert_eq!(ana["company_id"], json!(id));
    assert_eq!(ana["company"], "Lima GmbH");
    let (_, counted) = api.get(&format!("/companies/{id}")).await;
    assert_eq!(counted["contact_count"], 1);
    let (status, _) = api.delete(&format!("/companies/{id}")).await;
    assert_eq!(status, 204);
    let (status, body) = api.get(&format!("/companies/{id}")).await;
    assert_error(status, &body, 404, "not_found");
    let (_, ana) = api
        .get(&format!("/contacts/{}", ana["id"].as_str().expect("id")))
        .await;
    assert_eq!(ana["company"], Value::Null);
    assert_eq!(ana["name"], "Ana");
}

/// A customer's conversation started through the simulator, as JSON.
async fn conversation(api: &Api, browser: &Browser, name: &str, phone: &str, text: &str) -> Value {
    let id = customer_writes(browser, name, phone, text).await;
    let (status, conversation) = api.get(&format!("/conversations/{id}")).await;
    assert_eq!(status, 200, "{conversation}");
    conversation
}

fn listed(page: &Value) -> Vec<String> {
    ids(page["data"].as_array().expect("data"))
}

#[tokio::test]
async fn conversations_are_listed_by_filter_and_worked_by_patch() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    create_label(&owner, "VIP").await;
    let api = Api::new(&app, &owner).await;
    let ana = conversation(&api, &owner, "Ana", "+4930901820", "Hello").await;
    let bruno = conversation(&api, &owner, "Bruno", "+5511912345678", "Oi").await;
    let ana_id = ana["id"].as_str().expect("id").to_owned();
    let bruno_id = bruno["id"].as_str().expect("id").to_owned();
    assert_eq!(ana["status"], "open");
    assert_eq!(ana["assignee_id"], Value::Null);
    assert_eq!(ana["priority"], "none");
    assert_eq!(ana["labels"], json!([]));
    assert!(
        ana["last_message_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let (_, contact) = api
        .get(&format!(
            "/contacts/{}",
            ana["contact_id"].as_str().expect("contact")
        ))
        .await;
    assert_eq!(contact["phone"], "+4930901820");

    // Most recent activity first.
    let (status, all) = api.get("/conversations").await;
    assert_eq!(status, 200);
    assert_eq!(listed(&all), vec![bruno_id.clone(), ana_id.clone()]);
    let (items, pages) = api.all_pages("/conversations?limit=1").await;
    assert_eq!(
        (ids(&items), pages),
        (vec![bruno_id.clone(), ana_id.clone()], 2)
    );

    let olga = app.user_id("owner@acme.test").await.to_string();
    let (status, worked) = api
        .patch(
            &format!("/conversations/{ana_id}"),
            json!({"status": "pending", "assignee_id": olga, "labels": ["vip"], "priority": "high"}),
        )
        .await;
    assert_eq!(status, 200, "{worked}");
    assert_eq!(worked["status"], "pending");
    assert_eq!(worked["assignee_id"], json!(olga));
    assert_eq!(worked["labels"], json!(["VIP"]));
    assert_eq!(worked["priority"], "high");
    let (_, got) = api.get(&format!("/conversations/{ana_id}")).await;
    assert_eq!(got, worked);

    let channel = ana["channel_id"].as_str().expect("channel");
    let ana_contact = ana["contact_id"].as_str().expect("contact");
    let filters: Vec<(String, Vec<String>)> = vec![
        ("status=pending".into(), vec![ana_id.clone()]),
        ("status=open".into(), vec![bruno_id.clone()]),
        ("status=resolved".into(), vec![]),
        (format!("assignee={olga}"), vec![ana_id.clone()]),
        ("assignee=unassigned".into(), vec![bruno_id.clone()]),
        ("label=VIP".into(), vec![ana_id.clone()]),
        ("label=nothing-like-it".into(), vec![]),
        (format!("contact_id={ana_contact}"), vec![ana_id.clone()]),
        (
            format!("channel_id={channel}&status=open"),
            vec![bruno_id.clone()],
        ),
        (format!("channel_id={}", uuid::Uuid::nil()), vec![]),
    ];
    for (query, expected) in filters {
        let (status, page) = api.get(&format!("/conversations?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(listed(&page), expected, "{query}");
    }
    for bad in [
        "status=closed",
        "assignee=me",
        "contact_id=12",
        "cursor=%%%",
        "limit=-3",
    ] {
        let (status, body) = api.get(&format!("/conversations?{bad}")).await;
        assert_error(status, &body, 400, "bad_request");
    }

    // Refused changes name the field and change nothing.
    for (input, field) in [
        (json!({"status": "closed"}), "status:"),
        (json!({"status": "snoozed"}), "snoozed_until:"),
        (
            json!({"status": "snoozed", "snoozed_until": "tomorrow"}),
            "snoozed_until:",
        ),
        (
            json!({"status": "snoozed", "snoozed_until": "2001-01-01T00:00:00Z"}),
            "snoozed_until:",
        ),
        (
            json!({"snoozed_until": "2030-01-01T00:00:00Z"}),
            "snoozed_until:",
        ),
        (json!({"assignee_id": uuid::Uuid::new_v4()}), "assignee_id:"),
        (json!({"assignee_id": "me"}), "assignee_id"),
        (json!({"labels": ["Gold"], "priority": "low"}), "labels:"),
        (
            json!({"priority": "asap", "status": "resolved"}),
            "priority:",
        ),
    ] {
        let (status, body) = api
            .patch(&format!("/conversations/{ana_id}"), input.clone())
            .await;
        assert_error(status, &body, 422, "invalid");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{input}: {message}");
    }
    let (_, unchanged) = api.get(&format!("/conversations/{ana_id}")).await;
    assert_eq!(unchanged, worked);

    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (status, snoozed) = api
        .patch(
            &format!("/conversations/{ana_id}"),
            json!({"status": "snoozed", "snoozed_until": until, "assignee_id": null, "labels": null}),
        )
        .await;
    assert_eq!(status, 200, "{snoozed}");
    assert_eq!(snoozed["status"], "snoozed");
    assert!(snoozed["snoozed_until"].is_string());
    assert_eq!(snoozed["assignee_id"], Value::Null);
    assert_eq!(snoozed["labels"], json!([]));
    assert_eq!(snoozed["priority"], "high", "left as it was");

    // Resolved, then the customer writes again: a new conversation, and the
    // old one cannot be reopened beside it.
    let (status, resolved) = api
        .patch(
            &format!("/conversations/{ana_id}"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(resolved["snoozed_until"], Value::Null);
    let again = customer_writes(&owner, "Ana", "+4930901820", "Me again").await;
    assert_ne!(again, ana_id);
    let (status, body) = api
        .patch(
            &format!("/conversations/{ana_id}"),
            json!({"status": "open"}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    let (_, new) = api
        .patch(
            &format!("/conversations/{again}"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(new["status"], "resolved");
    let (status, reopened) = api
        .patch(
            &format!("/conversations/{ana_id}"),
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(reopened["status"], "open");
}

async fn message_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("select status from messages where id = $1::uuid")
        .bind(id)
        .fetch_one(&mut app.admin_conn().await)
        .await
        .expect("message")
}

#[tokio::test]
async fn messages_are_read_newest_first_sent_queued_and_noted() {
    // No worker: the test runs the send job itself.
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let api = Api::new(&app, &owner).await;
    let conversation = conversation(&api, &owner, "Ana", "+4930901820", "one").await;
    let id = conversation["id"].as_str().expect("id").to_owned();
    for text in ["two", "three", "four", "five"] {
        assert_eq!(
            customer_writes(&owner, "Ana", "+4930901820", text).await,
            id
        );
    }

    let (items, pages) = api
        .all_pages(&format!("/conversations/{id}/messages?limit=2"))
        .await;
    assert_eq!(pages, 3);
    let texts: Vec<&str> = items
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        ["five", "four", "three", "two", "one"],
        "newest first"
    );
    let first = &items[0];
    assert_eq!(first["direction"], "in");
    assert_eq!(first["kind"], "text");
    assert_eq!(first["private"], false);
    assert_eq!(first["sender_kind"], "contact");
    assert_eq!(first["status"], "delivered", "inbound reads as delivered");
    assert_eq!(first["error"], Value::Null);
    assert!(first["provider_message_id"].is_string());
    assert_eq!(first["conversation_id"], json!(id));

    let (status, queued) = api
        .post(
            &format!("/conversations/{id}/messages"),
            json!({"text": " Hello Ana "}),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["direction"], "out");
    assert_eq!(queued["kind"], "text");
    assert_eq!(queued["text"], "Hello Ana");
    assert_eq!(queued["sender_kind"], "bot");
    assert_eq!(queued["provider_message_id"], Value::Null);
    let message_id = queued["id"].as_str().expect("id").to_owned();
    // Queued until the sandbox channel's send job runs.
    assert_eq!(message_status(&app, &message_id).await, "queued");
    app.run_pending_jobs().await;
    assert_eq!(message_status(&app, &message_id).await, "sent");
    let (_, latest) = api
        .get(&format!("/conversations/{id}/messages?limit=1"))
        .await;
    let sent = &latest["data"][0];
    assert_eq!(sent["id"], json!(message_id));
    assert_eq!(sent["status"], "sent");
    assert!(sent["provider_message_id"].is_string());
    // The customer sees it in the simulator.
    let (_, chat) = owner.page("/sandbox?phone=%2B4930901820").await;
    assert!(chat.contains("Hello Ana"));

    let (status, note) = api
        .post(
            &format!("/conversations/{id}/notes"),
            json!({"text": "VIP, @Olga please call"}),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["kind"], "note");
    assert_eq!(note["private"], true);
    assert_eq!(note["direction"], "out");
    assert_eq!(note["status"], "delivered");
    assert_eq!(
        app.count("select count(*) from note_mentions").await,
        1,
        "the mention is recorded"
    );
    let (_, latest) = api
        .get(&format!("/conversations/{id}/messages?limit=1"))
        .await;
    assert_eq!(latest["data"][0]["id"], note["id"]);
    assert_eq!(
        app.count("select count(*) from messages where status = 'queued'")
            .await,
        0,
        "a note is never queued to send"
    );

    for (path, input, field) in [
        ("messages", json!({"text": "   "}), "text:"),
        ("messages", json!({}), "text:"),
        ("messages", json!({"text": "x".repeat(4097)}), "text:"),
        (
            "messages",
            json!({"template": {"name": "hello", "language": "en", "variables": []}}),
            "template:",
        ),
        ("notes", json!({"text": ""}), "text:"),
    ] {
        let (status, body) = api
            .post(&format!("/conversations/{id}/{path}"), input.clone())
            .await;
        assert_error(status, &body, 422, "invalid");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{input}: {message}");
    }
    let (_, body) = api
        .post(
            &format!("/conversations/{id}/messages"),
            json!({"template": {"name": "x"}}),
        )
        .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not an approved template of this number")
    );
    let (status, body) = api
        .get(&format!("/conversations/{id}/messages?cursor=bm9wZQ"))
        .await;
    assert_error(status, &body, 400, "bad_request");
    assert_eq!(app.count("select count(*) from messages").await, 7);
}

#[tokio::test]
async fn bad_requests_are_answered_in_json() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let api = Api::new(&app, &owner).await;
    let post_raw = |path: &str, body: Vec<u8>| {
        api.client
            .post(format!("{}{path}", api.base))
            .bearer_auth(&api.token)
            .header("content-type", "application/json")
            .body(body)
    };

    for body in [&b"{\"name\": "[..], b"not json", b"", b"[1, 2"] {
        let (status, error) = api.send(post_raw("/contacts", body.to_vec())).await;
        assert_error(status, &error, 400, "bad_request");
    }
    let (status, error) = api.send(post_raw("/contacts", b"[]".to_vec())).await;
    assert_error(status, &error, 422, "invalid");
    // The wrong JSON type is invalid input, naming the field.
    let (status, error) = api
        .send(post_raw("/contacts", br#"{"name": ["Ana"]}"#.to_vec()))
        .await;
    assert_error(status, &error, 422, "invalid");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("name")
    );
    // JSON sent without its content type is still read.
    let (status, _) = api
        .send(
            api.client
                .post(format!("{}/contacts", api.base))
                .bearer_auth(&api.token)
                .body(r#"{"name": "Plain"}"#),
        )
        .await;
    assert_eq!(status, 201);

    let huge = json!({"name": "x".repeat(300 * 1024)})
        .to_string()
        .into_bytes();
    let (status, error) = api.send(post_raw("/contacts", huge)).await;
    assert_error(status, &error, 413, "too_large");

    for path in [
        "/contacts/not-a-uuid",
        "/contacts/%FF",
        "/companies/123",
        "/conversations/x",
        "/conversations/x/messages",
    ] {
        let (status, error) = api.get(path).await;
        assert_error(status, &error, 404, "not_found");
    }
    let (status, error) = api
        .patch("/contacts/not-a-uuid", json!({"name": "x"}))
        .await;
    assert_error(status, &error, 404, "not_found");

    // No token, a wrong one, another scheme: 401 in JSON, nothing done.
    let client = reqwest::Client::new();
    for request in [
        client.get(format!("{}/contacts", api.base)),
        client
            .get(format!("{}/contacts", api.base))
            .bearer_auth("wacrm_nonsense"),
        client
            .get(format!("{}/contacts", api.base))
            .basic_auth("user", Some("pass")),
        client
            .post(format!("{}/contacts", api.base))
            .json(&json!({"name": "Sneaky"})),
        client
            .post(format!("{}/contacts", api.base))
            .bearer_auth(format!("{}x", api.token))
            .body("not json"),
    ] {
        let response = request.send().await.expect("send");
        let status = response.status();
        let error: Value = response.json().await.expect("JSON error");
        assert_error(status, &error, 401, "unauthorized");
    }
    assert_eq!(
        app.count("select count(*) from contacts where name = 'Sneaky'")
            .await,
        0
    );
}

/// What Acme's token reads of its contact, company and conversation.
async fn snapshot(
    acme: &Api,
    contact_id: &str,
    company_id: &str,
    conversation_id: &str,
) -> (Value, Value, Value, Value) {
    let (_, contact) = acme.get(&format!("/contacts/{contact_id}")).await;
    let (_, company) = acme.get(&format!("/companies/{company_id}")).await;
    let (_, conversation) = acme.get(&format!("/conversations/{conversation_id}")).await;
    let (_, messages) = acme
        .get(&format!("/conversations/{conversation_id}/messages"))
        .await;
    (contact, company, conversation, messages)
}

#[tokio::test]
async fn another_workspaces_token_gets_404_for_every_resource_and_changes_nothing() {
    let app = spawn_app().await;
    let acme_owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    create_label(&acme_owner, "VIP").await;
    let acme = Api::new(&app, &acme_owner).await;
    let conversation = conversation(&acme, &acme_owner, "Ana", "+4930901820", "Hello").await;
    let conversation_id = conversation["id"].as_str().expect("id").to_owned();
    let contact_id = conversation["contact_id"]
        .as_str()
        .expect("contact")
        .to_owned();
    let (_, company) = acme.post("/companies", json!({"name": "Lima GmbH"})).await;
    let company_id = company["id"].as_str().expect("id").to_owned();
    acme.patch(
        &format!("/contacts/{contact_id}"),
        json!({"company": "Lima GmbH"}),
    )
    .await;

    let before = snapshot(&acme, &contact_id, &company_id, &conversation_id).await;
    assert_eq!(before.0["company"], "Lima GmbH");

    let globex_owner = app.sign_up("Gus", "gus@globex.test", "Globex").await;
    create_label(&globex_owner, "VIP").await;
    let globex = Api::new(&app, &globex_owner).await;
    let gus = app.user_id("gus@globex.test").await.to_string();

    let contact = format!("/contacts/{contact_id}");
    let company = format!("/companies/{company_id}");
    let conversation = format!("/conversations/{conversation_id}");
    let attempts = [
        globex.get(&contact).await,
        globex
            .patch(&contact, json!({"name": "Hijacked", "labels": ["VIP"]}))
            .await,
        globex.delete(&contact).await,
        globex.get(&company).await,
        globex.patch(&company, json!({"name": "Hijacked"})).await,
        globex.delete(&company).await,
        globex.get(&conversation).await,
        globex
            .patch(
                &conversation,
                json!({"status": "resolved", "assignee_id": gus, "labels": ["VIP"]}),
            )
            .await,
        globex.get(&format!("{conversation}/messages")).await,
        globex
            .post(
                &format!("{conversation}/messages"),
                json!({"text": "Hijacked"}),
            )
            .await,
        globex
            .post(
                &format!("{conversation}/notes"),
                json!({"text": "Hijacked"}),
            )
            .await,
    ];
    for (n, (status, body)) in attempts.iter().enumerate() {
        assert_error(*status, body, 404, "not_found");
        assert!(
            !body.to_string().contains("Ana"),
            "attempt {n} leaks: {body}"
        );
    }

    // Globex's lists never hold Acme's rows, whatever the filter.
    for path in [
        "/contacts".to_owned(),
        "/contacts?q=ana".to_owned(),
        "/companies".to_owned(),
        "/conversations".to_owned(),
        format!("/conversations?contact_id={contact_id}"),
        format!(
            "/conversations?channel_id={}",
            before.2["channel_id"].as_str().expect("channel")
        ),
    ] {
        let (status, page) = globex.get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(page["data"], json!([]), "{path}");
    }
    // Globex's own contact with the same number is its own.
    let (status, own) = globex
        .post(
            "/contacts",
            json!({"name": "Ana G", "phone": "+4930901820"}),
        )
        .await;
    assert_eq!(status, 201, "{own}");

    assert_eq!(
        snapshot(&acme, &contact_id, &company_id, &conversation_id).await,
        before,
        "Acme's data is unchanged"
    );
    assert_eq!(
        app.count("select count(*) from messages where body = 'Hijacked'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from jobs where queue = 'messages'")
            .await,
        0
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_api_without_a_token() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.expect("JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/api/v1/me", &["get"][..]),
        ("/api/v1/contacts", &["get", "post"]),
        ("/api/v1/contacts/{id}", &["get", "patch", "delete"]),
        ("/api/v1/companies", &["get", "post"]),
        ("/api/v1/companies/{id}", &["get", "patch", "delete"]),
        ("/api/v1/conversations", &["get"]),
        ("/api/v1/conversations/{id}", &["get", "patch"]),
        ("/api/v1/conversations/{id}/messages", &["get", "post"]),
        ("/api/v1/conversations/{id}/notes", &["post"]),
        ("/api/v1/openapi.json", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path}"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for schema in [
        "ContactOut",
        "ContactInput",
        "ConversationOut",
        "MessageOut",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(
        doc["info"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("delivered")),
        "documents how inbound statuses read"
    );
}

fn rfc3339_in(from_now: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + from_now)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

#[tokio::test]
async fn a_snooze_ends_by_itself_and_a_later_snooze_is_not_cut_short() {
    // No worker: the test runs the wake-up jobs itself.
    let app = spawn_app_without_worker().await;
    let owner = app.sign_up("Olga", "owner@acme.test", "Acme").await;
    let api = Api::new(&app, &owner).await;
    let ana = conversation(&api, &owner, "Ana", "+4930901820", "Hello").await;
    let bruno = conversation(&api, &owner, "Bruno", "+5511912345678", "Oi").await;
    let ana = format!("/conversations/{}", ana["id"].as_str().expect("id"));
    let bruno = format!("/conversations/{}", bruno["id"].as_str().expect("id"));

    // Both snoozed briefly; Bruno's snooze is then moved a day ahead.
    for path in [&ana, &bruno] {
        let snooze =
            json!({"status": "snoozed", "snoozed_until": rfc3339_in(time::Duration::seconds(1))});
        let (status, body) = api.patch(path, snooze).await;
        assert_eq!((status.as_u16(), &body["status"]), (200, &json!("snoozed")));
    }
    let later = json!({"status": "snoozed", "snoozed_until": rfc3339_in(time::Duration::days(1))});
    assert_eq!(api.patch(&bruno, later).await.0, 200);

    // Two seconds later (the snoozes' ends moved back instead of waiting),
    // with nobody reading the inbox: the wake-up job reopens Ana's.
    let mut conn = app.admin_conn().await;
    sqlx::query("update conversations set snoozed_until = snoozed_until - interval '2 seconds' where snoozed_until is not null")
        .execute(&mut conn)
        .await
        .expect("time passes");
    sqlx::query("update jobs set run_at = run_at - interval '2 seconds'")
        .execute(&mut conn)
        .await
        .expect("time passes");
    app.run_pending_jobs().await;
    let (_, body) = api.get(&ana).await;
    assert_eq!(body["status"], "open", "{body}");
    assert_eq!(body["snoozed_until"], Value::Null);
    // Bruno's first wake-up has come and gone too, and changed nothing;
    // nor does his next one, run before its time.
    let (_, body) = api.get(&bruno).await;
    assert_eq!(body["status"], "snoozed", "{body}");
    app.make_jobs_due().await;
    app.run_pending_jobs().await;
    let (_, body) = api.get(&bruno).await;
    assert_eq!(body["status"], "snoozed", "{body}");
}
