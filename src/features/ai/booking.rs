//! The bot books appointments: a customer who asks to book is offered the
//! next free times (any member with working hours, the service named in
//! the message or the first one), numbered; answering with a number books
//! it (Postgres still refuses a time taken meanwhile, and then fresh times
//! are offered). No model is involved: times and bookings are exact.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::local_time;
use crate::features::bookings::{Refused, Request};
use crate::infra::db;
use crate::infra::db::bookings::Service;
use crate::infra::db::conversations::Conversation;
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;

/// Times offered at once.
const OFFERED: usize = 5;
/// Days ahead the bot looks for free times.
const DAYS_AHEAD: i64 = 14;
/// How long an offer may be answered with a number.
const OFFER_HOURS: i64 = 24;

/// Words that ask for an appointment (English, Portuguese, Spanish).
const BOOKING_WORDS: [&str; 14] = [
    "book",
    "booking",
    "appointment",
    "reserve",
    "reservation",
    "schedule",
    "agendar",
    "agendamento",
    "marcar",
    "horário",
    "horario",
    "reservar",
    "cita",
    "turno",
];

/// Whether the customer asks to book.
pub fn wants_to_book(text: &str) -> bool {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| BOOKING_WORDS.contains(&word))
}

/// The number a customer picked ("2", "2)", "#2"), if the message is one.
pub fn picked(text: &str) -> Option<usize> {
    let digits = text
        .trim()
        .trim_start_matches('#')
        .trim_end_matches([')', '.']);
    digits
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=OFFERED).contains(n))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct OfferedSlot {
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    staff_id: Uuid,
    service_id: Uuid,
}

/// The bot's reply, or `None` when it has nothing to offer (a person
/// takes over).
pub async fn offer(
    tx: &mut TenantTx,
    conversation: &Conversation,
    text: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Option<String>> {
    let services = db::bookings::services(tx, false).await?;
    let lower = text.to_lowercase();
    let Some(service) = services
        .iter()
        .find(|s| lower.contains(&s.name.to_lowercase()))
        .or(services.first())
    else {
        return Ok(None);
    };
    let members = db::memberships::list(tx).await?;
    let hours = db::bookings::hours(tx, None).await?;
    let staff: Vec<_> = members
        .iter()
        .filter(|m| hours.iter().any(|h| h.user_id == m.user_id))
        .collect();
    let time_zone = db::orgs::time_zone(tx).await?;
    let today: Option<jiff::civil::Date> = local_time::input_value(now, &time_zone)
        .get(..10)
        .and_then(|d| d.parse().ok());
    let Some(today) = today else {
        return Ok(None);
    };
    let mut found: Vec<(OffsetDateTime, Uuid, String)> = vec![];
    for ahead in 0..DAYS_AHEAD {
        let Ok(day) = today.checked_add(jiff::Span::new().days(ahead)) else {
            break;
        };
        for member in &staff {
            for at in
                crate::features::bookings::free_slots(tx, service, member.user_id, day, now).await?
            {
                found.push((at, member.user_id, member.name.clone()));
            }
        }
        if found.len() >= OFFERED {
            break;
        }
    }
    found.sort_by_key(|(at, _, _)| *at);
    found.truncate(OFFERED);
    if found.is_empty() {
        return Ok(None);
    }
    let slots: Vec<OfferedSlot> = found
        .iter()
        .map(|(at, staff_id, _)| OfferedSlot {
            starts_at: *at,
            staff_id: *staff_id,
            service_id: service.id,
        })
        .collect();
    sqlx::query!(
        "insert into bot_slot_offers (org_id, conversation_id, slots, expires_at) \
         values ($1, $2, $3, $4) on conflict (org_id, conversation_id) \
         do update set slots = excluded.slots, expires_at = excluded.expires_at",
        tx.org_id(),
        conversation.id,
        serde_json::to_value(&slots)?,
        now + time::Duration::hours(OFFER_HOURS)
    )
    .execute(tx.conn())
    .await?;
    let lines: Vec<String> = found
        .iter()
        .enumerate()
        .map(|(n, (at, _, name))| {
            format!(
                "{}) {} with {name}",
                n + 1,
                local_time::shown(*at, &time_zone)
            )
        })
        .collect();
    Ok(Some(format!(
        "I can book {} ({} min) at:\n{}\nReply with the number of the time you want ({time_zone} time).",
        service.name,
        service.duration_minutes,
        lines.join("\n")
    )))
}

/// Whether the conversation has an offer a number can answer.
pub async fn has_offer(
    tx: &mut TenantTx,
    conversation_id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from bot_slot_offers where org_id = $1
         and conversation_id = $2 and expires_at > $3) as "offered!""#,
        tx.org_id(),
        conversation_id,
        now
    )
    .fetch_one(tx.conn())
    .await
}

/// Books the offered time the customer picked; the reply says how it went
/// (a time taken meanwhile gets fresh times offered).
pub async fn book_pick(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    conversation: &Conversation,
    pick: usize,
    now: OffsetDateTime,
) -> anyhow::Result<Option<String>> {
    let slots: Option<serde_json::Value> = sqlx::query_scalar!(
        "delete from bot_slot_offers where org_id = $1 and conversation_id = $2 \
         and expires_at > $3 returning slots",
        tx.org_id(),
        conversation.id,
        now
    )
    .fetch_optional(tx.conn())
    .await?;
    let slots: Vec<OfferedSlot> = match slots {
        Some(value) => serde_json::from_value(value)?,
        None => return Ok(None),
    };
    let Some(slot) = slots.get(pick - 1) else {
        return Ok(None);
    };
    let service: Option<Service> = db::bookings::service(tx, slot.service_id).await?;
    let member = db::memberships::list(tx)
        .await?
        .into_iter()
        .find(|m| m.user_id == slot.staff_id);
    let (Some(service), Some(member)) = (service, member) else {
        return Ok(None);
    };
    let request = Request {
        service: &service,
        staff_id: member.user_id,
        staff_name: &member.name,
        contact_id: conversation.contact_id,
        conversation_id: Some(conversation.id),
        starts_at: slot.starts_at,
        notes: Some("Booked by the bot.".to_owned()),
        booked_by: member.user_id,
    };
    let time_zone = db::orgs::time_zone(tx).await?;
    match crate::features::bookings::book(tx, secrets, &request, now).await? {
        Ok(_) => Ok(Some(format!(
            "Booked: {} with {} on {} ({time_zone} time). You will get a reminder before it.",
            service.name,
            member.name,
            local_time::shown(slot.starts_at, &time_zone)
        ))),
        Err(Refused::Past | Refused::OutsideHours(_) | Refused::Taken(_)) => {
            let again = offer(tx, conversation, &service.name, now).await?;
            Ok(Some(match again {
                Some(times) => format!("Sorry, that time was just taken. {times}"),
                None => "Sorry, that time was just taken, and there is no other free time soon."
                    .to_owned(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_words_are_recognised_as_words() {
        assert!(wants_to_book("Can I book a haircut tomorrow?"));
        assert!(wants_to_book("Quero agendar um horário"));
        assert!(wants_to_book("APPOINTMENT please"));
        assert!(!wants_to_book("I read a facebook post"));
        assert!(!wants_to_book("Where is my order?"));
    }

    #[test]
    fn a_pick_is_a_number_among_the_offered() {
        assert_eq!(picked("2"), Some(2));
        assert_eq!(picked(" 3) "), Some(3));
        assert_eq!(picked("#1"), Some(1));
        assert_eq!(picked("6"), None);
        assert_eq!(picked("0"), None);
        assert_eq!(picked("two"), None);
    }
}
