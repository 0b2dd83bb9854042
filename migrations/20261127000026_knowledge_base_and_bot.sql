-- The workspace's knowledge base: articles or questions and answers the
-- bot answers from, found with Postgres full text search ('simple': no
-- language's stemming, so any language works the same).
create table kb_articles (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    title text not null check (length(title) between 1 and 200),
    body text not null check (length(body) between 1 and 20000),
    search tsvector generated always as (
        setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')
    ) stored,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id)
);
create index kb_articles_search_idx on kb_articles using gin (search);
alter table kb_articles enable row level security;
alter table kb_articles force row level security;
create policy tenant_isolation on kb_articles
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on kb_articles to wacrm_app;

-- The bot of a channel: off, always on, or only outside business hours.
create table bot_settings (
    org_id uuid not null references organizations (id) on delete cascade,
    channel_id uuid not null,
    mode text not null default 'off' check (mode in ('off', 'always', 'outside_hours')),
    -- Answers in one conversation before it hands over to a person.
    max_turns integer not null default 3 check (max_turns between 1 and 20),
    handover_message text not null
        default 'Thanks! A person from our team will answer you here soon.'
        check (length(handover_message) between 1 and 1000),
    updated_at timestamptz not null default now(),
    primary key (org_id, channel_id),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
alter table bot_settings enable row level security;
alter table bot_settings force row level security;
create policy tenant_isolation on bot_settings
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on bot_settings to wacrm_app;

-- The bot's part in a conversation: how many answers it gave, and when it
-- handed over (then it stays quiet there).
alter table conversations
    add column bot_turns integer not null default 0,
    add column bot_handed_over_at timestamptz;

-- A message the bot (or an automation) sent, shown as automated.
alter table messages add column automated boolean not null default false;

-- One bot run per customer message, whatever the job retries: what it did
-- and why (shown on the conversation).
create table bot_runs (
    org_id uuid not null,
    message_id uuid not null,
    conversation_id uuid not null,
    outcome text not null check (outcome in ('answered', 'handed_over', 'skipped')),
    reason text not null default '',
    created_at timestamptz not null default now(),
    primary key (org_id, message_id),
    foreign key (org_id, message_id) references messages (org_id, id) on delete cascade
);
alter table bot_runs enable row level security;
alter table bot_runs force row level security;
create policy tenant_isolation on bot_runs
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on bot_runs to wacrm_app;
