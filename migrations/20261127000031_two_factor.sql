-- Two-factor sign-in: a TOTP secret per user (sealed with the app's key),
-- single-use recovery codes and remembered devices (SHA-256 of random
-- secrets only), and a workspace switch that requires it of every member.

alter table users
    add column totp_secret bytea,
    add column totp_enabled_at timestamptz,
    -- The last 30 s step a code was accepted for: a code is never accepted
    -- twice, nor an older one after a newer.
    add column totp_last_step bigint;

create table user_recovery_codes (
    user_id uuid not null references users (id) on delete cascade,
    code_hash bytea not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (user_id, code_hash)
);

create table remembered_devices (
    token_hash bytea primary key,
    user_id uuid not null references users (id) on delete cascade,
    user_agent text not null default '',
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index remembered_devices_user_idx on remembered_devices (user_id);

alter table organizations
    add column require_two_factor boolean not null default false;

grant select, insert, update, delete on user_recovery_codes, remembered_devices to wacrm_app;
