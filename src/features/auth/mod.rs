//! Passwords, second factors and the random tokens mailed or shown to users.

pub mod password;
pub mod second_factor;
pub mod tokens;
pub mod totp;
