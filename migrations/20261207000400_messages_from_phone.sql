-- A message the business typed on its own phone (a linked phone or a WAHA
-- bridge reports it): stored as ours, shown as "sent from the phone", and a
-- person's reply like any other (it is not automated).
alter table messages add column from_phone boolean not null default false;
