//! Contacts: one workspace's customers, listed by keyset (never OFFSET).

use std::collections::{BTreeMap, HashMap};

use sqlx::{Postgres, QueryBuilder};

use super::keyset::{self, like_escape};
pub use super::keyset::{Cursor, Sort};
use time::OffsetDateTime;
use uuid::Uuid;

use super::labels::{self, Label};
use crate::domain::{EmailAddress, PhoneE164};
use crate::infra::tenancy::TenantTx;

/// The unique keys a concurrent save of the same phone or email breaks.
pub const PHONE_KEY: &str = "contacts_org_id_phone_key";
pub const EMAIL_KEY: &str = "contacts_org_id_email_key";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub company_id: Option<Uuid>,
    pub company_name: Option<String>,
    pub attributes: serde_json::Value,
    pub opted_out: bool,
    pub blocked: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Filled by [`with_labels`], not by the row.
    #[sqlx(skip)]
    pub labels: Vec<Label>,
}

/// The columns of a [`Contact`] (for the list, which stays runtime SQL).
const COLUMNS: &str = "id, name, phone, email, company_id, \
    (select co.name from companies co where co.org_id = contacts.org_id \
     and co.id = contacts.company_id) as company_name, \
    attributes, opted_out, blocked, created_at, updated_at";

/// A [`Contact`] as a compile-checked query reads it (labels come
/// separately).
struct Row {
    id: Uuid,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    company_id: Option<Uuid>,
    company_name: Option<String>,
    attributes: serde_json::Value,
    opted_out: bool,
    blocked: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<Row> for Contact {
    fn from(r: Row) -> Self {
        Contact {
            id: r.id,
            name: r.name,
            phone: r.phone,
            email: r.email,
            company_id: r.company_id,
            company_name: r.company_name,
            attributes: r.attributes,
            opted_out: r.opted_out,
            blocked: r.blocked,
            created_at: r.created_at,
            updated_at: r.updated_at,
            labels: Vec::new(),
        }
    }
}

/// `query_as!` of [`Row`]s from `contacts`, then `$rest`. A macro so that
/// the SQL stays one literal the compiler checks.
macro_rules! select_contacts {
    ($rest:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Row,
            "select id, name, phone, email, company_id, \
             (select co.name from companies co where co.org_id = contacts.org_id \
              and co.id = contacts.company_id) as company_name, \
             attributes, opted_out, blocked, created_at, updated_at from contacts "
                + $rest,
            $($arg),+
        )
    };
}

pub use crate::domain::contact::ContactFields;

/// Which unique value another contact already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Phone(Uuid),
    Email(Uuid),
}

/// The contact (other than `except`) that already has this phone or email.
pub async fn find_taken(
    tx: &mut TenantTx,
    fields: &ContactFields,
    except: Option<Uuid>,
) -> sqlx::Result<Option<Taken>> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        r#"select id, phone is not distinct from $2 as "by_phone!" from contacts
           where org_id = $1 and (phone = $2 or lower(email) = lower($3))
           and id is distinct from $4
           order by phone is not distinct from $2 desc limit 1"#,
        org_id,
        fields.phone.as_ref().map(PhoneE164::as_str),
        fields.email.as_ref().map(EmailAddress::as_str),
        except
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| {
        if r.by_phone {
            Taken::Phone(r.id)
        } else {
            Taken::Email(r.id)
        }
    }))
}

