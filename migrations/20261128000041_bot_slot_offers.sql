-- The free times the bot last offered in a conversation, numbered as it
-- listed them, until the customer picks one or the offer goes stale.

create table bot_slot_offers (
    org_id uuid not null references organizations (id) on delete cascade,
    conversation_id uuid not null,
    -- [{"starts_at": "...", "staff_id": "...", "service_id": "..."}, ...]
    slots jsonb not null,
    expires_at timestamptz not null,
    primary key (org_id, conversation_id),
    foreign key (org_id, conversation_id) references conversations (org_id, id) on delete cascade
);

alter table bot_slot_offers enable row level security;
alter table bot_slot_offers force row level security;
create policy tenant_isolation on bot_slot_offers
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on bot_slot_offers to wacrm_app;
