-- WhatsApp's business-scoped user id (BSUID, sent since 2026): the id a
-- Cloud API number knows a customer by when it does not see their number
-- (`US.1349…`, or a parent form `US.ENT.…`). A customer seen by it alone is
-- a contact without a phone, as one seen by LID alone; once their number
-- comes with it, it is the same contact.
alter table contacts add column wa_user_id text
    check (wa_user_id ~ '^[A-Z]{2}\.([A-Z]{3}\.)?[A-Za-z0-9]{1,128}$');
create unique index contacts_org_id_wa_user_id_key on contacts (org_id, wa_user_id)
    where wa_user_id is not null;
