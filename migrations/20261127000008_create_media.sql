-- Files that came with messages (a sandbox customer's image; later media
-- fetched from WhatsApp), kept in Postgres so every instance can serve them.
create table media (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    content_type text not null,
    filename text not null default '',
    bytes bytea not null,
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
alter table media enable row level security;
alter table media force row level security;
create policy tenant_isolation on media
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on media to wacrm_app;
