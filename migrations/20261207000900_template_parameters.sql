-- What sending and managing a template needs beyond its body: the format of
-- its variables (`NAMED` templates send each value with its name), Graph's
-- template id (`hsm_id`, to delete it and to match status webhooks), and
-- why Meta last changed its status (a rejection's reason, a pause's title).
-- The table already has RLS on `org_id`.
alter table whatsapp_templates
    add column parameter_format text not null default 'POSITIONAL'
        check (parameter_format in ('POSITIONAL', 'NAMED')),
    add column graph_id text,
    add column status_reason text;
