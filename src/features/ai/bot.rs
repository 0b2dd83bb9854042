//! The knowledge-base bot of a channel: it answers a customer's message
//! from the workspace's articles (through the model), offers free times
//! and books one when asked (`super::booking`, no model), or hands the
//! conversation over to a person (the customer asks for one, the knowledge
//! base has no answer, it already answered N times, the message is not
//! text, the model fails), and then stays quiet in that conversation. It
//! never writes to an opted-out contact, outside WhatsApp's 24-hour window,
//! or where a person already answers. Each customer message gets one run,
//! logged, whatever the job queue retries.

use uuid::Uuid;

use super::assist;
use super::prompts::{self, HANDOVER, TRANSCRIPT_MESSAGES};
use crate::domain::BotOutcome;
use crate::error::AppError;
use crate::features::environment::Environment;
use crate::features::inbox::outbound;
use crate::infra::db;
use crate::infra::db::bot::{BotMode, BotSettings};
use crate::infra::db::conversations::{Conversation, Visibility};
use crate::infra::tenancy::{TenantTx, bootstrap};

/// How many articles go into the prompt.
const ARTICLES: i64 = 3;
/// The bot's answers start with this, so customers know a machine wrote.
const AUTOMATED_MARK: &str = "🤖 ";

/// What the bot does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Skip(String),
    HandOver(String),
    Answer(String),
    /// Offer free times to book (the customer's words name the service).
    OfferTimes(String),
    /// Book the offered time with this number.
    BookPick(usize),
}

/// Why the bot stays out, if it does (checked again before it writes).
async fn stays_out(
    env: &Environment,
    tx: &mut TenantTx,
    bot: &BotSettings,
    conversation: &Conversation,
    message_id: Uuid,
) -> anyhow::Result<Option<String>> {
    let why = |s: &str| Ok(Some(s.to_owned()));
    match bot.mode {
        BotMode::Off => return why("the bot is off"),
        BotMode::OutsideHours => {
            let Some(org) = db::orgs::get(tx).await? else {
                return why("the workspace is gone");
            };
            let now = env.clock.now().unix_timestamp();
            if crate::domain::hours::open_at(&org.business_hours, &org.time_zone, now) == Some(true)
            {
                return why("within business hours");
            }
        }
        BotMode::Always => {}
    }
    if conversation.status.is_resolved() {
        return why("the conversation is resolved");
    }
    let Some((_, handed_over)) = db::bot::conversation_state(tx, conversation.id).await? else {
        return why("the conversation is gone");
    };
    if handed_over {
        return why("handed over to a person earlier");
    }
    let org_id = tx.org_id();
    let facts = sqlx::query!(
        r#"select
           coalesce((select opted_out or blocked from contacts where org_id = $1 and id = $2), true)
             as "opted_out!",
           exists (select 1 from messages m, messages this
                   where this.org_id = $1 and this.id = $4 and m.org_id = $1
                     and m.conversation_id = $3 and m.direction = 'in'
                     and (m.created_at, m.id) > (this.created_at, this.id)) as "newer!",
           exists (select 1 from messages where org_id = $1 and conversation_id = $3
                     and direction = 'out' and not private and not automated)
             as "person_answered!""#,
        org_id,
        conversation.contact_id,
        conversation.id,
        message_id
    )
    .fetch_one(tx.conn())
    .await?;
    let (opted_out, newer, person_answered) = (facts.opted_out, facts.newer, facts.person_answered);
    if opted_out {
        return why("the contact opted out");
    }
    if newer {
        return why("a newer message follows (the bot answers that one)");
    }
    if person_answered {
        return why("a person answers in this conversation");
    }
    if outbound::window_closed(tx, conversation).await? {
        return why("WhatsApp's 24-hour window is closed");
    }
    Ok(None)
}

