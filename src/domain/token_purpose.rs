//! What a single-purpose link mailed to a user is for.

use time::Duration;

text_enum! {
    /// `user_tokens.purpose`.
    pub enum TokenPurpose {
        VerifyEmail = "verify_email",
        ResetPassword = "reset_password",
    }
}

impl TokenPurpose {
    /// How long a link of this purpose stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::VerifyEmail => Duration::hours(24),
            TokenPurpose::ResetPassword => Duration::hours(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(TokenPurpose);
}
