//! A session that cannot be saved for want of a database connection is
//! answered 503 with Retry-After, like any other busy request, not 500.
//!
//! tower-sessions saves a changed session after the handler has answered,
//! and answers a failed save with a bare 500 of its own that no handler
//! error passes through. The store marks the request when it found the pool
//! exhausted ([`FOUND_BUSY`]); this middleware, outside the session layer,
//! turns that 500 into the busy answer.

use std::cell::Cell;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::infra::session_store::FOUND_BUSY;

pub async fn answer_busy_saves(request: Request, next: Next) -> Response {
    let (response, found_busy) = FOUND_BUSY
        .scope(Cell::new(false), async {
            let response = next.run(request).await;
            (response, FOUND_BUSY.with(Cell::get))
        })
        .await;
    if found_busy && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return AppError::Database(sqlx::Error::PoolTimedOut).into_response();
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// A handler standing in for the session layer: it meets an exhausted
    /// pool (as the store does) when `busy`, and answers a bare 500.
    async fn bare_500(busy: bool) -> StatusCode {
        if busy {
            FOUND_BUSY.with(|flag| flag.set(true));
        }
        StatusCode::INTERNAL_SERVER_ERROR
    }

    async fn answer(path: &str) -> Response {
        let app = Router::new()
            .route("/busy", get(|| bare_500(true)))
            .route("/broken", get(|| bare_500(false)))
            .layer(axum::middleware::from_fn(answer_busy_saves));
        let request = Request::builder().uri(path).body(Body::empty());
        match request {
            Ok(request) => match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Err(e) => panic!("request: {e}"),
        }
    }

    #[tokio::test]
    async fn a_save_that_found_no_connection_is_503_with_retry_after() {
        let response = answer("/busy").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
    }

    #[tokio::test]
    async fn other_failures_stay_500() {
        assert_eq!(
            answer("/broken").await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
