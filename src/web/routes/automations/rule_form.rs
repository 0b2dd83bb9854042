//! The rule form: a rule as its form shows it, the workspace's choices it
//! offers, and the checks that turn what was typed into a rule.

use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{ConversationStatus, Priority, Trigger};
use crate::error::Result;
use crate::infra::db;
use crate::infra::db::automation::{Actions, Rule, RuleInput, TemplateAction};
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::Tenant;

/// A rule as its form shows it (everything as text).
#[derive(Debug, Clone, Default)]
pub struct RuleView {
    pub id: Option<Uuid>,
    pub enabled: bool,
    pub builtin: bool,
    pub name: String,
    pub trigger: String,
    pub keywords: String,
    pub idle_minutes: String,
    pub channel_id: String,
    pub label_id: String,
    pub attribute_key: String,
    pub attribute_value: String,
    pub cooldown_minutes: String,
    pub send_text: String,
    pub template_name: String,
    pub template_language: String,
    /// One value per line, for `{{1}}`, `{{2}}`…
    pub template_values: String,
    pub add_label: String,
    pub assign: String,
    pub set_status: String,
    pub set_priority: String,
    pub notify: String,
}

fn text<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(T::to_string).unwrap_or_default()
}

impl From<&Rule> for RuleView {
    fn from(r: &Rule) -> RuleView {
        let a = &r.actions.0;
        RuleView {
            id: Some(r.id),
            enabled: r.enabled,
            builtin: r.builtin.is_some(),
            name: r.name.clone(),
            trigger: r.trigger.to_string(),
            keywords: r.keywords.join(", "),
            idle_minutes: text(&r.idle_minutes),
            channel_id: text(&r.channel_id),
            label_id: text(&r.label_id),
            attribute_key: r.attribute_key.clone().unwrap_or_default(),
            attribute_value: r.attribute_value.clone().unwrap_or_default(),
            cooldown_minutes: text(&r.cooldown_minutes),
            send_text: a.send_text.clone().unwrap_or_default(),
            template_name: a
                .send_template
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            template_language: a
                .send_template
                .as_ref()
                .map(|t| t.language.clone())
                .unwrap_or_default(),
            template_values: a
                .send_template
                .as_ref()
                .map(|t| t.values.join("\n"))
                .unwrap_or_default(),
            add_label: text(&a.add_label),
            assign: a.assign.clone().unwrap_or_default(),
            set_status: a.set_status.clone().unwrap_or_default(),
            set_priority: a.set_priority.clone().unwrap_or_default(),
            notify: text(&a.notify),
        }
    }
}

/// The rule form as posted (every field text; absent ones empty).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RuleForm {
    name: String,
    trigger: String,
    keywords: String,
    idle_minutes: String,
    channel_id: String,
    label_id: String,
    attribute_key: String,
    attribute_value: String,
    cooldown_minutes: String,
    send_text: String,
    template_name: String,
    template_language: String,
    template_values: String,
    add_label: String,
    assign: String,
    set_status: String,
    set_priority: String,
    notify: String,
}

impl RuleView {
    /// What was typed, trimmed, to check and to show again.
    pub(super) fn from_form(form: RuleForm, id: Option<Uuid>) -> RuleView {
        RuleView {
            id,
            enabled: false,
            builtin: false,
            name: form.name.trim().to_owned(),
            trigger: form.trigger.trim().to_owned(),
            keywords: form.keywords.trim().to_owned(),
            idle_minutes: form.idle_minutes.trim().to_owned(),
            channel_id: form.channel_id.trim().to_owned(),
            label_id: form.label_id.trim().to_owned(),
            attribute_key: form.attribute_key.trim().to_owned(),
            attribute_value: form.attribute_value.trim().to_owned(),
            cooldown_minutes: form.cooldown_minutes.trim().to_owned(),
            send_text: form.send_text.trim().to_owned(),
            template_name: form.template_name.trim().to_owned(),
            template_language: form.template_language.trim().to_owned(),
            template_values: form.template_values.trim().to_owned(),
            add_label: form.add_label.trim().to_owned(),
            assign: form.assign.trim().to_owned(),
            set_status: form.set_status.trim().to_owned(),
            set_priority: form.set_priority.trim().to_owned(),
            notify: form.notify.trim().to_owned(),
        }
    }
}

/// The workspace's channels, labels, members and contact attributes, by
/// id and name, for the selects and for checking what a form names.
pub(super) struct Choices {
    pub(super) channels: Vec<(String, String)>,
    pub(super) labels: Vec<(String, String)>,
    pub(super) members: Vec<(String, String)>,
    pub(super) attributes: Vec<(String, String)>,
}

pub(super) async fn choices(tenant: &mut Tenant<ManageSettings>) -> Result<Choices> {
    let tx = &mut tenant.tx;
    Ok(Choices {
        channels: db::channels::list(tx)
            .await?
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .collect(),
        labels: db::labels::list(tx)
            .await?
            .into_iter()
            .map(|l| (l.id.to_string(), l.name))
            .collect(),
        members: db::memberships::list(tx)
            .await?
            .into_iter()
            .map(|m| (m.user_id.to_string(), m.name))
            .collect(),
        attributes: db::attributes::list(tx, db::attributes::Entity::Contact)
            .await?
            .into_iter()
            .map(|a| (a.key, a.label))
            .collect(),
    })
}

