-- The workspace's audit log: who did what, when, from where. Append-only
-- for the application (it may only insert and read), and tamper-evident:
-- each entry carries the hash of the one before it in its workspace, so an
-- entry changed or removed directly in the database breaks the chain at
-- that point (see `crate::audit`).
create table audit_log (
    org_id uuid not null references organizations (id) on delete cascade,
    -- 1, 2, 3... per workspace, without gaps.
    seq bigint not null check (seq > 0),
    at timestamptz not null,
    -- Who: a member (their id and email as it was then), or no one (wacrm
    -- itself, Stripe, a customer's message).
    actor_id uuid,
    actor_email text,
    ip text,
    -- What: e.g. 'sign_in', 'member.role_changed'; about what, in words.
    action text not null check (action ~ '^[a-z_]+(\.[a-z_]+)*$'),
    target text not null default '',
    details jsonb not null default '{}',
    -- Hex SHA-256 of the previous entry (64 zeros for the first) and of
    -- this one (see `crate::audit::hash`).
    prev_hash text not null check (prev_hash ~ '^[0-9a-f]{64}$'),
    hash text not null check (hash ~ '^[0-9a-f]{64}$'),
    primary key (org_id, seq)
);
create index audit_log_org_id_action_idx on audit_log (org_id, action, seq desc);
create index audit_log_org_id_actor_idx on audit_log (org_id, actor_id, seq desc);
alter table audit_log enable row level security;
alter table audit_log force row level security;
create policy tenant_isolation on audit_log
    using (org_id = current_org_id()) with check (org_id = current_org_id());
-- No update or delete for the application: nobody edits the log in wacrm.
grant select, insert on audit_log to wacrm_app;
