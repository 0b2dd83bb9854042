-- Tables without row-level security say why on the table itself, so the
-- schema shows the reason and a test can hold every such table to having
-- one (tests/app/schema.rs). None of them has an org_id: each is global
-- or system bookkeeping, reached only through the named queries below.

comment on table users is
    'no row-level security: accounts are global, not a workspace''s rows (one person may belong to several workspaces); read by id (the session''s user, or an id held by a workspace''s own rows such as memberships) or by email at sign-in and password reset';

comment on table user_tokens is
    'no row-level security: email verification and password reset links, not tenant data; found only by the SHA-256 of the secret in the link, or by its user''s id to void older links when a new one is sent';

comment on table sessions is
    'no row-level security: sign-in sessions (tower-sessions), not tenant data; found only by the random session id from the cookie, or by its user''s id (the user''s own session list; ending the other sessions at a password change or reset); expired ones are swept';

comment on table rate_limit_hits is
    'no row-level security: fixed-window counters keyed by limit and client address, email or user id, no tenant data; only counted and pruned, never listed';

comment on table jobs is
    'no row-level security: the job queue shared by every workspace; payloads are sealed by the application (AES-256-GCM), rows are only inserted by the code that queues them and claimed and deleted by workers, never read by a request';

comment on table stripe_events is
    'no row-level security: Stripe''s webhook events, not a workspace''s rows until processed; reached only by the event id of a signature-checked webhook and by that event''s job (and deleted by customer id with the workspace)';

comment on table user_recovery_codes is
    'no row-level security: a user''s two-factor recovery codes (SHA-256 only), not tenant data; reached only by the signed-in or signing-in user''s own id';

comment on table remembered_devices is
    'no row-level security: devices a user chose to skip the second factor on (SHA-256 of the cookie''s secret), not tenant data; reached only by that hash with the user''s id, or by the user''s own id';

comment on table _sqlx_migrations is
    'no row-level security: the migrations applied (sqlx), no tenant data; written only by the migrator, and the application role has no grant on it';
