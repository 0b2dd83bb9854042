-- When a workspace's payment started failing (grace runs from here) and
-- when its subscription was canceled (its data is kept 30 days from here).
alter table billing_accounts add column past_due_since timestamptz;
alter table billing_accounts add column canceled_at timestamptz;
-- The owners were told the data will be deleted (7 days and 1 day before).
alter table billing_accounts add column purge_warned_7d_at timestamptz;
alter table billing_accounts add column purge_warned_1d_at timestamptz;

-- The retention sweep, which deletes canceled workspaces after 30 days,
-- finds them across workspaces, and checks whether a deleted workspace's
-- files are still another's, in transactions marked
-- `app.retention_sweeper` (reading only).
create policy retention_sweeper on billing_accounts for select
    using (current_setting('app.retention_sweeper', true) = 'on');
create policy retention_sweeper on media for select
    using (current_setting('app.retention_sweeper', true) = 'on');
-- The owners were told the workspace went read-only (payment failed for
-- more than the grace); cleared when paid.
alter table billing_accounts add column read_only_warned_at timestamptz;
