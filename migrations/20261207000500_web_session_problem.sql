-- Why a linked phone's session is paused (another program took its link,
-- a temporary ban, a refused connection), shown on its page until it links
-- again; and until when no process starts it again (the lease stays free
-- but is not claimed before `lease_until`).
alter table whatsapp_web_sessions
    add column problem text check (length(problem) <= 500),
    add column problem_at timestamptz;
