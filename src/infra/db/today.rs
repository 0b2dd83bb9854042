//! The dashboard's queries ("today"): the conversations waiting on a
//! member, the open unassigned ones, and what the workspace did this week.
//! Each list picks its few conversations first and only then joins their
//! contacts (joined first, the planner hashed every contact of the
//! workspace); each weekly figure is one aggregate over a range of an
//! `(org_id, time)` index.

use rust_decimal::Decimal;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::ConversationStatus;
use crate::infra::tenancy::TenantTx;

/// A conversation as a dashboard row: who, the last message, since when.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: Uuid,
    pub contact_name: String,
    pub contact_phone: Option<String>,
    pub status: ConversationStatus,
    pub last_message_preview: String,
    pub last_message_at: OffsetDateTime,
    /// The customer's last message, when it is the conversation's last (no
    /// one has answered it).
    pub waiting_since: Option<OffsetDateTime>,
}

impl ConversationRow {
    /// The contact's name, or their number when they have none.
    pub fn title(&self) -> &str {
        match (&self.contact_name, &self.contact_phone) {
            (name, _) if !name.trim().is_empty() => name,
            (_, Some(phone)) => phone,
            _ => "Unknown contact",
        }
    }
}

/// Open or pending conversations assigned to `member` whose last message
/// is the customer's, the longest waiting first. "Answered" is what the
/// inbox's waiting badge says: the customer's message is not the last.
pub async fn waiting_on(
    tx: &mut TenantTx,
    member: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<ConversationRow>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        ConversationRow,
        r#"select c.id, ct.name as contact_name, ct.phone as contact_phone,
             c.status as "status: ConversationStatus", c.last_message_preview,
             c.last_message_at, c.waiting_since
           from (select id, org_id, contact_id, status, last_message_preview, last_message_at,
                   last_inbound_at as waiting_since
                 from conversations
                 where org_id = $1 and assignee_id = $2 and status in ('open', 'pending')
                   and last_inbound_at >= last_message_at
                 order by last_inbound_at, id limit $3) c
           join contacts ct on ct.org_id = c.org_id and ct.id = c.contact_id
           order by c.waiting_since, c.id"#,
        org_id,
        member,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// Open conversations nobody is assigned to: the ones waiting on an answer
/// first (the longest waiting first), then the rest, the least recently
/// active first.
pub async fn unassigned(tx: &mut TenantTx, limit: i64) -> sqlx::Result<Vec<ConversationRow>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        ConversationRow,
        r#"select c.id, ct.name as contact_name, ct.phone as contact_phone,
             c.status as "status: ConversationStatus", c.last_message_preview,
             c.last_message_at, c.waiting_since
           from (select id, org_id, contact_id, status, last_message_preview, last_message_at,
                   case when last_inbound_at >= last_message_at then last_inbound_at end
                     as waiting_since
                 from conversations
                 where org_id = $1 and assignee_id is null and status = 'open'
                 order by waiting_since nulls last, last_message_at, id limit $2) c
           join contacts ct on ct.org_id = c.org_id and ct.id = c.contact_id
           order by c.waiting_since nulls last, c.last_message_at, c.id"#,
        org_id,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// What the workspace's inbox did since `since`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Activity {
    pub new_conversations: i64,
    /// Customers' messages.
    pub received: i64,
    /// Replies, templates and automated answers (not private notes, not
    /// the ones that failed).
    pub sent: i64,
    /// Whether the workspace has had any conversation at all.
    pub any_conversation: bool,
}

pub async fn activity_since(tx: &mut TenantTx, since: OffsetDateTime) -> sqlx::Result<Activity> {
    let org_id = tx.org_id();
    let row = sqlx::query!(
        r#"select
             (select count(*) from conversations
              where org_id = $1 and created_at >= $2) as "new_conversations!",
             m.received as "received!", m.sent as "sent!",
             exists (select 1 from conversations where org_id = $1) as "any_conversation!"
           from (select count(*) filter (where direction = 'in') as received,
                   count(*) filter (where direction = 'out' and status <> 'failed') as sent
                 from messages where org_id = $1 and created_at >= $2 and not private) m"#,
        org_id,
        since
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(Activity {
        new_conversations: row.new_conversations,
        received: row.received,
        sent: row.sent,
        any_conversation: row.any_conversation,
    })
}

/// A count and a sum in one currency (amounts in different currencies are
/// never added together).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: i64,
    pub value: Decimal,
}

/// Deals that entered a won stage since `since`, per currency.
pub async fn won_since(
    tx: &mut TenantTx,
    since: OffsetDateTime,
) -> sqlx::Result<Vec<CurrencyTotal>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        CurrencyTotal,
        r#"select d.currency, count(*) as "count!", sum(d.value) as "value!"
           from pipeline_stages s
           join deals d on d.org_id = s.org_id and d.stage_id = s.id
           where s.org_id = $1 and s.outcome = 'won' and d.closed_at >= $2
           group by d.currency order by d.currency"#,
        org_id,
        since
    )
    .fetch_all(tx.conn())
    .await
}

/// Orders made since `since` and not cancelled, per currency.
pub async fn orders_since(
    tx: &mut TenantTx,
    since: OffsetDateTime,
) -> sqlx::Result<Vec<CurrencyTotal>> {
    let org_id = tx.org_id();
    // The statuses listed rather than `<> 'cancelled'`: each is a range of
    // `orders_status_idx`.
    sqlx::query_as!(
        CurrencyTotal,
        r#"select currency, count(*) as "count!", sum(total) as "value!"
           from orders
           where org_id = $1 and status in ('new', 'confirmed', 'fulfilled') and created_at >= $2
           group by currency order by currency"#,
        org_id,
        since
    )
    .fetch_all(tx.conn())
    .await
}