/// Decides (and asks the model) without holding a transaction open while
/// the model thinks.
async fn decide(
    env: &Environment,
    org_id: Uuid,
    message_id: Uuid,
) -> anyhow::Result<Option<(Conversation, BotSettings, Decision)>> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    // A retried job whose run was recorded: nothing more (not even the model).
    if db::bot::has_run(&mut tx, message_id).await? {
        return Ok(None);
    }
    let Some(message) = db::messages::find(&mut tx, message_id).await? else {
        return Ok(None);
    };
    let conversation = db::conversations::find(
        &mut tx,
        message.conversation_id,
        Uuid::nil(),
        Visibility::All,
    )
    .await?;
    let Some(conversation) = conversation else {
        return Ok(None);
    };
    let Some(bot) = db::bot::of_channel(&mut tx, conversation.channel_id).await? else {
        return Ok(None);
    };
    if !message.is_inbound() {
        return Ok(None);
    }
    if let Some(why) = stays_out(env, &mut tx, &bot, &conversation, message_id).await? {
        return Ok(Some((conversation, bot, Decision::Skip(why))));
    }
    let text = message.body.trim();
    let turns = db::bot::conversation_state(&mut tx, conversation.id)
        .await?
        .map_or(0, |(t, _)| t);
    let hand_over = |why: &str| Decision::HandOver(why.to_owned());
    let now = time::OffsetDateTime::now_utc();
    let offer_open = super::booking::has_offer(&mut tx, conversation.id, now).await?;
    let decision = if message.deleted_at.is_some() || text.is_empty() {
        hand_over("a message without text")
    } else if prompts::asks_for_a_person(text) {
        hand_over("the customer asked for a person")
    } else if let Some(pick) = super::booking::picked(text).filter(|_| offer_open) {
        Decision::BookPick(pick)
    } else if super::booking::wants_to_book(text) {
        Decision::OfferTimes(text.to_owned())
    } else if turns >= bot.max_turns {
        hand_over(&format!("{turns} answers given"))
    } else {
        let articles = db::knowledge::search(&mut tx, text, ARTICLES).await?;
        if articles.is_empty() {
            hand_over("nothing in the knowledge base matches")
        } else {
            match assist::prepare(env, &mut tx).await {
                Err(AppError::Conflict(_)) => Decision::Skip("AI is off or has no provider".into()),
                Err(AppError::PlanLimit(_)) => hand_over("the plan's AI requests are used up"),
                Err(e) => return Err(anyhow::anyhow!("preparing the bot's AI call: {e}")),
                Ok(prepared) => {
                    let workspace = db::orgs::get(&mut tx)
                        .await?
                        .map(|o| o.name)
                        .unwrap_or_default();
                    let lines =
                        db::ai::transcript(&mut tx, conversation.id, TRANSCRIPT_MESSAGES).await?;
                    tx.commit().await?;
                    let knowledge: Vec<(String, String)> =
                        articles.into_iter().map(|a| (a.title, a.body)).collect();
                    let turns = prompts::bot_answer(
                        &prompts::Conversation {
                            workspace: &workspace,
                            contact_name: &conversation.contact_name,
                            lines: &lines,
                        },
                        &knowledge,
                    );
                    let answer = assist::run(env, prepared, &turns, 400)
                        .await
                        .map_err(|e| anyhow::anyhow!("the bot's AI call: {e}"))?;
                    return Ok(Some((
                        conversation,
                        bot,
                        match answer {
                            Ok(c) if c.text.contains(HANDOVER) => {
                                hand_over("the knowledge base has no answer (the model said)")
                            }
                            Ok(c) => Decision::Answer(c.text),
                            Err(e) => hand_over(&format!("the AI provider failed: {e}")),
                        },
                    )));
                }
            }
        }
    };
    tx.commit().await?;
    Ok(Some((conversation, bot, decision)))
}

/// The bot job: one run per customer message.
pub async fn answer(env: &Environment, org_id: Uuid, message_id: Uuid) -> anyhow::Result<()> {
    let Some((conversation, bot, decision)) = decide(env, org_id, message_id).await? else {
        return Ok(());
    };
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    // Things may have changed while the model thought (a person answered,
    // the customer wrote again): the same checks, then write.
    let decision = match decision {
        Decision::Skip(why) => Decision::Skip(why),
        other => match stays_out(env, &mut tx, &bot, &conversation, message_id).await? {
            Some(why) => Decision::Skip(why),
            None => other,
        },
    };
    // Times and bookings are read and written here, in the transaction
    // that records the run (a retried job undoes nothing twice).
    let now = time::OffsetDateTime::now_utc();
    let decision = match decision {
        Decision::OfferTimes(text) => {
            match super::booking::offer(&mut tx, &conversation, &text, now).await? {
                Some(reply) => Decision::Answer(reply),
                None => Decision::HandOver("no free time to offer for a booking".to_owned()),
            }
        }
        Decision::BookPick(pick) => {
            match super::booking::book_pick(&mut tx, &env.secrets, &conversation, pick, now).await?
            {
                Some(reply) => Decision::Answer(reply),
                None => Decision::HandOver("the offered time could not be booked".to_owned()),
            }
        }
        other => other,
    };
    let (outcome, reason) = match &decision {
        Decision::Skip(why) => (BotOutcome::Skipped, why.clone()),
        Decision::HandOver(why) => (BotOutcome::HandedOver, why.clone()),
        Decision::Answer(_) | Decision::OfferTimes(_) | Decision::BookPick(_) => {
            (BotOutcome::Answered, String::new())
        }
    };
    if !db::bot::claim_run(&mut tx, message_id, conversation.id, outcome, &reason).await? {
        // A retried job: this message had its run.
        return Ok(());
    }
    match decision {
        Decision::Skip(_) => {}
        Decision::HandOver(_) => {
            db::bot::hand_over(&mut tx, conversation.id).await?;
            outbound::queue_automated(&mut tx, &env.secrets, &conversation, &bot.handover_message)
                .await?;
        }
        Decision::Answer(text) => {
            db::bot::count_answer(&mut tx, conversation.id).await?;
            let text = format!("{AUTOMATED_MARK}{text}");
            outbound::queue_automated(&mut tx, &env.secrets, &conversation, &text).await?;
        }
        // Turned into answers or handovers above.
        Decision::OfferTimes(_) | Decision::BookPick(_) => {}
    }
    tracing::info!(%org_id, conversation_id = %conversation.id, outcome = outcome.as_str(), reason = %reason, "bot run");
    tx.commit().await?;
    Ok(())
}

/// A customer's message on a channel whose bot is on: the bot answers it from the knowledge base or hands over (once per message) (`kind: bot_answer`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BotAnswer {
    pub org_id: Uuid,
    pub message_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for BotAnswer {
    const KIND: &'static str = "bot_answer";
    const QUEUE: &'static str = "bot";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        answer(env, self.org_id, self.message_id).await
    }
}
