-- No role of the three has any privilege on a table or sequence (the functions are the only
-- door); all three may read the views; PUBLIC has nothing.
begin;
select plan(43);

select table_privs_are('durable', t.name, r.role, array[]::text[],
         format('%s has no privilege on table durable.%s', r.role, t.name))
  from (values ('workflows'), ('steps'), ('errors'), ('queues'), ('workers'), ('settings')) t(name)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer')) r(role)
 order by t.name, r.role;

select table_privs_are('durable', v.name, r.role, array['SELECT'],
         format('%s may only select from view durable.%s', r.role, v.name))
  from (values ('runs'), ('run_steps'), ('run_errors'), ('timeline'), ('queue_stats'), ('worker_status')) v(name)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer')) r(role)
 order by v.name, r.role;

select sequence_privs_are('durable', s.name, r.role, array[]::text[],
         format('%s has no privilege on sequence durable.%s', r.role, s.name))
  from (values ('lease_seq'), ('errors_id_seq')) s(name)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer')) r(role)
 order by s.name, r.role;

select is_empty(
  $$ select c.oid::regclass from pg_class c, aclexplode(c.relacl) a
      where c.relnamespace = 'durable'::regnamespace and a.grantee = 0 $$,
  'PUBLIC has no privilege on any table, view or sequence of schema durable');

select * from finish();
rollback;
