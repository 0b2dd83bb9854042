use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::domain::text::required_text;
use crate::domain::{AgentsSee, Country, RetentionDays, Role};
use crate::error::{AppError, Result};
use crate::features::audit;
use crate::infra::db;
use crate::infra::tenancy::capability::{Capability, ManageSettings, OwnWorkspace};
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::infra::tenancy::standing::Standing;
use crate::state::AppState;
use crate::web::form::HtmlForm;

pub const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// One weekday row of the business-hours form.
pub struct DayHours {
    pub key: &'static str,
    pub label: &'static str,
    pub open: bool,
    pub from: String,
    pub to: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/workspace.html")]
struct SettingsPage {
    page: Page,
    errors: Vec<String>,
    name: String,
    time_zone: String,
    time_zones: Vec<String>,
    default_country: String,
    agents_see: AgentsSee,
    read_receipts: bool,
    days: Vec<DayHours>,
    is_owner: bool,
    /// An owner deleted it: it can be restored until it goes.
    deleting: bool,
    retention: RetentionField,
}

/// The message retention form (owners): as saved, or as typed when refused.
pub(super) struct RetentionField {
    /// Keep a number of days (otherwise forever).
    pub keep_days: bool,
    pub days: String,
    pub errors: Vec<String>,
}

impl RetentionField {
    fn saved(days: Option<RetentionDays>) -> RetentionField {
        RetentionField {
            keep_days: days.is_some(),
            days: days.map(|d| d.days().to_string()).unwrap_or_default(),
            errors: vec![],
        }
    }
}

fn time_zones() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    names.sort();
    names
}

fn days_from_json(hours: &Value) -> Vec<DayHours> {
    WEEKDAYS
        .iter()
        .map(|(key, label)| {
            let day = hours.get(key);
            let text = |field: &str, default: &str| {
                day.and_then(|d| d.get(field))
                    .and_then(|v| v.as_str())
                    .unwrap_or(default)
                    .to_owned()
            };
            DayHours {
                key,
                label,
                open: day.is_some(),
                from: text("open", "09:00"),
                to: text("close", "17:00"),
            }
        })
        .collect()
}

fn valid_time(s: &str) -> bool {
    let Some((h, m)) = s.split_once(':') else {
        return false;
    };
    h.len() == 2
        && m.len() == 2
        && h.parse::<u8>().is_ok_and(|h| h < 24)
        && m.parse::<u8>().is_ok_and(|m| m < 60)
}

