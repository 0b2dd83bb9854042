-- Read receipts: when a member opens a conversation, the customer's
-- messages up to the newest are marked read on WhatsApp (a workspace
-- setting, on by default). `receipts_through` is the newest customer
-- message already marked, so a receipt goes out once per new message.
alter table organizations add column read_receipts boolean not null default true;
alter table conversations add column receipts_through timestamptz;
