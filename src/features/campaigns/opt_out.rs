//! A customer who answers STOP (or one of the workspace's opt-out words)
//! is opted out of campaigns and told so; an opt-in word (START) opts them
//! back in. Only a message that is just the word counts: "don't stop" is
//! not an opt-out.

use uuid::Uuid;

use crate::features::inbox::outbound::{self, Target};
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::TenantTx;

/// Longer messages are never just a word.
const LONGEST_WORD: usize = 40;

/// The workspace's words and confirmation.
#[derive(Debug, Clone)]
pub struct Words {
    pub opt_out_words: Vec<String>,
    pub opt_out_reply: String,
    pub opt_in_words: Vec<String>,
}

pub async fn words(tx: &mut TenantTx) -> sqlx::Result<Words> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Words,
        "select opt_out_words, opt_out_reply, opt_in_words from organizations where id = $1",
        org_id
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn save(tx: &mut TenantTx, words: &Words) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "update organizations set opt_out_words = $2, opt_out_reply = $3, opt_in_words = $4 \
         where id = $1",
        org_id,
        &words.opt_out_words,
        &words.opt_out_reply,
        &words.opt_in_words
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A message as a word: trimmed, without closing punctuation, upper case.
fn as_word(text: &str) -> Option<String> {
    let word = text
        .trim()
        .trim_end_matches(['.', '!', '?'])
        .trim()
        .to_uppercase();
    (!word.is_empty() && word.chars().count() <= LONGEST_WORD).then_some(word)
}

/// Words typed in a form (commas or new lines between them), as
/// [`as_word`] reads them; at most 30.
pub fn parse_words(input: &str) -> Result<Vec<String>, String> {
    let mut words: Vec<String> = Vec::new();
    for part in input.split([',', '\n']) {
        if part.trim().is_empty() {
            continue;
        }
        let Some(word) = as_word(part) else {
            return Err(format!(
                "“{}” is too long for a word ({LONGEST_WORD} characters at most).",
                part.trim()
            ));
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if words.len() > 30 {
        return Err("At most 30 words.".into());
    }
    Ok(words)
}

/// A customer's text that arrived (stored) in a conversation.
#[derive(Debug, Clone, Copy)]
pub struct Arrived<'a> {
    pub contact_id: Uuid,
    pub target: Target,
    pub text: &'a str,
}

/// Applies the opt-out and opt-in words among the texts (in the caller's
/// transaction, after they are stored); a contact newly opted out gets the
/// confirmation.
pub async fn on_arrivals(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    arrived: &[Arrived<'_>],
) -> anyhow::Result<()> {
    let candidates: Vec<(&Arrived, String)> = arrived
        .iter()
        .filter_map(|a| as_word(a.text).map(|w| (a, w)))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let words = words(tx).await?;
    for (arrival, word) in candidates {
        let opting_out = words.opt_out_words.contains(&word);
        if !opting_out && !words.opt_in_words.contains(&word) {
            continue;
        }
        let org_id = tx.org_id();
        let changed = sqlx::query!(
            "update contacts set opted_out = $3, updated_at = now() \
             where org_id = $1 and id = $2 and opted_out <> $3",
            org_id,
            arrival.contact_id,
            opting_out
        )
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        if changed && opting_out {
            outbound::queue_automated(tx, secrets, arrival.target, &words.opt_out_reply).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_message_that_is_the_word_counts() {
        assert_eq!(as_word("  stop! ").as_deref(), Some("STOP"));
        assert_eq!(as_word("Arrêt.").as_deref(), Some("ARRÊT"));
        assert_eq!(as_word("").as_deref(), None);
        assert!(as_word(&"x".repeat(41)).is_none());
        assert_eq!(as_word("don't stop").as_deref(), Some("DON'T STOP"));
    }

    #[test]
    fn words_are_read_from_a_form() {
        assert_eq!(
            parse_words("stop, Parar\nbaja,,STOP").expect("words"),
            ["STOP", "PARAR", "BAJA"]
        );
        assert!(parse_words(&"y".repeat(50)).is_err());
    }
}
