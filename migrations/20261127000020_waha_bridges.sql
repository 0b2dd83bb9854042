-- A linked phone whose session runs on the operator's own WAHA server
-- rather than inside wacrm: its URL, API key and the key WAHA signs its
-- webhooks with (both sealed), and the WAHA session's name. Such a
-- channel has no lease: WAHA holds the socket.
create table waha_bridges (
    org_id uuid not null,
    channel_id uuid not null,
    base_url text not null check (base_url ~ '^https?://'),
    session_name text not null check (session_name ~ '^[A-Za-z0-9_-]{1,64}$'),
    api_key_sealed bytea not null,
    webhook_key_sealed bytea not null,
    -- WAHA's last reported status of the session (SCAN_QR_CODE, WORKING…):
    -- its QR code is asked for only while it shows one.
    waha_status text,
    -- When WAHA made that status event: an older one arriving late (WAHA
    -- retries) is not applied over it.
    waha_status_at timestamptz,
    primary key (org_id, channel_id),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
alter table waha_bridges enable row level security;
alter table waha_bridges force row level security;
create policy tenant_isolation on waha_bridges
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on waha_bridges to wacrm_app;
-- One wacrm phone per WAHA session in a workspace: a second would take the
-- session's webhook from the first.
create unique index waha_bridges_session_key on waha_bridges (org_id, base_url, session_name);
