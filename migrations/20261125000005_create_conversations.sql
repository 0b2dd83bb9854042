-- Channels, conversations and messages: the inbox. Channel-agnostic: a
-- channel kind only delivers and sends; everything else is shared.

-- Whether agents see every conversation or only theirs and the unassigned.
alter table organizations add column agents_see text not null default 'all'
    check (agents_see in ('all', 'assigned'));

create table channels (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    kind text not null check (kind in ('sandbox', 'whatsapp_cloud', 'whatsapp_web')),
    name text not null check (length(name) between 1 and 100),
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
-- One sandbox per workspace.
create unique index channels_one_sandbox_key on channels (org_id) where kind = 'sandbox';

create table conversations (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    channel_id uuid not null,
    contact_id uuid not null,
    status text not null default 'open'
        check (status in ('open', 'pending', 'snoozed', 'resolved')),
    snoozed_until timestamptz,
    assignee_id uuid references users (id) on delete set null,
    priority text not null default 'none'
        check (priority in ('none', 'low', 'medium', 'high', 'urgent')),
    last_message_at timestamptz not null default now(),
    -- The customer's last message: WhatsApp's 24-hour window starts there.
    last_inbound_at timestamptz,
    last_message_preview text not null default '',
    -- Counts inbound messages; a member's unread = this minus what they read.
    inbound_count bigint not null default 0,
    created_at timestamptz not null default now(),
    primary key (org_id, id),
    check ((status = 'snoozed') = (snoozed_until is not null)),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade,
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete cascade
);
-- At most one unresolved conversation per contact and channel: messages
-- land there; after it is resolved the next message starts a new one.
create unique index conversations_one_active_key on conversations (org_id, channel_id, contact_id)
    where status <> 'resolved';
create index conversations_org_id_last_message_idx
    on conversations (org_id, last_message_at desc, id desc);
create index conversations_org_id_status_idx
    on conversations (org_id, status, last_message_at desc, id desc);
create index conversations_org_id_assignee_idx
    on conversations (org_id, assignee_id, last_message_at desc, id desc);
create index conversations_org_id_contact_idx on conversations (org_id, contact_id, created_at desc);

create table conversation_labels (
    org_id uuid not null,
    conversation_id uuid not null,
    label_id uuid not null,
    primary key (org_id, conversation_id, label_id),
    foreign key (org_id, conversation_id) references conversations (org_id, id) on delete cascade,
    foreign key (org_id, label_id) references labels (org_id, id) on delete cascade
);
create index conversation_labels_org_id_label_idx on conversation_labels (org_id, label_id, conversation_id);

-- How far each member has read each conversation.
create table conversation_reads (
    org_id uuid not null,
    conversation_id uuid not null,
    user_id uuid not null references users (id) on delete cascade,
    read_count bigint not null default 0,
    primary key (org_id, conversation_id, user_id),
    foreign key (org_id, conversation_id) references conversations (org_id, id) on delete cascade
);

create table messages (
    org_id uuid not null,
    id uuid not null,
    conversation_id uuid not null,
    channel_id uuid not null,
    direction text not null check (direction in ('in', 'out')),
    kind text not null check (kind in (
        'text', 'image', 'audio', 'video', 'document', 'sticker', 'location',
        'contacts', 'reaction', 'interactive', 'template', 'note', 'unknown')),
    body text not null default '',
    -- {"url"|"id", "mime_type", "filename", "caption", ...} as the channel gives it.
    media jsonb,
    sender_kind text not null check (sender_kind in ('contact', 'member', 'bot')),
    sender_user_id uuid references users (id) on delete set null,
    -- Private notes stay in wacrm: never sent.
    private boolean not null default false,
    provider_message_id text,
    status text not null default 'queued'
        check (status in ('queued', 'sent', 'delivered', 'read', 'failed', 'received')),
    error text,
    -- Anything the channel sent that wacrm does not model, kept as given.
    raw jsonb,
    created_at timestamptz not null default now(),
    search_tsv tsvector generated always as (to_tsvector('simple', body)) stored,
    primary key (org_id, id),
    foreign key (org_id, conversation_id) references conversations (org_id, id) on delete cascade,
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
-- The key that makes delivery idempotent: a provider id is stored once per channel.
create unique index messages_provider_id_key on messages (org_id, channel_id, provider_message_id)
    where provider_message_id is not null;
create index messages_conversation_idx on messages (org_id, conversation_id, created_at desc, id desc);
-- Message search costs what one workspace's messages cost.
create index messages_search_tsv_idx on messages using gin (org_id, search_tsv);
create index messages_search_trgm_idx on messages using gin (org_id, lower(body) gin_trgm_ops);

-- Delivery status only moves forward (failed is final and comes from any
-- unsent or sent state).
create function message_status_rank(status text) returns integer
    language sql immutable parallel safe
    return case status
        when 'queued' then 0 when 'sent' then 1 when 'delivered' then 2
        when 'read' then 3 when 'failed' then 4 when 'received' then 5 end;
-- Read is final too: a late failure report does not undo it (see DeliveryStatus::may_become).

create table note_mentions (
    org_id uuid not null,
    message_id uuid not null,
    user_id uuid not null references users (id) on delete cascade,
    primary key (org_id, message_id, user_id),
    foreign key (org_id, message_id) references messages (org_id, id) on delete cascade
);

create table canned_replies (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    shortcode text not null check (shortcode ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    body text not null check (length(body) between 1 and 4096),
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
create unique index canned_replies_org_id_shortcode_key on canned_replies (org_id, shortcode);

alter table channels enable row level security;
alter table channels force row level security;
create policy tenant_isolation on channels
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table conversations enable row level security;
alter table conversations force row level security;
create policy tenant_isolation on conversations
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table conversation_labels enable row level security;
alter table conversation_labels force row level security;
create policy tenant_isolation on conversation_labels
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table conversation_reads enable row level security;
alter table conversation_reads force row level security;
create policy tenant_isolation on conversation_reads
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table messages enable row level security;
alter table messages force row level security;
create policy tenant_isolation on messages
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table note_mentions enable row level security;
alter table note_mentions force row level security;
create policy tenant_isolation on note_mentions
    using (org_id = current_org_id()) with check (org_id = current_org_id());

alter table canned_replies enable row level security;
alter table canned_replies force row level security;
create policy tenant_isolation on canned_replies
    using (org_id = current_org_id()) with check (org_id = current_org_id());

grant select, insert, update, delete on
    channels, conversations, conversation_labels, conversation_reads, messages,
    note_mentions, canned_replies
    to wacrm_app;
grant execute on function message_status_rank(text) to wacrm_app;
