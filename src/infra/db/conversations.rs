//! Conversations: one contact on one channel, worked in the inbox.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{ConversationStatus, Priority};
use crate::infra::db::labels::{self, Label, Tagged};
use crate::infra::tenancy::TenantTx;

/// `NOTIFY` channel of inbox changes; payload
/// `{org_id}:{conversation_id}:{assignee_id or empty}` (see `crate::infra::live`).
pub const NOTIFY_CHANNEL: &str = "wacrm_inbox";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Conversation {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub channel_name: String,
    pub contact_id: Uuid,
    pub contact_name: String,
    pub contact_phone: Option<String>,
    /// A WhatsApp group's chat (the contact is the group).
    pub is_group: bool,
    pub status: ConversationStatus,
    pub snoozed_until: Option<OffsetDateTime>,
    pub priority: Priority,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub last_message_at: OffsetDateTime,
    pub last_inbound_at: Option<OffsetDateTime>,
    pub last_message_preview: String,
    /// Inbound messages the viewer has not seen.
    pub unread: i64,
    /// Filled by [`with_labels`].
    #[sqlx(skip)]
    pub labels: Vec<Label>,
}

impl Conversation {
    pub fn has_label(&self, id: &Uuid) -> bool {
        self.labels.iter().any(|l| l.id == *id)
    }

    /// The contact's name, or their number when they have none.
    pub fn title(&self) -> &str {
        match (&self.contact_name, &self.contact_phone) {
            (name, _) if !name.is_empty() => name,
            (_, Some(phone)) => phone,
            _ => "Unknown contact",
        }
    }
}

/// A [`Conversation`] as one query reads it (labels come separately).
struct Row {
    id: Uuid,
    channel_id: Uuid,
    channel_name: String,
    contact_id: Uuid,
    contact_name: String,
    contact_phone: Option<String>,
    is_group: bool,
    status: ConversationStatus,
    snoozed_until: Option<OffsetDateTime>,
    priority: Priority,
    assignee_id: Option<Uuid>,
    assignee_name: Option<String>,
    last_message_at: OffsetDateTime,
    last_inbound_at: Option<OffsetDateTime>,
    last_message_preview: String,
    unread: i64,
}

impl From<Row> for Conversation {
    fn from(r: Row) -> Self {
        Conversation {
            id: r.id,
            channel_id: r.channel_id,
            channel_name: r.channel_name,
            contact_id: r.contact_id,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            is_group: r.is_group,
            status: r.status,
            snoozed_until: r.snoozed_until,
            priority: r.priority,
            assignee_id: r.assignee_id,
            assignee_name: r.assignee_name,
            last_message_at: r.last_message_at,
            last_inbound_at: r.last_inbound_at,
            last_message_preview: r.last_message_preview,
            unread: r.unread,
            labels: Vec::new(),
        }
    }
}

/// `query_as!` of [`Row`]s: the columns, `$from` (which names the
/// conversation `c`), the joins they read (`$2` is the viewer), then
/// `$rest`. A macro so that the SQL stays one literal the compiler checks.
macro_rules! select_rows {
    ($from:literal, $rest:literal, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            Row,
            r#"select c.id, c.channel_id, ch.name as channel_name, c.contact_id,
               ct.name as contact_name, ct.phone as contact_phone,
               ct.wa_group is not null as "is_group!",
               c.status as "status: ConversationStatus", c.snoozed_until,
               c.priority as "priority: Priority", c.assignee_id, u.name as "assignee_name?", c.last_message_at,
               c.last_inbound_at, c.last_message_preview,
               greatest(c.inbound_count - coalesce(r.read_count, 0), 0) as "unread!" "#
                + $from
                + " join contacts ct on ct.org_id = c.org_id and ct.id = c.contact_id \
                   join channels ch on ch.org_id = c.org_id and ch.id = c.channel_id \
                   left join users u on u.id = c.assignee_id \
                   left join conversation_reads r on r.org_id = c.org_id \
                     and r.conversation_id = c.id and r.user_id = $2 "
                + $rest,
            $($arg),+
        )
    };
}