/// Business hours from the form: `{"mon": {"open": "09:00", "close": "17:00"}, ...}`
/// with closed days left out.
fn parse_hours(form: &HashMap<String, String>, errors: &mut Vec<String>) -> (Value, Vec<DayHours>) {
    let mut map = Map::new();
    let mut days = vec![];
    for (key, label) in WEEKDAYS {
        let open = form.get(&format!("{key}_open")).is_some_and(|v| v == "on");
        let from = form
            .get(&format!("{key}_from"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let to = form
            .get(&format!("{key}_to"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        if open {
            if !valid_time(&from) || !valid_time(&to) {
                errors.push(format!(
                    "{label}: enter opening and closing times as HH:MM."
                ));
            } else if from >= to {
                errors.push(format!(
                    "{label}: the closing time must be after the opening time."
                ));
            } else {
                map.insert(key.to_owned(), json!({ "open": from, "close": to }));
            }
        }
        days.push(DayHours {
            key,
            label,
            open,
            from,
            to,
        });
    }
    (Value::Object(map), days)
}

pub async fn show(mut tenant: Tenant<ManageSettings>) -> Result<Response> {
    let retention = RetentionField::saved(db::orgs::retention_days(&mut tenant.tx).await?);
    render(tenant, StatusCode::OK, retention).await
}

/// The page with the saved settings and this retention form.
pub(super) async fn render<C: Capability>(
    mut tenant: Tenant<C>,
    status: StatusCode,
    retention: RetentionField,
) -> Result<Response> {
    let org = db::orgs::get(&mut tenant.tx)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        status,
        SettingsPage {
            errors: vec![],
            name: org.name,
            time_zone: org.time_zone,
            time_zones: time_zones(),
            default_country: org.default_country.unwrap_or_default(),
            agents_see: org.agents_see,
            read_receipts: org.read_receipts,
            days: days_from_json(&org.business_hours),
            is_owner: tenant.member.role == Role::Owner,
            deleting: matches!(tenant.member.standing, Standing::Deleting { .. }),
            retention,
            page: tenant.page,
        },
    )
        .into_response())
}

/// The settings form: the workspace's fields, and the week's hours as
/// `mon_open`, `mon_from`, `mon_to`, … (read by [`parse_hours`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    name: String,
    time_zone: String,
    default_country: String,
    agents_see: String,
    /// A checkbox: "on" when ticked, absent otherwise.
    read_receipts: String,
    #[serde(flatten)]
    week: HashMap<String, String>,
}

pub async fn update(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<SettingsForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let name = required_text(&form.name, "a workspace name", 100, &mut errors);
    let time_zone = form.time_zone.trim().to_owned();
    if jiff::tz::db().get(&time_zone).is_err() {
        errors.push(format!(
            "“{time_zone}” is not a time zone; pick one from the list."
        ));
    }
    let default_country = form.default_country.trim().to_owned();
    let country = match default_country.as_str() {
        "" => None,
        typed => Country::parse(typed)
            .map_err(|e| errors.push(format!("Default country: {e}")))
            .ok(),
    };
    let agents_see = match form.agents_see.as_str() {
        "" => AgentsSee::All,
        typed => AgentsSee::parse(typed).unwrap_or_else(|| {
            errors.push("Agents see: pick one of the choices offered.".to_owned());
            AgentsSee::All
        }),
    };
    let read_receipts = form.read_receipts == "on";
    let (hours, days) = parse_hours(&form.week, &mut errors);
    if !errors.is_empty() {
        let retention = RetentionField::saved(db::orgs::retention_days(&mut tenant.tx).await?);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            SettingsPage {
                retention,
                errors,
                name,
                time_zone,
                time_zones: time_zones(),
                default_country,
                agents_see,
                read_receipts,
                days,
                is_owner: tenant.member.role == Role::Owner,
                deleting: matches!(tenant.member.standing, Standing::Deleting { .. }),
                page: tenant.page,
            },
        )
            .into_response());
    }
    db::orgs::update_settings(
        &mut tenant.tx,
        &name,
        &time_zone,
        &hours,
        country,
        agents_see,
        read_receipts,
    )
    .await?;
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "settings.workspace_changed",
        &name,
        &[
            ("time_zone", &time_zone),
            ("default_country", &default_country),
            ("agents_see", agents_see.as_str()),
            ("read_receipts", if read_receipts { "on" } else { "off" }),
        ],
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Settings saved.")
        .await?;
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmNameForm {
    confirm_name: String,
}

/// Delete the workspace and everything in it; the owner types its name.
pub async fn delete(
    State(state): State<AppState>,
    mut owner: Tenant<OwnWorkspace>,
    HtmlForm(form): HtmlForm<ConfirmNameForm>,
) -> Result<Response> {
    let typed = form.confirm_name.trim();
    if typed != owner.member.org_name {
        owner
            .session
            .flash(
                FlashKind::Error,
                "The workspace was not deleted: type its exact name to confirm.",
            )
            .await?;
        return Ok(Redirect::to("/settings").into_response());
    }
    let now = state.clock.now();
    db::orgs::request_deletion(&mut owner.tx, Some(now)).await?;
    audit::record(
        &mut owner.tx,
        &owner.member.actor(),
        "workspace.deletion_requested",
        &owner.member.org_name,
        &[],
    )
    .await?;
    owner.tx.commit().await?;
    tracing::info!(org_id = %owner.member.org_id, "workspace deletion requested");
    let gone = now + crate::infra::tenancy::standing::RETENTION;
    owner
        .session
        .flash(
            FlashKind::Success,
            format!(
                "The workspace {} will be deleted on {}. Until then it is read-only, and you can restore it here.",
                owner.member.org_name,
                crate::infra::tenancy::standing::date(&gone)
            ),
        )
        .await?;
    Ok(Redirect::to("/settings").into_response())
}

/// Takes back a deletion within its 30 days.
pub async fn restore(mut owner: Tenant<OwnWorkspace>) -> Result<Response> {
    db::orgs::request_deletion(&mut owner.tx, None).await?;
    audit::record(
        &mut owner.tx,
        &owner.member.actor(),
        "workspace.restored",
        &owner.member.org_name,
        &[],
    )
    .await?;
    owner.tx.commit().await?;
    owner
        .session
        .flash(
            FlashKind::Success,
            "The workspace was restored: nothing will be deleted.",
        )
        .await?;
    Ok(Redirect::to("/settings").into_response())
}
