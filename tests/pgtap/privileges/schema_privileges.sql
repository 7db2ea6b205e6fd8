-- The three roles may use schema durable but not create in it; PUBLIC may not even use it.
begin;
select plan(4);

select schema_privs_are('durable', r.role, array['USAGE'], format('%s has USAGE on schema durable, not CREATE', r.role))
  from (values ('durable_worker'), ('durable_client'), ('durable_observer')) r(role)
 order by r.role;
select ok(not has_schema_privilege('public', 'durable', 'USAGE'), 'PUBLIC has no USAGE on schema durable');

select * from finish();
rollback;
