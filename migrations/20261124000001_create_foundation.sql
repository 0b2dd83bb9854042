-- Foundation: accounts, workspaces (organizations), memberships, invitations,
-- API tokens, one-time user tokens, sessions, rate limits, job queue.
--
-- Tenant tables carry org_id first in their primary key and are guarded by
-- row-level security on current_setting('app.org_id'). The application works
-- as the role wacrm_app, which owns nothing and cannot bypass RLS.

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'wacrm_app') then
        create role wacrm_app nologin nosuperuser nobypassrls noinherit;
    end if;
    -- The migrating user must be able to SET ROLE to wacrm_app.
    if not (select rolsuper from pg_roles where rolname = current_user) then
        execute format('grant wacrm_app to %I', current_user);
    end if;
end
$$;

-- The tenant of the current transaction; NULL (fails closed) when unset.
create function current_org_id() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.org_id', true), '')::uuid $$;

-- The signed-in user, set only for queries across the user's own workspaces.
create function current_app_user_id() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

create table users (
    id uuid primary key,
    name text not null,
    email text not null,
    password_hash text not null,
    email_verified_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

create table organizations (
    id uuid primary key,
    name text not null,
    time_zone text not null default 'UTC',
    business_hours jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now()
);

create table memberships (
    org_id uuid not null references organizations (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'agent')),
    created_at timestamptz not null default now(),
    primary key (org_id, user_id)
);
create index memberships_user_id_idx on memberships (user_id);

create table invitations (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    email text not null,
    role text not null check (role in ('admin', 'agent')),
    token_hash bytea not null,
    invited_by uuid references users (id) on delete set null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    accepted_by uuid references users (id) on delete set null,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
create index invitations_token_hash_idx on invitations (org_id, token_hash);

create table api_tokens (
    org_id uuid not null references organizations (id) on delete cascade,
    id uuid not null,
    name text not null,
    token_hash bytea not null,
    created_by uuid references users (id) on delete set null,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (org_id, id)
);
create index api_tokens_token_hash_idx on api_tokens (org_id, token_hash);

-- Email verification and password reset links (not tenant data).
create table user_tokens (
    token_hash bytea primary key,
    user_id uuid not null references users (id) on delete cascade,
    purpose text not null check (purpose in ('verify_email', 'reset_password')),
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create index user_tokens_user_id_idx on user_tokens (user_id, purpose);

-- tower-sessions records; user_id is copied out of the data so that a
-- password change can end the user's other sessions.
create table sessions (
    id text primary key,
    user_id uuid,
    data jsonb not null,
    expires_at timestamptz not null
);
create index sessions_expires_at_idx on sessions (expires_at);
create index sessions_user_id_idx on sessions (user_id);

-- Fixed-window counters shared by every instance.
create table rate_limit_hits (
    bucket text not null,
    window_start timestamptz not null,
    hits integer not null,
    primary key (bucket, window_start)
);

-- Row-level security on every tenant table.
alter table organizations enable row level security;
alter table organizations force row level security;
create policy tenant_isolation on organizations
    using (
        id = current_org_id()
        or exists (
            select 1 from memberships m
            where m.org_id = organizations.id and m.user_id = current_app_user_id()
        )
    )
    with check (id = current_org_id());

alter table memberships enable row level security;
alter table memberships force row level security;
create policy tenant_isolation on memberships
    using (org_id = current_org_id() or user_id = current_app_user_id())
    with check (org_id = current_org_id());

alter table invitations enable row level security;
alter table invitations force row level security;
create policy tenant_isolation on invitations
    using (org_id = current_org_id())
    with check (org_id = current_org_id());

alter table api_tokens enable row level security;
alter table api_tokens force row level security;
create policy tenant_isolation on api_tokens
    using (org_id = current_org_id())
    with check (org_id = current_org_id());

grant usage on schema public to wacrm_app;
grant select, insert, update, delete on
    users, organizations, memberships, invitations, api_tokens,
    user_tokens, sessions, rate_limit_hits
    to wacrm_app;
grant execute on function current_org_id(), current_app_user_id() to wacrm_app;