/// Which conversations a member may see: all, or (agents of a workspace
/// that says so) only theirs and the unassigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    All,
    AssignedTo(Uuid),
}

impl Visibility {
    /// Whether a conversation with this assignee is visible.
    pub fn allows(self, assignee: Option<Uuid>) -> bool {
        match self {
            Visibility::All => true,
            Visibility::AssignedTo(me) => assignee.is_none() || assignee == Some(me),
        }
    }

    /// Whether only the viewer's and the unassigned conversations are
    /// visible: bound as a switch, `(not $n::bool or c.assignee_id = $2 or
    /// c.assignee_id is null)` with the viewer as `$2`, so the SQL is static
    /// (with the values known, the planner folds the switch away).
    pub(crate) fn restricted(self) -> bool {
        matches!(self, Visibility::AssignedTo(_))
    }
}

/// The unresolved conversation of each contact on this channel, opened
/// where there is none, with its first activity at the contact's `at` (the
/// first message's time, which a provider stamps before it reaches us).
/// Keyed by contact id.
pub async fn find_or_open_all(
    tx: &mut TenantTx,
    channel_id: Uuid,
    contacts: &BTreeMap<Uuid, OffsetDateTime>,
) -> sqlx::Result<HashMap<Uuid, Uuid>> {
    find_or_open_all_as(tx, channel_id, contacts, ConversationStatus::Open).await
}

/// [`find_or_open_all`], opening missing conversations with `status`: a
/// campaign opens its recipients' as pending (waiting for the customer),
/// so they stay out of the open inbox until the customer answers (a
/// customer's message makes a pending conversation open).
pub async fn find_or_open_all_as(
    tx: &mut TenantTx,
    channel_id: Uuid,
    contacts: &BTreeMap<Uuid, OffsetDateTime>,
    status: ConversationStatus,
) -> sqlx::Result<HashMap<Uuid, Uuid>> {
    let org_id = tx.org_id();
    let contact_ids: Vec<Uuid> = contacts.keys().copied().collect();
    // Key by key (see `crate::infra::db`).
    let mut found: HashMap<Uuid, Uuid> = sqlx::query!(
        r#"select k.contact_id as "contact_id!", c.id as "id!"
           from unnest($3::uuid[]) as k(contact_id)
           cross join lateral (select id from conversations where org_id = $1
             and channel_id = $2 and contact_id = k.contact_id and status <> 'resolved'
             limit 1) c"#,
        org_id,
        channel_id,
        &contact_ids
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| (r.contact_id, r.id))
    .collect();
    let missing: Vec<(Uuid, OffsetDateTime)> = contacts
        .iter()
        .filter(|(contact, _)| !found.contains_key(contact))
        .map(|(contact, at)| (*contact, *at))
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    let ids: Vec<Uuid> = missing.iter().map(|_| Uuid::now_v7()).collect();
    let (contact_ids, ats): (Vec<Uuid>, Vec<OffsetDateTime>) = missing.into_iter().unzip();
    // In contact order, so concurrent openings wait rather than deadlock; a
    // concurrent message may open one first: then that one is taken.
    let opened = sqlx::query!(
        "insert into conversations (org_id, id, channel_id, contact_id, last_message_at, status) \
         select $1, u.id, $2, u.contact_id, u.at, $6 \
         from unnest($3::uuid[], $4::uuid[], $5::timestamptz[]) as u(id, contact_id, at) \
         order by u.contact_id \
         on conflict (org_id, channel_id, contact_id) where status <> 'resolved' \
         do update set last_message_at = conversations.last_message_at \
         returning contact_id, id",
        org_id,
        channel_id,
        &ids,
        &contact_ids,
        &ats,
        status.as_str()
    )
    .fetch_all(tx.conn())
    .await?;
    found.extend(opened.into_iter().map(|r| (r.contact_id, r.id)));
    Ok(found)
}

