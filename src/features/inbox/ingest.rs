//! A customer's message arriving on a channel: find or create the contact
//! and the conversation, store the message once, tell the live inboxes.

use std::collections::{BTreeMap, HashMap, HashSet};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{ConversationStatus, MessageKind, PhoneE164};
use crate::features::campaigns::opt_out;
use crate::features::inbox::outbound::Target;
use crate::infra::db;
use crate::infra::db::channels::Channel;
use crate::infra::db::contacts::{Handle, Sender};
use crate::infra::db::conversations::Arrivals;
use crate::infra::db::messages::{Author, InboundRow};
use crate::infra::jobs;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;

/// A message as a channel hands it over.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    /// The customer's number; `None` when the channel knows them only by
    /// their WhatsApp LID or BSUID (then `lid` or `user_id` is set).
    pub from: Option<PhoneE164>,
    /// The customer's WhatsApp LID, when the channel gives it: a contact
    /// seen by LID alone, then by number, is one contact.
    pub lid: Option<&'a str>,
    /// The customer's business-scoped user id (Cloud API), when given;
    /// as the LID, it keys a contact whose number is not seen.
    pub user_id: Option<&'a str>,
    /// The name the customer gave their profile, for a new contact.
    pub profile_name: Option<&'a str>,
    /// The provider's id: the same id twice is the same message.
    pub provider_message_id: &'a str,
    pub kind: MessageKind,
    pub body: &'a str,
    pub media: Option<serde_json::Value>,
    /// The payload as received, kept for kinds wacrm does not model.
    pub raw: Option<serde_json::Value>,
    pub sent_at: Option<OffsetDateTime>,
    /// The provider id of the message this one quotes or reacts to.
    pub reply_to: Option<&'a str>,
    /// A message in a WhatsApp group chat (channels that show groups):
    /// the group is the contact, `from`/`lid` are unused.
    pub group: Option<GroupPost<'a>>,
}

/// Where in a group a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPost<'a> {
    /// The group's id (the user part of `<id>@g.us`).
    pub id: &'a str,
    /// Who in the group wrote it: their number's digits or `<lid>@lid`
    /// (`None` for the business's own messages).
    pub member: Option<&'a str>,
    /// The name the member's profile gave.
    pub member_name: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Stored {
        conversation_id: Uuid,
        message_id: Uuid,
    },
    /// Already stored (the channel retried).
    Duplicate,
    /// The contact is blocked: dropped.
    Blocked,
}

/// One arrival, in the caller's transaction.
pub async fn ingest(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &Channel,
    inbound: &Inbound<'_>,
) -> anyhow::Result<Ingested> {
    let outcomes = ingest_all(tx, secrets, channel, std::slice::from_ref(inbound)).await?;
    Ok(outcomes.into_iter().next().unwrap_or(Ingested::Duplicate))
}

