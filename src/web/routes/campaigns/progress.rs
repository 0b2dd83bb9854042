//! A started campaign: its progress (live, by server-sent events), its
//! report and the recipients as CSV.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{found, shares};
use crate::domain::local_time;
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::campaigns::{Campaign, CampaignState, Counts, Point, RecipientState};
use crate::infra::tenancy::capability::RunCampaigns;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::csv_download::{download, safe_cell};
use crate::web::path::PathId;

/// How often an open campaign page is told to refresh its progress.
const REFRESH: Duration = Duration::from_secs(2);
/// A stream ends after this long; the browser reconnects (and the session
/// is checked again).
const MAX_STREAM: Duration = Duration::from_secs(30 * 60);
const CSV_PAGE: i64 = 5000;
/// Bars in the chart at most.
const BUCKETS: i64 = 60;

/// Everything the progress section shows.
pub struct Progress {
    campaign: Campaign,
    counts: Counts,
    failures: Vec<(String, i64)>,
    skips: Vec<(String, i64)>,
    chart: Vec<Bar>,
    bucket: String,
    time_zone: String,
}

/// One bar group of the chart, heights in per cent of the highest.
pub struct Bar {
    at: String,
    sent: i64,
    delivered: i64,
    read: i64,
    replied: i64,
    /// Each bar's class, x and height (the chart is 100 high, 20 wide
    /// per group).
    rects: Vec<(&'static str, u32, u32)>,
}

impl Progress {
    fn shares(&self) -> Vec<(&'static str, i64, String)> {
        shares(&self.counts)
    }

    fn rate(&self, n: i64) -> String {
        let reached = self.counts.reached() + self.counts.failed;
        if reached == 0 {
            "–".to_owned()
        } else {
            format!("{:.1} %", n as f64 * 100.0 / reached as f64)
        }
    }

    fn delivered_rate(&self) -> String {
        self.rate(self.counts.delivered + self.counts.read + self.counts.replied)
    }

    fn read_rate(&self) -> String {
        self.rate(self.counts.read + self.counts.replied)
    }

    fn replied_rate(&self) -> String {
        self.rate(self.counts.replied)
    }

    fn when(&self, at: Option<OffsetDateTime>) -> String {
        at.map(|at| local_time::shown(at, &self.time_zone))
            .unwrap_or_default()
    }

