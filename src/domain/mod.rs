//! Values with rules, parsed once at the edge.

mod email;
mod password;
mod role;

pub use email::EmailAddress;
pub use password::NewPassword;
pub use role::Role;
