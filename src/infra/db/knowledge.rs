//! The workspace's knowledge base articles, and finding the ones that
//! answer a question.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Article {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub updated_at: OffsetDateTime,
}

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Article>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Article,
        "select id, title, body, updated_at from kb_articles where org_id = $1 \
         order by lower(title), id",
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn insert(tx: &mut TenantTx, title: &str, body: &str) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into kb_articles (org_id, id, title, body) values ($1, $2, $3, $4)",
        org_id,
        id,
        title,
        body
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// `false` if there is no such article.
pub async fn update(tx: &mut TenantTx, id: Uuid, title: &str, body: &str) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update kb_articles set title = $3, body = $4, updated_at = now() \
         where org_id = $1 and id = $2",
        org_id,
        id,
        title,
        body
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from kb_articles where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Words too common to say what a question is about (English,
/// Portuguese, Spanish): left out of the search.
const COMMON: &[&str] = &[
    "about", "all", "and", "any", "are", "but", "can", "does", "for", "from", "get", "has", "have",
    "hello", "how", "not", "our", "please", "thanks", "that", "the", "there", "this", "what",
    "when", "where", "who", "why", "will", "with", "would", "you", "your", "como", "com", "das",
    "dos", "está", "não", "obrigado", "olá", "para", "por", "qual", "quais", "que", "são", "tem",
    "uma", "você", "vocês", "cual", "del", "gracias", "hola", "las", "los", "son", "tiene",
    "usted", "ustedes",
];

/// The question's telling words as a full-text query: each a prefix
/// (`ship` finds `shipping`), any of them may match. Only letters and
/// digits go in, so nothing of the question is read as query syntax.
fn search_terms(question: &str) -> Option<String> {
    let lower = question.to_lowercase();
    let mut words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && !COMMON.contains(w))
        .collect();
    words.sort_unstable();
    words.dedup();
    words.truncate(30);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" | ")
    })
}

/// The articles that best match `question` (any of its telling words,
/// title words weigh more), best first, at most `limit`.
pub async fn search(tx: &mut TenantTx, question: &str, limit: i64) -> sqlx::Result<Vec<Article>> {
    let Some(terms) = search_terms(question) else {
        return Ok(Vec::new());
    };
    let org_id = tx.org_id();
    sqlx::query_as!(
        Article,
        "select a.id, a.title, a.body, a.updated_at from kb_articles a \
         where a.org_id = $1 and a.search @@ to_tsquery('simple', $2) \
         order by ts_rank_cd(a.search, to_tsquery('simple', $2)) desc, a.id limit $3",
        org_id,
        terms,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

#[cfg(test)]
mod tests {
    use super::search_terms;

    #[test]
    fn only_telling_words_go_in_as_prefixes() {
        assert_eq!(
            search_terms("Do you ship to Recife?").as_deref(),
            Some("recife:* | ship:*")
        );
        assert_eq!(search_terms("Who is your CEO?").as_deref(), Some("ceo:*"));
        assert_eq!(search_terms("is it? ok!"), None);
        assert_eq!(
            search_terms("Vocês entregam no sábado? 'x' | !y & z:*").as_deref(),
            Some("entregam:* | sábado:*")
        );
    }
}
