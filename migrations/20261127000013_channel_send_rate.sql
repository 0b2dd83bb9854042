-- Sends per channel in the current second, shared by every instance: a
-- number's throughput limit holds across processes.
create table channel_send_rate (
    org_id uuid not null,
    channel_id uuid not null,
    second timestamptz not null,
    sent integer not null,
    primary key (org_id, channel_id),
    foreign key (org_id, channel_id) references channels (org_id, id) on delete cascade
);
alter table channel_send_rate enable row level security;
alter table channel_send_rate force row level security;
create policy tenant_isolation on channel_send_rate
    using (org_id = current_org_id()) with check (org_id = current_org_id());
grant select, insert, update, delete on channel_send_rate to wacrm_app;
