//! Broadcast campaigns: a message to a segment of contacts.
//!
//! Why each recipient gets it once, whatever crashes:
//! - At the start the segment is stored as recipients (`pending`), in the
//!   transaction that marks the campaign running and queues its dispatch
//!   job.
//! - Each dispatch step takes the next pending recipients (locked), and in
//!   one transaction stores each one's message as queued with its send job
//!   and marks the recipient `queued`. A step that dies commits nothing;
//!   the job runs again (the queue's lease) and takes the same recipients.
//! - From there the message is an ordinary queued message: the send job
//!   sends it once (`crate::channels::cloud_api::sender`), and the recipient's state
//!   follows the message's status (a trigger, migration 29).
//!
//! The pace: a step hands over what the campaign's rate allows since it
//! was (re)started, then asks to run again a tick later. It holds back
//! while many of its messages still wait for WhatsApp (throttling), and
//! pauses itself when Meta refuses a message for a reason that concerns
//! the whole number (quality, account, template).

pub mod message;
pub mod opt_out;

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{ConversationStatus, MessageKind};
use crate::features::billing::limits::{self, Counted};
use crate::features::environment::Environment;
use crate::features::inbox::outbound::{self, Outgoing, Target};
use crate::infra::db;
use crate::infra::db::campaigns::{Campaign, CampaignState};
use crate::infra::jobs::{self, RetryLater};
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};
use message::{Content, Made};

/// Meta's errors that concern the number or the template, not one
/// recipient: the campaign pauses on the first.
/// 131048 spam rate limit (quality), 131031 and 368 account restricted or
/// locked, 131042 payment problem, 132000/132001 template parameters or
/// template missing, 132015/132016 template paused or disabled.
const PAUSING_ERRORS: [i64; 8] = [131048, 131031, 368, 131042, 132000, 132001, 132015, 132016];

/// The default rate of a linked phone's campaign: one message every six
/// seconds. Automated bulk sending is how such numbers get banned.
pub const LINKED_PHONE_RATE_PER_MINUTE: i32 = 10;

/// What a dispatch step may hand over (see [`Pace::budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub now: i64,
    /// Unused places of the rate given up (counted as if handed over).
    pub let_go: i64,
}

/// Recipients from which a start refreshes the table's statistics.
const FRESH_STATISTICS_FROM: i64 = 10_000;

/// How fast a campaign hands messages to the send queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub per_minute: i32,
}

impl Pace {
    /// Time between steps: a second, or longer for slow rates (one
    /// message a step).
    pub fn tick(self) -> Duration {
        if self.per_minute >= 60 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs_f64(60.0 / f64::from(self.per_minute.max(1)))
        }
    }

    /// What one step hands over at the rate.
    fn per_tick(self) -> i64 {
        (i64::from(self.per_minute) + 59) / 60
    }

    /// How many may be handed over now, and how many of the rate's unused
    /// places to let go.
    ///
    /// Two limits. Steps: what the rate allowed since `elapsed` began plus
    /// one step, less what was handed over, at most two steps' worth (a
    /// late step, which the job queue's polling makes common, catches up a
    /// little); places left unused beyond that (the sender was behind, the
    /// campaign held back) are let go rather than caught up later. The
    /// minute: never more than the rate in the last 60 s
    /// (`last_minute`), whatever the steps allow.
    pub fn budget(self, elapsed: Duration, handed: i64, last_minute: i64) -> Budget {
        let allowed = (f64::from(self.per_minute) * elapsed.as_secs_f64() / 60.0).floor() as i64;
        let credit = allowed + self.per_tick() - handed;
        let steps = credit.clamp(0, 2 * self.per_tick());
        let minute = (i64::from(self.per_minute) - last_minute).max(0);
        Budget {
            now: steps.min(minute),
            let_go: (credit - 2 * self.per_tick()).max(0),
        }
    }

    /// Messages waiting for WhatsApp beyond which no more are handed over:
    /// the number is being throttled or the sender is behind.
    pub fn backlog(self) -> i64 {
        (self.per_tick() * 5).max(20)
    }
}

