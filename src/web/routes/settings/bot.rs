//! Settings → Bot (owners and admins): per channel, when the
//! knowledge-base bot answers (never, always, outside business hours), how
//! many answers before it hands over, and what it says when it does.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::{AppError, Result};
use crate::features::audit;
use crate::infra::db;
use crate::infra::db::bot::{BotMode, BotSettings};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Template, WebTemplate)]
#[template(path = "settings/bot.html")]
pub struct BotPage {
    page: Page,
    errors: Vec<String>,
    bots: Vec<BotSettings>,
    ai_on: bool,
    articles: usize,
    hours_set: bool,
}

async fn render(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    errors: Vec<String>,
) -> Result<Response> {
    let bots = db::bot::all(&mut tenant.tx).await?;
    let ai_on = db::ai::settings(&mut tenant.tx).await?.enabled;
    let articles = db::knowledge::list(&mut tenant.tx).await?.len();
    let hours_set = db::orgs::get(&mut tenant.tx)
        .await?
        .and_then(|o| o.business_hours.as_object().map(|w| !w.is_empty()))
        .unwrap_or(false);
    let page = BotPage {
        page: tenant.page,
        errors,
        bots,
        ai_on,
        articles,
        hours_set,
    };
    Ok((status, page).into_response())
}

pub async fn show(tenant: Tenant<ManageSettings>) -> Result<Response> {
    render(StatusCode::OK, tenant, vec![]).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BotForm {
    mode: String,
    max_turns: String,
    handover_message: String,
}

pub async fn update(
    mut tenant: Tenant<ManageSettings>,
    PathId(channel): PathId,
    HtmlForm(form): HtmlForm<BotForm>,
) -> Result<Response> {
    let Some(current) = db::bot::of_channel(&mut tenant.tx, channel).await? else {
        return Err(AppError::NotFound);
    };
    let mut errors = vec![];
    let mode = BotMode::parse(form.mode.trim());
    if mode.is_none() {
        errors.push("When: pick off, always, or outside business hours.".to_owned());
    }
    let max_turns = form
        .max_turns
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=20).contains(n));
    if max_turns.is_none() {
        errors.push("Answers before a person takes over: a number from 1 to 20.".to_owned());
    }
    let handover = form.handover_message.trim();
    if handover.is_empty() || handover.chars().count() > 1000 {
        errors.push("Message when handing over: 1 to 1,000 characters.".to_owned());
    }
    let (Some(mode), Some(max_turns), true) = (mode, max_turns, errors.is_empty()) else {
        return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, errors).await;
    };
    if mode != BotMode::Off && !db::ai::settings(&mut tenant.tx).await?.enabled {
        let errors = vec![
            "The bot answers through AI: an owner turns AI on in Settings → AI first.".to_owned(),
        ];
        return render(StatusCode::UNPROCESSABLE_ENTITY, tenant, errors).await;
    }
    db::bot::save(&mut tenant.tx, channel, mode, max_turns, handover).await?;
    let turns = max_turns.to_string();
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "settings.bot_changed",
        &current.channel_name,
        &[("mode", mode.as_str()), ("max_turns", &turns)],
    )
    .await?;
    tenant.tx.commit().await?;
    let message = match mode {
        BotMode::Off => format!("The bot of {} is off.", current.channel_name),
        BotMode::Always => format!("The bot of {} answers at all times.", current.channel_name),
        BotMode::OutsideHours => format!(
            "The bot of {} answers outside business hours.",
            current.channel_name
        ),
    };
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to("/settings/bot").into_response())
}
