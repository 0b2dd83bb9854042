//! Checks shared by every form: a required text field within its length.

/// Trim a text field and check its length; `what` names it in the error.
pub fn required_text(value: &str, what: &str, max: usize, errors: &mut Vec<String>) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(format!("Enter {what}."));
    } else if value.chars().count() > max {
        errors.push(format!(
            "{} is too long ({max} characters at most).",
            capitalize(what)
        ));
    }
    value.to_owned()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_field_is_trimmed_and_its_problems_named() {
        let mut errors = vec![];
        assert_eq!(required_text("  Acme ", "a name", 10, &mut errors), "Acme");
        assert!(errors.is_empty());
        required_text("   ", "a name", 10, &mut errors);
        required_text("ééééééééééé", "a name", 10, &mut errors);
        assert_eq!(
            errors,
            [
                "Enter a name.",
                "A name is too long (10 characters at most)."
            ]
        );
    }
}
