-- The sidebar's counts on every page: a member's open conversations, the
-- open unassigned ones, and the mentions they have not looked at yet. Each
-- is a count over a small partial index, capped in the query.
create index conversations_open_assignee_idx on conversations (org_id, assignee_id)
    where status = 'open';

-- A mention is new until its member opens their mentions. The ones made
-- before this column existed count as seen.
alter table note_mentions add column seen_at timestamptz;
update note_mentions set seen_at = now();
create index note_mentions_unseen_idx on note_mentions (org_id, user_id)
    where seen_at is null;
