//! The mail job: one mail, sent through the deployment's mailer.

use serde::{Deserialize, Serialize};

use super::BackgroundJob;
use crate::infra::mail::{Email, Mailer};

/// A mail to send (`kind: send_email`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl From<Email> for SendEmail {
    fn from(email: Email) -> SendEmail {
        SendEmail {
            to: email.to,
            subject: email.subject,
            body: email.body,
        }
    }
}

impl BackgroundJob for SendEmail {
    const KIND: &'static str = "send_email";
    const QUEUE: &'static str = "email";
    type Context = Mailer;

    async fn run(&self, mailer: &Mailer, _attempt: i32) -> anyhow::Result<()> {
        mailer
            .send(&Email {
                to: self.to.clone(),
                subject: self.subject.clone(),
                body: self.body.clone(),
            })
            .await
    }
}
