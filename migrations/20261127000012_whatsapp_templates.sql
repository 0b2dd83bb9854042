-- Message templates of a Cloud API number's business account, as last
-- synced from the Graph API: outside the 24-hour window only approved ones
-- can be sent.
create table whatsapp_templates (
    org_id uuid not null references organizations (id) on delete cascade,
    channel_id uuid not null,
    name text not null,
    language text not null,
    category text not null default '',
    status text not null,
    -- The BODY component's text, with {{1}}, {{2}} ... placeholders.
    body text not null default '',
    variables integer not null default 0 check (variables between 0 and 100),
    -- Placeholders outside the body (header media, URL buttons): not sendable
    -- from the inbox yet.
    other_parameters boolean not null default false,
    components jsonb not null default '[]',
    synced_at timestamptz not null default now(),
    primary key (org_id, channel_id, name, language),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
alter table whatsapp_templates enable row level security;
alter table whatsapp_templates force row level security;
create policy tenant_isolation on whatsapp_templates
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on whatsapp_templates to wacrm_app;
