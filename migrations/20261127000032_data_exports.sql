-- Data exports: an archive of the whole workspace (owners), or of one
-- contact's data (a subject access request), built by a background job
-- into the data dir and kept 7 days.

create table data_exports (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    requested_by uuid references users (id) on delete set null,
    requested_by_email text not null,
    scope text not null check (scope in ('workspace', 'contact')),
    -- The contact of a one-contact export; no foreign key, so erasing the
    -- contact afterwards leaves the record of the export (its file goes).
    contact_id uuid,
    contact_name text not null default '',
    state text not null default 'queued'
        check (state in ('queued', 'running', 'done', 'failed', 'expired')),
    rows_done bigint not null default 0,
    rows_total bigint not null default 0,
    size_bytes bigint,
    -- SHA-256 of the archive file, hex.
    sha256 text,
    error text,
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    expires_at timestamptz,
    primary key (org_id, id),
    check ((scope = 'contact') = (contact_id is not null))
);
create index data_exports_created_idx on data_exports (org_id, created_at desc);

alter table data_exports enable row level security;
alter table data_exports force row level security;
create policy tenant_isolation on data_exports
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on data_exports to wacrm_app;
