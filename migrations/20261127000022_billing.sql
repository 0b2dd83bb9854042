-- Billing: each workspace's subscription as Stripe last told it, its
-- invoices, and Stripe's events (each processed once).

create table billing_accounts (
    org_id uuid primary key references organizations (id) on delete cascade,
    -- One Stripe customer per workspace, created once and reused.
    stripe_customer_id text unique,
    subscription_id text,
    plan text not null default 'free' check (plan in ('free', 'starter', 'pro')),
    -- Stripe's subscription status (active, past_due, canceled…).
    status text,
    current_period_end timestamptz,
    cancel_at_period_end boolean not null default false,
    -- The Stripe time of the event the state above came from: an older
    -- event arriving later never overwrites it.
    state_at timestamptz,
    -- Orders events of the same second: created, updated, deleted.
    state_rank smallint not null default 0,
    -- A checkout was started and its webhook has not come yet.
    checkout_started_at timestamptz,
    updated_at timestamptz not null default now()
);
alter table billing_accounts enable row level security;
alter table billing_accounts force row level security;
create policy tenant_isolation on billing_accounts
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on billing_accounts to wacrm_app;

-- Stripe's events name a customer, not a workspace: this routes them
-- before any tenant context exists (ids only).
create table billing_customer_routes (
    stripe_customer_id text primary key,
    org_id uuid not null references organizations (id) on delete cascade
);
alter table billing_customer_routes enable row level security;
alter table billing_customer_routes force row level security;
create policy tenant_isolation on billing_customer_routes
    using (org_id = current_org_id()) with check (org_id = current_org_id());
-- An event names its customer: that one route, and only it, is readable.
create policy event_lookup on billing_customer_routes for select
    using (stripe_customer_id = nullif(current_setting('app.stripe_customer', true), ''));
grant select, insert, delete on billing_customer_routes to wacrm_app;

create table invoices (
    org_id uuid not null references organizations (id) on delete cascade,
    stripe_invoice_id text not null,
    number text,
    status text not null,
    amount_due bigint not null default 0,
    amount_paid bigint not null default 0,
    currency text not null default 'usd',
    hosted_invoice_url text,
    invoice_pdf text,
    created_at timestamptz not null,
    state_at timestamptz not null,
    state_rank smallint not null default 0,
    primary key (org_id, stripe_invoice_id)
);
alter table invoices enable row level security;
alter table invoices force row level security;
create policy tenant_isolation on invoices
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on invoices to wacrm_app;

-- Every Stripe event received, by its id: a redelivery finds it and does
-- nothing more. Not a workspace's row until processed (the job finds the
-- workspace by the event's customer).
create table stripe_events (
    id text primary key,
    type text not null,
    created timestamptz not null,
    payload jsonb not null,
    received_at timestamptz not null default now(),
    processed_at timestamptz
);
grant select, insert, update, delete on stripe_events to wacrm_app;
