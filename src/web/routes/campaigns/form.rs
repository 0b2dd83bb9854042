//! A campaign's form: what it holds as typed, and the campaign it makes.

use serde::Deserialize;
use uuid::Uuid;

use crate::features::campaigns::{LINKED_PHONE_RATE_PER_MINUTE, message};
use crate::infra::config::Config;
use crate::infra::db;
use crate::infra::db::campaigns::{Campaign, CampaignFields, Segment, VariableSource};
use crate::infra::db::channels::{Channel, ChannelKind};
use crate::infra::tenancy::TenantTx;

/// Template values (body, header, buttons) a form offers rows for.
pub const MAX_VARIABLES: usize = 10;

/// The form as typed (every field text; rows of variables in order).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CampaignForm {
    pub name: String,
    pub channel_id: String,
    pub labels: Vec<String>,
    pub attribute_key: String,
    pub attribute_value: String,
    pub wrote_within_days: String,
    pub silent_for_days: String,
    /// `name|language`.
    pub template: String,
    pub var_source: Vec<String>,
    pub var_key: Vec<String>,
    pub var_text: Vec<String>,
    pub body: String,
    pub rate_per_minute: String,
}

fn text<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(T::to_string).unwrap_or_default()
}

impl CampaignForm {
    pub fn of(c: &Campaign) -> CampaignForm {
        let sources = &c.variables.0;
        CampaignForm {
            name: c.name.clone(),
            channel_id: c.channel_id.to_string(),
            labels: c.label_ids.iter().map(Uuid::to_string).collect(),
            attribute_key: c.attribute_key.clone().unwrap_or_default(),
            attribute_value: c.attribute_value.clone().unwrap_or_default(),
            wrote_within_days: text(&c.wrote_within_days),
            silent_for_days: text(&c.silent_for_days),
            template: match (&c.template_name, &c.template_language) {
                (Some(n), Some(l)) => format!("{n}|{l}"),
                _ => String::new(),
            },
            var_source: sources.iter().map(|s| s.source.clone()).collect(),
            var_key: sources.iter().map(|s| s.key.clone()).collect(),
            var_text: sources.iter().map(|s| s.text.clone()).collect(),
            body: c.body.clone().unwrap_or_default(),
            rate_per_minute: c.rate_per_minute.to_string(),
        }
    }

    /// The variable rows to show: those typed, then empty ones up to
    /// [`MAX_VARIABLES`].
    pub fn variable_rows(&self) -> Vec<(usize, String, String, String)> {
        (0..MAX_VARIABLES)
            .map(|i| {
                let get = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
                (
                    i + 1,
                    get(&self.var_source),
                    get(&self.var_key),
                    get(&self.var_text),
                )
            })
            .collect()
    }

    pub fn has_label(&self, id: &Uuid) -> bool {
        self.labels.iter().any(|l| *l == id.to_string())
    }
}

fn days(value: &str, what: &str, errors: &mut Vec<String>) -> Option<i32> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let n = value.parse::<i32>().ok().filter(|n| (1..=3650).contains(n));
    if n.is_none() {
        errors.push(format!("{what}: a number of days from 1 to 3650."));
    }
    n
}

