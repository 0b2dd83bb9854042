-- Message retention: a workspace may keep its messages (and their files)
-- only so many days; a sweep deletes older ones in small batches. Null (the
-- default) keeps them forever. At least 30 days: the inbox's own rules look
-- back at recent messages (WhatsApp's 24-hour window, who answered, when
-- the customer last wrote), and a slip of the finger must not empty a
-- working inbox; at most ten years.
alter table organizations add column retention_days integer
    check (retention_days between 30 and 3650);

-- A deleted message's file row goes unless another message still shows it
-- (an uploaded file can be sent more than once): found by its address.
create index messages_media_url_idx on messages (org_id, (media ->> 'url'))
    where media is not null;
-- Under row-level security that index serves `media ->> 'url' = ...` only
-- if `->>` is leakproof (see migration 9). It raises no error that reveals
-- a value (a missing key, or not an object, is null), so it is marked so
-- where the migrating user may; elsewhere the check reads the workspace's
-- file messages once per batch instead.
do $$
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        alter function jsonb_object_field_text(jsonb, text) leakproof;
    else
        raise notice 'not a superuser: ->> left as it is (retention reads file messages per batch)';
    end if;
end
$$;
-- Files no message shows (an upload never sent, a fetch that finished
-- after its message went) are deleted once older than the retention.
create index media_org_id_created_idx on media (org_id, created_at);

-- Listing the workspaces with retention on, and checking whether a file is
-- still another workspace's, use the retention sweeper's policies on
-- `organizations` and `media` (migrations 23 and 24): no new policy.
