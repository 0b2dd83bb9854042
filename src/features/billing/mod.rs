//! Subscription billing through Stripe: plans and their limits, Checkout
//! and the customer portal, verified webhooks applied in any order. Off
//! without `STRIPE_SECRET_KEY` (self-hosted): no limits then.

pub mod events;
pub mod lapsed_workspaces;
pub mod limits;
pub mod signature;
pub mod standing;
pub mod stripe_api;