pub async fn insert(
    tx: &mut TenantTx,
    fields: &ContactFields,
    company_id: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into contacts \
         (org_id, id, name, phone, email, opted_out, blocked, company_id, attributes) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        org_id,
        id,
        &fields.name,
        fields.phone.as_ref().map(PhoneE164::as_str),
        fields.email.as_ref().map(EmailAddress::as_str),
        fields.opted_out,
        fields.blocked,
        company_id,
        sqlx::types::Json(&fields.attributes) as _
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn update(
    tx: &mut TenantTx,
    id: Uuid,
    fields: &ContactFields,
    company_id: Option<Uuid>,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update contacts set name = $3, phone = $4, email = $5, opted_out = $6, blocked = $7, \
         company_id = $8, attributes = $9, updated_at = now() where org_id = $1 and id = $2",
        org_id,
        id,
        &fields.name,
        fields.phone.as_ref().map(PhoneE164::as_str),
        fields.email.as_ref().map(EmailAddress::as_str),
        fields.opted_out,
        fields.blocked,
        company_id,
        sqlx::types::Json(&fields.attributes) as _
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Contact>> {
    let org_id = tx.org_id();
    let row = select_contacts!("where org_id = $1 and id = $2", org_id, id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(Contact::from))
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from contacts where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Lowercased patterns; a contact matches if its name, phone or email
    /// contains any of them.
    pub patterns: Vec<String>,
    pub sort: Sort,
    pub after: Option<Cursor>,
    /// Only contacts with this label.
    pub label: Option<Uuid>,
    /// Only contacts whose attributes contain this (`{key: value}`).
    pub attribute: Option<serde_json::Map<String, serde_json::Value>>,
    pub limit: i64,
}

pub struct Page {
    pub contacts: Vec<Contact>,
    pub next: Option<Cursor>,
}

pub async fn list(tx: &mut TenantTx, query: &ListQuery) -> sqlx::Result<Page> {
    let org_id = tx.org_id();
    let sort = query.sort;
    // runtime SQL: user-chosen filters and sort with keyset pagination.
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("select {COLUMNS} from contacts where org_id = "));
    sql.push_bind(org_id);
    if !query.patterns.is_empty() {
        let patterns: Vec<String> = query.patterns.iter().map(|p| like_escape(p)).collect();
        sql.push(" and search_text like any(")
            .push_bind(patterns)
            .push(")");
    }
    if let Some(label) = query.label {
        sql.push(
            " and exists (select 1 from contact_labels cl where cl.org_id = contacts.org_id \
             and cl.contact_id = contacts.id and cl.label_id = ",
        )
        .push_bind(label)
        .push(")");
    }
    if let Some(attribute) = &query.attribute {
        sql.push(" and attributes @> ")
            .push_bind(sqlx::types::Json(attribute.clone()));
    }
    keyset::push_page(&mut sql, sort, query.after.as_ref(), query.limit);
    // Planned for these values each time (see `conversations::list`).
    let mut contacts: Vec<Contact> = sql
        .build_query_as()
        .persistent(false)
        .fetch_all(tx.conn())
        .await?;
    let more = contacts.len() as i64 > query.limit;
    contacts.truncate(usize::try_from(query.limit).unwrap_or(0));
    let next = match (more, contacts.last()) {
        (true, Some(last)) => Some(Cursor::after(sort, &last.name, last.created_at, last.id)),
        _ => None,
    };
    Ok(Page { contacts, next })
}

/// A company's contacts by name, at most `limit`.
pub async fn of_company(
    tx: &mut TenantTx,
    company_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Contact>> {
    let org_id = tx.org_id();
    let rows = select_contacts!(
        "where org_id = $1 and company_id = $2 order by lower(name), id limit $3",
        org_id,
        company_id,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(Contact::from).collect())
}

/// Fills each contact's labels (one query for the lot).
pub async fn with_labels(tx: &mut TenantTx, contacts: &mut [Contact]) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = contacts.iter().map(|c| c.id).collect();
    let mut by_contact = labels::of(tx, labels::Tagged::Contact, &ids).await?;
    for contact in contacts {
        contact.labels = by_contact.remove(&contact.id).unwrap_or_default();
    }
    Ok(())
}

/// Merges contact `gone` into `keep`: its notes and labels move over, its
/// values fill what `keep` lacks (`keep`'s own values win), and it is
/// deleted. `false` if either is not in this workspace.
pub async fn merge(tx: &mut TenantTx, keep: Uuid, gone: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let locked = sqlx::query_scalar!(
        "select id from contacts where org_id = $1 and id in ($2, $3) for update",
        org_id,
        keep,
        gone
    )
    .fetch_all(tx.conn())
    .await?;
    if keep == gone || locked.len() != 2 {
        return Ok(false);
    }
    // Whatever belongs to the contact moves before the row goes (its
    // foreign keys cascade). Conversations join this list with the inbox.
    sqlx::query!(
        "update notes set contact_id = $2 where org_id = $1 and contact_id = $3",
        org_id,
        keep,
        gone
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "insert into contact_labels (org_id, contact_id, label_id) \
         select org_id, $2, label_id from contact_labels where org_id = $1 and contact_id = $3 \
         on conflict do nothing",
        org_id,
        keep,
        gone
    )
    .execute(tx.conn())
    .await?;
    // Deleted first, so its phone and email are free to move (unique).
    let gone_row = sqlx::query_as!(
        Row,
        r#"delete from contacts where org_id = $1 and id = $2 returning id, name, phone, email,
           company_id, (select co.name from companies co where co.org_id = contacts.org_id
             and co.id = contacts.company_id) as company_name,
           attributes, opted_out, blocked, created_at, updated_at"#,
        org_id,
        gone
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query!(
        "update contacts set \
           name = case when name = '' then $3 else name end, \
           phone = coalesce(phone, $4), email = coalesce(email, $5), \
           company_id = coalesce(company_id, $6), attributes = $7 || attributes, \
           opted_out = opted_out or $8, blocked = blocked or $9, \
           created_at = least(created_at, $10), updated_at = now() \
         where org_id = $1 and id = $2",
        org_id,
        keep,
        &gone_row.name,
        gone_row.phone.as_deref(),
        gone_row.email.as_deref(),
        gone_row.company_id,
        &gone_row.attributes,
        gone_row.opted_out,
        gone_row.blocked,
        gone_row.created_at
    )
    .execute(tx.conn())
    .await?;
    Ok(true)
}

/// What a channel knows a customer by: their number, or, when it does not
/// see the number, their WhatsApp LID (linked devices, WAHA) or
/// business-scoped user id (BSUID, the Cloud API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Handle<'a> {
    /// E.164.
    Phone(&'a str),
    /// Digits.
    Lid(&'a str),
    /// `CC.` and up to 128 letters and digits.
    UserId(&'a str),
    /// A WhatsApp group's id (the user part of `<id>@g.us`): a group chat
    /// is a contact of its own, on channels that show groups.
    Group(&'a str),
}

impl Handle<'_> {
    /// The handle as one text, distinct across kinds (a map key).
    pub fn key(&self) -> String {
        match self {
            Handle::Phone(phone) => (*phone).to_owned(),
            Handle::Lid(lid) => format!("lid:{lid}"),
            Handle::UserId(id) => format!("user:{id}"),
            Handle::Group(id) => format!("group:{id}"),
        }
    }

    fn value(&self) -> &str {
        match self {
            Handle::Phone(v) | Handle::Lid(v) | Handle::UserId(v) | Handle::Group(v) => v,
        }
    }

    /// Its kind, as the queries below name it.
    fn column(&self) -> &'static str {
        match self {
            Handle::Phone(_) => "phone",
            Handle::Lid(_) => "lid",
            Handle::UserId(_) => "user",
            Handle::Group(_) => "group",
        }
    }
}

/// A customer writing in: how the channel knows them, and the name their
/// profile gives.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub handle: Handle<'a>,
    pub profile_name: Option<&'a str>,
}

/// A sender's contact: its id and whether it is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SenderContact {
    pub id: Uuid,
    pub blocked: bool,
}

/// What a contact known without its number is called until named.
pub const HIDDEN_NUMBER_NAME: &str = "WhatsApp user (number hidden)";

/// What a group is called until the phone tells its name.
pub const UNNAMED_GROUP_NAME: &str = "WhatsApp group";

/// The contacts of these senders, keyed by [`Handle::key`]; created where
/// there are none, named as their profile says (else, for a customer whose
/// number is hidden, [`HIDDEN_NUMBER_NAME`]). A chat whose number is
/// unknown is not dropped: its contact shows in the inbox like any other.
pub async fn find_or_create(
    tx: &mut TenantTx,
    senders: &[Sender<'_>],
) -> sqlx::Result<HashMap<String, SenderContact>> {
    // The first name given for each handle, handles in key order per kind.
    let mut names: BTreeMap<Handle, String> = BTreeMap::new();
    for sender in senders {
        let given = sender.profile_name.map(str::trim).unwrap_or_default();
        let name = match (given, sender.handle) {
            ("", Handle::Phone(_)) => "",
            ("", Handle::Group(_)) => UNNAMED_GROUP_NAME,
            ("", _) => HIDDEN_NUMBER_NAME,
            (given, _) => given,
        };
        let entry = names.entry(sender.handle).or_default();
        if entry.is_empty() {
            *entry = name.chars().take(200).collect();
        }
    }
    let mut found = HashMap::new();
    for kind in [
        Handle::Phone(""),
        Handle::Lid(""),
        Handle::UserId(""),
        Handle::Group(""),
    ] {
        let same_kind = |h: &Handle| std::mem::discriminant(h) == std::mem::discriminant(&kind);
        let keys: Vec<&str> = names
            .keys()
            .filter(|h| same_kind(h))
            .map(Handle::value)
            .collect();
        if keys.is_empty() {
            continue;
        }
        let mut of_kind = by_handles(tx, kind, &keys).await?;
        let missing: Vec<(&str, &str)> = names
            .iter()
            .filter(|(handle, _)| same_kind(handle) && !of_kind.contains_key(handle.value()))
            .map(|(handle, name)| (handle.value(), name.as_str()))
            .collect();
        if !missing.is_empty() {
            let (keys, names): (Vec<&str>, Vec<&str>) = missing.into_iter().unzip();
            create(tx, kind, &keys, &names).await?;
            of_kind.extend(by_handles(tx, kind, &keys).await?);
        }
        found.extend(of_kind.into_iter().map(|(value, contact)| {
            let handle = match kind {
                Handle::Phone(_) => Handle::Phone(&value),
                Handle::Lid(_) => Handle::Lid(&value),
                Handle::UserId(_) => Handle::UserId(&value),
                Handle::Group(_) => Handle::Group(&value),
            };
            (handle.key(), contact)
        }));
    }
    Ok(found)
}

/// New contacts with these handles of `kind`'s kind, named `names`.
/// Inserted in key order, so concurrent deliveries from the same new
/// customers wait for each other instead of deadlocking; where two insert
/// the same one its unique index makes one win, and both read its row
/// after (a statement of its own: it must see the winner's commit).
async fn create(
    tx: &mut TenantTx,
    kind: Handle<'_>,
    keys: &[&str],
    names: &[&str],
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    let ids: Vec<Uuid> = keys.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query!(
        "insert into contacts (org_id, id, name, phone, wa_lid, wa_user_id, wa_group) \
         select $1, u.id, u.name, case when $5 = 'phone' then u.key end, \
           case when $5 = 'lid' then u.key end, case when $5 = 'user' then u.key end, \
           case when $5 = 'group' then u.key end \
         from unnest($2::uuid[], $3::text[], $4::text[]) as u(id, name, key) order by u.key \
         on conflict do nothing",
        org_id,
        &ids,
        names as &[&str],
        keys as &[&str],
        kind.column()
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The contacts with these handles of `kind`'s kind, key by key (see
/// `crate::infra::db`), keyed by the handle's value. Each key finds its row
/// through the unique index of its kind's column.
async fn by_handles(
    tx: &mut TenantTx,
    kind: Handle<'_>,
    keys: &[&str],
) -> sqlx::Result<HashMap<String, SenderContact>> {
    let org_id = tx.org_id();
    let rows = sqlx::query!(
        r#"select k.key as "key!", c.id as "id!", c.blocked as "blocked!"
           from unnest($2::text[]) as k(key)
           cross join lateral (select id, blocked from contacts
             where org_id = $1 and (($3 = 'phone' and phone = k.key)
               or ($3 = 'lid' and wa_lid = k.key) or ($3 = 'user' and wa_user_id = k.key)
               or ($3 = 'group' and wa_group = k.key))
             limit 1) c"#,
        org_id,
        keys as &[&str],
        kind.column()
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let contact = SenderContact {
                id: r.id,
                blocked: r.blocked,
            };
            (r.key, contact)
        })
        .collect())
}

/// Records that contact `contact_id` (found by its number) is also known
/// by `handle` (a LID or a BSUID). A contact known until now by that
/// handle alone is the same person: its conversations move to this
/// contact (messages of an open conversation on the same channel join this
/// contact's open one), then it is merged in (notes, labels, empty fields)
/// and gone. So a customer first seen without their number and later with
/// it is one contact. A handle that moved to another number is that
/// number's now. A phone or group handle records nothing.
pub async fn attach(tx: &mut TenantTx, contact_id: Uuid, handle: Handle<'_>) -> sqlx::Result<()> {
    if let Handle::Phone(_) | Handle::Group(_) = handle {
        return Ok(());
    }
    let org_id = tx.org_id();
    let holder = sqlx::query!(
        "select id, phone from contacts where org_id = $1 \
           and (($3 = 'lid' and wa_lid = $2) or ($3 = 'user' and wa_user_id = $2)) for update",
        org_id,
        handle.value(),
        handle.column()
    )
    .fetch_optional(tx.conn())
    .await?;
    match holder {
        Some(h) if h.id == contact_id => return Ok(()),
        Some(h) if h.phone.is_none() => {
            move_conversations(tx, contact_id, h.id).await?;
            merge(tx, contact_id, h.id).await?;
        }
        Some(h) => set_handle(tx, h.id, handle, None).await?,
        None => {}
    }
    set_handle(tx, contact_id, handle, Some(handle.value())).await
}

/// Sets (or clears) the contact's LID or BSUID column, as `handle` names.
async fn set_handle(
    tx: &mut TenantTx,
    contact_id: Uuid,
    handle: Handle<'_>,
    value: Option<&str>,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update contacts set wa_lid = case when $4 = 'lid' then $3 else wa_lid end, \
           wa_user_id = case when $4 = 'user' then $3 else wa_user_id end \
         where org_id = $1 and id = $2",
        org_id,
        contact_id,
        value,
        handle.column()
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Moves contact `gone`'s conversations to `keep`. Where both have an
/// unresolved conversation on the same channel (at most one each), the
/// messages and counts of `gone`'s join `keep`'s and it is deleted.
async fn move_conversations(tx: &mut TenantTx, keep: Uuid, gone: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    let pairs = sqlx::query!(
        r#"select g.id as "gone!", k.id as "keep!" from conversations g
           join conversations k on k.org_id = g.org_id and k.channel_id = g.channel_id
             and k.contact_id = $2 and k.status <> 'resolved'
           where g.org_id = $1 and g.contact_id = $3 and g.status <> 'resolved'"#,
        org_id,
        keep,
        gone
    )
    .fetch_all(tx.conn())
    .await?;
    for pair in pairs {
        sqlx::query!(
            "update messages set conversation_id = $3 where org_id = $1 and conversation_id = $2",
            org_id,
            pair.gone,
            pair.keep
        )
        .execute(tx.conn())
        .await?;
        sqlx::query!(
            "update conversations k set inbound_count = k.inbound_count + g.inbound_count, \
               last_message_at = greatest(k.last_message_at, g.last_message_at), \
               last_inbound_at = greatest(k.last_inbound_at, g.last_inbound_at), \
               last_message_preview = case when g.last_message_at > k.last_message_at \
                 then g.last_message_preview else k.last_message_preview end \
             from conversations g where k.org_id = $1 and k.id = $3 and g.org_id = $1 and g.id = $2",
            org_id,
            pair.gone,
            pair.keep
        )
        .execute(tx.conn())
        .await?;
        sqlx::query!(
            "delete from conversations where org_id = $1 and id = $2",
            org_id,
            pair.gone
        )
        .execute(tx.conn())
        .await?;
    }
    sqlx::query!(
        "update conversations set contact_id = $2 where org_id = $1 and contact_id = $3",
        org_id,
        keep,
        gone
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether the customer with this number may be one of the workspace's
/// customers known by LID alone: there are such contacts, and this
/// number's contact (if any) has no LID yet.
pub async fn may_be_known_by_lid(tx: &mut TenantTx, phone: &PhoneE164) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select (exists (select 1 from contacts
                             where org_id = $1 and phone is null and wa_lid is not null)
                   and not exists (select 1 from contacts
                             where org_id = $1 and phone = $2 and wa_lid is not null)) as "ask!""#,
        org_id,
        phone.as_str()
    )
    .fetch_one(tx.conn())
    .await
}

/// Every address a conversation's contact is known by on WhatsApp.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addresses {
    /// E.164.
    pub phone: Option<String>,
    pub lid: Option<String>,
    /// Business-scoped user id (Cloud API).
    pub user_id: Option<String>,
    /// The group's id, when the contact is a WhatsApp group.
    pub group: Option<String>,
}

impl Addresses {
    /// Where a linked phone sends to this contact: a group's chat
    /// (`<id>@g.us`), the number's digits, or for a customer known only
    /// by LID the chat's own address `<lid>@lid` (WhatsApp routes it
    /// without the number). `None`: nowhere.
    pub fn linked_chat(&self) -> Option<String> {
        if let Some(group) = &self.group {
            return Some(format!("{group}@g.us"));
        }
        if let Some(phone) = &self.phone {
            return Some(phone.chars().filter(char::is_ascii_digit).collect());
        }
        self.lid.as_ref().map(|lid| format!("{lid}@lid"))
    }
}

/// The addresses of the contact a conversation is with (`None`: no such
/// conversation).
pub async fn addresses_of_conversation(
    tx: &mut TenantTx,
    conversation_id: Uuid,
) -> sqlx::Result<Option<Addresses>> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        "select c.phone, c.wa_lid, c.wa_user_id, c.wa_group from conversations v join contacts c \
           on c.org_id = v.org_id and c.id = v.contact_id \
         where v.org_id = $1 and v.id = $2",
        org_id,
        conversation_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Addresses {
        phone: r.phone,
        lid: r.wa_lid,
        user_id: r.wa_user_id,
        group: r.wa_group,
    }))
}

/// Whether the group's contact exists and still has the placeholder name.
pub async fn group_is_unnamed(tx: &mut TenantTx, group: &str) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from contacts
             where org_id = $1 and wa_group = $2 and name = $3) as "unnamed!""#,
        org_id,
        group,
        UNNAMED_GROUP_NAME
    )
    .fetch_one(tx.conn())
    .await
}

/// Names a group's contact as the phone says the group is called now
/// (a group renamed is renamed here). Nothing when the channel did not
/// keep the group.
pub async fn name_group(tx: &mut TenantTx, group: &str, name: &str) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    let name: String = name.trim().chars().take(200).collect();
    if name.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "update contacts set name = $3 where org_id = $1 and wa_group = $2 and name <> $3",
        org_id,
        group,
        name
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn id_by_phone(tx: &mut TenantTx, phone: &PhoneE164) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select id from contacts where org_id = $1 and phone = $2",
        org_id,
        phone.as_str()
    )
    .fetch_optional(tx.conn())
    .await
}
