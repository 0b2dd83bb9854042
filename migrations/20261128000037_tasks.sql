-- Tasks: to-dos and calls with a due time, an assignee and the contact or
-- deal they are about; a reminder goes out at the due time (once per due
-- time: `reminded_for` holds the one it went out for). In-app notifications
-- are what a member is told while away (a task's reminder, for now).

create table tasks (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    kind text not null default 'todo' check (kind in ('todo', 'call')),
    title text not null check (length(title) between 1 and 200),
    details text check (length(details) <= 5000),
    due_at timestamptz,
    assignee_id uuid references users (id) on delete set null,
    created_by uuid references users (id) on delete set null,
    contact_id uuid,
    deal_id uuid,
    done_at timestamptz,
    reminded_for timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id),
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete set null (contact_id),
    foreign key (org_id, deal_id) references deals (org_id, id) on delete set null (deal_id)
);
create index tasks_open_due_idx on tasks (org_id, assignee_id, due_at) where done_at is null;
create index tasks_contact_idx on tasks (org_id, contact_id) where contact_id is not null;
create index tasks_deal_idx on tasks (org_id, deal_id) where deal_id is not null;

create table user_notifications (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    user_id uuid not null references users (id) on delete cascade,
    title text not null check (length(title) between 1 and 300),
    link text not null check (link like '/%'),
    created_at timestamptz not null default now(),
    read_at timestamptz,
    primary key (org_id, id)
);
create index user_notifications_user_idx on user_notifications (org_id, user_id, created_at desc);

alter table tasks enable row level security;
alter table tasks force row level security;
create policy tenant_isolation on tasks
    using (org_id = current_org_id()) with check (org_id = current_org_id());
alter table user_notifications enable row level security;
alter table user_notifications force row level security;
create policy tenant_isolation on user_notifications
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on tasks, user_notifications to wacrm_app;
