-- Broadcast campaigns: a message to a segment of contacts, each recipient
-- sent once, with their state followed from the message's delivery.

-- A customer who answers one of these words (the whole message, any case)
-- is opted out and told so; one of the opt-in words opts them back in.
alter table organizations
    add column opt_out_words text[] not null
        default '{STOP,UNSUBSCRIBE,PARAR,SAIR,CANCELAR,BAJA,ARRET,ARRÊT,STOPP}',
    add column opt_out_reply text not null
        default 'You will get no more messages like this from us. Reply START to receive them again.'
        check (length(opt_out_reply) between 1 and 1000),
    add column opt_in_words text[] not null default '{START,UNSTOP,VOLTAR,ALTA}';

create table campaigns (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null check (length(name) between 1 and 100),
    channel_id uuid not null,
    -- The segment: contacts with any of these labels (none: everyone),
    -- this attribute value, who wrote within / not for N days.
    label_ids uuid[] not null default '{}',
    attribute_key text,
    attribute_value text,
    wrote_within_days integer check (wrote_within_days between 1 and 3650),
    silent_for_days integer check (silent_for_days between 1 and 3650),
    -- Cloud API numbers: an approved template, its body variables mapped
    -- to contact fields ([{"source": "first_name"|"name"|"phone"|"email"|
    -- "company"|"attribute"|"text", "key": ..., "text": ...}]).
    template_name text,
    template_language text,
    variables jsonb not null default '[]',
    -- Linked phones and the sandbox: a text with {{first_name}}, {{name}}.
    body text check (length(body) <= 4096),
    -- Messages handed to the send queue per minute.
    rate_per_minute integer not null check (rate_per_minute between 1 and 600000),
    state text not null default 'draft'
        check (state in ('draft', 'scheduled', 'running', 'paused', 'done', 'canceled')),
    -- Why it paused or slowed, for the page.
    state_reason text,
    scheduled_at timestamptz,
    started_at timestamptz,
    -- The rate is kept from here: the last start or resume, and how many
    -- were handed to the send queue since.
    resumed_at timestamptz,
    queued_since_resume integer not null default 0,
    -- Each start or resume makes a new dispatch job; an older one stops.
    dispatch_run integer not null default 0,
    finished_at timestamptz,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, id),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
create index campaigns_org_id_created_at_idx on campaigns (org_id, created_at desc);
alter table campaigns enable row level security;
alter table campaigns force row level security;
create policy tenant_isolation on campaigns
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on campaigns to wacrm_app;

-- The segment as it was when the campaign started: later changes to
-- contacts do not change who gets it. `position` is the sending order.
create table campaign_recipients (
    org_id uuid not null,
    campaign_id uuid not null,
    contact_id uuid not null,
    position integer not null,
    phone text,
    state text not null default 'pending' check (state in
        ('pending', 'queued', 'sent', 'delivered', 'read', 'replied', 'failed', 'skipped')),
    reason text,
    message_id uuid,
    queued_at timestamptz,
    sent_at timestamptz,
    delivered_at timestamptz,
    read_at timestamptz,
    replied_at timestamptz,
    failed_at timestamptz,
    primary key (org_id, campaign_id, contact_id),
    foreign key (org_id, campaign_id) references campaigns (org_id, id) on delete cascade,
    -- Erasing a contact erases what the campaign knew of them.
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete cascade
);
create index campaign_recipients_next_idx
    on campaign_recipients (org_id, campaign_id, position) where state = 'pending';
create unique index campaign_recipients_position_key
    on campaign_recipients (org_id, campaign_id, position);
create index campaign_recipients_state_idx on campaign_recipients (org_id, campaign_id, state);
-- How many were handed over in the last minute (the rate's limit).
create index campaign_recipients_queued_at_idx
    on campaign_recipients (org_id, campaign_id, queued_at) where queued_at is not null;
create index campaign_recipients_message_idx
    on campaign_recipients (org_id, message_id) where message_id is not null;
-- A customer's message marks their recent campaign messages replied.
create index campaign_recipients_awaiting_reply_idx
    on campaign_recipients (org_id, contact_id) where state in ('sent', 'delivered', 'read');
alter table campaign_recipients enable row level security;
alter table campaign_recipients force row level security;
create policy tenant_isolation on campaign_recipients
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on campaign_recipients to wacrm_app;

-- A recipient's state follows its message's delivery status, whichever
-- path moves it (the sender, a webhook report, a linked phone's ack). It
-- only moves forward: pending, queued, sent, delivered, read, replied;
-- failed from queued or sent.
create function campaign_recipient_follows_message() returns trigger
language plpgsql as $$
declare
    steps constant text[] := array['pending', 'queued', 'sent', 'delivered', 'read', 'replied'];
begin
    if new.direction <> 'out' or new.status is not distinct from old.status then
        return null;
    end if;
    update campaign_recipients r set
        state = new.status,
        reason = case when new.status = 'failed' then new.error else r.reason end,
        sent_at = case when new.status in ('sent', 'delivered', 'read')
                       then coalesce(r.sent_at, now()) else r.sent_at end,
        delivered_at = case when new.status in ('delivered', 'read')
                            then coalesce(r.delivered_at, now()) else r.delivered_at end,
        read_at = case when new.status = 'read' then now() else r.read_at end,
        failed_at = case when new.status = 'failed' then now() else r.failed_at end
    where r.org_id = new.org_id and r.message_id = new.id
      and case when new.status = 'failed' then r.state in ('queued', 'sent')
               else array_position(steps, new.status) > array_position(steps, r.state) end;
    return null;
end
$$;
create trigger campaign_recipient_follows_message
    after update of status on messages
    for each row execute function campaign_recipient_follows_message();

-- A campaign's start adds its whole segment at once; until autovacuum
-- analyzes the table (a minute or more later), plans made for the old
-- statistics can crawl. The start job refreshes them itself, as the
-- table's owner (the application's role may not analyze).
create function analyze_campaign_recipients() returns void
language plpgsql security definer set search_path = public as $$
begin
    analyze campaign_recipients;
end
$$;
revoke all on function analyze_campaign_recipients() from public;
grant execute on function analyze_campaign_recipients() to wacrm_app;