    fn is_live(&self) -> bool {
        matches!(
            self.campaign.state,
            CampaignState::Scheduled | CampaignState::Running | CampaignState::Paused
        ) || self.counts.queued > 0
    }
}

/// The chart's bucket: a sixtieth of the time since the start, rounded to
/// a readable step.
fn bucket_secs(span: time::Duration) -> i64 {
    let wanted = span.whole_seconds() / BUCKETS;
    [10, 60, 300, 600, 1800, 3600, 21600, 86400]
        .into_iter()
        .find(|step| *step >= wanted)
        .unwrap_or(86400)
}

fn bars(points: &[Point], time_zone: &str) -> Vec<Bar> {
    let highest = points
        .iter()
        .map(|p| p.sent.max(p.delivered).max(p.read).max(p.replied))
        .max()
        .unwrap_or(0)
        .max(1);
    let height = |n: i64| u32::try_from(n * 100 / highest).unwrap_or(100);
    points
        .iter()
        .enumerate()
        .map(|(i, p)| Bar {
            at: local_time::shown(p.at, time_zone),
            sent: p.sent,
            delivered: p.delivered,
            read: p.read,
            replied: p.replied,
            rects: [
                ("sent", p.sent),
                ("delivered", p.delivered),
                ("read", p.read),
                ("replied", p.replied),
            ]
            .into_iter()
            .enumerate()
            .map(|(k, (class, n))| {
                let x = u32::try_from(i * 20 + k * 4 + 2).unwrap_or(0);
                (class, x, height(n))
            })
            .collect(),
        })
        .collect()
}

async fn progress(tenant: &mut Tenant<RunCampaigns>, campaign: Campaign) -> Result<Progress> {
    let tx = &mut tenant.tx;
    let counts = db::campaigns::counts(tx, campaign.id).await?;
    let failures = db::campaigns::reasons(tx, campaign.id, RecipientState::Failed).await?;
    let skips = db::campaigns::reasons(tx, campaign.id, RecipientState::Skipped).await?;
    let time_zone = db::orgs::time_zone(tx).await?;
    let (chart, bucket) = match campaign.started_at {
        Some(from) => {
            let step = bucket_secs(OffsetDateTime::now_utc() - from);
            let points = db::campaigns::timeline(tx, campaign.id, from, step).await?;
            let bucket = if step < 60 {
                format!("{step} seconds")
            } else {
                format!("{} minutes", step / 60)
            };
            (bars(&points, &time_zone), bucket)
        }
        None => (vec![], String::new()),
    };
    Ok(Progress {
        campaign,
        counts,
        failures,
        skips,
        chart,
        bucket,
        time_zone,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns/show.html")]
pub struct ShowPage {
    page: Page,
    p: Progress,
}

pub async fn page(
    _state: &AppState,
    mut tenant: Tenant<RunCampaigns>,
    campaign: Campaign,
) -> Result<Response> {
    let p = progress(&mut tenant, campaign).await?;
    tenant.tx.commit().await?;
    Ok(ShowPage {
        page: tenant.page,
        p,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns/progress.html")]
pub struct ProgressFragment {
    page: Page,
    p: Progress,
}

/// The progress section alone (what the live page swaps in).
pub async fn fragment(mut tenant: Tenant<RunCampaigns>, PathId(id): PathId) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    let p = progress(&mut tenant, campaign).await?;
    tenant.tx.commit().await?;
    Ok(ProgressFragment {
        page: tenant.page,
        p,
    }
    .into_response())
}

/// Tells the page to refresh its progress every two seconds. Carries no
/// data: the page fetches the fragment through the checked route.
pub async fn events(mut tenant: Tenant<RunCampaigns>, PathId(id): PathId) -> Result<Response> {
    found(&mut tenant, id).await?;
    // The stream holds no database connection.
    drop(tenant);
    let (sender, receiver) = mpsc::channel::<std::result::Result<Event, Infallible>>(4);
    tokio::spawn(async move {
        let ticks = async {
            let mut every = tokio::time::interval(REFRESH);
            loop {
                every.tick().await;
                let event = Event::default().event("progress").data("changed");
                if sender.send(Ok(event)).await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(MAX_STREAM, ticks).await;
    });
    Ok(Sse::new(ReceiverStream::new(receiver))
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn time_cell(at: Option<OffsetDateTime>) -> String {
    at.and_then(|at| {
        at.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_default()
}

/// Every recipient with their state, streamed page by page.
pub async fn export(mut tenant: Tenant<RunCampaigns>, PathId(id): PathId) -> Result<Response> {
    let campaign = found(&mut tenant, id).await?;
    let mut tx = tenant.tx;
    let (response, sink) = download("campaign-recipients.csv")?;
    tokio::spawn(async move {
        let header = [
            "position",
            "name",
            "phone",
            "state",
            "reason",
            "queued_at",
            "sent_at",
            "delivered_at",
            "read_at",
            "replied_at",
            "failed_at",
        ]
        .map(str::to_owned)
        .to_vec();
        if !sink.send(&[header]).await {
            return;
        }
        let mut after = 0;
        loop {
            let rows =
                match db::campaigns::recipients_page(&mut tx, campaign.id, after, CSV_PAGE).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "campaign export failed");
                        return sink.fail().await;
                    }
                };
            let Some(last) = rows.last() else {
                break;
            };
            after = last.position;
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.position.to_string(),
                        safe_cell(&r.name).into_owned(),
                        r.phone.clone().unwrap_or_default(),
                        r.state.as_str().to_owned(),
                        safe_cell(r.reason.as_deref().unwrap_or_default()).into_owned(),
                        time_cell(r.queued_at),
                        time_cell(r.sent_at),
                        time_cell(r.delivered_at),
                        time_cell(r.read_at),
                        time_cell(r.replied_at),
                        time_cell(r.failed_at),
                    ]
                })
                .collect();
            if !sink.send(&cells).await {
                return;
            }
        }
        let _ = tx.commit().await;
    });
    Ok(response)
}
