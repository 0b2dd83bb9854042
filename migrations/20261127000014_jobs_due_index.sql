-- Workers claim the next due job of any queue, oldest first: this index
-- serves that order directly (the per-queue one cannot), so a claim stays
-- cheap with thousands of jobs due.
create index jobs_due_idx on jobs (run_at, id) where attempts < max_attempts;
