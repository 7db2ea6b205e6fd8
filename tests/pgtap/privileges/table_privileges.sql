-- No role has any privilege on a table or sequence (the functions are the only door); the
-- worker, client and payload-reader roles may read every view; the observer reads only the
-- views without payloads (inputs, outputs and errors may hold personal data); PUBLIC has
-- nothing.
begin;
select plan(73);

select table_privs_are('durable', t.name, r.role, array[]::text[],
         format('%s has no privilege on table durable.%s', r.role, t.name))
  from (values ('workflows'), ('steps'), ('errors'), ('queues'), ('workers'), ('settings')) t(name)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer'),
                    ('durable_payload_reader')) r(role)
 order by t.name, r.role;

select table_privs_are('durable', v.name, r.role,
         case when v.payload and r.role = 'durable_observer' then array[]::text[]
              else array['SELECT'] end,
         format('%s may %s durable.%s', r.role,
                case when v.payload and r.role = 'durable_observer' then 'not read view'
                     else 'only select from view' end, v.name))
  from (values ('runs', true), ('run_steps', true), ('run_errors', true), ('timeline', true),
               ('runs_meta', false), ('run_steps_meta', false), ('run_errors_meta', false),
               ('timeline_meta', false), ('queue_stats', false), ('worker_status', false)) v(name, payload)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer'),
                    ('durable_payload_reader')) r(role)
 order by v.name, r.role;

select sequence_privs_are('durable', s.name, r.role, array[]::text[],
         format('%s has no privilege on sequence durable.%s', r.role, s.name))
  from (values ('lease_seq'), ('errors_id_seq')) s(name)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer'),
                    ('durable_payload_reader')) r(role)
 order by s.name, r.role;

select is_empty(
  $$ select c.oid::regclass from pg_class c, aclexplode(c.relacl) a
      where c.relnamespace = 'durable'::regnamespace and a.grantee = 0 $$,
  'PUBLIC has no privilege on any table, view or sequence of schema durable');

select * from finish();
rollback;
