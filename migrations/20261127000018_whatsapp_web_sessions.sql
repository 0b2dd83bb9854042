-- A linked-device channel's session as its owner sees it: waiting for a
-- scan (the current QR, sealed: it carries the device's keys), linked (the
-- number and name), disconnected, logged out from the phone, outdated.
create table whatsapp_web_sessions (
    org_id uuid not null,
    channel_id uuid not null,
    status text not null default 'waiting'
        check (status in ('waiting', 'linked', 'disconnected', 'logged_out', 'outdated', 'expired')),
    qr_sealed bytea,
    qr_expires_at timestamptz,
    -- A pairing code asked for this number instead of a scan.
    pair_phone text check (pair_phone ~ '^[0-9]{6,15}$'),
    pair_code text,
    pair_code_expires_at timestamptz,
    phone text,
    display_name text,
    updated_at timestamptz not null default now(),
    primary key (org_id, channel_id),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
alter table whatsapp_web_sessions enable row level security;
alter table whatsapp_web_sessions force row level security;
create policy tenant_isolation on whatsapp_web_sessions
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on whatsapp_web_sessions to wacrm_app;

-- Which process runs which session: the one socket a linked device may
-- have. A process claims a session whose lease has lapsed and renews it
-- while it runs it; it stops the session if it cannot renew in time, so
-- there is never a second owner. A workspace sees its own rows; the
-- instances' supervisors, which run every workspace's sessions, see all
-- of them in transactions marked `app.whatsapp_web_supervisor`.
create table whatsapp_web_leases (
    channel_id uuid primary key,
    org_id uuid not null,
    -- False once the session is over (logged out, unlinked): nobody runs it.
    wanted boolean not null default true,
    owner uuid,
    lease_until timestamptz,
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
create index whatsapp_web_leases_free_idx on whatsapp_web_leases (lease_until) where wanted;
alter table whatsapp_web_leases enable row level security;
alter table whatsapp_web_leases force row level security;
create policy tenant_isolation on whatsapp_web_leases
    using (org_id = current_org_id()) with check (org_id = current_org_id());
create policy supervisor on whatsapp_web_leases
    using (current_setting('app.whatsapp_web_supervisor', true) = 'on')
    with check (current_setting('app.whatsapp_web_supervisor', true) = 'on');
grant select, insert, update, delete on whatsapp_web_leases to wacrm_app;
