-- Orders: from a WhatsApp catalogue cart or an accepted quote, numbered
-- per workspace without gaps, moving new → confirmed → fulfilled (or
-- cancelled), the customer told at each change.

-- Per-workspace numbers without gaps (orders; quotes and invoices later):
-- taking one updates this row, which stays locked until the transaction
-- ends, so a rolled-back number is taken again by the next.
create table number_sequences (
    org_id uuid not null references organizations (id) on delete cascade,
    kind text not null check (kind in ('order', 'quote', 'invoice')),
    last_number bigint not null default 0 check (last_number >= 0),
    primary key (org_id, kind)
);

alter table messages drop constraint messages_kind_check;
alter table messages add constraint messages_kind_check check (kind in (
    'text', 'image', 'audio', 'video', 'document', 'sticker', 'location',
    'contacts', 'reaction', 'interactive', 'template', 'note', 'order', 'unknown'));

create table orders (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    number bigint not null check (number > 0),
    source text not null check (source in ('whatsapp', 'quote', 'manual')),
    status text not null default 'new'
        check (status in ('new', 'confirmed', 'fulfilled', 'cancelled')),
    contact_id uuid,
    conversation_id uuid,
    -- The customer's cart message it was made from (one order per message).
    message_id uuid,
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    total numeric(14, 2) not null check (total >= 0),
    note text check (length(note) <= 2000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id),
    unique (org_id, number),
    unique (org_id, message_id),
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete set null (contact_id),
    foreign key (org_id, conversation_id) references conversations (org_id, id)
        on delete set null (conversation_id)
);
create index orders_status_idx on orders (org_id, status, created_at desc);
create index orders_contact_idx on orders (org_id, contact_id) where contact_id is not null;

create table order_lines (
    org_id uuid not null,
    order_id uuid not null,
    position integer not null,
    -- The catalogue's product when the SKU matched one (kept if it goes).
    product_id uuid,
    sku text,
    description text not null check (length(description) between 1 and 500),
    quantity numeric(12, 3) not null check (quantity > 0),
    unit_price numeric(14, 2) not null check (unit_price >= 0),
    line_total numeric(14, 2) not null check (line_total >= 0),
    primary key (org_id, order_id, position),
    foreign key (org_id, order_id) references orders (org_id, id) on delete cascade
);

alter table number_sequences enable row level security;
alter table number_sequences force row level security;
create policy tenant_isolation on number_sequences
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table orders enable row level security;
alter table orders force row level security;
create policy tenant_isolation on orders
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table order_lines enable row level security;
alter table order_lines force row level security;
create policy tenant_isolation on order_lines
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on number_sequences, orders, order_lines to wacrm_app;

-- What an order's status change says when the conversation's 24-hour
-- window is closed: an approved template taking the order number and the
-- status, in that order.
alter table organizations add column order_template_name text,
    add column order_template_language text;
