/// A password a user chose: at least [`NewPassword::MIN_LEN`] characters and
/// not one of the most common passwords.
pub struct NewPassword(String);

/// The passwords attackers try first (lowercased); a short list on purpose.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "1234567891",
    "1111111111",
    "0000000000",
    "123456789a",
    "a123456789",
    "qwertyuiop",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwerty1234",
    "qwerty12345",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou12",
    "abc1234567",
    "abcd123456",
    "abcdefghij",
    "letmein123",
    "welcome123",
    "football12",
    "baseball12",
    "superman12",
    "princess12",
    "sunshine12",
    "monkey1234",
    "dragon1234",
    "trustno1234",
    "starwars12",
    "whatsapp123",
    "changeme123",
    "administrator",
    "1234qwerasdf",
    "asdfghjkl1",
    "zxcvbnm123",
    "qazwsxedc123",
    "9876543210",
    "987654321a",
    "11223344556",
    "aaaaaaaaaa",
    "passwordpassword",
    "qwertyqwerty",
    "1234512345",
    "12341234",
    "1122334455",
];

impl NewPassword {
    const MIN_LEN: usize = 10;

    pub fn parse(input: &str) -> Result<Self, String> {
        if input.chars().count() < Self::MIN_LEN {
            return Err(format!(
                "Use at least {} characters for your password.",
                Self::MIN_LEN
            ));
        }
        if input.len() > 1024 {
            return Err("That password is too long (1024 bytes at most).".into());
        }
        let lower = input.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err("That password is one of the most common ones; choose another.".into());
        }
        Ok(NewPassword(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::NewPassword;

    #[test]
    fn short_and_common_passwords_are_refused() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("Password123").is_err());
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }
}
