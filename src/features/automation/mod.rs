//! Automation rules without AI. A customer's message (a job after it is
//! stored) runs the rules for "conversation created", "message received",
//! "outside business hours" and "message contains"; a sweep runs "waiting
//! for N minutes" rules. A rule whose conditions hold (channel, label,
//! contact attribute) does its actions once per occasion, logged on the
//! conversation. Rules react only to customers, never to what rules send,
//! so they cannot set each other off.

pub mod idle;

use uuid::Uuid;

use crate::domain::canned::{Variables, render};
use crate::domain::{ConversationStatus, Priority, Trigger};
use crate::features::environment::Environment;
use crate::features::inbox::outbound;
use crate::infra::db;
use crate::infra::db::automation::{Actions, Rule};
use crate::infra::db::conversations::{Conversation, Visibility};
use crate::infra::tenancy::{TenantTx, bootstrap};

/// Whether the message has one of the words (whole words, any case).
fn has_keyword(text: &str, keywords: &[String]) -> bool {
    let text = text.to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    keywords.iter().any(|k| {
        let k = k.trim().to_lowercase();
        if k.is_empty() {
            false
        } else if k.contains(char::is_whitespace) {
            text.contains(&k)
        } else {
            words.contains(&k.as_str())
        }
    })
}

/// A keyword written `id:<choice>` names the choice of an interactive
/// message (reply button or list row, by the id it was sent with, see
/// [`crate::domain::interactive`]); the customer's answer sets it off
/// (its title is the message's text, matched as any keyword).
const CHOICE_PREFIX: &str = "id:";

/// Whether `message` is a customer's answer to an interactive message
/// whose choice id one of the `id:` keywords names (any case).
async fn chose(
    tx: &mut TenantTx,
    message: &db::messages::Message,
    keywords: &[String],
) -> anyhow::Result<bool> {
    let wanted: Vec<&str> = keywords
        .iter()
        .filter_map(|k| k.trim().strip_prefix(CHOICE_PREFIX))
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if wanted.is_empty() || message.kind() != crate::domain::MessageKind::Interactive {
        return Ok(false);
    }
    let raw = db::messages::raw(tx, message.id).await?;
    let chosen = raw
        .as_ref()
        .and_then(crate::domain::interactive::reply_id)
        .map(str::to_lowercase);
    Ok(chosen.is_some_and(|c| wanted.iter().any(|w| w.to_lowercase() == c)))
}

