-- Quotes and invoices: drafts are edited freely and carry no number; issuing
-- one gives it the next number of its kind in the workspace (no gaps: see
-- number_sequences), after which it is never deleted, only voided. Amounts
-- are computed in Rust with exact decimals and stored with the lines.

create table sales_documents (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    kind text not null check (kind in ('quote', 'invoice')),
    number bigint check (number > 0),
    state text not null default 'draft'
        check (state in ('draft', 'sent', 'accepted', 'paid', 'void')),
    -- Whom it is for: the contact (gone if the contact is deleted or
    -- erased) and their details as they were when it was made or issued
    -- (an issued document is a record and keeps them).
    contact_id uuid,
    customer_name text not null default '',
    customer_phone text,
    customer_email text,
    conversation_id uuid,
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    issue_date date,
    -- A quote's "valid until", an invoice's "due".
    second_date date,
    notes text check (length(notes) <= 5000),
    subtotal numeric(14, 2) not null default 0,
    discount numeric(14, 2) not null default 0,
    net numeric(14, 2) not null default 0,
    tax numeric(14, 2) not null default 0,
    total numeric(14, 2) not null default 0,
    -- The order an accepted quote became.
    order_id uuid,
    -- SHA-256 of the secret in its share link (anyone with the link may
    -- download the PDF; a new link replaces the old).
    share_token_hash bytea,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    issued_at timestamptz,
    primary key (org_id, id),
    unique (org_id, kind, number),
    check ((state = 'draft') = (number is null)),
    check (kind = 'quote' or state <> 'accepted'),
    check (kind = 'invoice' or state <> 'paid'),
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete set null (contact_id),
    foreign key (org_id, conversation_id) references conversations (org_id, id)
        on delete set null (conversation_id),
    foreign key (org_id, order_id) references orders (org_id, id) on delete set null (order_id)
);
create index sales_documents_kind_idx on sales_documents (org_id, kind, created_at desc);
create index sales_documents_contact_idx on sales_documents (org_id, contact_id);
create unique index sales_documents_share_idx on sales_documents (org_id, share_token_hash)
    where share_token_hash is not null;

create table sales_document_lines (
    org_id uuid not null,
    document_id uuid not null,
    position integer not null,
    product_id uuid,
    description text not null check (length(description) between 1 and 500),
    quantity numeric(10, 3) not null check (quantity > 0),
    unit_price numeric(16, 4) not null check (unit_price >= 0),
    discount_percent numeric(5, 2) not null default 0 check (discount_percent between 0 and 100),
    tax_rate numeric(5, 2) not null default 0 check (tax_rate between 0 and 100),
    gross numeric(14, 2) not null,
    discount numeric(14, 2) not null,
    net numeric(14, 2) not null,
    tax numeric(14, 2) not null,
    total numeric(14, 2) not null,
    primary key (org_id, document_id, position),
    foreign key (org_id, document_id) references sales_documents (org_id, id) on delete cascade,
    foreign key (org_id, product_id) references products (org_id, id) on delete set null (product_id)
);

alter table sales_documents enable row level security;
alter table sales_documents force row level security;
create policy tenant_isolation on sales_documents
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table sales_document_lines enable row level security;
alter table sales_document_lines force row level security;
create policy tenant_isolation on sales_document_lines
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on sales_documents, sales_document_lines to wacrm_app;