/// What arrived in one conversation: how many customer messages, the time
/// of the latest, and its one-line preview.
#[derive(Debug, Clone)]
pub struct Arrivals {
    pub count: i32,
    pub latest_at: OffsetDateTime,
    pub latest_preview: String,
}

/// Updates what the list shows after customers' messages arrived (as
/// [`record_message`] does for one) and tells the live inboxes.
pub async fn record_arrivals(
    tx: &mut TenantTx,
    arrivals: &BTreeMap<Uuid, Arrivals>,
) -> sqlx::Result<()> {
    if arrivals.is_empty() {
        return Ok(());
    }
    let org_id = tx.org_id();
    let ids: Vec<Uuid> = arrivals.keys().copied().collect();
    // Rows locked first, key by key in id order (the keys come sorted; an
    // update's own order is its plan's), so deliveries touching the same
    // conversations never deadlock. The locked rows' physical addresses
    // (`ctid`, stable while we hold the lock) then lead the update straight
    // to them: a TID scan, whatever the statistics think of the workspace's
    // size, so its plan can be cached (see `crate::infra::db`).
    let locked = sqlx::query!(
        r#"select k.id as "id!", c.ctid::text as "tid!" from unnest($2::uuid[]) as k(id)
           cross join lateral (select ctid from conversations where org_id = $1 and id = k.id
             limit 1 for no key update) c"#,
        org_id,
        &ids
    )
    .fetch_all(tx.conn())
    .await?;
    let mut tids = Vec::with_capacity(locked.len());
    let mut counts = Vec::with_capacity(locked.len());
    let mut ats = Vec::with_capacity(locked.len());
    let mut previews = Vec::with_capacity(locked.len());
    for row in locked {
        let Some(arrived) = arrivals.get(&row.id) else {
            continue;
        };
        tids.push(row.tid);
        counts.push(arrived.count);
        ats.push(arrived.latest_at);
        previews.push(arrived.latest_preview.chars().take(140).collect::<String>());
    }
    sqlx::query!(
        "update conversations c set last_message_at = greatest(c.last_message_at, u.at), \
           last_message_preview = case when u.at >= c.last_message_at then u.preview \
             else c.last_message_preview end, \
           inbound_count = c.inbound_count + u.count, \
           last_inbound_at = greatest(c.last_inbound_at, u.at), \
           status = case when c.status in ('snoozed', 'pending') then 'open' else c.status end, \
           snoozed_until = null \
         from unnest($2::text[], $3::int[], $4::timestamptz[], $5::text[]) as u(tid, count, at, preview) \
         where c.ctid = u.tid::tid and c.org_id = $1 \
         returning pg_notify($6, c.org_id || ':' || c.id || ':' || coalesce(c.assignee_id::text, ''))",
        org_id,
        &tids,
        &counts,
        &ats,
        &previews,
        NOTIFY_CHANNEL
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Updates what the list shows after messages from a phone's chat history
/// arrived (`customers`: the customers' own, else the business's) and
/// tells the live inboxes. Unlike [`record_arrivals`] they count as read,
/// already answered by read receipts, and leave the status alone.
pub async fn record_history(
    tx: &mut TenantTx,
    arrivals: &BTreeMap<Uuid, Arrivals>,
    customers: bool,
) -> sqlx::Result<()> {
    if arrivals.is_empty() {
        return Ok(());
    }
    let org_id = tx.org_id();
    let ids: Vec<Uuid> = arrivals.keys().copied().collect();
    // Locked in id order first, as `record_arrivals` does, so an import and
    // live deliveries touching the same conversations never deadlock.
    sqlx::query!(
        "select id from conversations where org_id = $1 and id = any($2) \
         order by id for no key update",
        org_id,
        &ids
    )
    .fetch_all(tx.conn())
    .await?;
    let ats: Vec<OffsetDateTime> = arrivals.values().map(|a| a.latest_at).collect();
    let previews: Vec<String> = arrivals
        .values()
        .map(|a| a.latest_preview.chars().take(140).collect())
        .collect();
    sqlx::query!(
        "update conversations c set last_message_at = greatest(c.last_message_at, u.at), \
           last_message_preview = case when u.at >= c.last_message_at then u.preview \
             else c.last_message_preview end, \
           last_inbound_at = case when $5 then greatest(c.last_inbound_at, u.at) \
             else c.last_inbound_at end, \
           receipts_through = case when $5 then greatest(c.receipts_through, u.at) \
             else c.receipts_through end \
         from unnest($2::uuid[], $3::timestamptz[], $4::text[]) as u(id, at, preview) \
         where c.org_id = $1 and c.id = u.id \
         returning pg_notify($6, c.org_id || ':' || c.id || ':' || coalesce(c.assignee_id::text, ''))",
        org_id,
        &ids,
        &ats,
        &previews,
        customers,
        NOTIFY_CHANNEL
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Updates what the list shows after a message; a customer's message also
/// counts as unread, restarts the reply window and wakes a snoozed
/// conversation.
pub async fn record_message(
    tx: &mut TenantTx,
    id: Uuid,
    inbound: bool,
    preview: &str,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    let preview: String = preview.chars().take(140).collect();
    sqlx::query!(
        "update conversations set last_message_at = greatest(last_message_at, $4), \
           last_message_preview = case when $4 >= last_message_at then $5 else last_message_preview end, \
           inbound_count = inbound_count + case when $3 then 1 else 0 end, \
           last_inbound_at = case when $3 then greatest(last_inbound_at, $4) else last_inbound_at end, \
           status = case when $3 and status in ('snoozed', 'pending') then 'open' else status end, \
           snoozed_until = case when $3 then null else snoozed_until end \
         where org_id = $1 and id = $2",
        org_id,
        id,
        inbound,
        at,
        preview
    )
    .execute(tx.conn())
    .await?;
    notify(tx, id).await
}

/// Moves the conversation's read-receipt mark up to its newest customer
/// message, if one came since the last receipt: the old mark (`None` if
/// there was none) and the new one. `None` when there is nothing new.
pub async fn advance_receipts(
    tx: &mut TenantTx,
    id: Uuid,
) -> sqlx::Result<Option<(Option<OffsetDateTime>, OffsetDateTime)>> {
    let org_id = tx.org_id();
    let moved = sqlx::query!(
        r#"with old as (
             select receipts_through from conversations
             where org_id = $1 and id = $2 and last_inbound_at is not null
               and (receipts_through is null or last_inbound_at > receipts_through)
             for update)
           update conversations c set receipts_through = c.last_inbound_at from old
           where c.org_id = $1 and c.id = $2
           returning old.receipts_through as since, c.last_inbound_at as "through!""#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(moved.map(|m| (m.since, m.through)))
}

/// Tells every instance's live inbox that this conversation changed; sent
/// when the transaction commits, not before.
pub async fn notify(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "select pg_notify($1, org_id || ':' || id || ':' || coalesce(assignee_id::text, '')) \
         from conversations where org_id = $2 and id = $3",
        NOTIFY_CHANNEL,
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Reopens the conversation if it is snoozed until now or earlier; true
/// if it did.
pub async fn wake_if_due(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update conversations set status = 'open', snoozed_until = null \
         where org_id = $1 and id = $2 and status = 'snoozed' and snoozed_until <= now()",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find(
    tx: &mut TenantTx,
    id: Uuid,
    viewer: Uuid,
    visibility: Visibility,
) -> sqlx::Result<Option<Conversation>> {
    let org_id = tx.org_id();
    let row = select_rows!(
        "from conversations c",
        "where c.org_id = $1 and c.id = $3 \
         and (not $4::bool or c.assignee_id = $2 or c.assignee_id is null)",
        org_id,
        viewer,
        id,
        visibility.restricted()
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(Conversation::from))
}

/// Whose conversations the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssigneeFilter {
    Mine,
    Unassigned,
    #[default]
    All,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub assignee: AssigneeFilter,
    /// `None`: every status.
    pub status: Option<ConversationStatus>,
    pub label: Option<Uuid>,
    pub channel: Option<Uuid>,
    pub contact: Option<Uuid>,
    /// Older than this `(last_message_at, id)`.
    pub before: Option<(OffsetDateTime, Uuid)>,
    pub limit: i64,
}

/// Most recent activity first; one more than `limit` tells there is more.
///
/// Two statements: the page's ids from `conversations` alone, planned for
/// these values each time (a plan cached for a small workspace is a
/// disaster for a large one, and planning one table is cheap), then their
/// rows with a cached plan (every join is a key lookup). Planning the whole
/// join each time cost more than running it.
pub async fn list(
    tx: &mut TenantTx,
    filter: &ListFilter,
    viewer: Uuid,
    visibility: Visibility,
) -> sqlx::Result<Vec<Conversation>> {
    let ids = page_ids(tx, filter, viewer, visibility).await?;
    by_ids(tx, &ids, viewer).await
}

async fn page_ids(
    tx: &mut TenantTx,
    filter: &ListFilter,
    viewer: Uuid,
    visibility: Visibility,
) -> sqlx::Result<Vec<Uuid>> {
    let (before_at, before_id) = filter.before.unzip();
    // Runtime SQL, static: the macros' queries cannot opt out of the
    // statement cache (sqlx 0.9 has no `persistent` on their `Map`), and
    // this one must be planned for its values (see above). Planned so, the
    // `$10`..`$12` switches fold away and the plan is the one a query
    // written for the case would get.
    sqlx::query_scalar(
        "select c.id from conversations c where c.org_id = $1 \
         and (not $10::bool or c.assignee_id = $2 or c.assignee_id is null) \
         and (not $11::bool or c.assignee_id = $2) \
         and (not $12::bool or c.assignee_id is null) \
         and ($3::text is null or c.status = $3) \
         and ($4::uuid is null or exists (select 1 from conversation_labels cl \
              where cl.org_id = c.org_id and cl.conversation_id = c.id and cl.label_id = $4)) \
         and ($5::uuid is null or c.channel_id = $5) \
         and ($6::uuid is null or c.contact_id = $6) \
         and ($7::timestamptz is null or (c.last_message_at, c.id) < ($7, $8)) \
         order by c.last_message_at desc, c.id desc limit $9",
    )
    .bind(tx.org_id())
    .bind(viewer)
    .bind(filter.status.map(ConversationStatus::as_str))
    .bind(filter.label)
    .bind(filter.channel)
    .bind(filter.contact)
    .bind(before_at)
    .bind(before_id)
    .bind(filter.limit + 1)
    .bind(visibility.restricted())
    .bind(filter.assignee == AssigneeFilter::Mine)
    .bind(filter.assignee == AssigneeFilter::Unassigned)
    .persistent(false)
    .fetch_all(tx.conn())
    .await
}

/// These conversations, in this order (ids of other workspaces are left out).
async fn by_ids(tx: &mut TenantTx, ids: &[Uuid], viewer: Uuid) -> sqlx::Result<Vec<Conversation>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let org_id = tx.org_id();
    let rows = select_rows!(
        "from unnest($3::uuid[]) with ordinality as p(id, n) \
         join conversations c on c.org_id = $1 and c.id = p.id",
        "where c.org_id = $1 order by p.n",
        org_id,
        viewer,
        ids
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(Conversation::from).collect())
}

/// The contact's other conversations (the contact panel), newest first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Earlier {
    pub id: Uuid,
    pub status: ConversationStatus,
    pub last_message_at: OffsetDateTime,
}

pub async fn others_of_contact(
    tx: &mut TenantTx,
    contact_id: Uuid,
    except: Uuid,
    viewer: Uuid,
    visibility: Visibility,
    limit: i64,
) -> sqlx::Result<Vec<Earlier>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Earlier,
        r#"select c.id, c.status as "status: ConversationStatus", c.last_message_at
           from conversations c
           where c.org_id = $1 and (not $6::bool or c.assignee_id = $2 or c.assignee_id is null)
           and c.contact_id = $3 and c.id <> $4
           order by c.last_message_at desc, c.id desc limit $5"#,
        org_id,
        viewer,
        contact_id,
        except,
        limit,
        visibility.restricted()
    )
    .fetch_all(tx.conn())
    .await
}

