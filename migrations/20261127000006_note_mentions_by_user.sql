-- A member's mentions page looks notes up by the member mentioned.
create index note_mentions_org_id_user_idx on note_mentions (org_id, user_id, message_id);
