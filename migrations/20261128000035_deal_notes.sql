-- Notes on a deal too (besides contacts and companies): exactly one subject.

alter table notes add column deal_id uuid;
alter table notes drop constraint notes_check;
alter table notes add constraint notes_one_subject
    check (num_nonnulls(contact_id, company_id, deal_id) = 1);
alter table notes add constraint notes_deal_fkey
    foreign key (org_id, deal_id) references deals (org_id, id) on delete cascade;
create index notes_deal_idx on notes (org_id, deal_id, created_at) where deal_id is not null;

-- The list view filters by stage and orders by expected close.
create index deals_pipeline_close_idx on deals (org_id, pipeline_id, expected_close);
