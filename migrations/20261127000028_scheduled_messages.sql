-- Messages a member writes now to go out later ("send later" in the
-- composer). A job due at `send_at` sends each once; until then it can be
-- edited or canceled. When WhatsApp's 24-hour window is closed at that
-- time, the chosen template goes instead, or the row fails with why.
create table scheduled_messages (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    conversation_id uuid not null,
    author_id uuid references users (id) on delete set null,
    body text not null check (length(body) between 1 and 4096),
    send_at timestamptz not null,
    -- The approved template sent instead when the window is closed, with
    -- its body variables in order.
    template_name text check (length(template_name) between 1 and 512),
    template_language text check (length(template_language) between 1 and 15),
    template_values text[] not null default '{}',
    state text not null default 'scheduled'
        check (state in ('scheduled', 'sent', 'canceled', 'failed')),
    -- What happened, in words: why it failed, or that a template went instead.
    reason text not null default '',
    -- The message it became (null again if that message is deleted).
    message_id uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id),
    check ((template_name is null) = (template_language is null)),
    check (message_id is null or state = 'sent'),
    foreign key (org_id, conversation_id) references conversations (org_id, id) on delete cascade,
    foreign key (org_id, message_id) references messages (org_id, id) on delete set null (message_id)
);
-- The workspace's list: upcoming by time, then the recent others.
create index scheduled_messages_org_id_state_send_at_idx
    on scheduled_messages (org_id, state, send_at);
-- A conversation's upcoming ones, beside its composer.
create index scheduled_messages_conversation_idx
    on scheduled_messages (org_id, conversation_id, state, send_at);
alter table scheduled_messages enable row level security;
alter table scheduled_messages force row level security;
create policy tenant_isolation on scheduled_messages
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on scheduled_messages to wacrm_app;
