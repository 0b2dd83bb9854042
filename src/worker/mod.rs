//! The background worker of this app: every job kind it runs, listed once,
//! run with the jobs' [`Environment`] (the job types themselves live with
//! their features; the queue is [`crate::infra::jobs`]).

use std::sync::Arc;

use crate::features::environment::Environment;
use crate::infra::jobs::{Registry, SendEmail, worker::Worker};
use crate::state::AppState;

/// Every job kind, by the name its stored payloads carry.
pub fn registry() -> Registry<Environment> {
    Registry::default()
        .register::<SendEmail>()
        .register::<crate::features::inbox::outbound::SendMessage>()
        .register::<crate::features::inbox::scheduled::SendScheduled>()
        .register::<crate::features::inbox::snooze::WakeConversation>()
        .register::<crate::features::inbox::read_receipts::SendReadReceipt>()
        .register::<crate::channels::media::FetchMedia>()
        .register::<crate::features::import::run::ImportContacts>()
        .register::<crate::features::billing::events::StripeEvent>()
        .register::<crate::features::ai::bot::BotAnswer>()
        .register::<crate::features::automation::Automate>()
        .register::<crate::features::campaigns::StartCampaign>()
        .register::<crate::features::campaigns::DispatchCampaign>()
        .register::<crate::features::export::BuildExport>()
        .register::<crate::features::export::ExpireExport>()
        .register::<crate::features::reminders::RemindTask>()
        .register::<crate::features::orders::TakeOrder>()
        .register::<crate::channels::cloud_api::template_sync::SyncTemplates>()
}

/// The worker of `state`'s database, running every job kind with the
/// environment made of `state`.
pub fn worker(state: &AppState) -> Worker<Environment> {
    Worker {
        pool: state.pool.clone(),
        secrets: state.secrets.clone(),
        registry: Arc::new(registry()),
        context: Arc::new(state.env()),
        lease_secs: i64::from(state.config.job_lease_secs),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use time::macros::datetime;
    use uuid::Uuid;

    use super::registry;
    use crate::infra::jobs::{BackgroundJob, Payload, SendEmail, stored_form};

    const ORG: Uuid = Uuid::from_u128(1);
    const ID: Uuid = Uuid::from_u128(2);

    fn payload(old: &Value) -> Payload {
        let kind = old["kind"].as_str().unwrap_or_default().to_owned();
        Payload {
            kind,
            fields: old.clone(),
        }
    }

    /// `old` (a payload as the `enum Job` of before job types wrote it)
    /// reads as `job`, the registry knows its kind, and `job` is written
    /// back the same.
    fn reads_as<J: BackgroundJob + PartialEq + std::fmt::Debug>(old: Value, job: J) {
        let stored = payload(&old);
        assert_eq!(stored.decode::<J>().unwrap(), job, "{old}");
        assert!(registry().decode(&stored).is_ok(), "{old}");
        let written: Value = serde_json::from_slice(&stored_form(&job).unwrap()).unwrap();
        assert_eq!(written, old);
    }

    #[test]
    fn payloads_queued_by_the_old_job_enum_still_read() {
        let (org, id) = (ORG.to_string(), ID.to_string());
        reads_as(
            json!({"kind": "send_email", "to": "a@b.test", "subject": "S", "body": "B"}),
            SendEmail {
                to: "a@b.test".into(),
                subject: "S".into(),
                body: "B".into(),
            },
        );
        reads_as(
            json!({"kind": "send_message", "org_id": org, "message_id": id}),
            crate::features::inbox::outbound::SendMessage {
                org_id: ORG,
                message_id: ID,
            },
        );
        reads_as(
            json!({"kind": "import_contacts", "org_id": org, "import_id": id}),
            crate::features::import::run::ImportContacts {
                org_id: ORG,
                import_id: ID,
            },
        );
        reads_as(
            json!({"kind": "fetch_media", "org_id": org, "message_id": id}),
            crate::channels::media::FetchMedia {
                org_id: ORG,
                message_id: ID,
            },
        );
        reads_as(
            json!({"kind": "wake_conversation", "org_id": org, "conversation_id": id}),
            crate::features::inbox::snooze::WakeConversation {
                org_id: ORG,
                conversation_id: ID,
            },
        );
        reads_as(
            json!({"kind": "stripe_event", "event_id": "evt_1"}),
            crate::features::billing::events::StripeEvent {
                event_id: "evt_1".into(),
            },
        );
        reads_as(
            json!({"kind": "bot_answer", "org_id": org, "message_id": id}),
            crate::features::ai::bot::BotAnswer {
                org_id: ORG,
                message_id: ID,
            },
        );
        reads_as(
            json!({"kind": "automate", "org_id": org, "message_id": id}),
            crate::features::automation::Automate {
                org_id: ORG,
                message_id: ID,
            },
        );
        reads_as(
            json!({"kind": "start_campaign", "org_id": org, "campaign_id": id}),
            crate::features::campaigns::StartCampaign {
                org_id: ORG,
                campaign_id: ID,
            },
        );
        reads_as(
            json!({"kind": "dispatch_campaign", "org_id": org, "campaign_id": id, "run": 3}),
            crate::features::campaigns::DispatchCampaign {
                org_id: ORG,
                campaign_id: ID,
                run: 3,
            },
        );
        reads_as(
            json!({"kind": "send_scheduled", "org_id": org, "scheduled_id": id}),
            crate::features::inbox::scheduled::SendScheduled {
                org_id: ORG,
                scheduled_id: ID,
            },
        );
        reads_as(
            json!({"kind": "build_export", "org_id": org, "export_id": id}),
            crate::features::export::BuildExport {
                org_id: ORG,
                export_id: ID,
            },
        );
        reads_as(
            json!({"kind": "expire_export", "org_id": org, "export_id": id}),
            crate::features::export::ExpireExport {
                org_id: ORG,
                export_id: ID,
            },
        );
        // `time`'s serde form of an `OffsetDateTime` (no human-readable
        // feature): year, day of year, h, m, s, ns, offset h, m, s.
        reads_as(
            json!({"kind": "remind_task", "org_id": org, "task_id": id,
                   "due_at": [2027, 87, 9, 0, 0, 0, 0, 0, 0]}),
            crate::features::reminders::RemindTask {
                org_id: ORG,
                task_id: ID,
                due_at: datetime!(2027-03-28 09:00 UTC),
            },
        );
        reads_as(
            json!({"kind": "take_order", "org_id": org, "message_id": id}),
            crate::features::orders::TakeOrder {
                org_id: ORG,
                message_id: ID,
            },
        );
    }

    #[test]
    fn every_kind_is_registered_once() {
        // `register` panics on a repeated name; the 15 kinds the enum had,
        // the read receipt and the template sync.
        assert_eq!(registry().kinds().len(), 17);
        assert!(registry().kinds().contains(&"send_read_receipt"));
        assert!(registry().kinds().contains(&"sync_templates"));
    }

    #[test]
    fn unknown_kinds_and_misfit_fields_do_not_read() {
        let unknown = payload(&json!({"kind": "send_fax", "to": "x"}));
        assert!(registry().decode(&unknown).is_err());
        let misfit = payload(&json!({"kind": "send_message", "org_id": "nope"}));
        assert!(registry().decode(&misfit).is_err());
        let other = payload(&json!({"kind": "stripe_event", "event_id": "evt_1"}));
        assert!(other.decode::<SendEmail>().is_err(), "a kind is its type's");
    }
}
