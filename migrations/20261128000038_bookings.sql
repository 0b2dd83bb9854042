-- Bookings: the services a workspace offers (with their length), each
-- member's weekly working hours, and appointments. Postgres itself refuses
-- two live bookings of one member that overlap (an exclusion constraint),
-- so no race between two agents (or the bot) can double-book.

create extension if not exists btree_gist;

create table services (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null check (length(name) between 1 and 120),
    duration_minutes integer not null check (duration_minutes between 5 and 720),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
create unique index services_name_key on services (org_id, lower(name));

-- ISO weekdays: 1 is Monday, 7 Sunday; one span per member and day.
create table staff_hours (
    org_id uuid not null references organizations (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    weekday smallint not null check (weekday between 1 and 7),
    starts time not null,
    ends time not null,
    check (ends > starts),
    primary key (org_id, user_id, weekday)
);

create table bookings (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    service_id uuid not null,
    staff_id uuid references users (id) on delete set null,
    contact_id uuid not null,
    conversation_id uuid,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    status text not null default 'booked' check (status in ('booked', 'cancelled')),
    notes text check (length(notes) <= 2000),
    -- The scheduled message that reminds the customer (see scheduled_messages).
    reminder_id uuid,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    primary key (org_id, id),
    check (ends_at > starts_at),
    foreign key (org_id, service_id) references services (org_id, id),
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete cascade,
    foreign key (org_id, conversation_id) references conversations (org_id, id)
        on delete set null (conversation_id),
    constraint bookings_no_overlap exclude using gist (
        org_id with =, staff_id with =, tstzrange(starts_at, ends_at, '[)') with &&
    ) where (status = 'booked')
);
create index bookings_starts_idx on bookings (org_id, starts_at);
create index bookings_contact_idx on bookings (org_id, contact_id);

alter table services enable row level security;
alter table services force row level security;
create policy tenant_isolation on services
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table staff_hours enable row level security;
alter table staff_hours force row level security;
create policy tenant_isolation on staff_hours
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table bookings enable row level security;
alter table bookings force row level security;
create policy tenant_isolation on bookings
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on services, staff_hours, bookings to wacrm_app;
