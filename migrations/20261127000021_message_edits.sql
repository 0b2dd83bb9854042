-- A customer's message edited or deleted for everyone on WhatsApp: the
-- inbox shows the new text marked edited, or that it was deleted (its text
-- and file are dropped: the customer withdrew them).
alter table messages add column edited_at timestamptz;
alter table messages add column deleted_at timestamptz;
