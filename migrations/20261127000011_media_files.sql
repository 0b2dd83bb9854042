-- Media fetched from WhatsApp is kept as files under the data dir, named by
-- their SHA-256 (the same file once, however often it is sent); the row
-- still says which workspace may see it. Sandbox images keep their bytes here.
alter table media
    alter column bytes drop not null,
    add column sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
    add column size bigint,
    add constraint media_bytes_or_file check ((bytes is null) <> (sha256 is null));
