use std::fmt;

/// A syntactically valid email address, trimmed; compared case-insensitively
/// by the database (`lower(email)` unique index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("Enter your email address.".into());
        }
        if trimmed.len() > 254 || !email_address::EmailAddress::is_valid(trimmed) {
            return Err(format!("“{trimmed}” is not a valid email address."));
        }
        Ok(EmailAddress(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn accepts_and_trims_a_normal_address() {
        assert_eq!(
            EmailAddress::parse("  Ana@Example.com ").map(|e| e.as_str().to_owned()),
            Ok("Ana@Example.com".to_owned())
        );
    }

    #[test]
    fn refuses_garbage_and_empty() {
        assert!(EmailAddress::parse("").is_err());
        assert!(EmailAddress::parse("not-an-email").is_err());
        assert!(EmailAddress::parse("a@").is_err());
    }
}
