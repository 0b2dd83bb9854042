-- The periodic template sync (`crate::channels::cloud_api::template_sync`):
-- when each Cloud API number's templates were last asked for, and a
-- read-only view of the Cloud API channels across workspaces for the sweep
-- that finds the due ones (it reads ids only, then works inside each
-- workspace's own context).
alter table channels add column templates_synced_at timestamptz;
create policy template_sync_sweeper on channels for select
    using (current_setting('app.template_sync_sweeper', true) = 'on' and kind = 'whatsapp_cloud');
