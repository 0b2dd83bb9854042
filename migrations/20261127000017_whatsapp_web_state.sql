-- The state of a linked-device (WhatsApp Web) session, through the storage
-- interface of the embedded protocol library: identity and Signal keys,
-- sessions, app-state keys, the device itself. One row per item; `value` is
-- sealed by the application (AES-256-GCM, bound to the workspace, channel,
-- space and key), so the table shows no key material. `space` names what a
-- row is (session, prekey, device, ...); `num`, `num2` and `flag` carry the
-- few plain facts the library asks about in bulk (a prekey's id and whether
-- it was uploaded, when a row expires), never secrets.
create table whatsapp_web_state (
    org_id uuid not null,
    channel_id uuid not null,
    space text not null,
    key text not null,
    value bytea not null,
    num bigint,
    num2 bigint,
    flag boolean,
    updated_at timestamptz not null default now(),
    primary key (org_id, channel_id, space, key),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
create index whatsapp_web_state_num_idx on whatsapp_web_state (org_id, channel_id, space, num);
alter table whatsapp_web_state enable row level security;
alter table whatsapp_web_state force row level security;
create policy tenant_isolation on whatsapp_web_state
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on whatsapp_web_state to wacrm_app;