/// The campaign the form describes, or everything wrong with it.
pub async fn parse(
    tx: &mut TenantTx,
    form: &CampaignForm,
    config: &Config,
) -> anyhow::Result<Result<CampaignFields, Vec<String>>> {
    let mut errors = vec![];
    let name = form.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("Name: 1 to 100 characters.".to_owned());
    }
    let channels = db::channels::list(tx).await?;
    let channel: Option<&Channel> = Uuid::try_parse(form.channel_id.trim())
        .ok()
        .and_then(|id| channels.iter().find(|c| c.id == id));
    if channel.is_none() {
        errors.push("Channel: pick the number to send from.".to_owned());
    }
    let labels = db::labels::list(tx).await?;
    let mut label_ids = vec![];
    for typed in &form.labels {
        match labels.iter().find(|l| l.id.to_string() == *typed) {
            Some(label) => label_ids.push(label.id),
            None => errors.push("Labels: pick labels from the list.".to_owned()),
        }
    }
    let attribute_key = form.attribute_key.trim();
    let attribute = if attribute_key.is_empty() {
        None
    } else {
        let known = db::attributes::list(tx, db::attributes::Entity::Contact)
            .await?
            .into_iter()
            .any(|a| a.key == attribute_key);
        if !known {
            errors.push("Attribute: pick one from the list.".to_owned());
        }
        Some((
            attribute_key.to_owned(),
            form.attribute_value.trim().to_owned(),
        ))
    };
    let segment = Segment {
        label_ids,
        attribute,
        wrote_within_days: days(&form.wrote_within_days, "Wrote within", &mut errors),
        silent_for_days: days(&form.silent_for_days, "Silent for", &mut errors),
    };
    let cloud = channel.is_some_and(|c| c.kind == ChannelKind::WhatsappCloud);
    let mut template = None;
    let mut variables = vec![];
    let mut body = None;
    if cloud {
        template = parse_template(tx, channel, &form.template, &mut errors).await?;
        let params = template.as_ref().map(|t| t.fields()).unwrap_or_default();
        variables = parse_variables(form, &params, &mut errors);
        if errors.is_empty()
            && let Some(shape) = template.as_ref().and_then(|t| t.shape().ok())
            && let Err(reasons) = message::check_sources(&shape, &variables)
        {
            errors.extend(reasons);
        }
    } else if channel.is_some() {
        match message::check_text(&form.body) {
            Ok(text) => body = Some(text),
            Err(problems) => errors.extend(problems),
        }
    }
    // What the number may send at all: a campaign cannot go faster.
    let max_rate = match channel.map(|c| c.kind) {
        Some(ChannelKind::WhatsappCloud) => config.whatsapp_send_rate.saturating_mul(60),
        Some(ChannelKind::WhatsappWeb) => config.whatsapp_web_send_rate.saturating_mul(60).min(60),
        _ => 60,
    };
    let default_rate = if cloud {
        max_rate
    } else {
        LINKED_PHONE_RATE_PER_MINUTE.min(max_rate)
    };
    let rate_per_minute = match form.rate_per_minute.trim() {
        "" => default_rate,
        typed => match typed
            .parse::<i32>()
            .ok()
            .filter(|r| (1..=max_rate).contains(r))
        {
            Some(rate) => rate,
            None => {
                errors.push(format!(
                    "Rate: messages per minute, from 1 to {max_rate} for this channel."
                ));
                default_rate
            }
        },
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let Some(channel) = channel else {
        return Ok(Err(errors));
    };
    Ok(Ok(CampaignFields {
        name,
        channel_id: channel.id,
        segment,
        template: template.map(|t| (t.name, t.language)),
        variables,
        body,
        rate_per_minute,
    }))
}

/// The chosen template of the number (`name|language`), approved.
async fn parse_template(
    tx: &mut TenantTx,
    channel: Option<&Channel>,
    typed: &str,
    errors: &mut Vec<String>,
) -> anyhow::Result<Option<db::templates::Template>> {
    let Some(channel) = channel else {
        return Ok(None);
    };
    let Some((name, language)) = typed.split_once('|') else {
        errors.push(
            "Template: a WhatsApp number sends campaigns as an approved template; pick one."
                .to_owned(),
        );
        return Ok(None);
    };
    let found = db::templates::find(tx, channel.id, name, language)
        .await?
        .filter(db::templates::Template::can_send);
    match &found {
        None => errors.push(
            "Template: not an approved template of this number (sync its templates, then pick one)."
                .to_owned(),
        ),
        Some(t) if t.fields().len() > MAX_VARIABLES => errors.push(format!(
            "Template: {} takes more than {MAX_VARIABLES} values; a campaign fills at most {MAX_VARIABLES}.",
            t.name
        )),
        Some(_) => {}
    }
    Ok(found)
}

/// One variable row per value the template takes, each with a known
/// source; an optional value (a quick reply's payload) may be left unset.
fn parse_variables(
    form: &CampaignForm,
    params: &[crate::domain::template_shape::Param],
    errors: &mut Vec<String>,
) -> Vec<VariableSource> {
    let rows = form.variable_rows();
    let mut variables = vec![];
    for ((n, source, key, text), param) in rows.into_iter().zip(params) {
        let (source, key, text) = (source.trim(), key.trim(), text.trim());
        if source.is_empty() && !param.required {
            // Sent empty.
        } else if !message::SOURCES.iter().any(|(s, _)| *s == source) {
            errors.push(format!(
                "Variable {{{{{n}}}}}: pick where its value comes from."
            ));
        } else if source == "attribute" && key.is_empty() {
            errors.push(format!(
                "Variable {{{{{n}}}}}: name the attribute (its key)."
            ));
        } else if source == "text" && text.is_empty() {
            errors.push(format!("Variable {{{{{n}}}}}: write the text."));
        } else if text.chars().count() > 1024 {
            errors.push(format!("Variable {{{{{n}}}}}: 1,024 characters at most."));
        }
        variables.push(VariableSource {
            source: source.to_owned(),
            key: key.to_owned(),
            text: text.to_owned(),
        });
    }
    variables
}