/// Customers' messages arriving on a channel (one delivery), in the
/// caller's transaction: see [`arrive`].
pub async fn ingest_all(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &Channel,
    arrivals: &[Inbound<'_>],
) -> anyhow::Result<Vec<Ingested>> {
    arrive(tx, secrets, channel, arrivals, Author::Customer).await
}

/// Messages the business typed on its own phone (a linked phone or a WAHA
/// bridge reports them; `from` is the customer they went to), in the
/// caller's transaction: stored once each as ours, "sent from the phone".
/// They are a person's reply (the bot and the waiting rules see that), and
/// set off nothing a customer's message does: no automation, bot, campaign
/// reply or opt-out, no unread count.
pub async fn sent_from_phone(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &Channel,
    sent: &[Inbound<'_>],
) -> anyhow::Result<Vec<Ingested>> {
    arrive(tx, secrets, channel, sent, Author::BusinessPhone).await
}

/// Customers' messages that reached the channel but could not be
/// decrypted yet (a linked phone's Signal session was out of step): kept
/// as "waiting for this message", unread, setting nothing off; when
/// WhatsApp delivers the content under the same id, [`ingest_all`] fills
/// the placeholder in and it counts as arriving then.
pub async fn undecrypted(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &Channel,
    arrivals: &[Inbound<'_>],
) -> anyhow::Result<Vec<Ingested>> {
    arrive(tx, secrets, channel, arrivals, Author::CustomerUndecrypted).await
}

/// Earlier messages from a linked phone's chat history (`ours`: the
/// business's own, else the customers'), in the caller's transaction:
/// stored once each (a live message with the same id is the same
/// message), as read. A conversation they open waits for the customer
/// (pending), out of the open inbox until the customer writes again. They
/// set nothing off: no automation, bot, campaign reply, opt-out, unread
/// count or read receipt.
pub async fn from_history(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &Channel,
    messages: &[Inbound<'_>],
    ours: bool,
) -> anyhow::Result<Vec<Ingested>> {
    let author = if ours {
        Author::BusinessPhoneHistory
    } else {
        Author::CustomerHistory
    };
    arrive(tx, secrets, channel, messages, author).await
}

/// A channel's arrivals (one delivery), in the caller's transaction: a
/// fixed handful of statements however many there are, each touching its
/// rows in one order (phone, contact, provider id, conversation id), so
/// concurrent deliveries wait for each other rather than deadlock. Returns
/// an outcome per arrival, in their order. When the channel's bot is on,
/// each new message gets a bot job (run after commit).
async fn arrive(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &Channel,
    arrivals: &[Inbound<'_>],
    author: Author,
) -> anyhow::Result<Vec<Ingested>> {
    if arrivals.is_empty() {
        return Ok(Vec::new());
    }
    // The arrivals' own ids (stored already?) and those they quote.
    let provider_ids: Vec<&str> = arrivals
        .iter()
        .flat_map(|a| std::iter::once(a.provider_message_id).chain(a.reply_to))
        .collect();
    let stored_ids = db::messages::ids_by_provider_ids(tx, channel.id, &provider_ids).await?;
    // A message stored already needs no contact (a copy under another
    // address would make an empty one), unless it links a number to a LID
    // or BSUID: then the two contacts become one.
    let needing_contacts: Vec<&Inbound> = arrivals
        .iter()
        .filter(|a| {
            let links = a.from.is_some() && (a.lid.is_some() || a.user_id.is_some());
            links || !stored_ids.contains_key(a.provider_message_id)
        })
        .collect();
    let contacts = contacts_of(tx, &needing_contacts, author).await?;
    let mut known: HashSet<&str> = arrivals
        .iter()
        .map(|a| a.provider_message_id)
        .filter(|id| stored_ids.contains_key(*id))
        .collect();
    let mut filled = if author == Author::Customer {
        fill_awaiting(tx, channel, arrivals, &known, &stored_ids).await?
    } else {
        HashMap::new()
    };

    // What is new, from whom; a repeated id within the delivery counts once.
    let now = OffsetDateTime::now_utc();
    let mut outcomes = Vec::with_capacity(arrivals.len());
    let mut fresh: Vec<(usize, Uuid, OffsetDateTime)> = Vec::new();
    let mut first_at: BTreeMap<Uuid, OffsetDateTime> = BTreeMap::new();
    for (index, arrival) in arrivals.iter().enumerate() {
        if let Some((message_id, conversation_id)) = filled.remove(arrival.provider_message_id) {
            // Its placeholder took the content: new to everything below.
            outcomes.push(Ingested::Stored {
                conversation_id,
                message_id,
            });
            continue;
        }
        let Some(contact) = contacts.get(&sender_key(arrival)) else {
            // Stored already, or (found or created above) its contact was
            // merged away concurrently.
            outcomes.push(Ingested::Duplicate);
            continue;
        };
        if contact.blocked {
            outcomes.push(Ingested::Blocked);
        } else if !known.insert(arrival.provider_message_id) {
            outcomes.push(Ingested::Duplicate);
        } else {
            let at = arrival.sent_at.unwrap_or(now);
            let first = first_at.entry(contact.id).or_insert(at);
            *first = (*first).min(at);
            fresh.push((index, contact.id, at));
            // Filled in once stored.
            outcomes.push(Ingested::Duplicate);
        }
    }
    let any_filled = outcomes
        .iter()
        .any(|o| matches!(o, Ingested::Stored { .. }));
    if fresh.is_empty() && !any_filled {
        return Ok(outcomes);
    }
    let opened_as = if author.is_history() {
        ConversationStatus::Pending
    } else {
        ConversationStatus::Open
    };
    let conversations = if fresh.is_empty() {
        HashMap::new()
    } else {
        db::conversations::find_or_open_all_as(tx, channel.id, &first_at, opened_as).await?
    };

    // Ids in arrival time order, as the conversation shows them.
    fresh.sort_by_key(|(index, _, at)| (*at, *index));
    let rows: Vec<(usize, InboundRow)> = fresh
        .iter()
        .filter_map(|(index, contact, at)| {
            let arrival = &arrivals[*index];
            let conversation_id = *conversations.get(contact)?;
            Some((
                *index,
                InboundRow {
                    id: Uuid::now_v7(),
                    conversation_id,
                    kind: arrival.kind,
                    body: arrival.body,
                    media: arrival.media.clone(),
                    provider_message_id: arrival.provider_message_id,
                    raw: arrival.raw.clone(),
                    created_at: *at,
                    reply_to_id: arrival.reply_to.and_then(|id| stored_ids.get(id).copied()),
                    group_member: arrival.group.and_then(|g| g.member),
                    group_member_name: arrival.group.and_then(|g| g.member_name),
                },
            ))
        })
        .collect();
    let to_insert: Vec<InboundRow> = rows.iter().map(|(_, row)| row.clone()).collect();
    let stored = if to_insert.is_empty() {
        HashSet::new()
    } else {
        db::messages::insert_arrivals(tx, channel.id, author, &to_insert).await?
    };

    let mut changed: BTreeMap<Uuid, Arrivals> = BTreeMap::new();
    for (index, row) in &rows {
        // A concurrent delivery of the same id won the insert.
        if !stored.contains(&row.id) {
            continue;
        }
        outcomes[*index] = Ingested::Stored {
            conversation_id: row.conversation_id,
            message_id: row.id,
        };
        let preview = if author == Author::CustomerUndecrypted {
            "Waiting for this message".to_owned()
        } else {
            row.kind.preview(row.body)
        };
        let entry = changed
            .entry(row.conversation_id)
            .or_insert_with(|| Arrivals {
                count: 0,
                latest_at: row.created_at,
                latest_preview: preview.clone(),
            });
        entry.count += 1;
        // Rows are in time order: a later one is the latest.
        if row.created_at >= entry.latest_at {
            entry.latest_at = row.created_at;
            entry.latest_preview = preview;
        }
    }
    for outcome in &outcomes {
        if let Ingested::Stored {
            conversation_id, ..
        } = outcome
            && !changed.contains_key(conversation_id)
        {
            // A placeholder filled in: the open conversation shows it.
            db::conversations::notify(tx, *conversation_id).await?;
        }
    }
    if author.is_history() {
        let customers = author == Author::CustomerHistory;
        db::conversations::record_history(tx, &changed, customers).await?;
        return Ok(outcomes);
    }
    if author == Author::BusinessPhone {
        for (conversation_id, sent) in &changed {
            db::conversations::record_message(
                tx,
                *conversation_id,
                false,
                &sent.latest_preview,
                sent.latest_at,
            )
            .await?;
        }
        return Ok(outcomes);
    }
    db::conversations::record_arrivals(tx, &changed).await?;
    if author == Author::CustomerUndecrypted {
        // Nothing to answer or act on until the content comes.
        return Ok(outcomes);
    }
    // A group's messages are the group's talk, not a customer writing to
    // the business: no campaign reply, opt-out, order, automation or bot.
    let rows: Vec<(usize, InboundRow)> = rows
        .into_iter()
        .filter(|(index, _)| arrivals[*index].group.is_none())
        .collect();
    let outcomes_of_customers: Vec<Ingested> = outcomes
        .iter()
        .zip(arrivals)
        .map(|(outcome, arrival)| match arrival.group {
            Some(_) => Ingested::Duplicate,
            None => *outcome,
        })
        .collect();
    after_customers_wrote(
        tx,
        secrets,
        channel,
        arrivals,
        &rows,
        &fresh,
        &outcomes_of_customers,
    )
    .await?;
    let stored: Vec<Uuid> = outcomes_of_customers
        .iter()
        .filter_map(|o| match o {
            Ingested::Stored { message_id, .. } => Some(*message_id),
            _ => None,
        })
        .collect();
    if stored.is_empty() {
        return Ok(outcomes);
    }
    let org_id = tx.org_id();
    // In this order: carts' orders, then automation, then the bot (jobs due
    // at once are claimed in the order they were queued).
    for (_, row) in rows
        .iter()
        .filter(|(_, row)| row.kind == MessageKind::Order && stored.contains(&row.id))
    {
        let job = crate::features::orders::TakeOrder {
            org_id,
            message_id: row.id,
        };
        jobs::enqueue(tx.conn(), secrets, &job).await?;
    }
    if db::automation::any_on_arrival(tx).await? {
        for &message_id in &stored {
            let job = crate::features::automation::Automate { org_id, message_id };
            jobs::enqueue(tx.conn(), secrets, &job).await?;
        }
    }
    if db::bot::is_on(tx, channel.id).await? {
        for &message_id in &stored {
            let job = crate::features::ai::bot::BotAnswer { org_id, message_id };
            jobs::enqueue(tx.conn(), secrets, &job).await?;
        }
    }
    Ok(outcomes)
}

/// How an arrival's channel knows its customer: by number, else by LID,
/// else by business-scoped user id; a group's message, by the group.
fn handle_of<'a>(arrival: &'a Inbound<'a>) -> Option<Handle<'a>> {
    if let Some(group) = &arrival.group {
        return Some(Handle::Group(group.id));
    }
    match (&arrival.from, arrival.lid, arrival.user_id) {
        (Some(phone), _, _) => Some(Handle::Phone(phone.as_str())),
        (None, Some(lid), _) => Some(Handle::Lid(lid)),
        (None, None, Some(user_id)) => Some(Handle::UserId(user_id)),
        (None, None, None) => None,
    }
}

/// An arrival's key in [`contacts_of`].
fn sender_key(arrival: &Inbound<'_>) -> String {
    handle_of(arrival).map(|h| h.key()).unwrap_or_default()
}

/// The arrivals' contacts (found, or created), by [`sender_key`]. A number
/// that comes with the customer's LID or BSUID takes over a contact known
/// by that handle alone (one contact).
async fn contacts_of<'a>(
    tx: &mut TenantTx,
    arrivals: &[&'a Inbound<'a>],
    author: Author,
) -> anyhow::Result<HashMap<String, db::contacts::SenderContact>> {
    // On the business's own messages the name is the business's; in a
    // group, the member's (the group's name comes from the phone).
    let ours = author.is_business();
    let senders: Vec<Sender> = arrivals
        .iter()
        .filter_map(|a| {
            Some(Sender {
                handle: handle_of(a)?,
                profile_name: if ours || a.group.is_some() {
                    None
                } else {
                    a.profile_name
                },
            })
        })
        .collect();
    let contacts = db::contacts::find_or_create(tx, &senders).await?;
    let mut attached: BTreeMap<Handle, Uuid> = BTreeMap::new();
    for arrival in arrivals.iter().filter(|a| a.group.is_none()) {
        let Some(phone) = &arrival.from else {
            continue;
        };
        let Some(contact) = contacts.get(phone.as_str()) else {
            continue;
        };
        let others = [
            arrival.lid.map(Handle::Lid),
            arrival.user_id.map(Handle::UserId),
        ];
        for handle in others.into_iter().flatten() {
            attached.insert(handle, contact.id);
        }
    }
    // In handle order (see `crate::infra::db` on lock order).
    for (handle, contact_id) in attached {
        db::contacts::attach(tx, contact_id, handle).await?;
    }
    Ok(contacts)
}

/// Fills the placeholders among the already stored `known` ids with
/// these arrivals' content (see [`Author::CustomerUndecrypted`]).
async fn fill_awaiting(
    tx: &mut TenantTx,
    channel: &Channel,
    arrivals: &[Inbound<'_>],
    known: &HashSet<&str>,
    stored_ids: &HashMap<String, Uuid>,
) -> anyhow::Result<HashMap<String, (Uuid, Uuid)>> {
    let rows: Vec<InboundRow> = arrivals
        .iter()
        .filter(|a| known.contains(a.provider_message_id) && a.kind != MessageKind::Unknown)
        .map(|a| InboundRow {
            id: Uuid::nil(),
            conversation_id: Uuid::nil(),
            kind: a.kind,
            body: a.body,
            media: a.media.clone(),
            provider_message_id: a.provider_message_id,
            raw: a.raw.clone(),
            created_at: a.sent_at.unwrap_or_else(OffsetDateTime::now_utc),
            reply_to_id: a.reply_to.and_then(|id| stored_ids.get(id).copied()),
            group_member: a.group.and_then(|g| g.member),
            group_member_name: a.group.and_then(|g| g.member_name),
        })
        .collect();
    Ok(db::messages::fill_awaiting(tx, channel.id, &rows).await?)
}

/// What a customer's message means for campaigns: their recent campaign
/// messages count as replied, and a message that is an opt-out (or opt-in)
/// word changes their consent.
async fn after_customers_wrote(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    channel: &Channel,
    arrivals: &[Inbound<'_>],
    rows: &[(usize, InboundRow<'_>)],
    fresh: &[(usize, Uuid, OffsetDateTime)],
    outcomes: &[Ingested],
) -> anyhow::Result<()> {
    let contact_of: BTreeMap<usize, Uuid> = fresh.iter().map(|(i, c, _)| (*i, *c)).collect();
    let mut writers: Vec<Uuid> = Vec::new();
    let mut texts: Vec<opt_out::Arrived> = Vec::new();
    for (index, row) in rows {
        let (Ingested::Stored { .. }, Some(&contact_id)) =
            (outcomes[*index], contact_of.get(index))
        else {
            continue;
        };
        writers.push(contact_id);
        // Typed, or tapped: a template's quick reply ("Stop promotions")
        // or an interactive choice arrives as its button's words.
        if matches!(
            arrivals[*index].kind,
            MessageKind::Text | MessageKind::Interactive
        ) {
            texts.push(opt_out::Arrived {
                contact_id,
                target: Target {
                    conversation_id: row.conversation_id,
                    channel_id: channel.id,
                },
                text: arrivals[*index].body,
            });
        }
    }
    writers.sort_unstable();
    writers.dedup();
    if !writers.is_empty() {
        db::campaigns::note_replies(tx, &writers).await?;
    }
    opt_out::on_arrivals(tx, secrets, &texts).await
}
