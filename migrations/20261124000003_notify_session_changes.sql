-- Instances cache session records; tell them when one changes or goes.
-- (A new row needs no notice: nobody can have cached it.)
create function notify_session_changed() returns trigger
    language plpgsql
    as $$
begin
    perform pg_notify('wacrm_session_changed', old.id);
    return null;
end
$$;

create trigger sessions_changed
    after update or delete on sessions
    for each row execute function notify_session_changed();
