//! The knowledge base the bot answers from: owners and admins write
//! articles (or questions and answers), import a CSV of questions and
//! answers, and search it the way the bot does.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::error::{AppError, Result};
use crate::infra::db;
use crate::infra::db::knowledge::Article;
use crate::infra::tenancy::capability::ManageSettings;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::infra::tenancy::session_state::FlashKind;
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;
use crate::web::upload::{read_file, upload_error};

/// The largest Q&A file taken.
const MAX_CSV_BYTES: usize = 2 * 1024 * 1024;
/// Articles one import may add.
const MAX_IMPORTED: usize = 2_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/knowledge", get(index).post(create))
        .route(
            "/knowledge/import",
            post(import).layer(DefaultBodyLimit::max(MAX_CSV_BYTES + 64 * 1024)),
        )
        .route("/knowledge/{id}", post(update))
        .route("/knowledge/{id}/delete", post(delete))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArticleForm {
    title: String,
    body: String,
}

/// The title and text trimmed, or what is wrong with them.
fn check(title: &str, body: &str) -> std::result::Result<(String, String), Vec<String>> {
    let (title, body) = (title.trim(), body.trim());
    let mut errors = vec![];
    if title.is_empty() {
        errors.push("Title: write a title or the question.".to_owned());
    } else if title.chars().count() > 200 {
        errors.push("Title: 200 characters at most.".to_owned());
    }
    if body.is_empty() {
        errors.push("Text: write the article or the answer.".to_owned());
    } else if body.chars().count() > 20_000 {
        errors.push("Text: 20,000 characters at most.".to_owned());
    }
    if errors.is_empty() {
        Ok((title.to_owned(), body.to_owned()))
    } else {
        Err(errors)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchParams {
    q: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "knowledge/index.html")]
pub struct KnowledgePage {
    page: Page,
    articles: Vec<Article>,
    query: String,
    /// What the bot would pick for `query`.
    matches: Option<Vec<Article>>,
    form: ArticleForm,
    errors: Vec<String>,
}

async fn render(
    status: StatusCode,
    mut tenant: Tenant<ManageSettings>,
    query: String,
    form: ArticleForm,
    errors: Vec<String>,
) -> Result<Response> {
    let articles = db::knowledge::list(&mut tenant.tx).await?;
    let matches = if query.trim().is_empty() {
        None
    } else {
        Some(db::knowledge::search(&mut tenant.tx, &query, 3).await?)
    };
    let page = KnowledgePage {
        page: tenant.page,
        articles,
        query,
        matches,
        form,
        errors,
    };
    Ok((status, page).into_response())
}

/// The page again with the form as typed and what is wrong with it.
async fn refuse(
    tenant: Tenant<ManageSettings>,
    form: ArticleForm,
    errors: Vec<String>,
) -> Result<Response> {
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        tenant,
        String::new(),
        form,
        errors,
    )
    .await
}

async fn index(
    tenant: Tenant<ManageSettings>,
    Query(params): Query<SearchParams>,
) -> Result<Response> {
    let query: String = params.q.chars().take(500).collect();
    render(
        StatusCode::OK,
        tenant,
        query,
        ArticleForm::default(),
        vec![],
    )
    .await
}

async fn create(
    mut tenant: Tenant<ManageSettings>,
    HtmlForm(form): HtmlForm<ArticleForm>,
) -> Result<Response> {
    let (title, body) = match check(&form.title, &form.body) {
        Ok(fields) => fields,
        Err(errors) => {
            return refuse(tenant, form, errors).await;
        }
    };
    db::knowledge::insert(&mut tenant.tx, &title, &body).await?;
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(
            FlashKind::Success,
            format!("“{title}” added to the knowledge base."),
        )
        .await?;
    Ok(Redirect::to("/knowledge").into_response())
}

async fn update(
    mut tenant: Tenant<ManageSettings>,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<ArticleForm>,
) -> Result<Response> {
    let (title, body) = match check(&form.title, &form.body) {
        Ok(fields) => fields,
        Err(errors) => {
            return refuse(tenant, form, errors).await;
        }
    };
    if !db::knowledge::update(&mut tenant.tx, id, &title, &body).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, format!("“{title}” saved."))
        .await?;
    Ok(Redirect::to("/knowledge").into_response())
}