fn one_of(
    value: &str,
    among: &[(String, String)],
    what: &str,
    errors: &mut Vec<String>,
) -> Option<Uuid> {
    if value.is_empty() {
        return None;
    }
    match among.iter().find(|(id, _)| id == value) {
        Some((id, _)) => Uuid::try_parse(id).ok(),
        None => {
            errors.push(format!("{what}: pick one from the list."));
            None
        }
    }
}

/// The template to send, if one is named: `order_update` in `en_US`,
/// values one per line.
fn template(view: &RuleView, errors: &mut Vec<String>) -> Option<TemplateAction> {
    if view.template_name.is_empty() {
        return None;
    }
    let name_ok = view.template_name.len() <= 512
        && view
            .template_name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        errors.push(
            "Template: its name as WhatsApp has it (lowercase letters, digits, _).".to_owned(),
        );
    }
    let language = if view.template_language.is_empty() {
        "en_US".to_owned()
    } else {
        view.template_language.clone()
    };
    let language_ok = language.len() <= 15
        && language
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_');
    if !language_ok {
        errors.push("Template language: a code such as en_US or pt_BR.".to_owned());
    }
    let values: Vec<String> = view
        .template_values
        .lines()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if values.len() > 20 || values.iter().any(|v| v.chars().count() > 1024) {
        errors.push("Template values: at most 20 lines of up to 1,024 characters.".to_owned());
    }
    Some(TemplateAction {
        name: view.template_name.clone(),
        language,
        values,
    })
}

/// The rule from its form, or what is wrong with it.
pub(super) fn parse(
    view: &RuleView,
    choices: &Choices,
) -> std::result::Result<RuleInput, Vec<String>> {
    let mut errors = vec![];
    if view.name.is_empty() || view.name.chars().count() > 100 {
        errors.push("Name: 1 to 100 characters.".to_owned());
    }
    let trigger = Trigger::parse(&view.trigger);
    if trigger.is_none() {
        errors.push("When: pick what sets the rule off.".to_owned());
    }
    let keywords: Vec<String> = view
        .keywords
        .split(',')
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect();
    if trigger == Some(Trigger::Keywords) && keywords.is_empty() {
        errors.push("Words: list at least one, separated by commas.".to_owned());
    }
    if keywords.len() > 50 || keywords.iter().any(|k| k.chars().count() > 100) {
        errors.push("Words: at most 50, each up to 100 characters.".to_owned());
    }
    let minutes = |value: &str, what: &str, max: i32, errors: &mut Vec<String>| {
        if value.is_empty() {
            return None;
        }
        let n = value.parse::<i32>().ok().filter(|n| (1..=max).contains(n));
        if n.is_none() {
            errors.push(format!("{what}: a number of minutes from 1 to {max}."));
        }
        n
    };
    let idle_minutes = minutes(&view.idle_minutes, "Waiting for", 10_080, &mut errors);
    if trigger == Some(Trigger::Idle) && idle_minutes.is_none() && view.idle_minutes.is_empty() {
        errors.push("Waiting for: how many minutes without an answer.".to_owned());
    }
    let cooldown_minutes = minutes(
        &view.cooldown_minutes,
        "Not again within",
        100_000,
        &mut errors,
    );
    let channel_id = one_of(&view.channel_id, &choices.channels, "Channel", &mut errors);
    let label_id = one_of(
        &view.label_id,
        &choices.labels,
        "Conversation label",
        &mut errors,
    );
    let attribute_key = (!view.attribute_key.is_empty()).then(|| view.attribute_key.clone());
    if let Some(key) = &attribute_key
        && !choices.attributes.iter().any(|(k, _)| k == key)
    {
        errors.push("Contact attribute: pick one from the list.".to_owned());
    }
    let add_label = one_of(&view.add_label, &choices.labels, "Add label", &mut errors);
    let notify = one_of(&view.notify, &choices.members, "Mail", &mut errors);
    let assign = match view.assign.as_str() {
        "" => None,
        "round_robin" => Some("round_robin".to_owned()),
        other => one_of(other, &choices.members, "Assign to", &mut errors).map(|u| u.to_string()),
    };
    let valid_status = view.set_status.is_empty()
        || ConversationStatus::parse(&view.set_status).is_some_and(ConversationStatus::settable);
    if !valid_status {
        errors.push("Set status: open, pending or resolved.".to_owned());
    }
    let valid_priority =
        view.set_priority.is_empty() || Priority::parse(&view.set_priority).is_some();
    if !valid_priority {
        errors.push("Set priority: pick one from the list.".to_owned());
    }
    if view.send_text.chars().count() > 4096 {
        errors.push("Reply: 4,096 characters at most.".to_owned());
    }
    let send_template = template(view, &mut errors);
    let actions = Actions {
        send_text: (!view.send_text.is_empty()).then(|| view.send_text.clone()),
        send_template,
        add_label,
        assign,
        set_status: (!view.set_status.is_empty()).then(|| view.set_status.clone()),
        set_priority: (!view.set_priority.is_empty()).then(|| view.set_priority.clone()),
        notify,
    };
    if actions.is_empty() && errors.is_empty() {
        errors.push("Then: choose at least one thing the rule does.".to_owned());
    }
    let Some(trigger) = trigger.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    Ok(RuleInput {
        name: view.name.clone(),
        trigger,
        keywords,
        idle_minutes,
        channel_id,
        label_id,
        attribute_value: attribute_key.as_ref().map(|_| view.attribute_value.clone()),
        attribute_key,
        actions,
        cooldown_minutes,
    })
}
