-- Group chats of a linked phone (or WAHA bridge), shown only when the
-- channel opts in (off by default): a group is a contact keyed by the
-- group's id (`<id>@g.us`, digits, older groups `<creator>-<time>`), and
-- each of its messages keeps who in the group wrote it (their number's
-- digits, or `<lid>@lid`) and the name their profile gave.
alter table channels add column shows_groups boolean not null default false;

alter table contacts add column wa_group text
    check (wa_group ~ '^[0-9]{1,30}(-[0-9]{1,20})?$');
create unique index contacts_org_id_wa_group_key on contacts (org_id, wa_group)
    where wa_group is not null;

alter table messages
    add column group_member text check (group_member ~ '^[0-9]{1,30}(@lid)?$'),
    add column group_member_name text check (length(group_member_name) <= 200);
