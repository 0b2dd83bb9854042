-- A customer's message that reached a linked phone but could not be
-- decrypted yet: shown as "waiting for this message" until WhatsApp
-- delivers its content again (the same id fills it in).
alter table messages add column awaiting_content boolean not null default false;
