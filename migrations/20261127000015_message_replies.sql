-- The message this one quotes (a reply) or reacts to (a reaction), when
-- wacrm has it: WhatsApp's `context`. No foreign key: deleting a
-- conversation's messages must not look up every reply to each, and a
-- reply outlives what it quoted (shown without the quote).
alter table messages add column reply_to_id uuid;
