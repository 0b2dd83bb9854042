-- An owner deleted the workspace: it is read-only and kept 30 days from
-- here (restorable), then the retention sweep deletes it.
alter table organizations add column deletion_requested_at timestamptz;
create policy retention_sweeper on organizations for select
    using (current_setting('app.retention_sweeper', true) = 'on');