/// The rule's conditions, for this conversation.
async fn conditions_hold(
    tx: &mut TenantTx,
    rule: &Rule,
    conversation: &Conversation,
) -> anyhow::Result<bool> {
    if rule
        .channel_id
        .is_some_and(|c| c != conversation.channel_id)
    {
        return Ok(false);
    }
    if let Some(label) = rule.label_id
        && !conversation.has_label(&label)
    {
        return Ok(false);
    }
    if let Some(key) = &rule.attribute_key {
        let contact = db::contacts::find(tx, conversation.contact_id).await?;
        let value = contact
            .as_ref()
            .and_then(|c| c.attributes.get(key))
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default();
        let wanted = rule.attribute_value.as_deref().unwrap_or_default();
        if !value.trim().eq_ignore_ascii_case(wanted.trim()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs `rule` for this occasion if it may; what it did.
pub(crate) async fn run_rule(
    env: &Environment,
    tx: &mut TenantTx,
    rule: &Rule,
    occasion: &str,
    conversation: &Conversation,
) -> anyhow::Result<Option<String>> {
    // A group chat is the group's talk: no rule answers, labels or assigns
    // it on its own.
    if conversation.is_group || !conditions_hold(tx, rule, conversation).await? {
        return Ok(None);
    }
    // Two messages at once run the rule in two jobs: they take turns here,
    // so the second sees the first's run (and its cooldown).
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("automation:{}:{}", rule.id, conversation.id)
    )
    .fetch_one(tx.conn())
    .await?;
    if let Some(minutes) = rule.cooldown_minutes
        && db::automation::ran_within(tx, rule.id, conversation.id, minutes).await?
    {
        return Ok(None);
    }
    if !db::automation::claim_run(tx, rule, occasion, conversation.id).await? {
        return Ok(None);
    }
    let done = act(env, tx, rule, conversation).await?;
    db::automation::record_done(tx, rule.id, occasion, &done).await?;
    tracing::info!(org_id = %tx.org_id(), rule_id = %rule.id, conversation_id = %conversation.id, "automation rule ran");
    Ok(Some(done))
}

/// The rule's actions, in a fixed order; a sentence of what was done.
async fn act(
    env: &Environment,
    tx: &mut TenantTx,
    rule: &Rule,
    conversation: &Conversation,
) -> anyhow::Result<String> {
    let actions = &rule.actions.0;
    let mut done = vec![];
    if let Some(label) = actions.add_label {
        // A label deleted since the rule was saved is skipped, not an error.
        if db::labels::list(tx).await?.iter().any(|l| l.id == label) {
            let mut with = conversation.clone();
            db::conversations::with_labels(tx, std::slice::from_mut(&mut with)).await?;
            if !with.has_label(&label) {
                let mut ids: Vec<Uuid> = with.labels.iter().map(|l| l.id).collect();
                ids.push(label);
                db::conversations::set_labels(tx, conversation.id, &ids).await?;
            }
            done.push("labelled".to_owned());
        } else {
            done.push("not labelled: the label was deleted".to_owned());
        }
    }
    if let Some(priority) = actions.set_priority.as_deref().and_then(Priority::parse) {
        db::conversations::set_priority(tx, conversation.id, priority).await?;
        done.push(format!("priority {priority}"));
    }
    match actions.assign.as_deref() {
        Some("round_robin") => match db::automation::next_in_turn(tx, rule.id).await? {
            Some(user) => {
                db::conversations::assign(tx, conversation.id, Some(user)).await?;
                done.push("assigned in turn".to_owned());
            }
            None => done.push("not assigned: nobody is available".to_owned()),
        },
        Some(user) => {
            let assigned = match Uuid::try_parse(user) {
                Ok(user) => db::conversations::assign(tx, conversation.id, Some(user)).await?,
                Err(_) => false,
            };
            done.push(if assigned {
                "assigned".to_owned()
            } else {
                "not assigned: no longer a member".to_owned()
            });
        }
        None => {}
    }
    if actions.send_text.is_some() || actions.send_template.is_some() {
        done.push(reply(env, tx, conversation, actions).await?);
    }
    if let Some(status) = (actions.set_status.as_deref())
        .and_then(ConversationStatus::parse)
        .filter(|s| s.settable())
    {
        db::conversations::set_status(tx, conversation.id, status, None).await?;
        done.push(format!("status {status}"));
    }
    if let Some(user) = actions.notify {
        done.push(notify(env, tx, conversation, &rule.name, user).await?);
    }
    Ok(done.join(", "))
}

/// Sends the rule's text (variables filled) while WhatsApp's 24-hour
/// window is open, its template when it is closed (or when there is no
/// text); nothing to a contact who opted out.
async fn reply(
    env: &Environment,
    tx: &mut TenantTx,
    conversation: &Conversation,
    actions: &Actions,
) -> anyhow::Result<String> {
    let opted_out: bool = sqlx::query_scalar!(r#"select opted_out or blocked as "opted_out!" from contacts where org_id = $1 and id = $2"#, tx.org_id(), conversation.contact_id)
    .fetch_optional(tx.conn())
    .await?
    .unwrap_or(true);
    if opted_out {
        return Ok("no reply: the contact opted out".to_owned());
    }
    let window_closed = outbound::window_closed(tx, conversation).await?;
    let workspace = db::orgs::get(tx).await?.map(|o| o.name).unwrap_or_default();
    let vars = Variables {
        contact_name: &conversation.contact_name,
        agent_name: "",
        workspace: &workspace,
    };
    match (&actions.send_text, &actions.send_template) {
        (Some(text), _) if !window_closed => {
            outbound::queue_automated(tx, &env.secrets, conversation, &render(text, &vars)).await?;
            Ok("replied".to_owned())
        }
        (_, Some(template)) => {
            let values: Vec<String> = template.values.iter().map(|v| render(v, &vars)).collect();
            let sent = outbound::queue_template(
                tx,
                &env.secrets,
                conversation,
                None,
                (&template.name, &template.language),
                &values,
            )
            .await;
            match sent {
                Ok(id) => {
                    outbound::mark_automated(tx, id).await?;
                    Ok(format!("sent the template {}", template.name))
                }
                Err(outbound::TemplateRefused::Failed(e)) => Err(e),
                Err(refused) => Ok(format!("no template sent: {refused}")),
            }
        }
        _ => Ok("no reply: WhatsApp's 24-hour window is closed (no template set)".to_owned()),
    }
}

async fn notify(
    env: &Environment,
    tx: &mut TenantTx,
    conversation: &Conversation,
    rule_name: &str,
    user: Uuid,
) -> anyhow::Result<String> {
    let member = db::memberships::list(tx)
        .await?
        .into_iter()
        .find(|m| m.user_id == user);
    let Some(member) = member else {
        return Ok("no mail: no longer a member".to_owned());
    };
    let link = env.url(&format!("/inbox/{}", conversation.id));
    let who = if conversation.contact_name.trim().is_empty() {
        "A customer"
    } else {
        conversation.contact_name.trim()
    };
    let email = crate::infra::mail::Email {
        to: member.email.clone(),
        subject: format!("wacrm: {who} is waiting ({rule_name})"),
        body: format!(
            "Hello {},\n\nThe rule “{rule_name}” asks you to look at the conversation with {who}:\n{link}\n",
            member.name
        ),
    };
    crate::infra::jobs::enqueue(
        tx.conn(),
        &env.secrets,
        &crate::infra::jobs::SendEmail::from(email),
    )
    .await?;
    Ok(format!("mailed {}", member.name))
}

/// The job after a customer's message: the rules it sets off.
pub async fn on_message(env: &Environment, org_id: Uuid, message_id: Uuid) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    let Some(message) = db::messages::find(&mut tx, message_id).await? else {
        return Ok(());
    };
    if !message.is_inbound() {
        return Ok(());
    }
    let rules = db::automation::enabled(&mut tx, &Trigger::ON_ARRIVAL).await?;
    if rules.is_empty() {
        return Ok(());
    }
    let Some(mut conversation) = db::conversations::find(
        &mut tx,
        message.conversation_id,
        Uuid::nil(),
        Visibility::All,
    )
    .await?
    else {
        return Ok(());
    };
    db::conversations::with_labels(&mut tx, std::slice::from_mut(&mut conversation)).await?;
    let first: bool = sqlx::query_scalar!(
        r#"select not exists (select 1 from messages m, messages this
           where this.org_id = $1 and this.id = $2 and m.org_id = $1
             and m.conversation_id = this.conversation_id and m.direction = 'in'
             and (m.created_at, m.id) < (this.created_at, this.id)) as "first!""#,
        org_id,
        message_id
    )
    .fetch_one(tx.conn())
    .await?;
    let org = db::orgs::get(&mut tx).await?;
    let closed = org.as_ref().is_some_and(|o| {
        crate::domain::hours::open_at(
            &o.business_hours,
            &o.time_zone,
            env.clock.now().unix_timestamp(),
        ) == Some(false)
    });
    let occasion = message_id.to_string();
    for rule in rules {
        let fires = match rule.trigger {
            Trigger::ConversationCreated => first,
            Trigger::MessageReceived => true,
            Trigger::OutsideHours => closed,
            Trigger::Keywords => {
                has_keyword(&message.body, &rule.keywords)
                    || chose(&mut tx, &message, &rule.keywords).await?
            }
            Trigger::Idle => false,
        };
        if fires {
            run_rule(env, &mut tx, &rule, &occasion, &conversation).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A customer's message: the automation rules it sets off (once each) (`kind: automate`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Automate {
    pub org_id: Uuid,
    pub message_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for Automate {
    const KIND: &'static str = "automate";
    const QUEUE: &'static str = "automation";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        on_message(env, self.org_id, self.message_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::has_keyword;

    #[test]
    fn keywords_match_whole_words_or_phrases_in_any_case() {
        let words = vec!["price".to_owned(), "quanto custa".to_owned()];
        assert!(has_keyword("What's the PRICE?", &words));
        assert!(has_keyword("Oi, quanto custa o frete?", &words));
        assert!(!has_keyword("priceless", &words));
        assert!(!has_keyword("anything", &[String::new()]));
    }
}