/// Starts a scheduled campaign (its time has come, or "start now"): stores
/// its recipients and begins dispatching. Safe to run twice.
pub async fn start(env: &Environment, org_id: Uuid, campaign_id: Uuid) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(campaign) = db::campaigns::lock(&mut tx, campaign_id).await? else {
        return Ok(());
    };
    let due = campaign
        .scheduled_at
        .is_none_or(|at| at <= OffsetDateTime::now_utc() + time::Duration::seconds(1));
    // Canceled or moved back to draft meanwhile, or re-timed (a later job
    // starts it).
    if !campaign.state.is_scheduled() || !due {
        return Ok(());
    }
    if let Err(why) = message::prepare(&mut tx, &campaign).await? {
        db::campaigns::set_state(
            &mut tx,
            campaign.id,
            CampaignState::Draft,
            Some(&format!("Not started: {why}")),
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let made = db::campaigns::materialize(&mut tx, campaign.id, &campaign.segment()).await?;
    if let Some(refusal) = over_plan(env, &mut tx, made.to_send).await? {
        db::campaigns::clear_recipients(&mut tx, campaign.id).await?;
        db::campaigns::set_state(
            &mut tx,
            campaign.id,
            CampaignState::Draft,
            Some(&format!("Not started: {refusal}")),
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let run = db::campaigns::run(&mut tx, campaign.id).await?;
    enqueue_dispatch(&mut tx, &env.secrets, campaign.id, run).await?;
    tx.commit().await?;
    if made.to_send >= FRESH_STATISTICS_FROM {
        // Plans for the dispatch's queries, from statistics that know
        // these rows (see migration 29); a failure only costs speed.
        // `from`: the function returns void, which has no Rust type.
        if let Err(e) = sqlx::query!("select from analyze_campaign_recipients()")
            .execute(&env.pool)
            .await
        {
            tracing::warn!(error = %e, "analyzing campaign recipients failed");
        }
    }
    tracing::info!(%org_id, %campaign_id, to_send = made.to_send, skipped = made.skipped, "campaign started");
    Ok(())
}

/// Why `to_send` more recipients do not fit the plan this month, if so.
async fn over_plan(
    env: &Environment,
    tx: &mut TenantTx,
    to_send: i64,
) -> anyhow::Result<Option<String>> {
    Ok(
        match limits::room(&env.config, tx, Counted::CampaignRecipients).await? {
            Ok(None) => None,
            Ok(Some(room)) if room >= to_send => None,
            Ok(Some(room)) => Some(format!(
                "this campaign has {to_send} recipients, and the plan allows {room} more this \
             month. Narrow the segment, or upgrade in Settings → Billing."
            )),
            Err(over) => Some(over.to_string()),
        },
    )
}

/// Queues the campaign's dispatch (run `run`) in the caller's transaction.
pub async fn enqueue_dispatch(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    campaign_id: Uuid,
    run: i32,
) -> anyhow::Result<()> {
    let job = DispatchCampaign {
        org_id: tx.org_id(),
        campaign_id,
        run,
    };
    jobs::enqueue(tx.conn(), secrets, &job).await?;
    Ok(())
}

/// One dispatch step (see the module comment). Asks to run again a tick
/// later while the campaign runs; ends when it is paused, canceled,
/// resumed by a newer run, or has handed every recipient over.
pub async fn dispatch(
    env: &Environment,
    org_id: Uuid,
    campaign_id: Uuid,
    run: i32,
) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(campaign) = db::campaigns::lock(&mut tx, campaign_id).await? else {
        return Ok(());
    };
    if !campaign.state.is_running() || campaign.dispatch_run != run {
        return Ok(());
    }
    let pace = Pace {
        per_minute: campaign.rate_per_minute,
    };
    let step_started = std::time::Instant::now();
    // The next step a tick after this one began, not after it ended.
    let later = || -> anyhow::Result<()> {
        Err(RetryLater {
            after: pace
                .tick()
                .saturating_sub(step_started.elapsed())
                .max(Duration::from_millis(50)),
            reason: "campaign: next step".into(),
            waiting: true,
        }
        .into())
    };
    let since = campaign.resumed_at.unwrap_or_else(OffsetDateTime::now_utc);
    if let Some(refused) =
        db::campaigns::failure_with_code(&mut tx, campaign.id, since, &PAUSING_ERRORS).await?
    {
        let reason = format!(
            "Paused: WhatsApp refused a message for a reason that concerns the whole number or \
             template ({refused}). Check the number's quality and the template in WhatsApp \
             Manager, then resume."
        );
        return pause(tx, campaign.id, &reason).await;
    }
    let in_flight = db::campaigns::in_flight(&mut tx, campaign.id).await?;
    if in_flight >= pace.backlog() {
        let reason = format!(
            "Slowed: {in_flight} messages are waiting for WhatsApp (it is throttling this \
             number, or sending is behind); more go when they are out."
        );
        db::campaigns::set_reason(&mut tx, campaign.id, Some(&reason)).await?;
        tx.commit().await?;
        return later();
    }
    let elapsed = (OffsetDateTime::now_utc() - since)
        .try_into()
        .unwrap_or_default();
    let last_minute = db::campaigns::queued_in_last_minute(&mut tx, campaign.id).await?;
    let budget = pace.budget(
        elapsed,
        i64::from(campaign.queued_since_resume),
        last_minute,
    );
    let let_go = i32::try_from(budget.let_go).unwrap_or(i32::MAX);
    // Done as soon as no one waits, not a tick later when the pace
    // allows the next batch.
    if budget.now == 0 && db::campaigns::any_pending(&mut tx, campaign.id).await? {
        tx.commit().await?;
        return later();
    }
    let batch = db::campaigns::next_pending(&mut tx, campaign.id, budget.now).await?;
    if batch.is_empty() {
        db::campaigns::set_state(&mut tx, campaign.id, CampaignState::Done, None).await?;
        tx.commit().await?;
        tracing::info!(%org_id, %campaign_id, "campaign handed over every recipient");
        return Ok(());
    }
    let content = match message::prepare(&mut tx, &campaign).await? {
        Ok(content) => content,
        Err(why) => return pause(tx, campaign.id, &format!("Paused: {why}")).await,
    };
    let handed = hand_over(env, &mut tx, &campaign, &content, &batch).await?;
    db::campaigns::count_queued(&mut tx, campaign.id, handed.saturating_add(let_go)).await?;
    db::campaigns::set_reason(&mut tx, campaign.id, None).await?;
    tx.commit().await?;
    later()
}

/// Queues the batch's messages (in the caller's transaction); recipients
/// who may not or cannot get it are skipped with the reason. Returns how
/// many were queued.
async fn hand_over(
    env: &Environment,
    tx: &mut TenantTx,
    campaign: &Campaign,
    content: &Content,
    batch: &[db::campaigns::Pending],
) -> anyhow::Result<i32> {
    let now = OffsetDateTime::now_utc();
    let mut made = Vec::with_capacity(batch.len());
    for recipient in batch {
        // The contact may have changed since the start.
        let refused = if recipient.opted_out {
            Some("Opted out".to_owned())
        } else if recipient.blocked {
            Some("Blocked".to_owned())
        } else if recipient.phone.is_none() {
            Some("No phone number".to_owned())
        } else {
            None
        };
        match refused.map_or_else(|| content.make_for(recipient), Err) {
            Ok(message) => made.push((recipient.contact_id, message)),
            Err(reason) => {
                db::campaigns::skip(tx, campaign.id, recipient.contact_id, &reason).await?;
            }
        }
    }
    let contacts: BTreeMap<Uuid, OffsetDateTime> = made.iter().map(|(id, _)| (*id, now)).collect();
    let conversations = db::conversations::find_or_open_all_as(
        tx,
        campaign.channel_id,
        &contacts,
        ConversationStatus::Pending,
    )
    .await?;
    let mut handed = 0;
    for (contact_id, message) in made {
        let Some(&conversation_id) = conversations.get(&contact_id) else {
            db::campaigns::skip(
                tx,
                campaign.id,
                contact_id,
                "No conversation could be opened",
            )
            .await?;
            continue;
        };
        let target = Target {
            conversation_id,
            channel_id: campaign.channel_id,
        };
        let queued = match &message {
            Made::Template {
                template, values, ..
            } => outbound::queue_approved_template(
                tx,
                &env.secrets,
                target,
                campaign.created_by,
                template,
                values,
            )
            .await
            .map_err(anyhow::Error::from)?,
            Made::Text(text) => {
                let outgoing = Outgoing {
                    kind: MessageKind::Text,
                    text,
                    reply_to: None,
                    media: None,
                };
                outbound::queue_to(tx, &env.secrets, target, campaign.created_by, &outgoing).await?
            }
        };
        db::campaigns::mark_queued(tx, campaign.id, contact_id, queued).await?;
        handed += 1;
    }
    Ok(handed)
}

/// Pauses the campaign with the reason shown on its page.
async fn pause(mut tx: TenantTx, campaign_id: Uuid, reason: &str) -> anyhow::Result<()> {
    db::campaigns::set_state(&mut tx, campaign_id, CampaignState::Paused, Some(reason)).await?;
    tx.commit().await?;
    tracing::warn!(%campaign_id, reason, "campaign paused");
    Ok(())
}

/// A scheduled campaign whose time came (or "start now") (`kind: start_campaign`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StartCampaign {
    pub org_id: Uuid,
    pub campaign_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for StartCampaign {
    const KIND: &'static str = "start_campaign";
    const QUEUE: &'static str = "campaigns";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        start(env, self.org_id, self.campaign_id).await
    }
}

/// A running campaign's next step; `run` is the start or resume it belongs to (an older run's job stops) (`kind: dispatch_campaign`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct DispatchCampaign {
    pub org_id: Uuid,
    pub campaign_id: Uuid,
    pub run: i32,
}

