-- Who may touch what waiting adds. No role has any privilege on the tables waits, messages and
-- events nor on their sequences (the functions are the only door); the worker, client and
-- payload-reader roles read every new view; the observer reads only the payload-free ones
-- (run_waits, messages_meta, events_meta), not run_messages nor run_events (messages and event
-- values may hold personal data). Called as logins: a client sends, reads events and watches
-- but runs no step of a workflow; a worker runs the steps of waiting but does not send as a
-- client; an observer does neither.
begin;
\ir ../waiting_fixtures.sql
select plan(52);

select table_privs_are('durable', t.name, r.role, array[]::text[],
         format('%s has no privilege on table durable.%s', r.role, t.name))
  from (values ('waits'), ('messages'), ('events')) t(name)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer'),
                    ('durable_payload_reader')) r(role)
 order by t.name, r.role;
select sequence_privs_are('durable', s.name, r.role, array[]::text[],
         format('%s has no privilege on sequence durable.%s', r.role, s.name))
  from (values ('messages_id_seq'), ('events_id_seq')) s(name)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer'),
                    ('durable_payload_reader')) r(role)
 order by s.name, r.role;
select table_privs_are('durable', v.name, r.role,
         case when v.payload and r.role = 'durable_observer' then array[]::text[] else array['SELECT'] end,
         format('%s may %s durable.%s', r.role,
                case when v.payload and r.role = 'durable_observer' then 'not read view'
                     else 'only select from view' end, v.name))
  from (values ('run_waits', false), ('messages_meta', false), ('events_meta', false),
               ('run_messages', true), ('run_events', true)) v(name, payload)
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer'),
                    ('durable_payload_reader')) r(role)
 order by v.name, r.role;

create role durable_test_pw_client login;
create role durable_test_pw_worker login;
create role durable_test_pw_observer login;
grant durable_client to durable_test_pw_client;
grant durable_worker to durable_test_pw_worker;
grant durable_observer to durable_test_pw_observer;
select durable.enqueue('wf', p_workflow_id => 'pw');
select durable.claim('pw-worker');

set local session authorization durable_test_pw_client;
select isnt(durable.send('pw', '"hi"'), null::bigint, 'a client sends');
select results_eq($$ select found from durable.get_event('pw', 'k') $$, $$ values (false) $$,
  'a client reads events');
select results_eq($$ select status from durable.watch('pw') $$, $$ values ('running'::text) $$,
  'a client watches');
select throws_ok($$ select * from durable.recv('pw', 1, 0) $$, '42501', null,
  'a client may not recv');
select throws_ok($$ select * from durable.sleep('pw', 1, 0, interval '1 second') $$, '42501', null,
  'a client may not sleep');
select throws_ok($$ select durable.start_child('pw', 1, 0, 'kid') $$, '42501', null,
  'a client may not start a child');
select throws_ok($$ select count(*) from durable.messages $$, '42501', null,
  'a client may not read the messages table');
reset session authorization;

set local session authorization durable_test_pw_worker;
select throws_ok($$ select * from durable.recv('pw', 1, 0) $$, 'DU001', null,
  'a worker may call recv (refused here for its wrong lease, not for privileges)');
select throws_ok($$ select durable.send('pw', '1') $$, '42501', null,
  'a worker may not send as a client (send_step is its door)');
reset session authorization;

set local session authorization durable_test_pw_observer;
select throws_ok($$ select durable.send('pw', '1') $$, '42501', null, 'an observer may not send');
select throws_ok($$ select * from durable.get_event('pw', 'k') $$, '42501', null,
  'an observer may not read event values');
select is((select count(*)::int from durable.messages_meta where workflow_id = 'pw'), 1,
  'an observer sees the message in durable.messages_meta');
reset session authorization;

select * from finish();
rollback;
