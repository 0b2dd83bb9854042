-- Our messages still waiting to go out, per conversation: a send waits for
-- the conversation's earlier ones (messages leave in the order written).
create index messages_queued_idx on messages (org_id, conversation_id, created_at, id)
    where status = 'queued';
