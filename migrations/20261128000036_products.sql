-- Products: each workspace's catalogue, with an exact price in a currency
-- and a tax rate. The SKU is what WhatsApp Cloud API catalogue order
-- messages send as `product_retailer_id`: matched exactly (case-sensitive),
-- so it is unique per workspace as typed. Archived products (`active`
-- false) keep their row for the orders that name them.

create table products (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null check (length(name) between 1 and 200),
    sku text check (sku = btrim(sku) and length(sku) between 1 and 64),
    description text not null default '' check (length(description) <= 2000),
    price numeric(14, 2) not null check (price >= 0),
    tax_rate numeric(5, 2) not null default 0 check (tax_rate between 0 and 100),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id),
    -- Several products may have no SKU (nulls are distinct).
    constraint products_sku_key unique (org_id, sku)
);
create index products_name_idx on products (org_id, lower(name), id);

alter table products enable row level security;
alter table products force row level security;
create policy tenant_isolation on products
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on products to wacrm_app;