/// Sets the status (`snoozed_until` only with `snoozed`).
pub async fn set_status(
    tx: &mut TenantTx,
    id: Uuid,
    status: ConversationStatus,
    snoozed_until: Option<OffsetDateTime>,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update conversations set status = $3, snoozed_until = $4 where org_id = $1 and id = $2",
        org_id,
        id,
        status.as_str(),
        snoozed_until
    )
    .execute(tx.conn())
    .await?;
    notify(tx, id).await
}

/// Assigns to a member of this workspace (or nobody); `false` if the user
/// is not a member.
pub async fn assign(tx: &mut TenantTx, id: Uuid, assignee: Option<Uuid>) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update conversations set assignee_id = $3 where org_id = $1 and id = $2 \
         and ($3::uuid is null or exists (select 1 from memberships m \
              where m.org_id = $1 and m.user_id = $3))",
        org_id,
        id,
        assignee
    )
    .execute(tx.conn())
    .await?;
    notify(tx, id).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_priority(tx: &mut TenantTx, id: Uuid, priority: Priority) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update conversations set priority = $3 where org_id = $1 and id = $2",
        org_id,
        id,
        priority.as_str()
    )
    .execute(tx.conn())
    .await?;
    notify(tx, id).await
}

/// Gives the conversation exactly these labels (of this workspace).
pub async fn set_labels(tx: &mut TenantTx, id: Uuid, label_ids: &[Uuid]) -> sqlx::Result<()> {
    labels::set_for(tx, Tagged::Conversation, id, label_ids).await?;
    notify(tx, id).await
}

