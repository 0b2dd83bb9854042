//! Passwords and the random tokens mailed or shown to users.

pub mod password;
pub mod tokens;
