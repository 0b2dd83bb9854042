-- The owner unlinked the phone from wacrm (as opposed to the phone
-- removing wacrm: `logged_out`).
alter table whatsapp_web_sessions drop constraint whatsapp_web_sessions_status_check;
alter table whatsapp_web_sessions add constraint whatsapp_web_sessions_status_check
    check (status in ('waiting', 'linked', 'disconnected', 'logged_out', 'outdated', 'expired', 'unlinked'));
