//! Subscription billing through Stripe: the plans' limits checked (the plans
//! are `domain::plan`), Checkout and the customer portal, verified webhooks
//! applied in any order, lapsed workspaces swept (a workspace's standing is
//! read with its tenant context, `infra::tenancy::standing`). Off without
//! `STRIPE_SECRET_KEY` (self-hosted): no limits then.

pub mod events;
pub mod lapsed_workspaces;
pub mod limits;
pub mod signature;
pub mod stripe_api;