impl crate::infra::jobs::BackgroundJob for DispatchCampaign {
    const KIND: &'static str = "dispatch_campaign";
    const QUEUE: &'static str = "campaigns";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        dispatch(env, self.org_id, self.campaign_id, self.run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_hands_over_the_rate_catches_up_a_little_and_keeps_to_the_minute() {
        let pace = Pace { per_minute: 4800 };
        let budget = |ms: u64, handed: i64| pace.budget(Duration::from_millis(ms), handed, handed);
        let at = |now: i64, let_go: i64| Budget { now, let_go };
        assert_eq!(pace.tick(), Duration::from_secs(1));
        assert_eq!(pace.per_tick(), 80);
        // The first step: one step's worth.
        assert_eq!(budget(0, 0), at(80, 0));
        // A second later: the next 80.
        assert_eq!(budget(1000, 80), at(80, 0));
        // A step ran late: it catches up, at most two steps' worth.
        assert_eq!(budget(2500, 160), at(120, 0));
        // Far behind: two steps now, and the places not used are let go.
        assert_eq!(budget(60_000, 160), at(160, 4560));
        // Ahead of the rate: nothing.
        assert_eq!(budget(1000, 400), at(0, 0));
        // The steps would allow more, but the last minute is full.
        assert_eq!(pace.budget(Duration::from_secs(90), 7200, 4780), at(20, 0));
    }

    #[test]
    fn a_slow_rate_sends_one_per_longer_tick() {
        let pace = Pace {
            per_minute: LINKED_PHONE_RATE_PER_MINUTE,
        };
        assert_eq!(pace.tick(), Duration::from_secs(6));
        assert_eq!(pace.per_tick(), 1);
        assert_eq!(pace.budget(Duration::ZERO, 0, 0).now, 1);
        assert_eq!(pace.budget(Duration::from_secs(3), 1, 1).now, 0);
        assert_eq!(pace.budget(Duration::from_secs(6), 1, 1).now, 1);
    }
}
