//! Notes: timestamped, authored remarks on a contact, a company or a deal.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// What a note is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteSubject {
    Contact(Uuid),
    Company(Uuid),
    Deal(Uuid),
}

impl NoteSubject {
    /// `(contact_id, company_id, deal_id)`: exactly one is set.
    fn ids(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            NoteSubject::Contact(id) => (Some(id), None, None),
            NoteSubject::Company(id) => (None, Some(id), None),
            NoteSubject::Deal(id) => (None, None, Some(id)),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Note {
    pub id: Uuid,
    pub body: String,
    /// `None` once the author's account is deleted.
    pub author_name: Option<String>,
    pub created_at: OffsetDateTime,
    /// Whether the viewer may delete it: its author, or a moderator.
    pub deletable: bool,
}

/// Newest first. `moderator`: the viewer may delete anyone's notes.
pub async fn list(
    tx: &mut TenantTx,
    subject: NoteSubject,
    viewer: Uuid,
    moderator: bool,
) -> sqlx::Result<Vec<Note>> {
    let org_id = tx.org_id();
    let (contact_id, company_id, deal_id) = subject.ids();
    // `coalesce`: a deleted author's note (no author) is nobody's, not
    // null, which no `bool` can hold.
    sqlx::query_as!(
        Note,
        r#"select n.id, n.body, u.name as "author_name?", n.created_at,
           (coalesce(n.author_id = $4, false) or $5) as "deletable!"
           from notes n left join users u on u.id = n.author_id
           where n.org_id = $1 and n.contact_id is not distinct from $2
           and n.company_id is not distinct from $3 and n.deal_id is not distinct from $6
           order by n.created_at desc, n.id desc"#,
        org_id,
        contact_id,
        company_id,
        viewer,
        moderator,
        deal_id
    )
    .fetch_all(tx.conn())
    .await
}

/// Adds a note if the subject exists in this workspace; `false` if not.
pub async fn insert(
    tx: &mut TenantTx,
    subject: NoteSubject,
    author_id: Uuid,
    body: &str,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let (contact_id, company_id, deal_id) = subject.ids();
    let done = sqlx::query!(
        "insert into notes (org_id, id, contact_id, company_id, deal_id, author_id, body) \
         select $1, $2, $3, $4, $7, $5, $6 \
         where exists (select 1 from contacts where org_id = $1 and id = $3) \
            or exists (select 1 from companies where org_id = $1 and id = $4) \
            or exists (select 1 from deals where org_id = $1 and id = $7)",
        org_id,
        Uuid::now_v7(),
        contact_id,
        company_id,
        author_id,
        body,
        deal_id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What deleting a note found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    /// It exists, but is someone else's and the viewer is no moderator.
    NotYours,
    NotFound,
}

pub async fn delete(
    tx: &mut TenantTx,
    subject: NoteSubject,
    note_id: Uuid,
    viewer: Uuid,
    moderator: bool,
) -> sqlx::Result<Deleted> {
    let org_id = tx.org_id();
    let (contact_id, company_id, deal_id) = subject.ids();
    let author = sqlx::query_scalar!(
        "select author_id from notes where org_id = $1 and id = $2 \
         and contact_id is not distinct from $3 and company_id is not distinct from $4 \
         and deal_id is not distinct from $5 for update",
        org_id,
        note_id,
        contact_id,
        company_id,
        deal_id
    )
    .fetch_optional(tx.conn())
    .await?;
    match author {
        None => Ok(Deleted::NotFound),
        Some(author) if author != Some(viewer) && !moderator => Ok(Deleted::NotYours),
        Some(_) => {
            sqlx::query!(
                "delete from notes where org_id = $1 and id = $2",
                org_id,
                note_id
            )
            .execute(tx.conn())
            .await?;
            Ok(Deleted::Yes)
        }
    }
}
