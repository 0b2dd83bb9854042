-- A job queue in Postgres: workers claim with FOR UPDATE SKIP LOCKED, so any
-- number of instances share it and each job runs once at a time. Payloads are
-- sealed (AES-256-GCM) by the application: a queued mail holds a live link.
create table jobs (
    id bigserial primary key,
    queue text not null,
    payload bytea not null,
    run_at timestamptz not null default now(),
    attempts integer not null default 0,
    max_attempts integer not null default 8,
    locked_until timestamptz,
    last_error text,
    created_at timestamptz not null default now()
);
create index jobs_ready_idx on jobs (queue, run_at) where attempts < max_attempts;

grant select, insert, update, delete on jobs to wacrm_app;
grant usage on sequence jobs_id_seq to wacrm_app;
