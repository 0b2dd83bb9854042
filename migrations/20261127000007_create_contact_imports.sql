-- CSV imports of contacts: the uploaded file, how its columns map to
-- fields, and the progress of the background job that applies it (resumable:
-- each batch commits its rows together with the position it reached).
create table contact_imports (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    created_by uuid references users (id) on delete set null,
    filename text not null,
    csv bytea not null,
    -- The header row.
    columns text[] not null,
    -- One field name (or '' to ignore) per column, set when the import starts.
    mapping text[],
    on_duplicate text not null default 'skip' check (on_duplicate in ('skip', 'update')),
    status text not null default 'mapping'
        check (status in ('mapping', 'queued', 'running', 'done', 'failed')),
    total_rows integer not null,
    -- Rows handled so far, and the byte offset in `csv` where the next starts.
    done_rows integer not null default 0,
    next_byte bigint not null default 0,
    created integer not null default 0,
    updated integer not null default 0,
    skipped integer not null default 0,
    failed integer not null default 0,
    error text,
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    primary key (org_id, id)
);
create index contact_imports_org_id_created_idx on contact_imports (org_id, created_at desc);

create table contact_import_failures (
    org_id uuid not null,
    import_id uuid not null,
    -- 1-based, counting the header as row 1 (as a spreadsheet shows it).
    row_number integer not null,
    reason text not null,
    -- The row as read (an array of its cells).
    raw jsonb not null,
    primary key (org_id, import_id, row_number),
    foreign key (org_id, import_id) references contact_imports (org_id, id) on delete cascade
);

alter table contact_imports enable row level security;
alter table contact_imports force row level security;
create policy tenant_isolation on contact_imports
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table contact_import_failures enable row level security;
alter table contact_import_failures force row level security;
create policy tenant_isolation on contact_import_failures
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on contact_imports, contact_import_failures to wacrm_app;
