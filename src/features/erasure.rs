//! Erasing a contact on their request: the contact and everything about
//! them goes — conversations, messages (and what hangs off them: bot and
//! automation runs, scheduled messages, reads, mentions), notes, labels,
//! attributes, campaign recipients, the media their messages carried (and
//! the files no other row has), their one-contact exports, rows of failed
//! imports that held their phone or email, and a linked phone's protocol
//! state about their number. What is left is an audit entry that counts
//! what went and keeps none of it.

use uuid::Uuid;

use crate::infra::db;
use crate::infra::tenancy::TenantTx;

/// How much of each kind was erased (for the audit log and the page).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Erased {
    pub conversations: i64,
    pub messages: i64,
    pub notes: i64,
    pub media: i64,
    pub campaign_recipients: i64,
    pub scheduled_messages: i64,
    /// Their one-contact exports, whose archives are deleted after the
    /// commit.
    pub exports: Vec<Uuid>,
    pub import_rows: i64,
    /// Uploaded import files (not yet imported) that held them.
    pub import_files: i64,
    pub linked_phone_keys: i64,
    /// Files to remove from the media store after the commit (those no one
    /// else has: `crate::features::retention::remove_unshared_files`).
    pub files: Vec<String>,
}

impl Erased {
    /// The audit entry's details: counts only.
    pub fn details(&self) -> Vec<(&'static str, String)> {
        vec![
            ("conversations", self.conversations.to_string()),
            ("messages", self.messages.to_string()),
            ("notes", self.notes.to_string()),
            ("media", self.media.to_string()),
            ("campaign_recipients", self.campaign_recipients.to_string()),
            ("scheduled_messages", self.scheduled_messages.to_string()),
            ("exports", self.exports.len().to_string()),
            ("import_rows", self.import_rows.to_string()),
            ("import_files", self.import_files.to_string()),
            ("linked_phone_keys", self.linked_phone_keys.to_string()),
        ]
    }
}

/// What [`count`] counts: one static query each, all on the workspace and
/// the contact (their conversations, for what hangs off those).
#[derive(Debug, Clone, Copy)]
enum Counted {
    Conversations,
    Messages,
    Notes,
    /// Media rows their messages point at.
    Media,
    CampaignRecipients,
    ScheduledMessages,
}

async fn count(tx: &mut TenantTx, what: Counted, contact_id: Uuid) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    let conn = tx.conn();
    match what {
        Counted::Conversations => sqlx::query_scalar!(
            r#"select count(*) as "n!" from conversations where org_id = $1 and contact_id = $2"#,
            org_id,
            contact_id
        )
        .fetch_one(conn)
        .await,
        Counted::Messages => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from messages where org_id = $1 and conversation_id in
                   (select id from conversations where org_id = $1 and contact_id = $2)"#,
                org_id,
                contact_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::Notes => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from notes where org_id = $1 and contact_id = $2"#,
                org_id,
                contact_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::Media => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from media where org_id = $1 and '/media/' || id::text in
                   (select media->>'url' from messages where org_id = $1 and media is not null
                    and conversation_id in
                    (select id from conversations where org_id = $1 and contact_id = $2))"#,
                org_id,
                contact_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::CampaignRecipients => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from campaign_recipients
                   where org_id = $1 and contact_id = $2"#,
                org_id,
                contact_id
            )
            .fetch_one(conn)
            .await
        }
        Counted::ScheduledMessages => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from scheduled_messages where org_id = $1
                   and conversation_id in
                   (select id from conversations where org_id = $1 and contact_id = $2)"#,
                org_id,
                contact_id
            )
            .fetch_one(conn)
            .await
        }
    }
}

/// Why a contact cannot be erased now.
#[derive(Debug, thiserror::Error)]
pub enum CannotErase {
    #[error(
        "An import that holds this contact is running; erase them once it has finished (it could create them again)."
    )]
    ImportRunning,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CannotErase {
    fn from(e: sqlx::Error) -> Self {
        CannotErase::Failed(e.into())
    }
}

