//! `text_enum!`: a closed set of values stored as `text` (a column with a
//! `check (x in (...))`), typed in Rust. One list of `Variant = "text"`
//! pairs gives the enum, its `as_str`/`parse`/`ALL`, `Display` (templates
//! print it) and the `sqlx::Type`/serde derives, so the stored and the
//! serialized strings stay the ones the column and the API always had.

/// Declares a text-backed enum; see the module doc. The strings must be the
/// snake_case of the variant names (what the derives use): the
/// `text_enum_tests!` test of each enum checks it.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize,
            serde::Deserialize,
        )]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and serialized) string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value stored as `input`; `None` for anything else.
            pub fn parse(input: &str) -> Option<$name> {
                match input {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A test that each value of these enums round-trips through `parse` and
/// that the derives (serde's snake_case, the same rule sqlx's) spell it as
/// `as_str` does.
#[cfg(test)]
macro_rules! text_enum_tests {
    ($($name:ident),+ $(,)?) => {
        #[test]
        fn stored_strings_round_trip() {
            $(
                for value in $name::ALL {
                    assert_eq!($name::parse(value.as_str()), Some(*value));
                    assert_eq!(
                        serde_json::to_value(value).ok(),
                        Some(serde_json::Value::from(value.as_str())),
                        "{} spells {:?} differently", stringify!($name), value
                    );
                }
                assert_eq!($name::parse("no such value"), None);
            )+
        }
    };
}

/// Declares an enum of the values a provider (Stripe, Meta) documents for a
/// field it owns, stored as `text` as the provider sent it. Unlike
/// `text_enum!` the set is open: the provider may add a value before wacrm
/// knows it, so anything else is `Other` with the text kept (shown as
/// given, treated as none of the known ones) rather than an error.
/// Matching ignores ASCII case (Meta spells `APPROVED`, Stripe `active`).
macro_rules! provider_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of wacrm does not know, as given.
            Other(String),
        }

        impl $name {
            /// The provider's value; an unknown one is kept as `Other`.
            pub fn parse(input: &str) -> $name {
                $(
                    if input.eq_ignore_ascii_case($text) {
                        return $name::$variant;
                    }
                )+
                $name::Other(input.to_owned())
            }

            /// The provider's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <&str as sqlx::Decode<sqlx::Postgres>>::decode(value).map($name::parse)
            }
        }
    };
}
