-- The dashboard counts the conversations a workspace opened this week: a
-- range of this index, where without it the count read every one of the
-- workspace's conversations. (Its messages are counted by a range of
-- `messages_org_id_created_idx`, which exists already.)
create index if not exists conversations_org_id_created_idx on conversations (org_id, created_at);
