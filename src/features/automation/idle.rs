//! The "customer waits" rules: a periodic sweep finds open conversations
//! whose last message is the customer's and older than the rule's minutes
//! (and newer than the rule's last change, so switching a rule on does not
//! answer every old conversation at once). Each wait sets a rule off once:
//! its occasion is the customer's last message. Group chats never wait on
//! the business: no rule touches them.

use uuid::Uuid;

use crate::domain::Trigger;
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::conversations::Visibility;
use crate::infra::tenancy::bootstrap;

/// How often the sweep runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Workspaces with a waiting rule on (read across workspaces: only ids).
async fn workspaces(env: &Environment) -> sqlx::Result<Vec<Uuid>> {
    // runtime SQL: `BEGIN` and `SET LOCAL` are utility statements (not prepared).
    let mut tx = env
        .pool
        .begin_with("begin; set local app.automation_sweeper = 'on'")
        .await?;
    let ids = sqlx::query_scalar!(
        "select distinct org_id from automation_rules where enabled and trigger = 'idle'"
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Runs every due waiting rule; how many rule runs it made.
pub async fn sweep(env: &Environment) -> anyhow::Result<usize> {
    let now = env.clock.now();
    let mut ran = 0;
    for org_id in workspaces(env).await? {
        let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
        let rules = db::automation::enabled(&mut tx, &[Trigger::Idle]).await?;
        for rule in rules {
            let minutes = i64::from(rule.idle_minutes.unwrap_or(60));
            let waiting = sqlx::query!(
                r#"select c.id, last.id as "last_id!" from conversations c
                 join automation_rules r on r.org_id = c.org_id and r.id = $4
                 cross join lateral (select m.id, m.direction from messages m
                     where m.org_id = c.org_id and m.conversation_id = c.id and not m.private
                     order by m.created_at desc, m.id desc limit 1) last
                 join contacts k on k.org_id = c.org_id and k.id = c.contact_id
                 where c.org_id = $1 and c.status = 'open' and last.direction = 'in'
                   and c.last_message_at <= $2 and c.last_message_at >= r.updated_at
                   and k.wa_group is null
                 order by c.last_message_at limit $3"#,
                org_id,
                now - time::Duration::minutes(minutes),
                500_i64,
                rule.id
            )
            .fetch_all(tx.conn())
            .await?;
            for (conversation_id, last_message) in waiting.into_iter().map(|w| (w.id, w.last_id)) {
                let conversation =
                    db::conversations::find(&mut tx, conversation_id, Uuid::nil(), Visibility::All)
                        .await?;
                let Some(mut conversation) = conversation else {
                    continue;
                };
                db::conversations::with_labels(&mut tx, std::slice::from_mut(&mut conversation))
                    .await?;
                let occasion = format!("idle:{last_message}");
                if super::run_rule(env, &mut tx, &rule, &occasion, &conversation)
                    .await?
                    .is_some()
                {
                    ran += 1;
                }
            }
        }
        tx.commit().await?;
    }
    Ok(ran)
}
