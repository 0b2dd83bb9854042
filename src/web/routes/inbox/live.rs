//! The inbox's event stream (server-sent events). Events carry no content,
//! only what to refresh: `inbox` (the list) for any change in the
//! workspace, and `c-{id}` for a conversation the member may see. The page
//! then fetches the fragment through the normal, permission-checked routes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::infra::live::LiveEvent;
use crate::infra::tenancy::member::Tenant;
use crate::state::AppState;

/// Every event's data: a browser does not dispatch an event whose data is
/// empty.
const CHANGED: &str = "changed";

/// A stream ends after this long; the browser reconnects, which checks the
/// session again (a signed-out member stops getting events).
const MAX_STREAM: Duration = Duration::from_secs(30 * 60);

pub async fn events(State(state): State<AppState>, tenant: Tenant) -> impl IntoResponse {
    let org_id = tenant.member.org_id;
    let visibility = tenant.member.visibility();
    // The stream holds no database connection.
    drop(tenant);
    let mut hub = state.live.subscribe();
    let (sender, receiver) = mpsc::channel::<Result<Event, Infallible>>(16);
    tokio::spawn(async move {
        let forward = async {
            loop {
                let events = match hub.recv().await {
                    Ok(LiveEvent::Changed {
                        org_id: event_org,
                        conversation_id,
                        assignee,
                    }) if event_org == org_id => {
                        let visible = visibility.allows(assignee);
                        let mut events = vec![Event::default().event("inbox").data(CHANGED)];
                        if visible {
                            events.push(
                                Event::default()
                                    .event(format!("c-{conversation_id}"))
                                    .data(CHANGED),
                            );
                        }
                        events
                    }
                    Ok(LiveEvent::Changed { .. }) => continue,
                    // Missed some: refresh what is shown.
                    Ok(LiveEvent::Resync) | Err(RecvError::Lagged(_)) => {
                        vec![Event::default().event("inbox").data(CHANGED)]
                    }
                    Err(RecvError::Closed) => return,
                };
                for event in events {
                    // The browser went away.
                    if sender.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(MAX_STREAM, forward).await;
    });
    Sse::new(ReceiverStream::new(receiver)).keep_alive(KeepAlive::default())
}
