-- When a workspace's payment started failing (grace runs from here) and
-- when its subscription was canceled (its data is kept 30 days from here).
alter table billing_accounts add column past_due_since timestamptz;
alter table billing_accounts add column canceled_at timestamptz;