/// Fills each conversation's labels.
pub async fn with_labels(
    tx: &mut TenantTx,
    conversations: &mut [Conversation],
) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = conversations.iter().map(|c| c.id).collect();
    let mut by_conversation = labels::of(tx, Tagged::Conversation, &ids).await?;
    for c in conversations {
        c.labels = by_conversation.remove(&c.id).unwrap_or_default();
    }
    Ok(())
}

/// The member has now seen every inbound message of the conversation.
/// Nothing is written (or locked) when that was already so: `on conflict do
/// update` locks the row even when its `where` fails.
pub async fn mark_read(tx: &mut TenantTx, id: Uuid, user_id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into conversation_reads (org_id, conversation_id, user_id, read_count) \
         select c.org_id, c.id, $3, c.inbound_count from conversations c \
         where c.org_id = $1 and c.id = $2 and not exists (select 1 from conversation_reads r \
           where r.org_id = c.org_id and r.conversation_id = c.id and r.user_id = $3 \
           and r.read_count = c.inbound_count) \
         on conflict (org_id, conversation_id, user_id) \
         do update set read_count = excluded.read_count \
         where conversation_reads.read_count is distinct from excluded.read_count",
        org_id,
        id,
        user_id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The contact's unresolved conversation on the channel other than
/// `except`, if any (there is at most one: reopening `except` must not
/// make a second).
pub async fn other_active(
    tx: &mut TenantTx,
    channel_id: Uuid,
    contact_id: Uuid,
    except: Uuid,
) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        "select id from conversations where org_id = $1 and channel_id = $2 \
         and contact_id = $3 and status <> 'resolved' and id <> $4 limit 1",
        org_id,
        channel_id,
        contact_id,
        except
    )
    .fetch_optional(tx.conn())
    .await
}
