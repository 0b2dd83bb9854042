//! @mentions of members in private notes: `@` and a member's name, as the
//! composer inserts it.

use uuid::Uuid;

/// The members `text` mentions, each once: `@Name` (any case) followed by
/// the end or a character that can't continue a name.
pub fn mentioned<'a>(text: &str, members: impl IntoIterator<Item = (Uuid, &'a str)>) -> Vec<Uuid> {
    let text = text.to_lowercase();
    let mut found: Vec<Uuid> = members
        .into_iter()
        .filter(|(_, name)| !name.trim().is_empty())
        .filter(|(_, name)| {
            let needle = format!("@{}", name.trim().to_lowercase());
            text.match_indices(&needle).any(|(at, _)| {
                let before_ok = text[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric());
                let after_ok = text[at + needle.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric());
                before_ok && after_ok
            })
        })
        .map(|(id, _)| id)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The `@name` being typed at the end of `text` (after a space or at the
/// start), lowercased without the `@`; `Some("")` right after the `@`.
pub fn typed_mention(text: &str) -> Option<String> {
    let start = text.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let token = text[start..].strip_prefix('@')?;
    let valid = token.chars().count() <= 50
        && token
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '\''));
    valid.then(|| token.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_named_after_an_at_are_mentioned() {
        let (aga, adam, ana) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let members = [(aga, "Aga Agent"), (adam, "Adam"), (ana, "Ana")];
        assert_eq!(mentioned("@aga agent and @ADAM, please look", members), {
            let mut both = vec![aga, adam];
            both.sort();
            both
        });
        assert!(mentioned("@Adamant is not Adam", members).is_empty());
        assert!(mentioned("mail adam@ana.test", members).is_empty());
        assert_eq!(mentioned("@Ana @ana", members), vec![ana]);
        assert!(mentioned("Ana without at", members).is_empty());
    }

    #[test]
    fn the_name_being_typed_is_found_at_the_end() {
        assert_eq!(typed_mention("@").as_deref(), Some(""));
        assert_eq!(typed_mention("ask @Ag").as_deref(), Some("ag"));
        assert_eq!(typed_mention("mail a@b"), None);
        assert_eq!(typed_mention("@ag done"), None);
    }
}