/// Erases the contact in the caller's transaction; `None` if there is no
/// such contact in this workspace. The files in [`Erased::files`] are to be
/// passed to `crate::features::retention::remove_unshared_files` once it commits.
pub async fn erase_contact(
    tx: &mut TenantTx,
    contact_id: Uuid,
) -> Result<Option<Erased>, CannotErase> {
    let org_id = tx.org_id();
    let who = sqlx::query!(
        "select phone, email from contacts where org_id = $1 and id = $2 for update",
        org_id,
        contact_id
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some((phone, email)) = who.map(|w| (w.phone, w.email)) else {
        return Ok(None);
    };
    let mut erased = Erased {
        conversations: count(tx, Counted::Conversations, contact_id).await?,
        messages: count(tx, Counted::Messages, contact_id).await?,
        notes: count(tx, Counted::Notes, contact_id).await?,
        media: count(tx, Counted::Media, contact_id).await?,
        campaign_recipients: count(tx, Counted::CampaignRecipients, contact_id).await?,
        scheduled_messages: count(tx, Counted::ScheduledMessages, contact_id).await?,
        ..Erased::default()
    };
    // Their media rows go first (the messages pointing at them go with the
    // contact); the files are removed after the commit if no one else has
    // them.
    erased.files = sqlx::query_scalar!(
        "delete from media where org_id = $1 and '/media/' || id::text in
         (select media->>'url' from messages where org_id = $1 and media is not null
          and conversation_id in
          (select id from conversations where org_id = $1 and contact_id = $2))
         returning sha256",
        org_id,
        contact_id
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .flatten()
    .collect::<Vec<String>>();
    // Everything else about them cascades from the contact.
    sqlx::query!(
        "delete from contacts where org_id = $1 and id = $2",
        org_id,
        contact_id
    )
    .execute(tx.conn())
    .await?;
    erased.exports = db::exports::of_contact(tx, contact_id).await?;
    sqlx::query!(
        "delete from data_exports where org_id = $1 and contact_id = $2",
        org_id,
        contact_id
    )
    .execute(tx.conn())
    .await?;
    erased.import_rows = erase_import_rows(tx, phone.as_deref(), email.as_deref()).await?;
    erased.import_files = erase_uploaded_files(tx, phone.as_deref(), email.as_deref()).await?;
    if let Some(phone) = &phone {
        erased.linked_phone_keys = erase_linked_phone_state(tx, phone).await?;
    }
    Ok(Some(erased))
}

/// Rows of failed imports (kept to download and fix) with a cell holding
/// their email, or their phone number however it was typed.
async fn erase_import_rows(
    tx: &mut TenantTx,
    phone: Option<&str>,
    email: Option<&str>,
) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    let digits = phone.map(|p| p.trim_start_matches('+').to_owned());
    let deleted = sqlx::query!(
        "delete from contact_import_failures where org_id = $1 and exists ( \
           select 1 from jsonb_array_elements_text(raw) as cell(text) \
           where ($2::text is not null and lower(trim(cell.text)) = lower($2)) \
              or ($3::text is not null and length(ltrim(regexp_replace(cell.text, '\\D', '', 'g'), '0')) >= 6 \
                  and $3 like '%' || ltrim(regexp_replace(cell.text, '\\D', '', 'g'), '0')))",
        org_id,
        email,
        digits
    )
    .execute(tx.conn())
    .await?;
    Ok(i64::try_from(deleted.rows_affected()).unwrap_or(i64::MAX))
}

/// Whether a typed cell is their email, or their phone number however it
/// was typed (its digits, leading zeros aside, end their number; six or
/// more of them).
fn cell_is_theirs(cell: &str, phone_digits: Option<&str>, email: Option<&str>) -> bool {
    let cell = cell.trim();
    if email.is_some_and(|e| cell.eq_ignore_ascii_case(e)) {
        return true;
    }
    let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    phone_digits.is_some_and(|p| digits.len() >= 6 && p.ends_with(digits))
}

/// Uploaded contact files still kept (an import being mapped, queued or
/// running; a finished import drops its file) that hold them: one not yet
/// started is deleted; a queued or running one refuses the erasure, as it
/// could create them again.
async fn erase_uploaded_files(
    tx: &mut TenantTx,
    phone: Option<&str>,
    email: Option<&str>,
) -> Result<i64, CannotErase> {
    let org_id = tx.org_id();
    let digits = phone.map(|p| p.trim_start_matches('+').to_owned());
    let kept = sqlx::query!(
        "select id, status from contact_imports where org_id = $1 and octet_length(csv) > 0",
        org_id
    )
    .fetch_all(tx.conn())
    .await?;
    let mut erased = 0;
    for import in kept {
        let (id, status) = (import.id, import.status);
        let csv: Vec<u8> = sqlx::query_scalar!(
            "select csv from contact_imports where org_id = $1 and id = $2",
            org_id,
            id
        )
        .fetch_one(tx.conn())
        .await?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv.as_slice());
        let holds_them = reader.records().flatten().any(|record| {
            record
                .iter()
                .any(|cell| cell_is_theirs(cell, digits.as_deref(), email))
        });
        if !holds_them {
            continue;
        }
        if status != "mapping" {
            return Err(CannotErase::ImportRunning);
        }
        sqlx::query!(
            "delete from contact_imports where org_id = $1 and id = $2",
            org_id,
            id
        )
        .execute(tx.conn())
        .await?;
        erased += 1;
    }
    Ok(erased)
}

/// A linked phone's protocol state about their number (sessions, identity
/// keys, address mappings): WhatsApp builds it again if they write again.
async fn erase_linked_phone_state(tx: &mut TenantTx, phone: &str) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    let digits = phone.trim_start_matches('+');
    let deleted = sqlx::query!(
        "delete from whatsapp_web_state where org_id = $1 \
         and key ~ ('(^|[^0-9])' || $2 || '([^0-9]|$)')",
        org_id,
        digits
    )
    .execute(tx.conn())
    .await?;
    Ok(i64::try_from(deleted.rows_affected()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_theirs_however_the_number_was_typed() {
        let phone = Some("4930901899");
        let email = Some("zelda@erase.test");
        for typed in [
            "+49 30 901899",
            "030 901899",
            "(030) 90-18-99",
            "4930901899",
            " ZELDA@erase.test ",
        ] {
            assert!(cell_is_theirs(typed, phone, email), "{typed}");
        }
        for other in ["030 901898", "1899", "zelda", "", "49309018990"] {
            assert!(!cell_is_theirs(other, phone, email), "{other}");
        }
    }
}
