-- version: durable.version(), the version of the schema deployed in this database. Clients
-- compare it with the versions they support and refuse others with a message saying what to
-- deploy. Each release reworks this change to return its own version (see CHANGELOG.md).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.version()
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$ select '0.2.0'::pg_catalog.text $$;
comment on function durable.version() is
  'The version of the durable schema in this database, as text (semantic versioning: '
  '''0.2.0''). The Python client refuses a schema whose major.minor it does not support. '
  'Callable by every durable role.';

commit;
