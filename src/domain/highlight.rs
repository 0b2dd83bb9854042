//! Marking the searched words in a result, and cutting a long text down to
//! the part around the first of them. The template escapes every piece; no
//! markup is built from user text.

/// A piece of text, matched or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

/// Characters kept around the first hit when a text is cut.
const SNIPPET_CHARS: usize = 180;
const CONTEXT_BEFORE: usize = 50;

/// The words of a search box entry (letters and digits), lowercased.
pub fn terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

/// `text` split into fragments where any term occurs (case-insensitively),
/// cut to a snippet around the first hit when it is long.
pub fn highlight(text: &str, terms: &[String]) -> Vec<Fragment> {
    let chars: Vec<char> = text.chars().collect();
    let mut hit = vec![false; chars.len()];
    for term in terms {
        let term: Vec<char> = term.chars().collect();
        for start in 0..chars.len() {
            if let Some(len) = match_at(&chars[start..], &term) {
                hit[start..start + len].iter_mut().for_each(|h| *h = true);
            }
        }
    }
    let (from, to) = window(&hit);
    let mut fragments: Vec<Fragment> = Vec::new();
    if from > 0 {
        fragments.push(Fragment {
            text: "…".into(),
            hit: false,
        });
    }
    for i in from..to {
        match fragments.last_mut() {
            Some(last) if last.hit == hit[i] && !(i == from && from > 0) => {
                last.text.push(chars[i])
            }
            _ => fragments.push(Fragment {
                text: chars[i].to_string(),
                hit: hit[i],
            }),
        }
    }
    if to < chars.len() {
        fragments.push(Fragment {
            text: "…".into(),
            hit: false,
        });
    }
    fragments
}

/// How many characters of `text` match `term` from its start, comparing
/// lowercased; `None` if it does not match there.
fn match_at(text: &[char], term: &[char]) -> Option<usize> {
    if term.is_empty() {
        return None;
    }
    let mut wanted = term.iter().peekable();
    for (used, c) in text.iter().enumerate() {
        for lower in c.to_lowercase() {
            if wanted.next() != Some(&lower) {
                return None;
            }
        }
        if wanted.peek().is_none() {
            return Some(used + 1);
        }
    }
    None
}

/// The char range shown: all of a short text, else a window that starts a
/// little before the first hit.
fn window(hit: &[bool]) -> (usize, usize) {
    if hit.len() <= SNIPPET_CHARS {
        return (0, hit.len());
    }
    let first = hit.iter().position(|h| *h).unwrap_or(0);
    let from = first.saturating_sub(CONTEXT_BEFORE);
    let to = (from + SNIPPET_CHARS).min(hit.len());
    (to.saturating_sub(SNIPPET_CHARS), to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(fragments: &[Fragment]) -> String {
        fragments
            .iter()
            .map(|f| {
                if f.hit {
                    format!("[{}]", f.text)
                } else {
                    f.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn terms_are_the_lowercased_words() {
        assert_eq!(
            terms(" Entrega, RECIFE! entrega "),
            vec!["entrega", "recife"]
        );
        assert!(terms(" ,. ").is_empty());
    }

    #[test]
    fn every_occurrence_is_marked_whatever_the_case() {
        let t = terms("recife ship");
        assert_eq!(
            marked(&highlight("Do you SHIP to Recife? Shipping to recife.", &t)),
            "Do you [SHIP] to [Recife]? [Ship]ping to [recife]."
        );
        assert_eq!(marked(&highlight("nothing here", &t)), "nothing here");
        assert_eq!(
            marked(&highlight("Straße und STRASSE", &terms("straße"))),
            "[Straße] und STRASSE"
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_hit() {
        let text = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let out = marked(&highlight(&text, &terms("needle")));
        assert!(out.starts_with('…') && out.ends_with('…'));
        assert!(out.contains("[needle]"));
        assert!(out.chars().count() <= SNIPPET_CHARS + 4);
    }
}
