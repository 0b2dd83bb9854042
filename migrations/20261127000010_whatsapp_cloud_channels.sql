-- WhatsApp Cloud API channels: what connects a workspace's number to Meta.
-- The access token and the app secret are sealed by the application
-- (AES-256-GCM, the workspace and purpose bound in); the verify token is
-- shown to the owner to paste into Meta's dashboard, so it is kept readable.
alter table channels
    add column enabled boolean not null default true,
    add column phone_number_id text,
    add column waba_id text,
    add column access_token_sealed bytea,
    add column app_secret_sealed bytea,
    add column verify_token text,
    -- What "check connection" last read from the Graph API.
    add column display_name text,
    add constraint channels_cloud_settings check (
        kind <> 'whatsapp_cloud' or (
            phone_number_id ~ '^[0-9]{1,32}$' and waba_id ~ '^[0-9]{1,32}$'
            and access_token_sealed is not null and app_secret_sealed is not null
            and length(verify_token) >= 32));
-- One channel per number in a workspace.
create unique index channels_phone_number_id_key on channels (org_id, phone_number_id)
    where kind = 'whatsapp_cloud';

-- Webhook deliveries name only the channel: this routes them to its
-- workspace before any tenant context exists (no secrets here; the
-- signature is checked with the channel's own app secret afterwards).
create table channel_routes (
    channel_id uuid primary key,
    org_id uuid not null,
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
alter table channel_routes enable row level security;
alter table channel_routes force row level security;
create policy tenant_isolation on channel_routes
    using (org_id = current_org_id()) with check (org_id = current_org_id());
-- A delivery names its channel: that one route, and only it, is readable.
create policy webhook_lookup on channel_routes for select
    using (channel_id = nullif(current_setting('app.webhook_channel_id', true), '')::uuid);
grant select, insert, delete on channel_routes to wacrm_app;

-- A delivery report for a message whose provider id is not known yet (the
-- send's answer and Meta's webhook race): applied when the id is recorded.
create table pending_statuses (
    org_id uuid not null references organizations (id) on delete cascade,
    channel_id uuid not null,
    provider_message_id text not null,
    status text not null check (status in ('sent', 'delivered', 'read', 'failed')),
    error text,
    received_at timestamptz not null default now(),
    primary key (org_id, channel_id, provider_message_id, status),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
alter table pending_statuses enable row level security;
alter table pending_statuses force row level security;
create policy tenant_isolation on pending_statuses
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on pending_statuses to wacrm_app;

-- Set (and committed) just before a message is handed to a provider: after
-- a crash or a lost answer, the next attempt knows the provider may already
-- have it, and waits for its delivery report instead of sending it again.
alter table messages add column send_attempted_at timestamptz;
