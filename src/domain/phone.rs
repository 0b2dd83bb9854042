use std::fmt;
use std::str::FromStr;

/// A phone number in E.164 (`+` and up to 15 digits), parsed with the
/// workspace's default country for numbers typed without a country code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneE164(String);

/// An ISO 3166 alpha-2 region the phone number parser knows (`DE`, `BR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub fn parse(input: &str) -> Result<Country, String> {
        let code = input.trim().to_ascii_uppercase();
        phonenumber::country::Id::from_str(&code)
            .map(Country)
            .map_err(|_| {
                format!(
                    "“{}” is not a country code (two letters, like DE or BR).",
                    input.trim()
                )
            })
    }

    pub fn code(&self) -> String {
        self.0.as_ref().to_owned()
    }
}

impl PhoneE164 {
    /// `+49 30 1234567`, `0030 ...`, or a national number when `country` is set.
    pub fn parse(input: &str, country: Option<Country>) -> Result<PhoneE164, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("Enter a phone number.".into());
        }
        let invalid = || match country {
            Some(c) => format!(
                "“{trimmed}” is not a valid phone number (numbers without a country code are read as {}).",
                c.code()
            ),
            None => format!(
                "“{trimmed}” is not a valid phone number: start it with + and the country code, or set the workspace's country in settings."
            ),
        };
        if trimmed.len() > 40 {
            return Err(invalid());
        }
        let number = phonenumber::parse(country.map(|c| c.0), trimmed).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid());
        }
        Ok(PhoneE164(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Option<Country> {
        Country::parse("de").ok()
    }

    #[test]
    fn normalizes_international_and_national_forms() {
        for input in [
            "+49 30 901820",
            "+49 (0)30-901820",
            "030 901820",
            "0049 30 901820",
        ] {
            assert_eq!(
                PhoneE164::parse(input, de()).map(|p| p.to_string()),
                Ok("+4930901820".to_owned()),
                "{input}"
            );
        }
        assert_eq!(
            PhoneE164::parse("+1 (415) 555-2671", None).map(|p| p.to_string()),
            Ok("+14155552671".to_owned())
        );
    }

    #[test]
    fn refuses_garbage_and_explains_the_country() {
        assert!(PhoneE164::parse("", de()).is_err());
        assert!(PhoneE164::parse("hello", de()).is_err());
        assert!(PhoneE164::parse("+49 1", de()).is_err());
        let without_country = PhoneE164::parse("030 901820", None)
            .err()
            .unwrap_or_default();
        assert!(without_country.contains("country"), "{without_country}");
    }

    #[test]
    fn countries_are_two_known_letters() {
        assert_eq!(
            Country::parse(" br ").map(|c| c.code()),
            Ok("BR".to_owned())
        );
        assert!(Country::parse("XX").is_err());
        assert!(Country::parse("Germany").is_err());
    }
}
