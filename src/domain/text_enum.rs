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
