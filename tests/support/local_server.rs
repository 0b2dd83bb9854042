//! Where the local fakes listen: 127.0.0.1 on a free port, served by axum
//! in a task of the test's runtime.

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A listener on a free local port and its base URL (`http://…`).
pub async fn bind(fake: &str) -> (TcpListener, String) {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("{fake}: cannot bind 127.0.0.1:0: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("{fake}: no local address: {e}"),
    };
    (listener, format!("http://{addr}"))
}

/// Serves `app` until the handle is aborted.
pub fn serve(listener: TcpListener, app: Router) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}
