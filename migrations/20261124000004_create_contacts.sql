-- Contacts and companies, with labels, workspace-defined attributes and notes.
create extension if not exists pg_trgm;
create extension if not exists btree_gin;

-- Phone numbers typed without a country code are read in this country.
alter table organizations add column default_country text
    check (default_country ~ '^[A-Z]{2}$');

create table labels (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null check (length(name) between 1 and 50),
    color text not null check (color ~ '^#[0-9a-f]{6}$'),
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
create unique index labels_org_id_name_key on labels (org_id, lower(name));

create table attribute_definitions (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    entity text not null check (entity in ('contact', 'company')),
    key text not null check (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label text not null check (length(label) between 1 and 60),
    kind text not null check (kind in ('text', 'number', 'date', 'select', 'checkbox')),
    options text[] not null default '{}',
    position integer not null default 0,
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
create unique index attribute_definitions_org_id_entity_key_key
    on attribute_definitions (org_id, entity, key);

create table companies (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null check (length(name) between 1 and 200),
    domain text,
    address text,
    attributes jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    search_text text generated always as (lower(name || ' ' || coalesce(domain, ''))) stored,
    primary key (org_id, id)
);
create index companies_org_id_name_idx on companies (org_id, lower(name), id);
create index companies_search_idx on companies using gin (org_id, search_text gin_trgm_ops);

create table contacts (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null default '',
    phone text check (phone ~ '^\+[1-9][0-9]{5,14}$'),
    email text,
    company_id uuid,
    attributes jsonb not null default '{}'::jsonb,
    opted_out boolean not null default false,
    blocked boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    search_text text generated always as (
        lower(name || ' ' || coalesce(phone, '') || ' ' || coalesce(email, ''))
    ) stored,
    primary key (org_id, id),
    -- Deleting a company keeps its contacts (PostgreSQL 15: only that column).
    foreign key (org_id, company_id) references companies (org_id, id)
        on delete set null (company_id)
);
create unique index contacts_org_id_phone_key on contacts (org_id, phone) where phone is not null;
create unique index contacts_org_id_email_key on contacts (org_id, lower(email)) where email is not null;
create index contacts_org_id_name_idx on contacts (org_id, lower(name), id);
create index contacts_org_id_created_at_idx on contacts (org_id, created_at, id);
create index contacts_org_id_company_id_idx on contacts (org_id, company_id) where company_id is not null;
-- Partial name, phone or email; costs what one workspace's rows cost.
create index contacts_search_idx on contacts using gin (org_id, search_text gin_trgm_ops);
create index contacts_attributes_idx on contacts using gin (org_id, attributes jsonb_path_ops);

create table contact_labels (
    org_id uuid not null,
    contact_id uuid not null,
    label_id uuid not null,
    primary key (org_id, contact_id, label_id),
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete cascade,
    foreign key (org_id, label_id) references labels (org_id, id) on delete cascade
);
create index contact_labels_org_id_label_id_idx on contact_labels (org_id, label_id, contact_id);

create table notes (
    org_id uuid not null,
    id uuid not null,
    contact_id uuid,
    company_id uuid,
    author_id uuid references users (id) on delete set null,
    body text not null check (length(body) between 1 and 10000),
    created_at timestamptz not null default now(),
    primary key (org_id, id),
    check (num_nonnulls(contact_id, company_id) = 1),
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete cascade,
    foreign key (org_id, company_id) references companies (org_id, id) on delete cascade
);
create index notes_contact_idx on notes (org_id, contact_id, created_at) where contact_id is not null;
create index notes_company_idx on notes (org_id, company_id, created_at) where company_id is not null;

alter table labels enable row level security;
alter table labels force row level security;
create policy tenant_isolation on labels
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table attribute_definitions enable row level security;
alter table attribute_definitions force row level security;
create policy tenant_isolation on attribute_definitions
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table companies enable row level security;
alter table companies force row level security;
create policy tenant_isolation on companies
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table contacts enable row level security;
alter table contacts force row level security;
create policy tenant_isolation on contacts
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table contact_labels enable row level security;
alter table contact_labels force row level security;
create policy tenant_isolation on contact_labels
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table notes enable row level security;
alter table notes force row level security;
create policy tenant_isolation on notes
    using (org_id = current_org_id()) with check (org_id = current_org_id());

grant select, insert, update, delete on
    labels, attribute_definitions, companies, contacts, contact_labels, notes
    to wacrm_app;
