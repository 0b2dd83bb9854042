//! `PathId<T>`: the UUID ids of a route's path (`/deals/{id}`: `PathId<Uuid>`;
//! `/contacts/{id}/notes/{note}`: `PathId<(Uuid, Uuid)>`). A segment that is
//! not a UUID names nothing, so it is answered like a missing record: 404,
//! the error page for browsers (the API wraps it into its JSON shape).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::AppError;

pub struct PathId<T = Uuid>(pub T);

/// What `PathId` can hold: one id, or two.
pub trait PathIds: Sized {
    /// The raw segments, read as text first so that a bad one is our 404
    /// rather than axum's 400.
    type Segments: DeserializeOwned + Send;
    fn parse(segments: Self::Segments) -> Option<Self>;
}

/// Surrounding blanks are forgiven (some links were typed by hand).
fn id(segment: &str) -> Option<Uuid> {
    Uuid::try_parse(segment.trim()).ok()
}

impl PathIds for Uuid {
    type Segments = String;
    fn parse(segment: String) -> Option<Uuid> {
        id(&segment)
    }
}

impl PathIds for (Uuid, Uuid) {
    type Segments = (String, String);
    fn parse((a, b): (String, String)) -> Option<(Uuid, Uuid)> {
        Some((id(&a)?, id(&b)?))
    }
}

impl<S, T> FromRequestParts<S> for PathId<T>
where
    S: Send + Sync,
    T: PathIds,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(segments) = Path::<T::Segments>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                // A route whose segments do not fit the extractor is our bug
                // (500); anything else is a bad address (404).
                if rejection.status().is_server_error() {
                    AppError::Internal(anyhow::anyhow!(rejection.body_text()))
                } else {
                    AppError::NotFound
                }
            })?;
        T::parse(segments).map(PathId).ok_or(AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_with_blanks_and_garbage_is_none() {
        let id = Uuid::nil().to_string();
        assert_eq!(
            <Uuid as PathIds>::parse(format!(" {id} ")),
            Some(Uuid::nil())
        );
        assert_eq!(<Uuid as PathIds>::parse("nope".into()), None);
        assert_eq!(
            <(Uuid, Uuid)>::parse((id.clone(), id.clone())),
            Some((Uuid::nil(), Uuid::nil()))
        );
        assert_eq!(<(Uuid, Uuid)>::parse((id, "12".into())), None);
    }
}
