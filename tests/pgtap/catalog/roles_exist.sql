-- The four roles exist and none can log in (they are granted to login roles).
begin;
select plan(5);

select has_role(r) from unnest(array['durable_admin', 'durable_worker', 'durable_client', 'durable_observer']) r;
select is_empty(
  $$ select rolname from pg_roles
      where rolname in ('durable_admin', 'durable_worker', 'durable_client', 'durable_observer')
        and (rolcanlogin or rolsuper) $$,
  'none of them can log in or is a superuser');

select * from finish();
rollback;
