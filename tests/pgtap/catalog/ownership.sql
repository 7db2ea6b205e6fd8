-- durable_admin owns the schema and every object in it, so SECURITY DEFINER functions run with
-- its rights and no more.
begin;
select plan(4);

select schema_owner_is('durable', 'durable_admin', 'schema durable is owned by durable_admin');
select is_empty(
  $$ select c.oid::regclass from pg_class c
      where c.relnamespace = 'durable'::regnamespace and c.relowner <> 'durable_admin'::regrole $$,
  'durable_admin owns every table, view, index and sequence');
select is_empty(
  $$ select p.oid::regprocedure from pg_proc p
      where p.pronamespace = 'durable'::regnamespace and p.proowner <> 'durable_admin'::regrole $$,
  'durable_admin owns every function');
select ok(not (select rolsuper or rolbypassrls from pg_roles where rolname = 'durable_admin'),
  'durable_admin is not a superuser and does not bypass row security');

select * from finish();
rollback;