async fn delete(mut tenant: Tenant<ManageSettings>, PathId(id): PathId) -> Result<Response> {
    if !db::knowledge::delete(&mut tenant.tx, id).await? {
        return Err(AppError::NotFound);
    }
    tenant.tx.commit().await?;
    tenant
        .session
        .flash(FlashKind::Success, "The article was deleted.")
        .await?;
    Ok(Redirect::to("/knowledge").into_response())
}

/// Questions and answers from a CSV file (header `question,answer`), each
/// an article; rows that are not valid are listed, the rest added.
async fn import(mut tenant: Tenant<ManageSettings>, mut multipart: Multipart) -> Result<Response> {
    let too_large = || {
        AppError::TooLarge(format!(
            "The file is too large ({} MB at most).",
            MAX_CSV_BYTES / (1024 * 1024)
        ))
    };
    let mut file = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| upload_error(e, &too_large))?
    {
        if field.name() == Some("file") {
            file = Some(read_file(&mut field, MAX_CSV_BYTES, &too_large).await?);
        }
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let errors = vec!["File: choose a CSV file with question and answer columns.".to_owned()];
        return refuse(tenant, ArticleForm::default(), errors).await;
    };
    let pairs = match parse_qa_csv(&bytes) {
        Ok(pairs) => pairs,
        Err(error) => {
            return refuse(tenant, ArticleForm::default(), vec![error]).await;
        }
    };
    let mut added = 0;
    let mut refused = vec![];
    for (line, question, answer) in pairs {
        match check(&question, &answer) {
            Ok((title, body)) if added < MAX_IMPORTED => {
                db::knowledge::insert(&mut tenant.tx, &title, &body).await?;
                added += 1;
            }
            Ok(_) => refused.push(format!(
                "line {line}: more than {MAX_IMPORTED} rows in one file"
            )),
            Err(errors) => refused.push(format!("line {line}: {}", errors.join(" "))),
        }
    }
    tenant.tx.commit().await?;
    let mut message = format!("{added} questions and answers added to the knowledge base.");
    if !refused.is_empty() {
        let shown: Vec<String> = refused.iter().take(10).cloned().collect();
        message.push_str(&format!(" Not added: {}", shown.join("; ")));
        if refused.len() > shown.len() {
            message.push_str(&format!(" (and {} more)", refused.len() - shown.len()));
        }
        message.push('.');
    }
    tenant.session.flash(FlashKind::Success, message).await?;
    Ok(Redirect::to("/knowledge").into_response())
}

/// `(line, question, answer)` of each row; the header must name a
/// question and an answer column (any order, more columns ignored).
fn parse_qa_csv(bytes: &[u8]) -> std::result::Result<Vec<(usize, String, String)>, String> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| "File: save it as UTF-8 text (CSV).".to_owned())?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| "File: it is not a CSV file.".to_owned())?
        .clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let (Some(q), Some(a)) = (column(&["question", "q"]), column(&["answer", "a"])) else {
        return Err(
            "File: the first line must name a “question” and an “answer” column.".to_owned(),
        );
    };
    let mut rows = vec![];
    for record in reader.records() {
        let record = record.map_err(|e| format!("File: {e}"))?;
        // The file's own line (blank lines are skipped by the reader).
        let line = record
            .position()
            .map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        let cell = |i: usize| record.get(i).unwrap_or_default().to_owned();
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push((line, cell(q), cell(a)));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::parse_qa_csv;

    #[test]
    fn questions_and_answers_come_from_named_columns() {
        let csv = "\u{feff}Answer,Question,extra\n\"We ship in 3 days,\nanywhere.\",Do you ship?,x\n,Empty answer,\n,,\n";
        let rows = parse_qa_csv(csv.as_bytes()).unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    2,
                    "Do you ship?".into(),
                    "We ship in 3 days,\nanywhere.".into()
                ),
                (4, "Empty answer".into(), String::new()),
            ]
        );
        assert!(parse_qa_csv(b"title,text\na,b\n").is_err());
        assert!(parse_qa_csv(&[0xff, 0xfe]).is_err());
    }
}
