-- AI assist: off until an owner turns it on for the workspace; the
-- workspace may bring its own provider key (sealed) and pick the model.
create table ai_settings (
    org_id uuid primary key references organizations (id) on delete cascade,
    enabled boolean not null default false,
    -- Who turned it on and when (the owner saw what is sent to the provider).
    enabled_by uuid references users (id) on delete set null,
    enabled_at timestamptz,
    -- The workspace's own API key, sealed with the secrets module; null: the
    -- deployment's key.
    api_key_sealed bytea,
    -- null: the deployment's model (`AI_MODEL`).
    model text check (model is null or length(model) between 1 and 100),
    updated_at timestamptz not null default now()
);
alter table ai_settings enable row level security;
alter table ai_settings force row level security;
create policy tenant_isolation on ai_settings
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on ai_settings to wacrm_app;

-- Calls and tokens per workspace per calendar month (UTC). A call is
-- counted before it is made (so concurrent calls cannot pass the plan's
-- allowance together) and given back if the provider fails.
create table ai_usage (
    org_id uuid not null references organizations (id) on delete cascade,
    month date not null check (extract(day from month) = 1),
    calls integer not null default 0 check (calls >= 0),
    prompt_tokens bigint not null default 0,
    completion_tokens bigint not null default 0,
    primary key (org_id, month)
);
alter table ai_usage enable row level security;
alter table ai_usage force row level security;
create policy tenant_isolation on ai_usage
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on ai_usage to wacrm_app;

-- The language an agent reads and writes in: translations of customers'
-- messages go into it.
alter table users add column language text not null default 'en'
    check (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$');
