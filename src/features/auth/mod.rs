//! Passwords and second factors (the random tokens mailed or shown to users
//! are `infra::tokens`).

pub mod password;
pub mod second_factor;
pub mod totp;
