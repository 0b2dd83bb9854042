-- How much of a linked phone's chat history comes into wacrm when it is
-- first linked: the last N days of one-to-one chats (0: none), imported
-- as read and setting nothing off; and how many messages came so far.
alter table whatsapp_web_sessions
    add column history_days integer not null default 30
        check (history_days between 0 and 365),
    add column history_imported bigint not null default 0;
