//! The live inbox: server-sent events tell open pages what to refresh,
//! across instances (through Postgres `NOTIFY`), only within a workspace,
//! and only about conversations the member may see.

use std::time::{Duration, Instant};

use crate::support::*;

/// An open `/inbox/events` stream, read event name by event name.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(client: &reqwest::Client, base: &str) -> Events {
        let response = client
            .get(format!("{base}/inbox/events"))
            .send()
            .await
            .expect("open event stream");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// Event names received within `wait` (stops early once `until` is seen).
    async fn names_within(&mut self, wait: Duration, until: &str) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut names = Vec::new();
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                // As a browser does: an event with empty data is not dispatched.
                let has_data = block.lines().any(|l| {
                    l.strip_prefix("data:")
                        .is_some_and(|d| !d.trim().is_empty())
                });
                if let Some(name) = block.lines().find_map(|l| l.strip_prefix("event: "))
                    && has_data
                {
                    names.push(name.to_owned());
                }
            }
            if names.iter().any(|n| n == until) {
                return names;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return names,
            }
        }
    }
}

#[tokio::test]
async fn a_message_on_one_instance_reaches_a_stream_on_another_at_once() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let conversation = customer_writes(&team.owner, "Ana", "+4930901820", "first").await;
    let other = app.sign_up("Otto", "otto@other.test", "Other").await;

    // The agent's stream is on a second instance: the event crosses
    // instances through the database.
    let second = app.second_instance().await;
    let mut agent_events = Events::open(&team.agent.client, &second.base).await;
    let mut other_events = Events::open(&other.client, &second.base).await;

    let started = Instant::now();
    let again = customer_writes(&team.owner, "Ana", "+4930901820", "second").await;
    assert_eq!(again, conversation, "same conversation");
    let names = agent_events
        .names_within(Duration::from_secs(5), &format!("c-{conversation}"))
        .await;
    let elapsed = started.elapsed();
    assert!(names.contains(&"inbox".to_owned()), "{names:?}");
    assert!(names.contains(&format!("c-{conversation}")), "{names:?}");
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");

    // The other workspace hears nothing of it.
    let names = other_events
        .names_within(Duration::from_millis(500), "inbox")
        .await;
    assert!(names.is_empty(), "leaked to another workspace: {names:?}");

    // The page the events refresh holds the new message.
    let (_, page) = team.agent.page(&format!("/inbox/{conversation}")).await;
    assert!(page.contains("sse-connect=\"/inbox/events\""));
    assert!(page.contains(&format!("hx-trigger=\"sse:c-{conversation}\"")));
    assert!(page.contains("second"));
}

#[tokio::test]
async fn agents_seeing_only_theirs_get_no_events_for_others_conversations() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let conversation = customer_writes(&team.owner, "Ana", "+4930901820", "hello").await;
    let admin_id = app.user_id("admin@acme.test").await.to_string();
    let response = team
        .owner
        .post_form(
            &format!("/inbox/{conversation}/assign"),
            &[("assignee", &admin_id)],
        )
        .await;
    assert_eq!(response.status(), 303);
    agents_see_only_theirs(&team.owner).await;

    let mut agent_events = Events::open(&team.agent.client, &app.base).await;
    let mut admin_events = Events::open(&team.admin.client, &app.base).await;
    customer_writes(&team.owner, "Ana", "+4930901820", "still there?").await;
    let for_admin = format!("c-{conversation}");
    let names = admin_events
        .names_within(Duration::from_secs(5), &for_admin)
        .await;
    assert!(names.contains(&for_admin), "{names:?}");
    let names = agent_events
        .names_within(Duration::from_millis(500), &for_admin)
        .await;
    assert!(!names.contains(&for_admin), "{names:?}");
}

#[tokio::test]
async fn signed_out_visitors_get_no_stream() {
    let app = spawn_app().await;
    let response = app.browser().get("/inbox/events").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
}
