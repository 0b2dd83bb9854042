//! `HtmlForm<T>`: a urlencoded form as browsers send it, where a field may
//! repeat (checkbox groups: `labels=a&labels=b` into a `Vec`), which
//! `axum::Form` cannot read. A body that does not fit `T` is a 400 page.

use axum::body::to_bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Forms are small; CSV files come as multipart, not through this.
const MAX_BYTES: usize = 256 * 1024;

pub struct HtmlForm<T>(pub T);

impl<S, T> FromRequest<S> for HtmlForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, AppError> {
        let bytes = to_bytes(request.into_body(), MAX_BYTES)
            .await
            .map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
        serde_html_form::from_bytes(&bytes)
            .map(HtmlForm)
            .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}.")))
    }
}
