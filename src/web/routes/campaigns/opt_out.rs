//! The workspace's opt-out and opt-in words and the confirmation text.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::Result;
use crate::features::audit;
use crate::features::campaigns::opt_out::{self, Words};
use crate::infra::tenancy::capability::RunCampaigns;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::web::form::HtmlForm;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WordsForm {
    opt_out_words: String,
    opt_out_reply: String,
    opt_in_words: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns/opt_out.html")]
pub struct OptOutPage {
    page: Page,
    form: WordsForm,
    errors: Vec<String>,
}

pub async fn show(mut tenant: Tenant<RunCampaigns>) -> Result<Response> {
    let words = opt_out::words(&mut tenant.tx).await?;
    tenant.tx.commit().await?;
    let form = WordsForm {
        opt_out_words: words.opt_out_words.join(", "),
        opt_out_reply: words.opt_out_reply,
        opt_in_words: words.opt_in_words.join(", "),
    };
    Ok(OptOutPage {
        page: tenant.page,
        form,
        errors: vec![],
    }
    .into_response())
}

pub async fn save(
    mut tenant: Tenant<RunCampaigns>,
    HtmlForm(form): HtmlForm<WordsForm>,
) -> Result<Response> {
    let mut errors = vec![];
    let mut words = |typed: &str, what: &str| match opt_out::parse_words(typed) {
        Ok(words) => words,
        Err(e) => {
            errors.push(format!("{what}: {e}"));
            vec![]
        }
    };
    let out = words(&form.opt_out_words, "Opt-out words");
    let back_in = words(&form.opt_in_words, "Opt-in words");
    if out.is_empty() && errors.is_empty() {
        errors.push("Opt-out words: at least one (STOP is the one customers know).".into());
    }
    if out.iter().any(|w| back_in.contains(w)) {
        errors.push("A word cannot both opt out and opt in.".into());
    }
    let reply = form.opt_out_reply.trim().to_owned();
    if reply.is_empty() || reply.chars().count() > 1000 {
        errors.push("Confirmation: 1 to 1,000 characters.".into());
    }
    if !errors.is_empty() {
        let page = OptOutPage {
            page: tenant.page,
            form,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let words = Words {
        opt_out_words: out,
        opt_out_reply: reply,
        opt_in_words: back_in,
    };
    opt_out::save(&mut tenant.tx, &words).await?;
    let (out, back_in) = (
        words.opt_out_words.join(", "),
        words.opt_in_words.join(", "),
    );
    audit::record(
        &mut tenant.tx,
        &tenant.member.actor(),
        "settings.opt_out_changed",
        "Opt-out words",
        &[("opt_out", &out), ("opt_in", &back_in)],
    )
    .await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "Opt-out words saved.")
        .await?;
    Ok(Redirect::to("/campaigns/opt-out").into_response())
}
