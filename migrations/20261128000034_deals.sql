-- Deals: each workspace's sales pipelines, their stages (in order; a stage
-- may mean won or lost), and the deals moving through them, with a value
-- in a currency (exact decimals), an owner and the contact, company and
-- conversation they came from.

create table pipelines (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null check (length(name) between 1 and 60),
    position integer not null default 0,
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
create unique index pipelines_name_key on pipelines (org_id, lower(name));

create table pipeline_stages (
    org_id uuid not null,
    id uuid not null,
    pipeline_id uuid not null,
    name text not null check (length(name) between 1 and 60),
    position integer not null,
    outcome text not null default 'open' check (outcome in ('open', 'won', 'lost')),
    primary key (org_id, id),
    -- A deal names its pipeline and stage together: the stage must be one
    -- of that pipeline's.
    unique (org_id, pipeline_id, id),
    foreign key (org_id, pipeline_id) references pipelines (org_id, id) on delete cascade
);
create unique index pipeline_stages_name_key on pipeline_stages (org_id, pipeline_id, lower(name));

create table deals (
    org_id uuid not null,
    id uuid not null,
    pipeline_id uuid not null,
    stage_id uuid not null,
    title text not null check (length(title) between 1 and 200),
    value numeric(14, 2) not null default 0 check (value >= 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    expected_close date,
    owner_id uuid references users (id) on delete set null,
    contact_id uuid,
    company_id uuid,
    conversation_id uuid,
    -- Why a deal was lost (required when it moves to a lost stage).
    lost_reason text check (length(lost_reason) <= 500),
    -- When it entered a won or lost stage.
    closed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id),
    foreign key (org_id, pipeline_id, stage_id)
        references pipeline_stages (org_id, pipeline_id, id),
    foreign key (org_id, pipeline_id) references pipelines (org_id, id) on delete cascade,
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete set null (contact_id),
    foreign key (org_id, company_id) references companies (org_id, id) on delete set null (company_id),
    foreign key (org_id, conversation_id) references conversations (org_id, id)
        on delete set null (conversation_id)
);
create index deals_stage_idx on deals (org_id, stage_id, updated_at desc);
create index deals_contact_idx on deals (org_id, contact_id) where contact_id is not null;
create index deals_owner_idx on deals (org_id, owner_id) where owner_id is not null;

alter table pipelines enable row level security;
alter table pipelines force row level security;
create policy tenant_isolation on pipelines
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table pipeline_stages enable row level security;
alter table pipeline_stages force row level security;
create policy tenant_isolation on pipeline_stages
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table deals enable row level security;
alter table deals force row level security;
create policy tenant_isolation on deals
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on pipelines, pipeline_stages, deals to wacrm_app;
