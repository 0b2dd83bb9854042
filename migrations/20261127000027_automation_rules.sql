-- Automation without AI: when something happens to a conversation (it is
-- created, a customer writes, writes outside business hours, writes one of
-- some words, or waits N minutes without an answer) and the conditions
-- hold (channel, label, contact attribute), do the actions (reply, label,
-- assign to someone or round-robin, status, priority, mail a member).
create table automation_rules (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null check (length(name) between 1 and 100),
    enabled boolean not null default false,
    trigger text not null check (trigger in
        ('conversation_created', 'message_received', 'outside_hours', 'keywords', 'idle')),
    keywords text[] not null default '{}',
    idle_minutes integer check (idle_minutes between 1 and 10080),
    -- Conditions (null: any).
    channel_id uuid,
    label_id uuid,
    attribute_key text,
    attribute_value text,
    -- What it does: {"send_text", "add_label", "assign" (a user id or
    -- "round_robin"), "set_status", "set_priority", "notify" (a user id)}.
    actions jsonb not null default '{}',
    -- Not again in the same conversation within this (e.g. an away message).
    cooldown_minutes integer check (cooldown_minutes between 1 and 100000),
    -- Round-robin: who got the last conversation.
    last_assignee uuid,
    -- The rules wacrm ships: 'welcome', 'away'.
    builtin text check (builtin in ('welcome', 'away')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id),
    check (trigger <> 'idle' or idle_minutes is not null),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade,
    foreign key (org_id, label_id) references labels (org_id, id) on delete cascade
);
create unique index automation_rules_builtin_key on automation_rules (org_id, builtin)
    where builtin is not null;
alter table automation_rules enable row level security;
alter table automation_rules force row level security;
create policy tenant_isolation on automation_rules
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on automation_rules to wacrm_app;

-- Each rule runs once per occasion (`occasion`: the customer's message id,
-- or the idle wait's start), whatever retries; the log on the conversation.
create table automation_runs (
    org_id uuid not null,
    rule_id uuid not null,
    occasion text not null,
    conversation_id uuid not null,
    rule_name text not null,
    done text not null,
    created_at timestamptz not null default now(),
    primary key (org_id, rule_id, occasion),
    foreign key (org_id, rule_id) references automation_rules (org_id, id) on delete cascade,
    foreign key (org_id, conversation_id) references conversations (org_id, id) on delete cascade
);
create index automation_runs_conversation_idx
    on automation_runs (org_id, conversation_id, created_at desc);
alter table automation_runs enable row level security;
alter table automation_runs force row level security;
create policy tenant_isolation on automation_runs
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on automation_runs to wacrm_app;

-- Members say whether they take conversations now; round-robin skips the
-- away ones.
alter table memberships add column available boolean not null default true;

-- The idle sweep finds waiting conversations across workspaces (only
-- which, not their content).
create policy automation_sweeper on automation_rules for select
    using (current_setting('app.automation_sweeper', true) = 'on');
