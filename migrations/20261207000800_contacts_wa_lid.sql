-- WhatsApp's LID ("linked identity"): the id a customer's chat may be
-- addressed by instead of their number (WhatsApp is moving chats to it).
-- A customer first seen by LID alone is a contact without a phone; once
-- their number is learned, it is the same contact (see
-- `crate::infra::db::contacts::attach_lids`).
alter table contacts add column wa_lid text check (wa_lid ~ '^[0-9]{1,30}$');
create unique index contacts_org_id_wa_lid_key on contacts (org_id, wa_lid) where wa_lid is not null;
