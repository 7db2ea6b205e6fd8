-- enqueue's p_timeout (and enqueue_batch's "timeout": seconds or interval text) sets the
-- workflow's deadline: run_at + timeout (delay and run_at included); none without one. A
-- workflow type's registered timeout (register's "timeout") is the default; a timeout given
-- wins. Zero or negative timeouts are refused (DU011) before anything is written.
begin;
\ir ../waiting_fixtures.sql
select plan(10);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'dl-1', p_timeout => interval '1 hour');
select durable.enqueue('wf', p_workflow_id => 'dl-2', p_timeout => interval '1 hour', p_delay => interval '10 minutes');
select durable.enqueue('wf', p_workflow_id => 'dl-3', p_timeout => interval '1 hour',
                       p_run_at => durable_test.t0() + interval '1 day');
select durable.enqueue('wf', p_workflow_id => 'dl-4');
select results_eq($$ select id, deadline from durable.workflows where id like 'dl-%' order by id $$,
  $$ values ('dl-1'::text, durable_test.t0() + interval '1 hour'),
            ('dl-2', durable_test.t0() + interval '70 minutes'),
            ('dl-3', durable_test.t0() + interval '25 hours'),
            ('dl-4', null) $$,
  'deadline = run_at + timeout; none without a timeout');

select throws_ok($$ select durable.enqueue('wf', p_timeout => interval '0') $$, 'DU011', null,
  'a zero timeout raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_timeout => interval '-1 second') $$, 'DU011', null,
  'a negative timeout raises DU011');

select durable.enqueue_batch('[
  {"name": "wf", "workflow_id": "db-1", "timeout": "30 minutes"},
  {"name": "wf", "workflow_id": "db-2", "timeout": 90, "delay": "1 minute"},
  {"name": "wf", "workflow_id": "db-3"}]');
select results_eq($$ select id, deadline from durable.workflows where id like 'db-%' order by id $$,
  $$ values ('db-1'::text, durable_test.t0() + interval '30 minutes'),
            ('db-2', durable_test.t0() + interval '150 seconds'),
            ('db-3', null) $$,
  'a batch item''s "timeout" (interval text or seconds) sets its deadline');
select throws_ok($$ select durable.enqueue_batch('[{"name": "wf", "timeout": "-5 minutes"}]') $$, 'DU011', null,
  'a negative timeout in a batch raises DU011');

-- a registered timeout is the default
select durable.register('dl-worker', '[{"name": "timed", "timeout": "2 hours"}, {"name": "timed_s", "timeout": 60}]');
select results_eq($$ select name, timeout from durable.workflow_types where name like 'timed%' order by name $$,
  $$ values ('timed'::text, interval '2 hours'), ('timed_s', interval '60 seconds') $$,
  'register records each workflow''s timeout (interval text or seconds)');
select durable.enqueue('timed', p_workflow_id => 'dr-1');
select durable.enqueue('timed', p_workflow_id => 'dr-2', p_timeout => interval '5 minutes');
select durable.enqueue_batch('[{"name": "timed_s", "workflow_id": "dr-3"}, {"name": "timed", "workflow_id": "dr-4", "timeout": 10}]');
select results_eq($$ select id, deadline from durable.workflows where id like 'dr-%' order by id $$,
  $$ values ('dr-1'::text, durable_test.t0() + interval '2 hours'),
            ('dr-2', durable_test.t0() + interval '5 minutes'),
            ('dr-3', durable_test.t0() + interval '1 minute'),
            ('dr-4', durable_test.t0() + interval '10 seconds') $$,
  'the registered timeout is the default, for enqueue and enqueue_batch; one given wins');
select throws_ok($$ select durable.register('dl-worker', '[{"name": "timed", "timeout": "-1 hour"}]') $$, 'DU011', null,
  'register refuses a negative timeout with DU011');
select throws_ok($$ select durable.register('dl-worker', '[{"name": "timed", "timeout": 0}]') $$, 'DU011', null,
  'register refuses a zero timeout with DU011');
select is((select count(*)::int from durable.workflows), 11, 'the refused calls wrote nothing');

select * from finish();
rollback;
